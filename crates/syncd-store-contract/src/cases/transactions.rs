//! Write transactions: locking and loading in one call, and failures that leave nothing behind.

use serde_json::json;
use syncd_model::{Record, RecordId, Seq, SyncStatus, Timestamp, Version};
use syncd_store::{RecordKey, RecordWrite, Store, StoreError, WriteBatch, WriteKind};

use crate::fixtures::*;

/// Locking and loading together returns what locking and then loading returns: for a new
/// tenant, for an existing one, with versions, and with no keys.
pub async fn begin_write_and_load_returns_what_begin_write_then_load_returns<S: Store>(store: &S) {
    let t = tenant("acme");
    let unknown = key("things", RecordId::new_v7());
    // A new tenant: nothing to find, and its first seq is 1.
    let (mut tx, loaded) = store
        .begin_write_and_load(&t, std::slice::from_ref(&unknown), &[])
        .await
        .unwrap();
    assert!(loaded.records.is_empty() && loaded.versions.is_empty());
    assert_eq!(tx.next_seq(), Seq(1));
    tx.rollback().await.unwrap();

    let first = create_many(store, &t, "things", 3).await;
    let updated = apply(
        store,
        &t,
        vec![put("things", first[0].id, json!({ "n": 100 }))],
    )
    .await;
    let keys: Vec<RecordKey> = first
        .iter()
        .map(|r| key("things", r.id))
        .chain([unknown.clone()])
        .collect();
    let versions = vec![(key("things", first[0].id), Version(1))];

    let mut tx = store.begin_write(&t).await.unwrap();
    let expected = tx.load(&keys, &versions).await.unwrap();
    let expected_head = tx.head();
    tx.rollback().await.unwrap();

    let (tx, loaded) = store
        .begin_write_and_load(&t, &keys, &versions)
        .await
        .unwrap();
    assert_eq!(tx.head(), expected_head);
    assert_eq!(tx.head(), Seq(4));
    let sorted = |mut records: Vec<Record>| {
        records.sort_by_key(|r| r.seq);
        records
    };
    assert_eq!(sorted(loaded.records.clone()), sorted(expected.records));
    assert_eq!(loaded.records.len(), 3);
    assert!(loaded.records.contains(&updated[0]));
    assert_eq!(loaded.versions, expected.versions);
    assert_eq!(loaded.versions.len(), 1);
    tx.rollback().await.unwrap();

    // No keys at all: the lock is still taken and the head read.
    let (tx, loaded) = store.begin_write_and_load(&t, &[], &[]).await.unwrap();
    assert!(loaded.records.is_empty());
    assert_eq!(tx.head(), Seq(4));
    tx.rollback().await.unwrap();
}

/// A batch whose records upsert succeeds and whose version insert then fails on a
/// duplicate primary key.
async fn half_failing_write<S: Store>(
    store: &S,
) -> (Box<dyn syncd_store::WriteTx>, RecordId, Record) {
    let t = tenant("acme");
    let existing = create_many(store, &t, "things", 1).await.remove(0);
    let mut tx = store.begin_write(&t).await.unwrap();
    let new_id = RecordId::new_v7();
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    let seq = tx.next_seq();
    batch.records.push(RecordWrite {
        record: Record {
            entity_type: ty("things"),
            id: new_id,
            version: Version(1),
            seq,
            data: obj(json!({ "new": true })),
            deleted: false,
            sync_status: SyncStatus::Synced,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            edited_at: Timestamp::now(),
        },
        kind: WriteKind::Create,
        changed_fields: vec!["new".into()],
    });
    // Version 1 of the existing record is in the history already.
    let seq = tx.next_seq();
    let mut clash = existing.clone();
    clash.seq = seq;
    clash.data = obj(json!({ "overwritten": true }));
    batch.records.push(RecordWrite {
        record: clash,
        kind: WriteKind::Update,
        changed_fields: vec!["overwritten".into()],
    });
    batch.idempotency = Some(idempotency_entry("half", "h"));
    let err = tx.write(&batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    (tx, new_id, existing)
}

async fn assert_nothing_left<S: Store>(store: &S, new_id: RecordId, existing: &Record) {
    let t = tenant("acme");
    assert_eq!(store.get(&t, &key("things", new_id)).await.unwrap(), None);
    assert_eq!(
        store
            .get(&t, &key("things", existing.id))
            .await
            .unwrap()
            .as_ref(),
        Some(existing)
    );
    assert_eq!(store.head(&t).await.unwrap(), existing.seq);
    assert_eq!(
        store.idempotency(&t, &client(), "half").await.unwrap(),
        None
    );
    let page = store.changes(&t, &since(0, &[], 10)).await.unwrap();
    assert_eq!(page.records, vec![existing.clone()]);
    // And the tenant can still write.
    let next = create_many(store, &t, "things", 1).await;
    assert_eq!(next[0].seq, existing.seq.next());
}

pub async fn a_write_that_fails_halfway_leaves_nothing_behind<S: Store>(store: &S) {
    let (tx, new_id, existing) = half_failing_write(store).await;
    tx.rollback().await.unwrap();
    assert_nothing_left(store, new_id, &existing).await;
}

pub async fn a_transaction_whose_write_failed_refuses_to_commit<S: Store>(store: &S) {
    let (mut tx, new_id, existing) = half_failing_write(store).await;
    // Later calls fail as well instead of working on a broken transaction.
    assert!(tx.load(&[key("things", new_id)], &[]).await.is_err());
    assert!(tx.commit().await.is_err());
    assert_nothing_left(store, new_id, &existing).await;
}

pub async fn dropping_a_write_transaction_rolls_it_back<S: Store>(store: &S) {
    let t = tenant("acme");
    let before = create_many(store, &t, "things", 1).await.remove(0);
    {
        let mut tx = store.begin_write(&t).await.unwrap();
        let seq = tx.next_seq();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        let mut changed = before.clone();
        changed.seq = seq;
        changed.version = Version(2);
        changed.data = obj(json!({ "dropped": true }));
        batch.records.push(RecordWrite {
            record: changed,
            kind: WriteKind::Update,
            changed_fields: vec!["dropped".into()],
        });
        tx.write(&batch).await.unwrap();
        // Dropped here without commit.
    }
    // The next writer gets the lock and sees the old head.
    let tx = store.begin_write(&t).await.unwrap();
    assert_eq!(tx.head(), before.seq);
    tx.rollback().await.unwrap();
    assert_eq!(
        store.get(&t, &key("things", before.id)).await.unwrap(),
        Some(before.clone())
    );
    assert_eq!(store.head(&t).await.unwrap(), before.seq);
    assert_eq!(
        store
            .history(&t, &key("things", before.id), at(0))
            .await
            .unwrap()
            .len(),
        1
    );
}
