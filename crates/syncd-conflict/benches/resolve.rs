//! Resolutions per second on a 10-field record.
//!
//! Run with `cargo bench -p syncd-conflict`. Every benchmark resolves one change and drops the
//! resolution, so the figures include building the patch (allocations and clones).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use syncd_conflict::{
    ClientWins, ConflictStrategy, Context, FieldMerge, Incoming, LastWriteWins, Manual, Merge,
    ServerState, ServerWins, resolve,
};
use syncd_model::{ChangeOp, Timestamp, Version};

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// The record at the client's base version.
fn base() -> Map<String, Value> {
    obj(json!({
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "active": 1,
        "is_deleted": 0,
        "score": 42.5,
        "city": "London",
        "notes": "Met at the analytical engine workshop; follow up about the Bernoulli numbers.",
        "tags": ["vip", "engine"],
        "date": "2024-01-01T10:00:00.000Z",
    }))
}

/// Another app changed phone, city and notes since the base.
fn server() -> Map<String, Value> {
    let mut data = base();
    data.insert("phone".into(), json!("+44 20 7946 1111"));
    data.insert("city".into(), json!("Cambridge"));
    data.insert("notes".into(), json!("Moved; call the new number."));
    data
}

/// The client changed email (only it), city (both, differently), notes (both, to the same
/// value) and score; phone, name and the rest are stale copies of the base.
fn client_whole_record() -> Map<String, Value> {
    let mut data = base();
    data.insert("email".into(), json!("ada@lovelace.example"));
    data.insert("city".into(), json!("Oxford"));
    data.insert("notes".into(), json!("Moved; call the new number."));
    data.insert("score".into(), json!(43.0));
    data
}

/// The same edits as a patch.
fn client_patch() -> Map<String, Value> {
    obj(json!({
        "email": "ada@lovelace.example",
        "city": "Oxford",
        "notes": "Moved; call the new number.",
        "score": 43.0,
    }))
}

struct Input {
    server: Map<String, Value>,
    base: Map<String, Value>,
    data: Map<String, Value>,
    base_version: Version,
}

impl Input {
    fn context(&self) -> Context<'_> {
        Context {
            server: Some(ServerState {
                data: &self.server,
                version: Version(3),
                edited_at: Timestamp::from_millis(1_704_103_500_000),
                deleted: false,
            }),
            base: Some(&self.base),
            incoming: Incoming {
                op: ChangeOp::Upsert,
                data: &self.data,
                base_version: Some(self.base_version),
                edited_at: Some(Timestamp::from_millis(1_704_103_620_000)),
            },
            now: Timestamp::from_millis(1_704_103_800_000),
            max_skew_ms: 300_000,
        }
    }
}

fn stale(data: Map<String, Value>) -> Input {
    Input {
        server: server(),
        base: base(),
        data,
        base_version: Version(2),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("resolve 10-field record");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));

    let cases: [(&str, &dyn ConflictStrategy, Input); 9] = [
        (
            "field-merge stale whole record",
            &FieldMerge,
            stale(client_whole_record()),
        ),
        (
            "field-merge stale patch",
            &FieldMerge,
            stale(client_patch()),
        ),
        (
            "field-merge stale no client edits",
            &FieldMerge,
            stale(base()),
        ),
        (
            "server-wins stale whole record",
            &ServerWins,
            stale(client_whole_record()),
        ),
        (
            "client-wins stale whole record",
            &ClientWins,
            stale(client_whole_record()),
        ),
        (
            "last-write-wins stale whole record",
            &LastWriteWins,
            stale(client_whole_record()),
        ),
        (
            "merge stale whole record",
            &Merge,
            stale(client_whole_record()),
        ),
        (
            "manual stale whole record",
            &Manual,
            stale(client_whole_record()),
        ),
        (
            "fresh base whole record (any strategy)",
            &FieldMerge,
            Input {
                base_version: Version(3),
                ..stale(client_whole_record())
            },
        ),
    ];

    for (name, strategy, input) in &cases {
        let ctx = input.context();
        group.bench_function(*name, |b| {
            b.iter(|| resolve(black_box(*strategy), black_box(&ctx)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
