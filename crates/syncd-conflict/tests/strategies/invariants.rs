use proptest::prelude::*;
use proptest::{collection, option, sample};

use super::*;

const STRATEGIES: [&dyn ConflictStrategy; 6] = [
    &ServerWins,
    &ClientWins,
    &LastWriteWins,
    &Merge,
    &FieldMerge,
    &Manual,
];

fn key() -> impl Strategy<Value = String> {
    sample::select(vec!["a", "b", "c", "d"]).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..3).prop_map(Value::from),
        sample::select(vec!["", "x", "y"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            collection::vec((key(), inner), 0..3)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A few keys in arbitrary order.
fn map() -> impl Strategy<Value = Map<String, Value>> {
    collection::vec((key(), value()), 0..5).prop_map(|entries| entries.into_iter().collect())
}

fn op() -> impl Strategy<Value = ChangeOp> {
    prop_oneof![Just(ChangeOp::Upsert), Just(ChangeOp::Delete)]
}

/// Within a few minutes of 10:00, so ties and clamping happen often.
fn time() -> impl Strategy<Value = Timestamp> {
    (-6i64..=6).prop_map(at)
}

fn server() -> impl Strategy<Value = Server> {
    (map(), 1i64..5, time(), any::<bool>()).prop_map(|(data, version, edited_at, deleted)| Server {
        data,
        version,
        edited_at,
        deleted,
    })
}

/// Plausible inputs: small versions, times around the server clock.
fn scenario() -> impl Strategy<Value = Scenario> {
    (
        option::of(server()),
        option::of(map()),
        op(),
        map(),
        option::of(0i64..6),
        option::of(time()),
        time(),
        prop_oneof![Just(0i64), Just(SKEW), 0i64..=10 * MINUTE],
    )
        .prop_map(
            |(server, base, op, data, base_version, edited_at, now, max_skew_ms)| Scenario {
                server,
                base,
                op,
                data,
                base_version,
                edited_at,
                now,
                max_skew_ms,
            },
        )
}

/// Anything at all, extremes included.
fn wild_scenario() -> impl Strategy<Value = Scenario> {
    let wild_time = any::<i64>().prop_map(Timestamp::from_millis);
    let wild_server = (map(), any::<i64>(), wild_time.clone(), any::<bool>()).prop_map(
        |(data, version, edited_at, deleted)| Server {
            data,
            version,
            edited_at,
            deleted,
        },
    );
    (
        option::of(wild_server),
        option::of(map()),
        op(),
        map(),
        option::of(any::<i64>()),
        option::of(wild_time.clone()),
        wild_time,
        any::<i64>(),
    )
        .prop_map(
            |(server, base, op, data, base_version, edited_at, now, max_skew_ms)| Scenario {
                server,
                base,
                op,
                data,
                base_version,
                edited_at,
                now,
                max_skew_ms,
            },
        )
}

/// The change as sent would leave the record exactly as it is.
fn is_noop(s: &Scenario) -> bool {
    match (&s.server, s.op) {
        (None, ChangeOp::Delete) => true,
        (None, ChangeOp::Upsert) => false,
        (Some(server), ChangeOp::Delete) => server.deleted,
        (Some(server), ChangeOp::Upsert) => {
            !server.deleted
                && s.data
                    .iter()
                    .all(|(k, v)| server.data.get(k.as_str()) == Some(v))
        }
    }
}

/// The stored version after the resolution: a write adds one, nothing else does.
fn version_after(server: Option<&Server>, resolution: &Resolution) -> Option<i64> {
    match resolution {
        Resolution::Write { .. } => Some(server.map_or(1, |s| s.version.saturating_add(1))),
        Resolution::Keep { .. } | Resolution::Open { .. } => server.map(|s| s.version),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resolution_is_deterministic(s in scenario()) {
        let copy = s.clone();
        for strategy in STRATEGIES {
            let first = s.resolve_with(strategy);
            prop_assert_eq!(&first, &s.resolve_with(strategy), "{}", strategy.name());
            prop_assert_eq!(&first, &copy.resolve_with(strategy), "{}", strategy.name());
        }
    }

    #[test]
    fn no_input_panics(s in wild_scenario()) {
        for strategy in STRATEGIES {
            let resolution = s.resolve_with(strategy);
            let _ = (resolution.status(), resolution.conflicting_fields());
            // Strategies are public: calling one directly, outside `resolve`, is fine too.
            let _ = strategy.resolve_conflict(&s.context());
            let _ = s.context().client_time();
            let _ = s.context().differing_fields();
        }
    }

    #[test]
    fn a_write_always_changes_the_record_and_a_no_op_is_always_unchanged(s in scenario()) {
        for strategy in STRATEGIES {
            let name = strategy.name();
            let resolution = s.resolve_with(strategy);
            let before = s.server.as_ref().map(|sv| (sv.data.clone(), sv.deleted));
            let after = outcome(s.server.as_ref(), &resolution);
            let version_before = s.server.as_ref().map(|sv| sv.version);
            let version_after = version_after(s.server.as_ref(), &resolution);
            prop_assert!(version_after >= version_before, "{}", name);

            if is_noop(&s) {
                prop_assert_eq!(&resolution, &keep(ResultStatus::Unchanged, &[]), "{}", name);
            }
            match &resolution {
                Resolution::Write { patch, status, .. } => {
                    // A new version only when the state differs.
                    prop_assert_ne!(&after, &before, "{}: {:?}", name, resolution);
                    prop_assert_eq!(version_after, version_before.map_or(Some(1), |v| Some(v + 1)));
                    prop_assert_eq!(*status == ResultStatus::Created, s.server.is_none(), "{}", name);
                    prop_assert_ne!(*status, ResultStatus::Unchanged, "{}", name);
                    prop_assert_ne!(*status, ResultStatus::Conflict, "{}", name);
                    // Only the values that change are written.
                    if let Some(server) = &s.server {
                        for (k, v) in patch {
                            prop_assert_ne!(server.data.get(k.as_str()), Some(v), "{}", name);
                        }
                    }
                }
                Resolution::Keep { status, conflicting_fields } => {
                    prop_assert_eq!(&after, &before);
                    prop_assert!(
                        matches!(status, ResultStatus::Unchanged | ResultStatus::ConflictResolved),
                        "{}: {:?}", name, status
                    );
                    if *status == ResultStatus::Unchanged {
                        prop_assert!(conflicting_fields.is_empty(), "{}", name);
                    }
                }
                Resolution::Open { .. } => {
                    prop_assert_eq!(name, "manual");
                    prop_assert_eq!(&after, &before);
                }
            }
            // Only a delete deletes.
            if let Some((_, true)) = &after {
                let was_deleted = s.server.as_ref().is_some_and(|sv| sv.deleted);
                prop_assert!(was_deleted || s.op == ChangeOp::Delete, "{}", name);
            }
        }
    }

    #[test]
    fn a_change_based_on_the_current_version_is_never_a_conflict(s in scenario()) {
        let fresh = match &s.server {
            Some(server) => s.base_version.unwrap_or(0) >= server.version,
            None => true,
        };
        prop_assume!(fresh);
        for strategy in STRATEGIES {
            let resolution = s.resolve_with(strategy);
            prop_assert!(
                !matches!(resolution.status(), ResultStatus::Conflict | ResultStatus::ConflictResolved),
                "{}: {:?}", strategy.name(), resolution
            );
            prop_assert!(resolution.conflicting_fields().is_empty());
        }
    }

    #[test]
    fn under_field_merge_a_field_changed_by_one_side_keeps_that_sides_value(
        base in map(),
        server_changes in collection::vec((key(), option::of(value())), 0..4),
        client_changes in map(),
        whole_record in any::<bool>(),
        base_in_history in any::<bool>(),
        client_time in option::of(time()),
        server_time in time(),
        now in time(),
    ) {
        // The server moved on from the base (`None`: the field was removed).
        let mut server_data = base.clone();
        for (field, value) in server_changes {
            match value {
                Some(value) => server_data.insert(field, value),
                None => server_data.remove(&field),
            };
        }
        // The client sends its edits alone, or its whole local copy: base plus edits.
        let data = if whole_record {
            let mut all = base.clone();
            all.extend(client_changes.clone());
            all
        } else {
            client_changes.clone()
        };
        let s = Scenario {
            server: Some(Server { data: server_data, version: 3, edited_at: server_time, deleted: false }),
            base: base_in_history.then(|| base.clone()),
            op: ChangeOp::Upsert,
            data,
            base_version: Some(2),
            edited_at: client_time,
            now,
            max_skew_ms: SKEW,
        };
        let effective_base = if base_in_history { base } else { Map::new() };
        let server = s.server.as_ref().unwrap();
        let resolution = s.resolve_with(&FieldMerge);
        let (merged, deleted) = outcome(Some(server), &resolution).unwrap();
        prop_assert!(!deleted);

        let fields: std::collections::BTreeSet<&String> =
            server.data.keys().chain(s.data.keys()).chain(effective_base.keys()).collect();
        for field in fields {
            let base_value = effective_base.get(field);
            let sent = s.data.get(field);
            let client_changed = sent.is_some_and(|v| Some(v) != base_value);
            let server_changed = server.data.get(field) != base_value;
            if client_changed && !server_changed {
                prop_assert_eq!(merged.get(field), sent, "client-only change of {}", field);
            }
            if server_changed && !client_changed {
                prop_assert_eq!(
                    merged.get(field), server.data.get(field), "server-only change of {}", field
                );
            }
            if !client_changed && !server_changed {
                prop_assert_eq!(merged.get(field), base_value, "untouched {}", field);
            }
            let listed = resolution.conflicting_fields().contains(field);
            let both_differently = client_changed && server_changed && server.data.get(field) != sent;
            prop_assert_eq!(listed, both_differently, "conflicting_fields and {}", field);
        }
    }
}
