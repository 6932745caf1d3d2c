//! Tenants are isolated: the same id in two tenants is two rows, and no read crosses over.

use serde_json::json;
use syncd_model::{PendingCondition, RecordId, Seq, SyncStatus, TenantId, Timestamp, Version};
use syncd_store::{ChangesQuery, ConflictStatus, RecordKey, Since, Store, StoreError, WriteBatch};
use uuid::Uuid;

use crate::fixtures::*;

pub async fn the_same_record_id_in_two_tenants_is_two_independent_rows<S: Store>(store: &S) {
    let (a, b) = (tenant("a"), tenant("b"));
    let id = RecordId::new_v7();
    apply(store, &a, vec![put("things", id, json!({ "owner": "a" }))]).await;
    apply(store, &b, vec![put("things", id, json!({ "owner": "b" }))]).await;
    // Updating in b does not touch a's row, deleting in a does not touch b's.
    apply(store, &b, vec![put("things", id, json!({ "owner": "b2" }))]).await;
    apply(store, &a, vec![Op::Delete(key("things", id))]).await;

    let ra = store.get(&a, &key("things", id)).await.unwrap().unwrap();
    let rb = store.get(&b, &key("things", id)).await.unwrap().unwrap();
    assert_eq!(ra.data, obj(json!({ "owner": "a" })));
    assert!(ra.deleted);
    assert_eq!(ra.version, Version(2));
    assert_eq!(rb.data, obj(json!({ "owner": "b2" })));
    assert!(!rb.deleted);
    assert_eq!(rb.version, Version(2));
    assert_eq!(
        store
            .history(&a, &key("things", id), at(0))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .history(&b, &key("things", id), at(0))
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn no_read_path_crosses_tenants<S: Store>(store: &S) {
    let (a, b) = (tenant("a"), tenant("b"));
    let id = RecordId::new_v7();
    let k = key("end_user", id);
    apply_with(
        store,
        &a,
        vec![put(
            "end_user",
            id,
            json!({ "name": "secret", "is_deleted": 0 }),
        )],
        SyncStatus::Pending,
        Timestamp::now(),
    )
    .await;
    let conflict_id = Uuid::now_v7();
    let mut tx = store.begin_write(&a).await.unwrap();
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    batch
        .conflicts
        .push(conflict(conflict_id, id, ConflictStatus::Open));
    batch.idempotency = Some(idempotency_entry("key-1", "hash"));
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();

    record_reads_stay_in_their_tenant(store, &a, &b, &k).await;
    conflicts_and_keys_stay_in_their_tenant(store, &a, &b, conflict_id).await;
    writes_stay_in_their_tenant(store, &a, &b, &k, conflict_id).await;
}

async fn record_reads_stay_in_their_tenant<S: Store>(
    store: &S,
    a: &TenantId,
    b: &TenantId,
    k: &RecordKey,
) {
    assert_eq!(store.get(b, k).await.unwrap(), None);
    assert!(
        store
            .get_many(b, std::slice::from_ref(k))
            .await
            .unwrap()
            .is_empty()
    );
    let page = store.changes(b, &since(0, &[], 100)).await.unwrap();
    assert!(page.records.is_empty());
    assert_eq!(page.next, Seq::ZERO);
    let legacy = ChangesQuery {
        since: Since::UpdatedAfter(at(0)),
        entity_types: Vec::new(),
        limit: 100,
        visibility: Vec::new(),
    };
    assert!(store.changes(b, &legacy).await.unwrap().records.is_empty());
    let mut everything = list_query("end_user");
    everything.include_deleted = true;
    assert!(store.list(b, &everything).await.unwrap().records.is_empty());
    let mut search = list_query("end_user");
    search.search = Some((vec!["name".into()], "secret".into()));
    assert!(store.list(b, &search).await.unwrap().records.is_empty());
    assert_eq!(store.list(a, &search).await.unwrap().records.len(), 1);
    let pending = [PendingCondition::SyncStatus(SyncStatus::Pending)];
    assert!(
        store
            .pending(b, &ty("end_user"), &pending, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .pending(a, &ty("end_user"), &pending, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.history(b, k, at(0)).await.unwrap().is_empty());
}

async fn conflicts_and_keys_stay_in_their_tenant<S: Store>(
    store: &S,
    a: &TenantId,
    b: &TenantId,
    conflict_id: Uuid,
) {
    assert!(
        store
            .open_conflicts(b, None, &[], 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.conflict(b, conflict_id).await.unwrap(), None);
    assert!(store.conflict(a, conflict_id).await.unwrap().is_some());
    assert_eq!(
        store.idempotency(b, &client(), "key-1").await.unwrap(),
        None
    );
    assert!(
        store
            .idempotency(a, &client(), "key-1")
            .await
            .unwrap()
            .is_some()
    );
}

async fn writes_stay_in_their_tenant<S: Store>(
    store: &S,
    a: &TenantId,
    b: &TenantId,
    k: &RecordKey,
    conflict_id: Uuid,
) {
    let mut tx = store.begin_write(b).await.unwrap();
    assert_eq!(tx.idempotency(&client(), "key-1").await.unwrap(), None);
    let loaded = tx
        .load(std::slice::from_ref(k), &[(k.clone(), Version(1))])
        .await
        .unwrap();
    assert!(loaded.records.is_empty());
    assert!(loaded.versions.is_empty());
    tx.rollback().await.unwrap();

    // Resolving a's conflict through b's transaction fails and changes nothing.
    let mut tx = store.begin_write(b).await.unwrap();
    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
    batch.resolved_conflicts.push(conflict_id);
    assert!(matches!(
        tx.write(&batch).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(tx.commit().await.is_err());
    let still = store.conflict(a, conflict_id).await.unwrap().unwrap();
    assert_eq!(still.status, ConflictStatus::Open);
}
