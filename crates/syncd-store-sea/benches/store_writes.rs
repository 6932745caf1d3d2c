//! Store writes: one write transaction per batch of 100 new five-field records (lock, load, write
//! records + versions + idempotency entry + audit row, commit), on a SQLite file and, when
//! `SYNCD_TEST_DATABASE_URL` names a PostgreSQL admin connection, on a fresh PostgreSQL
//! database (dropped afterwards). Also a pull of 10 000 records through `changes`.
//!
//! `cargo bench -p syncd-store-sea --bench store_writes`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncd_model::{
    ClientId, EntityTypeName, Record, RecordId, Seq, SubjectId, SyncStatus, TenantId, Timestamp,
    Version,
};
use syncd_store::{
    ChangesQuery, IdempotencyEntry, PushAudit, RecordKey, RecordWrite, Since, Store, WriteBatch,
    WriteKind,
};
use syncd_store_sea::SeaStore;
use tokio::runtime::Runtime;
use uuid::Uuid;

const BATCH: usize = 100;

#[derive(Clone)]
struct Ids {
    tenant: TenantId,
    ty: EntityTypeName,
    client: ClientId,
    subject: SubjectId,
}

fn ids() -> Ids {
    Ids {
        tenant: TenantId::parse("bench").unwrap(),
        ty: EntityTypeName::parse("end_user").unwrap(),
        client: ClientId::parse("bench-device").unwrap(),
        subject: SubjectId::parse("bench-user").unwrap(),
    }
}

/// One push-like write transaction of `BATCH` new records.
async fn write_batch(store: &SeaStore, ids: &Ids) {
    let now = Timestamp::now();
    let new: Vec<RecordId> = (0..BATCH).map(|_| RecordId::new_v7()).collect();
    let keys: Vec<RecordKey> = new
        .iter()
        .map(|id| RecordKey::new(ids.ty.clone(), *id))
        .collect();
    let mut tx = store.begin_write(&ids.tenant).await.unwrap();
    let key = Uuid::new_v4().to_string();
    assert!(tx.idempotency(&ids.client, &key).await.unwrap().is_none());
    let loaded = tx.load(&keys, &[]).await.unwrap();
    assert!(loaded.records.is_empty());
    let mut batch = WriteBatch::new(ids.client.clone(), ids.subject.clone(), now);
    for (i, id) in new.iter().enumerate() {
        let data = json!({
            "name": format!("User {i}"),
            "email": format!("user{i}@example.com"),
            "phone": "+44 20 7946 0000",
            "active": 1,
            "is_deleted": 0,
        });
        let serde_json::Value::Object(data) = data else {
            unreachable!()
        };
        batch.records.push(RecordWrite {
            changed_fields: data.keys().cloned().collect(),
            record: Record {
                entity_type: ids.ty.clone(),
                id: *id,
                version: Version::INITIAL,
                seq: tx.next_seq(),
                data,
                deleted: false,
                sync_status: SyncStatus::Synced,
                created_at: now,
                updated_at: now,
                edited_at: now,
            },
            kind: WriteKind::Create,
        });
    }
    let first = batch.records[0].record.seq;
    batch.idempotency = Some(IdempotencyEntry {
        client_id: ids.client.clone(),
        key,
        request_hash: "0".repeat(64),
        response: json!({ "success": true }).to_string(),
        created_at: now,
    });
    batch.audit = Some(PushAudit {
        client_id: ids.client.clone(),
        subject: ids.subject.clone(),
        changes: BATCH as u32,
        created: BATCH as u32,
        updated: 0,
        deleted: 0,
        unchanged: 0,
        conflicts: 0,
        seq_range: Some((first, tx.head())),
        at: now,
    });
    tx.write(&batch).await.unwrap();
    tx.commit().await.unwrap();
}

async fn pull_all(store: &SeaStore, ids: &Ids, limit: usize) -> usize {
    let page = store
        .changes(
            &ids.tenant,
            &ChangesQuery {
                since: Since::Seq(Seq::ZERO),
                entity_types: vec![ids.ty.clone()],
                limit,
                visibility: Vec::new(),
            },
        )
        .await
        .unwrap();
    page.records.len()
}

fn run(c: &mut Criterion, rt: &Runtime, name: &str, store: &SeaStore) {
    let ids = ids();
    let mut group = c.benchmark_group("store_writes");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(BenchmarkId::new("batch_of_100", name), |b| {
        b.to_async(rt).iter(|| write_batch(store, &ids));
    });
    // Four tenants writing at once: tenants do not wait for each other's lock, and PostgreSQL
    // can flush their commits together.
    let tenants: Vec<Ids> = (0..4)
        .map(|i| Ids {
            tenant: TenantId::parse(format!("bench-{i}")).unwrap(),
            ..ids.clone()
        })
        .collect();
    group.throughput(Throughput::Elements(4 * BATCH as u64));
    group.bench_function(BenchmarkId::new("4_tenants_x_batch_of_100", name), |b| {
        b.to_async(rt).iter(|| async {
            let writes = tenants.iter().map(|ids| {
                let (store, ids) = (store.clone(), ids.clone());
                async move { write_batch(&store, &ids).await }
            });
            futures_join_all(writes).await;
        });
    });
    group.finish();

    // The pull target: 10 000 records in one page.
    rt.block_on(async {
        while store.head(&ids.tenant).await.unwrap().0 < 10_000 {
            write_batch(store, &ids).await;
        }
    });
    let mut group = c.benchmark_group("store_reads");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("changes_10000", name), |b| {
        b.to_async(rt).iter(|| async {
            assert_eq!(pull_all(store, &ids, 10_000).await, 10_000);
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    common::on_each_backend(c, "syncd-bench", run);
}

/// Runs the futures concurrently on the runtime's threads.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

criterion_group!(store, benches);
criterion_main!(store);
