//! Property tests of what parses untrusted input: push bodies (with validation against the
//! registry), cursors and entities files. Whatever the input, they answer with a value or a
//! typed error: no panic, no error without words, and text refused by PostgreSQL (NUL) never
//! comes out as clean data.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use syncd_model::{Cursor, EntitiesFile, Limits, Registry, Seq, parse_push_body};

/// Strings that hit the interesting cases: NUL, control and blank characters, UUID-ish text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,12}",
        "\\PC{0,16}",
        Just("\u{0}".to_owned()),
        Just("a\u{0}b".to_owned()),
        Just(" ".to_owned()),
        Just("0190a4f3-7a3c-7d2e-9b1f-2c5e8d7a6b40".to_owned()),
        Just("end_user".to_owned()),
        Just("interactions".to_owned()),
        Just("upsert".to_owned()),
        Just("delete".to_owned()),
        Just("2024-01-01T10:00:00Z".to_owned()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bodies shaped like the three push forms, with arbitrary parts.
fn push_body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("entityType"),
        Just("op"),
        Just("operation"),
        Just("id"),
        Just("baseVersion"),
        Just("data"),
        Just("clientUpdatedAt"),
        Just("name"),
        Just("version"),
        Just("isDeleted"),
        Just("deleted"),
        Just("updatedAt"),
    ];
    let record = prop::collection::vec((key, json_value()), 0..8)
        .prop_map(|pairs| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        })
        .boxed();
    prop_oneof![
        prop::collection::vec(record.clone(), 0..5)
            .prop_map(|changes| json!({ "changes": changes })),
        (text(), prop::collection::vec(record.clone(), 0..5))
            .prop_map(|(ty, records)| json!({ "changes": { ty: records } })),
        (text(), text(), record).prop_map(|(table, op, data)| json!({
            "table": table, "operation": op, "data": data })),
        json_value(),
        (json_value(), json_value()).prop_map(|(client, push)| json!({
            "clientId": client, "pushId": push, "changes": [] })),
    ]
}

fn registry() -> Registry {
    let file = include_str!("../../../examples/entities.toml");
    EntitiesFile::parse("entities.toml", file)
        .and_then(|parsed| parsed.build_registry(Registry::builder().with_builtins()))
        .unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_push_body_parses_and_validates_into_changes_or_typed_errors(body in push_body()) {
        let registry = registry();
        match parse_push_body(body) {
            Err(e) => prop_assert!(!e.0.is_empty()),
            Ok(parsed) => {
                for e in &parsed.errors {
                    prop_assert!(!e.message.is_empty());
                }
                match registry.prepare(parsed.changes, parsed.errors, &Limits::default()) {
                    Ok(changes) => {
                        for change in changes {
                            let data = Value::Object(change.data);
                            prop_assert!(
                                syncd_model::text::find_nul(&data).is_none(),
                                "a NUL passed validation: {data}"
                            );
                        }
                    }
                    Err(errors) => {
                        prop_assert!(!errors.is_empty());
                        prop_assert!(errors.windows(2).all(|w| w[0].index <= w[1].index));
                        prop_assert!(errors.iter().all(|e| !e.message.is_empty()));
                    }
                }
            }
        }
    }

    #[test]
    fn any_string_decodes_to_a_cursor_or_a_cursor_error(s in "\\PC{0,40}") {
        // Either a cursor whose encoding is exactly the text, or a `CursorError`.
        if let Ok(cursor) = Cursor::decode(&s) {
            prop_assert_eq!(cursor.encode(), s);
        }
    }

    #[test]
    fn every_cursor_round_trips(seq in 0i64..=i64::MAX) {
        let cursor = Cursor::new(Seq(seq));
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn a_damaged_cursor_is_refused(seq in 0i64..=i64::MAX, at in 0usize..20, to in "[0-9a-z]") {
        let good = Cursor::new(Seq(seq)).encode();
        let mut bad = good.clone();
        bad.replace_range(at..=at, &to);
        if bad != good {
            // A one-character change either fails the check or decodes to another cursor
            // whose encoding is exactly the damaged text (never a panic).
            if let Ok(c) = Cursor::decode(&bad) {
                prop_assert_eq!(c.encode(), bad);
            }
        }
    }

    #[test]
    fn any_text_as_an_entities_file_is_a_file_or_a_located_error(text in "\\PC{0,300}") {
        if let Err(e) = EntitiesFile::parse("x.toml", &text) {
            prop_assert!(e.to_string().starts_with("x.toml:"), "{e}");
            prop_assert!(e.line >= 1);
        }
    }

    #[test]
    fn a_damaged_entities_file_is_a_registry_or_a_located_error(
        cut in 0usize..6000,
        at in 0usize..6000,
        insert in "[\\[\\]{}=\"a-z0-9 \n,#.]{0,8}",
    ) {
        let example = include_str!("../../../examples/entities.toml");
        let mut text: String = example.chars().take(cut.max(1)).collect();
        let at = text.char_indices().map(|(i, _)| i).nth(at % text.chars().count().max(1)).unwrap_or(0);
        text.insert_str(at, &insert);
        match EntitiesFile::parse("entities.toml", &text) {
            Ok(file) => {
                if let Err(e) = file.build_registry(Registry::builder().with_builtins()) {
                    prop_assert!(e.to_string().starts_with("entities.toml:"), "{e}");
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("entities.toml:"), "{e}"),
        }
    }
}
