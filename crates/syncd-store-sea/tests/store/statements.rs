//! A write costs a fixed number of SQL statements, whatever its size.

use sea_orm::ConnectionTrait;
use serde_json::json;
use syncd_model::{Timestamp, Version};
use syncd_store::{ConflictStatus, RecordWrite, Store, WriteBatch, WriteKind};
use syncd_store_contract::fixtures::*;
use syncd_store_sea::SeaStore;
use uuid::Uuid;

/// Statements of one push-like transaction: lock, load, write, commit.
async fn statements_of_a_write(store: &SeaStore, n: usize) -> u64 {
    let t = tenant("counted");
    let existing = create_many(store, &t, "things", n).await;
    let before = store.statements();
    let mut tx = store.begin_write(&t).await.unwrap();
    assert!(tx.idempotency(&client(), "push-1").await.unwrap().is_none());
    let keys: Vec<_> = existing.iter().map(|r| key("things", r.id)).collect();
    let versions: Vec<_> = keys.iter().map(|k| (k.clone(), Version(1))).collect();
    let loaded = tx.load(&keys, &versions).await.unwrap();
    assert_eq!(loaded.records.len(), n);
    assert_eq!(loaded.versions.len(), n);
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    for r in &existing {
        let mut next = r.clone();
        next.seq = tx.next_seq();
        next.version = Version(2);
        next.data = obj(json!({ "a": 1, "b": "two", "c": 3.5, "d": true, "e": null }));
        batch.records.push(RecordWrite {
            record: next,
            kind: WriteKind::Update,
            changed_fields: vec!["a".into()],
        });
    }
    batch.conflicts.push(conflict(
        Uuid::now_v7(),
        existing[0].id,
        ConflictStatus::AutoResolved,
    ));
    batch.idempotency = Some(idempotency_entry("push-1", "h"));
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();
    let cost = store.statements() - before;
    // Clean slate for the next measurement.
    let _ = store
        .connection()
        .execute_unprepared("DELETE FROM idempotency_keys")
        .await;
    cost
}

async fn a_write_costs_the_same_statements_for_one_record_or_a_hundred(
    store: SeaStore,
    url: String,
) {
    let one = statements_of_a_write(&store, 1).await;
    if store.is_postgres() {
        // BEGIN, clock, idempotency, load records, load versions, one statement writing
        // records, versions and the new head, conflicts, idempotency, COMMIT.
        assert_eq!(one, 9);
    } else {
        // BEGIN, clock, idempotency, load records, load versions, records, versions,
        // conflicts, idempotency, head, COMMIT.
        assert_eq!(one, 11);
    }
    let hundred = statements_of_a_write(&store, 100).await;
    let thousand = statements_of_a_write(&store, 1000).await;
    let plain = |mode: &str| matches!(mode.to_ascii_lowercase().as_str(), "disable" | "allow");
    let tls_possible = store.is_postgres()
        && !url
            .split_once("sslmode=")
            .map(|(_, rest)| rest.split('&').next().unwrap_or(""))
            .or(std::env::var("PGSSLMODE").ok().as_deref())
            .is_some_and(plain);
    if tls_possible {
        // Split by size below one TLS record (sqlx 0.9.0 sets no TCP_NODELAY), never per
        // record: about 12 KiB of values per statement.
        assert!(hundred <= one + 4, "100 records: {hundred} statements");
        assert!(
            thousand <= one + 1000 / 25,
            "1000 records: {thousand} statements"
        );
    } else {
        assert_eq!(hundred, one);
        assert_eq!(thousand, one);
    }
}

on_both_backends!(
    plain: [],
    with_url: [a_write_costs_the_same_statements_for_one_record_or_a_hundred],
);
