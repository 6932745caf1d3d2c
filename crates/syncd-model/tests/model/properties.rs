use proptest::prelude::*;
use syncd_model::{Cursor, Seq, Timestamp};

use super::*;

const KEYS: &[&str] = &[
    "id",
    "version",
    "updatedAt",
    "last_updated",
    "deleted",
    "isDeleted",
    "is_deleted",
    "name",
    "email",
    "phone",
    "active",
    "type",
    "title",
    "description",
    "date",
    "status",
    "client_user_id",
    "tenant_id",
    "sync_status",
    "server_synced",
    "changes",
    "table",
    "operation",
    "op",
    "data",
    "entityType",
    "baseVersion",
    "clientUpdatedAt",
    "clientId",
    "pushId",
    "end_user",
    "interactions",
    "",
];

const STRINGS: &[&str] = &[
    ID_A,
    "not-a-uuid",
    "",
    "2024-01-01T10:00:00Z",
    "2024-01-01",
    "john@example.com",
    "john@",
    "pending",
    "completed",
    "cancelled",
    "create",
    "update",
    "upsert",
    "delete",
    "merge",
    "end_user",
    "interactions",
    "ghosts",
    "call",
    "true",
    "1",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0_i64), Just(1), Just(2), Just(-1), any::<i64>()].prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn arb_record() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), prop_oneof![3 => leaf(), 1 => arb_json()]), 0..10)
        .prop_map(|entries| entries.into_iter().collect())
}

fn type_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("end_user".to_owned()),
        Just("interactions".to_owned()),
        Just("ghosts".to_owned()),
        "[a-zA-Z_]{0,8}",
    ]
}

fn op() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(&["create", "update", "upsert", "delete", "merge", ""][..])
            .prop_map(Value::from),
        1 => leaf(),
    ]
}

/// Inserts the present ones of `entries` into an object.
fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect(),
    )
}

fn map_form() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(
            (
                type_name(),
                prop_oneof![
                    4 => prop::collection::vec(
                        prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => leaf()],
                        0..5,
                    )
                    .prop_map(Value::Array),
                    1 => arb_json(),
                ],
            ),
            0..4,
        ),
        prop::option::of(leaf()),
    )
        .prop_map(|(types, client_id)| {
            let changes: Map<String, Value> = types.into_iter().collect();
            object(vec![
                ("changes", Some(Value::Object(changes))),
                ("clientId", client_id),
            ])
        })
}

fn list_change() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop_oneof![4 => type_name().prop_map(Value::from), 1 => leaf()]),
        prop::option::of(op()),
        prop::option::of(prop_oneof![Just(Value::from(ID_A)), leaf()]),
        prop::option::of(prop_oneof![(0_i64..10).prop_map(Value::from), leaf()]),
        prop::option::of(prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => arb_json()]),
        prop::option::of(leaf()),
    )
        .prop_map(|(ty, op, id, base, data, at)| {
            object(vec![
                ("entityType", ty),
                ("op", op),
                ("id", id),
                ("baseVersion", base),
                ("data", data),
                ("clientUpdatedAt", at),
            ])
        })
}

fn list_form() -> impl Strategy<Value = Value> {
    prop::collection::vec(prop_oneof![6 => list_change(), 1 => arb_json()], 0..6)
        .prop_map(|changes| json!({ "changes": changes }))
}

fn single_form() -> impl Strategy<Value = Value> {
    (
        prop_oneof![4 => type_name().prop_map(Value::from), 1 => leaf()],
        prop::option::of(op()),
        prop::option::of(prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => arb_json()]),
        prop::option::of(prop_oneof![Just(Value::from(ID_A)), leaf()]),
    )
        .prop_map(|(table, operation, data, id)| {
            object(vec![
                ("table", Some(table)),
                ("operation", operation),
                ("data", data),
                ("id", id),
            ])
        })
}

fn push_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => map_form(),
        2 => list_form(),
        2 => single_form(),
        1 => arb_json(),
    ]
}

