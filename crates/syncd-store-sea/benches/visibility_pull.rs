//! Selective sync: a pull of the 10 000 records a rep sees out of a 100 000-record tenant (a
//! visibility rule on `owner`, served by its expression index) against a pull of 10 000 records
//! without rules, on a SQLite file and, when `SYNCD_TEST_DATABASE_URL` names a PostgreSQL admin
//! connection, on a fresh PostgreSQL database (dropped afterwards). Both from the start and
//! from a cursor (which adds the removals query).
//!
//! `cargo bench -p syncd-store-sea --bench visibility_pull`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncd_model::{
    ClientId, EntityTypeName, FieldIn, Record, RecordId, Seq, SubjectId, SyncStatus, TenantId,
    Timestamp, Version,
};
use syncd_store::{ChangesQuery, RecordWrite, Since, Store, TypeAccess, WriteBatch, WriteKind};
use syncd_store_sea::SeaStore;
use tokio::runtime::Runtime;

const RECORDS: i64 = 100_000;
const REPS: i64 = 10;
const PAGE: usize = 10_000;

fn tenant() -> TenantId {
    TenantId::parse("bench").unwrap()
}

fn deals() -> EntityTypeName {
    EntityTypeName::parse("deals").unwrap()
}

/// 100 000 deals in batches of 1000, owned in turn by `rep-0` … `rep-9`.
async fn seed(store: &SeaStore) {
    let client = ClientId::parse("seed").unwrap();
    let subject = SubjectId::parse("seed").unwrap();
    while store.head(&tenant()).await.unwrap().0 < RECORDS {
        let now = Timestamp::now();
        let mut tx = store.begin_write(&tenant()).await.unwrap();
        let mut batch = WriteBatch::new(client.clone(), subject.clone(), now);
        for _ in 0..1000 {
            let seq = tx.next_seq();
            let serde_json::Value::Object(data) = json!({
                "title": format!("Deal {}", seq.0),
                "owner": format!("rep-{}", seq.0 % REPS),
                "amount": seq.0,
            }) else {
                unreachable!()
            };
            batch.records.push(RecordWrite {
                changed_fields: data.keys().cloned().collect(),
                record: Record {
                    entity_type: deals(),
                    id: RecordId::new_v7(),
                    version: Version::INITIAL,
                    seq,
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
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    store
        .index_visibility_fields(&[(deals(), "owner".to_owned())])
        .await
        .unwrap();
}

async fn pull(store: &SeaStore, since: Seq, rule: bool) -> usize {
    let visibility = if rule {
        vec![TypeAccess {
            entity_type: deals(),
            matches: vec![FieldIn {
                field: "owner".into(),
                values: vec!["rep-3".into()],
            }],
        }]
    } else {
        Vec::new()
    };
    let page = store
        .changes(
            &tenant(),
            &ChangesQuery {
                since: Since::Seq(since),
                entity_types: vec![deals()],
                limit: PAGE,
                visibility,
            },
        )
        .await
        .unwrap();
    page.records.len() + page.removals.len()
}

fn run(c: &mut Criterion, rt: &Runtime, name: &str, store: &SeaStore) {
    rt.block_on(seed(store));
    let mut group = c.benchmark_group("visibility_pull");
    group.throughput(Throughput::Elements(PAGE as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (label, since) in [("from_start", Seq::ZERO), ("from_cursor", Seq(1))] {
        group.bench_function(BenchmarkId::new(format!("no_rules_{label}"), name), |b| {
            b.to_async(rt).iter(|| async {
                assert_eq!(pull(store, since, false).await, PAGE);
            });
        });
        group.bench_function(BenchmarkId::new(format!("rule_{label}"), name), |b| {
            b.to_async(rt).iter(|| async {
                assert_eq!(pull(store, since, true).await, PAGE);
            });
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    common::on_each_backend(c, "syncd-vis-bench", run);
}

criterion_group!(visibility, benches);
criterion_main!(visibility);
