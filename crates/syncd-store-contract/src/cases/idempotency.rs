//! Idempotency entries and the purge of what is past its time.

use serde_json::json;
use syncd_model::{ClientId, RecordId, SyncStatus, Timestamp, Version};
use syncd_store::{PushAudit, Store, WriteBatch};

use crate::fixtures::*;

pub async fn idempotency_entries_are_stored_read_and_purged<S: Store>(store: &S) {
    let t = tenant("acme");
    let other_client = ClientId::parse("device-2").unwrap();
    assert_eq!(store.idempotency(&t, &client(), "k").await.unwrap(), None);

    let mut old = idempotency_entry("old", "h-old");
    old.created_at = at(1_000);
    let fresh = idempotency_entry("k", "h1");
    for entry in [old.clone(), fresh.clone()] {
        let mut tx = store.begin_write(&t).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        batch.idempotency = Some(entry);
        batch.audit = Some(PushAudit {
            client_id: client(),
            subject: subject(),
            changes: 0,
            created: 0,
            updated: 0,
            deleted: 0,
            unchanged: 0,
            conflicts: 0,
            seq_range: None,
            at: Timestamp::now(),
        });
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        store.idempotency(&t, &client(), "k").await.unwrap(),
        Some(fresh.clone())
    );
    // Scoped by client and key.
    assert_eq!(
        store.idempotency(&t, &other_client, "k").await.unwrap(),
        None
    );
    assert_eq!(store.idempotency(&t, &client(), "K").await.unwrap(), None);
    let mut tx = store.begin_write(&t).await.unwrap();
    assert_eq!(
        tx.idempotency(&client(), "k").await.unwrap(),
        Some(fresh.clone())
    );
    tx.rollback().await.unwrap();

    // An expired key the engine reuses replaces the old entry.
    let mut tx = store.begin_write(&t).await.unwrap();
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    let mut replaced = idempotency_entry("old", "h-new");
    replaced.created_at = at(5_000);
    batch.idempotency = Some(replaced.clone());
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.idempotency(&t, &client(), "old").await.unwrap(),
        Some(replaced)
    );

    let stats = store.purge(at(10_000), at(0)).await.unwrap();
    assert_eq!(stats.idempotency_entries, 1);
    assert_eq!(store.idempotency(&t, &client(), "old").await.unwrap(), None);
    assert_eq!(
        store.idempotency(&t, &client(), "k").await.unwrap(),
        Some(fresh)
    );
}

pub async fn purge_keeps_each_records_current_version<S: Store>(store: &S) {
    let t = tenant("acme");
    let id = RecordId::new_v7();
    let quiet = RecordId::new_v7();
    apply_with(
        store,
        &t,
        vec![
            put("things", id, json!({ "n": 1 })),
            put("things", quiet, json!({})),
        ],
        SyncStatus::Synced,
        at(1_000),
    )
    .await;
    apply_with(
        store,
        &t,
        vec![put("things", id, json!({ "n": 2 }))],
        SyncStatus::Synced,
        at(2_000),
    )
    .await;
    apply_with(
        store,
        &t,
        vec![put("things", id, json!({ "n": 3 }))],
        SyncStatus::Synced,
        at(3_000),
    )
    .await;
    let stats = store.purge(at(0), at(10_000)).await.unwrap();
    assert_eq!(stats.versions, 2, "versions 1 and 2 of the busy record");
    let left = store.history(&t, &key("things", id), at(0)).await.unwrap();
    assert_eq!(
        left.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![Version(3)]
    );
    assert_eq!(
        store
            .history(&t, &key("things", quiet), at(0))
            .await
            .unwrap()
            .len(),
        1
    );
    let stats = store.purge(at(0), at(10_000)).await.unwrap();
    assert_eq!(stats.versions, 0);
}
