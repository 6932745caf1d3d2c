//! The conflict log: entries written, open ones listed, a manual resolution applied once.

use serde_json::json;
use syncd_model::{Record, RecordId, Seq, SyncStatus, Timestamp, Version};
use syncd_store::{ConflictStatus, RecordWrite, Store, StoreError, WriteBatch, WriteKind};
use uuid::Uuid;

use crate::fixtures::*;

pub async fn conflicts_are_logged_listed_and_resolved<S: Store>(store: &S) {
    let t = tenant("acme");
    let record = RecordId::new_v7();
    let mut first = conflict(Uuid::now_v7(), record, ConflictStatus::Open);
    first.created_at = at(1_000);
    let mut second = conflict(Uuid::now_v7(), record, ConflictStatus::Open);
    second.created_at = at(2_000);
    second.entity_type = ty("interactions");
    let mut auto = conflict(Uuid::now_v7(), record, ConflictStatus::AutoResolved);
    auto.strategy = "field-merge".into();
    auto.resolved_at = Some(at(1_500));

    let mut tx = store.begin_write(&t).await.unwrap();
    let mut batch = WriteBatch::new(client(), subject(), at(3_000));
    batch.conflicts = vec![second.clone(), auto.clone(), first.clone()];
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        store.open_conflicts(&t, None, &[], 10).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        store
            .open_conflicts(&t, Some(&ty("interactions")), &[], 10)
            .await
            .unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        store.open_conflicts(&t, None, &[], 1).await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(
        store.conflict(&t, auto.id).await.unwrap(),
        Some(auto.clone())
    );

    // Resolving writes the chosen record and closes the conflict, atomically.
    let mut tx = store.begin_write(&t).await.unwrap();
    let seq = tx.next_seq();
    let mut batch = WriteBatch::new(client(), subject(), at(4_000));
    batch
        .records
        .push(renamed(record, Version(4), seq, "chosen", 4_000));
    batch.resolved_conflicts.push(first.id);
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();

    let resolved = store.conflict(&t, first.id).await.unwrap().unwrap();
    assert_eq!(resolved.status, ConflictStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(at(4_000)));
    assert_eq!(
        store.open_conflicts(&t, None, &[], 10).await.unwrap(),
        vec![second.clone()]
    );

    // A second resolution of the same conflict loses, and writes nothing.
    let head = store.head(&t).await.unwrap();
    let mut tx = store.begin_write(&t).await.unwrap();
    let seq = tx.next_seq();
    let mut batch = WriteBatch::new(client(), subject(), at(5_000));
    batch
        .records
        .push(renamed(record, Version(5), seq, "late", 5_000));
    batch.resolved_conflicts.push(first.id);
    assert!(matches!(
        tx.write(&batch).await,
        Err(StoreError::Conflict(_))
    ));
    tx.rollback().await.unwrap();
    assert_eq!(store.head(&t).await.unwrap(), head);
    let kept = store
        .get(&t, &key("end_user", record))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.data, obj(json!({ "name": "chosen" })));
}

/// The write of a resolution: the record renamed, at `version` and `seq`, at `ms`.
fn renamed(record: RecordId, version: Version, seq: Seq, name: &str, ms: i64) -> RecordWrite {
    RecordWrite {
        record: Record {
            entity_type: ty("end_user"),
            id: record,
            version,
            seq,
            data: obj(json!({ "name": name })),
            deleted: false,
            sync_status: SyncStatus::Synced,
            created_at: at(0),
            updated_at: at(ms),
            edited_at: at(ms),
        },
        kind: WriteKind::Update,
        changed_fields: vec!["name".into()],
    }
}

/// Logging one conflict id twice breaks a uniqueness rule: a `Conflict`, and the transaction
/// can still be rolled back.
pub async fn a_conflict_id_logged_twice_is_a_conflict<S: Store>(store: &S) {
    let t = tenant("acme");
    let c = conflict(Uuid::now_v7(), RecordId::new_v7(), ConflictStatus::Open);
    let mut tx = store.begin_write(&t).await.unwrap();
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    batch.conflicts = vec![c.clone(), c];
    let err = tx.write(&batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    tx.rollback().await.unwrap();
}
