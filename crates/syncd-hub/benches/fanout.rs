//! Hub-side fan-out: the time `Hub::deliver` takes to hand one committed event to every
//! connection of a tenant (encode once, enqueue everywhere, wake the consumers).
//!
//! `consumer_tasks`: the consumers are real tasks on a tokio runtime (one worker thread) that
//! drain their queues as the WebSocket tasks do; their time is not measured, and each iteration
//! waits until all of them have received the event before the next delivery.
//! `no_waiting_consumers`: the same, but nobody waits on the queues; they are drained between
//! deliveries, outside the measurement. The difference is the cost of waking parked tasks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncd_hub::{Connection, Hub, HubConfig, Outgoing};
use syncd_model::{
    ChangeEvent, ClientId, Cursor, EntityTypeName, RecordAction, RecordChange, Seq, TenantId,
};

fn event(head: i64) -> ChangeEvent {
    let end_user = EntityTypeName::parse("end_user").unwrap();
    ChangeEvent {
        tenant: TenantId::parse("acme").unwrap(),
        origin_client: ClientId::parse("writer").unwrap(),
        cursor: Cursor::new(Seq(head)),
        counts: vec![(end_user.clone(), 1)],
        records: vec![RecordChange {
            entity_type: end_user,
            id: syncd_model::RecordId::new_v7(),
            rule_fields: serde_json::Map::new(),
            rule_fields_before: None,
            action: RecordAction::Update,
            seq: Seq(head),
            record: syncd_model::raw(
                &json!({ "id": "0190a5a6-8f55-7bd4-9a5c-3b1f2f6d9c01", "name": "Ada", "version": 2 }),
            ),
        }],
        status_updates: Vec::new(),
    }
}

fn readable() -> HashSet<EntityTypeName> {
    ["end_user", "interactions"]
        .into_iter()
        .map(|n| EntityTypeName::parse(n).unwrap())
        .collect()
}

fn connections(hub: &Hub, n: usize) -> Vec<Connection> {
    (0..n)
        .map(|i| {
            hub.register(
                TenantId::parse("acme").unwrap(),
                ClientId::parse(format!("app-{i}")).unwrap(),
                readable(),
                Cursor::default(),
            )
            .unwrap()
        })
        .collect()
}

/// Takes what is queued without waiting (nobody is parked on the queue afterwards).
fn drain(conn: &Connection) -> usize {
    let mut batch = pin!(conn.next_batch());
    match batch.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(items) => items.len(),
        Poll::Pending => 0,
    }
}

fn fanout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("hub_fanout");
    group.measurement_time(Duration::from_secs(5));
    for connections in [100usize, 1_000] {
        let hub = Hub::new(HubConfig {
            max_connections_per_tenant: connections,
            ..HubConfig::default()
        });
        let received = Arc::new(AtomicU64::new(0));
        let conns = self::connections(&hub, connections);
        let consumers: Vec<_> = conns
            .into_iter()
            .map(|conn| {
                let received = Arc::clone(&received);
                runtime.spawn(async move {
                    loop {
                        for item in conn.next_batch().await {
                            match item {
                                Outgoing::Message(bytes) => {
                                    std::hint::black_box(bytes);
                                    received.fetch_add(1, Ordering::Relaxed);
                                }
                                Outgoing::GoingAway => return,
                            }
                        }
                    }
                })
            })
            .collect();

        let mut head = 0i64;
        group.throughput(Throughput::Elements(connections as u64));
        group.bench_with_input(
            BenchmarkId::new("consumer_tasks", connections),
            &connections,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        head += 1;
                        let event = event(head);
                        let expected = received.load(Ordering::Relaxed) + n as u64;
                        let start = Instant::now();
                        hub.deliver(&event);
                        spent += start.elapsed();
                        while received.load(Ordering::Relaxed) < expected {
                            std::thread::yield_now();
                        }
                    }
                    spent
                });
            },
        );
        let stats = hub.stats();
        assert_eq!(stats.dropped, 0, "the consumers kept up: {stats:?}");
        hub.shutdown();
        runtime.block_on(async {
            for consumer in consumers {
                consumer.await.unwrap();
            }
        });

        let hub = Hub::new(HubConfig {
            max_connections_per_tenant: connections,
            ..HubConfig::default()
        });
        let conns = self::connections(&hub, connections);
        group.bench_with_input(
            BenchmarkId::new("no_waiting_consumers", connections),
            &connections,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        head += 1;
                        let event = event(head);
                        let start = Instant::now();
                        hub.deliver(&event);
                        spent += start.elapsed();
                        assert_eq!(conns.iter().map(drain).sum::<usize>(), n);
                    }
                    spent
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