/// Parses and prepares `body`, checking that nothing is lost and every rejection explains
/// itself.
fn check_push(body: Value) -> Result<(), TestCaseError> {
    let parsed = match parse_push_body(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            prop_assert!(!e.0.is_empty());
            prop_assert!(!e.to_string().is_empty());
            return Ok(());
        }
    };
    for error in &parsed.errors {
        prop_assert!(!error.message.is_empty(), "{error:?}");
    }
    let mut indices: Vec<usize> = parsed
        .changes
        .iter()
        .map(|c| c.index)
        .chain(parsed.errors.iter().map(|e| e.index))
        .collect();
    indices.sort_unstable();
    let expected: Vec<usize> = (0..indices.len()).collect();
    prop_assert_eq!(
        &indices,
        &expected,
        "every change is accounted for exactly once"
    );
    let raw_count = parsed.changes.len();
    let had_parse_errors = !parsed.errors.is_empty();
    match Registry::builtin().prepare(parsed.changes, parsed.errors, &limits()) {
        Ok(changes) => {
            prop_assert!(!had_parse_errors);
            prop_assert_eq!(changes.len(), raw_count);
            for change in &changes {
                for key in change.data.keys() {
                    prop_assert!(change.entity_type.field(key).is_some(), "{key}");
                }
            }
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            prop_assert!(errors.windows(2).all(|w| w[0].index <= w[1].index));
            for error in &errors {
                prop_assert!(!error.message.is_empty(), "{error:?}");
            }
            prop_assert!(worst_kind(&errors).is_some());
        }
    }
    Ok(())
}

use syncd_model::worst_kind;

fn check_record(ty: &EntityType, record: Map<String, Value>) -> Result<(), TestCaseError> {
    match ty.normalize(record, &limits()) {
        Ok(data) => {
            for key in data.keys() {
                prop_assert!(ty.field(key).is_some(), "{key} is not declared");
            }
            let again = ty.normalize(data.clone(), &limits());
            prop_assert_eq!(again, Ok(data.clone()), "normalising is idempotent");
            for error in ty.check_required(&data) {
                prop_assert!(!error.message.is_empty());
            }
            let mut with_defaults = data;
            ty.apply_defaults(&mut with_defaults);
            prop_assert!(ty.normalize(with_defaults, &limits()).is_ok());
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for error in errors {
                prop_assert!(!error.message.is_empty(), "{error:?}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics_body_parsing_and_every_rejection_has_a_message(body in arb_json()) {
        check_push(body)?;
    }

    #[test]
    fn push_shaped_bodies_never_panic_and_every_rejection_has_a_message(body in push_body()) {
        check_push(body)?;
    }

    #[test]
    fn arbitrary_end_user_records_never_panic_and_every_rejection_has_a_message(record in arb_record()) {
        check_record(&end_user(), record)?;
    }

    #[test]
    fn arbitrary_interaction_records_never_panic_and_every_rejection_has_a_message(record in arb_record()) {
        check_record(&interactions(), record)?;
    }

    #[test]
    fn arbitrary_json_values_in_every_builtin_field_never_panic(
        field in prop::sample::select(&["name", "email", "phone", "active", "is_deleted", "isDeleted",
                                        "type", "title", "description", "date", "status", "client_user_id"][..]),
        value in arb_json(),
    ) {
        for ty in [end_user(), interactions()] {
            let mut record = Map::new();
            record.insert(field.to_owned(), value.clone());
            check_record(&ty, record)?;
        }
    }

    #[test]
    fn json_depth_is_accepted_up_to_32_levels_and_refused_beyond(depth in 0_usize..48) {
        let ty = EntityType::builder(name("blobs"))
            .field("payload", FieldSchema::new(FieldType::Json))
            .build();
        let value = (0..depth).fold(json!(null), |inner, _| json!([inner]));
        let result = ty.normalize(obj(json!({ "payload": value })), &limits());
        if depth <= 32 {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result, Err(vec![FieldError::new("payload", "is nested deeper than 32 levels")]));
        }
    }

    #[test]
    fn garbage_cursors_never_panic(text in ".{0,40}") {
        let _ = Cursor::decode(&text);
    }

    #[test]
    fn cursor_shaped_garbage_is_refused_unless_it_was_handed_out(digits in "[0-9a-fA-F]{18}") {
        let text = format!("c1{digits}");
        if let Ok(cursor) = Cursor::decode(&text) {
            prop_assert_eq!(cursor.encode(), text.to_lowercase());
        }
    }

    #[test]
    fn every_cursor_round_trips(seq in 0_i64..=i64::MAX) {
        let cursor = Cursor::new(Seq(seq));
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn garbage_times_never_panic(text in ".{0,40}") {
        if let Ok(ts) = Timestamp::parse_rfc3339(&text) {
            prop_assert_eq!(Timestamp::parse_rfc3339(&ts.to_rfc3339()), Ok(ts));
        }
    }
}
