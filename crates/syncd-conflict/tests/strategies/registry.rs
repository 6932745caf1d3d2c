use std::sync::Arc;

use syncd_conflict::{StrategyRegistry, keep_server, take_client};

use super::*;

const BUILT_INS: [&str; 6] = [
    "server-wins",
    "client-wins",
    "last-write-wins",
    "merge",
    "field-merge",
    "manual",
];

/// What an embedding team might write: on a conflict over a stock count, the higher count
/// wins; anything else keeps the server record.
struct HighestCountWins;

impl ConflictStrategy for HighestCountWins {
    fn name(&self) -> &str {
        "highest-count-wins"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        let count = |data: &Map<String, Value>| data.get("count").and_then(Value::as_i64);
        match &ctx.server {
            Some(server)
                if !server.deleted
                    && ctx.incoming.op == ChangeOp::Upsert
                    && count(ctx.incoming.data) > count(server.data) =>
            {
                take_client(ctx, ResultStatus::ConflictResolved, vec!["count".into()])
            }
            _ => keep_server(ctx),
        }
    }
}

fn stock(count: i64, base_version: i64) -> Scenario {
    scenario(
        Some(Server {
            data: obj(json!({ "sku": "A-1", "count": 5 })),
            version: 3,
            edited_at: at(5),
            deleted: false,
        }),
        None,
        ChangeOp::Upsert,
        obj(json!({ "count": count })),
        Some(base_version),
    )
}

#[test]
fn every_built_in_name_resolves_to_its_strategy() {
    let registry = StrategyRegistry::with_builtins();
    for name in BUILT_INS {
        assert_eq!(registry.get(name).unwrap().name(), name);
    }
}

#[test]
fn the_default_registry_holds_the_built_ins() {
    let registry = StrategyRegistry::default();
    for name in BUILT_INS {
        assert!(registry.get(name).is_ok(), "{name}");
    }
    assert_eq!(
        format!("{registry:?}"),
        "StrategyRegistry { strategies: [\"client-wins\", \"field-merge\", \
         \"last-write-wins\", \"manual\", \"merge\", \"server-wins\"] }"
    );
}

#[test]
fn built_in_names_resolve_to_strategies_that_behave_as_named() {
    let registry = StrategyRegistry::with_builtins();
    let s = update_stale();
    for (name, expected) in [
        ("server-wins", ServerWins.resolve_conflict(&s.context())),
        ("client-wins", ClientWins.resolve_conflict(&s.context())),
        (
            "last-write-wins",
            LastWriteWins.resolve_conflict(&s.context()),
        ),
        ("merge", Merge.resolve_conflict(&s.context())),
        ("field-merge", FieldMerge.resolve_conflict(&s.context())),
        ("manual", Manual.resolve_conflict(&s.context())),
    ] {
        let strategy = registry.get(name).unwrap();
        assert_eq!(s.resolve_with(strategy.as_ref()), expected, "{name}");
    }
}

#[test]
fn an_unknown_name_is_rejected_with_a_message_listing_the_known_ones() {
    let error = StrategyRegistry::with_builtins()
        .get("newest-wins")
        .err()
        .unwrap();
    assert_eq!(error.name, "newest-wins");
    assert_eq!(
        error.to_string(),
        "unknown conflict strategy `newest-wins`; known: client-wins, field-merge, \
         last-write-wins, manual, merge, server-wins"
    );
}

#[test]
fn names_are_matched_exactly() {
    let registry = StrategyRegistry::with_builtins();
    for near_miss in ["Field-Merge", "field_merge", " field-merge", ""] {
        assert!(registry.get(near_miss).is_err(), "{near_miss:?}");
    }
}

#[test]
fn a_custom_strategy_registered_by_embedding_code_decides_stale_changes() {
    let mut registry = StrategyRegistry::with_builtins();
    registry.register(Arc::new(HighestCountWins));
    let strategy = registry.get("highest-count-wins").unwrap();

    assert_eq!(
        stock(7, 2).resolve_with(strategy.as_ref()),
        write(
            json!({ "count": 7 }),
            false,
            at(7),
            ResultStatus::ConflictResolved,
            &["count"]
        )
    );
    assert_eq!(
        stock(4, 2).resolve_with(strategy.as_ref()),
        keep(ResultStatus::ConflictResolved, &["count"])
    );
}

#[test]
fn a_custom_strategy_sees_only_conflicts() {
    let mut registry = StrategyRegistry::with_builtins();
    registry.register(Arc::new(HighestCountWins));
    let strategy = registry.get("highest-count-wins").unwrap();
    // Fresh base: applied as sent, even though the count goes down.
    assert_eq!(
        stock(4, 3).resolve_with(strategy.as_ref()),
        write(
            json!({ "count": 4 }),
            false,
            at(7),
            ResultStatus::Updated,
            &[]
        )
    );
    // Nothing changes: unchanged, before the strategy is asked.
    assert_eq!(
        stock(5, 1).resolve_with(strategy.as_ref()),
        keep(ResultStatus::Unchanged, &[])
    );
}

#[test]
fn a_custom_strategy_is_listed_among_the_known_names() {
    let mut registry = StrategyRegistry::with_builtins();
    registry.register(Arc::new(HighestCountWins));
    let error = registry.get("nope").err().unwrap();
    assert_eq!(
        error.known,
        "client-wins, field-merge, highest-count-wins, last-write-wins, manual, merge, \
         server-wins"
    );
}

#[test]
fn registering_a_strategy_under_a_built_in_name_replaces_it() {
    struct StrictServerWins;
    impl ConflictStrategy for StrictServerWins {
        fn name(&self) -> &str {
            "server-wins"
        }
        fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
            Resolution::Open {
                conflicting_fields: ctx.differing_fields(),
            }
        }
    }
    let mut registry = StrategyRegistry::with_builtins();
    registry.register(Arc::new(StrictServerWins));
    let strategy = registry.get("server-wins").unwrap();
    assert_eq!(
        update_stale().resolve_with(strategy.as_ref()),
        open(&["email"])
    );
}

#[test]
fn a_registry_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let registry = StrategyRegistry::with_builtins();
    assert_send_sync(&registry);
    assert_send_sync(&registry.get("field-merge").unwrap());
}
