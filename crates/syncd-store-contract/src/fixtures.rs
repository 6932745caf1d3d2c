//! Builders shared by the cases, public so that a backend's own tests (the cases only it can
//! run) write records the same way.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use syncd_model::{
    ClientId, EntityTypeName, Record, RecordId, Seq, SubjectId, SyncStatus, TenantId, Timestamp,
    Version,
};
use syncd_store::{
    ChangesQuery, ConflictEntry, ConflictStatus, IdempotencyEntry, ListQuery, RecordKey,
    RecordWrite, Since, Store, WriteBatch, WriteKind,
};
use uuid::Uuid;

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

pub fn ty(name: &str) -> EntityTypeName {
    EntityTypeName::parse(name).unwrap()
}

/// The client every fixture writes as.
pub fn client() -> ClientId {
    ClientId::parse("device-1").unwrap()
}

/// The subject every fixture writes as.
pub fn subject() -> SubjectId {
    SubjectId::parse("user-1").unwrap()
}

pub fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub fn key(entity_type: &str, id: RecordId) -> RecordKey {
    RecordKey::new(ty(entity_type), id)
}

pub fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// A changes read after `seq` (a cursor), of `types` (none = every type).
pub fn since(seq: i64, types: &[&str], limit: usize) -> ChangesQuery {
    ChangesQuery {
        since: Since::Seq(Seq(seq)),
        entity_types: types.iter().map(|t| ty(t)).collect(),
        limit,
        visibility: Vec::new(),
    }
}

/// A list of the live records of a type: no filter, no search, first page of 100.
pub fn list_query(entity_type: &str) -> ListQuery {
    ListQuery {
        entity_type: ty(entity_type),
        filters: Vec::new(),
        search: None,
        include_deleted: false,
        after: Seq::ZERO,
        limit: 100,
        visibility: None,
    }
}

/// A conflict log entry of an `end_user` record, as `manual` logs it.
pub fn conflict(id: Uuid, record: RecordId, status: ConflictStatus) -> ConflictEntry {
    ConflictEntry {
        id,
        entity_type: ty("end_user"),
        record_id: record,
        strategy: "manual".into(),
        status,
        server_version: Version(3),
        server_data: json!({ "name": "server", "version": 3 }),
        client_data: json!({ "name": "client" }),
        fields: vec!["name".into()],
        client_id: client(),
        subject: subject(),
        created_at: Timestamp::now(),
        resolved_at: None,
    }
}

/// An idempotency entry of [`client`] for `key`.
pub fn idempotency_entry(key: &str, hash: &str) -> IdempotencyEntry {
    IdempotencyEntry {
        client_id: client(),
        key: key.into(),
        request_hash: hash.into(),
        response: json!({ "success": true, "data": [{ "id": "x" }], "cursor": "c1" }).to_string(),
        created_at: Timestamp::now(),
    }
}

/// What a test asks to write: a record's new data, or its deletion.
pub enum Op {
    Put(RecordKey, Map<String, Value>),
    Delete(RecordKey),
}

pub fn put(entity_type: &str, id: RecordId, data: Value) -> Op {
    Op::Put(key(entity_type, id), obj(data))
}

/// Applies `ops` in one write transaction, like the engine does: lock, load, allocate seqs,
/// write, commit. Returns the written states.
pub async fn apply<S: Store>(store: &S, tenant: &TenantId, ops: Vec<Op>) -> Vec<Record> {
    apply_with(store, tenant, ops, SyncStatus::Synced, Timestamp::now()).await
}

/// [`apply`] with the sync status and server time of the written states.
pub async fn apply_with<S: Store>(
    store: &S,
    tenant: &TenantId,
    ops: Vec<Op>,
    status: SyncStatus,
    now: Timestamp,
) -> Vec<Record> {
    let keys: Vec<RecordKey> = ops
        .iter()
        .map(|op| match op {
            Op::Put(k, _) | Op::Delete(k) => k.clone(),
        })
        .collect();
    let (mut tx, loaded) = store
        .begin_write_and_load(tenant, &keys, &[])
        .await
        .unwrap();
    let mut current: HashMap<RecordKey, Record> = loaded
        .records
        .into_iter()
        .map(|r| (RecordKey::new(r.entity_type.clone(), r.id), r))
        .collect();
    let mut batch = WriteBatch::new(client(), subject(), now);
    for op in ops {
        let (k, data, deleted) = match op {
            Op::Put(k, data) => (k, Some(data), false),
            Op::Delete(k) => (k, None, true),
        };
        let before = current.get(&k).cloned();
        let seq = tx.next_seq();
        let (kind, version, created_at, old_data) = match &before {
            None => (WriteKind::Create, Version::INITIAL, now, Map::new()),
            Some(r) => (
                if deleted {
                    WriteKind::Delete
                } else {
                    WriteKind::Update
                },
                r.version.next(),
                r.created_at,
                r.data.clone(),
            ),
        };
        let data = data.unwrap_or_else(|| old_data.clone());
        let changed_fields = data
            .iter()
            .filter(|(f, v)| old_data.get(*f) != Some(*v))
            .map(|(f, _)| f.clone())
            .collect();
        let record = Record {
            entity_type: k.entity_type.clone(),
            id: k.id,
            version,
            seq,
            data,
            deleted,
            sync_status: status,
            created_at,
            updated_at: now,
            edited_at: now,
        };
        current.insert(k, record.clone());
        batch.records.push(RecordWrite {
            record,
            kind,
            changed_fields,
        });
    }
    let written: Vec<Record> = batch.records.iter().map(|w| w.record.clone()).collect();
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();
    written
}

/// Creates `n` records of `entity_type` in one transaction.
pub async fn create_many<S: Store>(
    store: &S,
    tenant: &TenantId,
    entity_type: &str,
    n: usize,
) -> Vec<Record> {
    let ops = (0..n)
        .map(|i| put(entity_type, RecordId::new_v7(), json!({ "n": i })))
        .collect();
    apply(store, tenant, ops).await
}

pub fn ids(records: &[Record]) -> Vec<RecordId> {
    records.iter().map(|r| r.id).collect()
}

pub fn seqs(records: &[Record]) -> Vec<Seq> {
    records.iter().map(|r| r.seq).collect()
}
