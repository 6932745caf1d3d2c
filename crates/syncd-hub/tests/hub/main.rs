//! Black-box tests of the notification hub: what each connection finds in its queue, byte for
//! byte, after committed events of its tenant (SPEC §6, §8.4 and §8.6). The tests of the
//! PostgreSQL backplane run when `SYNCD_TEST_DATABASE_URL` names an admin connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use syncd_hub::{
    Backplane, Connection, Hub, HubConfig, HubStats, NotReadable, Outgoing, RecordSource,
    RegisterError, Subscription,
};
use syncd_model::{
    ChangeEvent, ClientId, Cursor, EntityTypeName, Notifier, RecordAction, RecordChange, RecordId,
    Seq, StatusUpdate, SyncStatus, TenantId, Timestamp,
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn ty(name: &str) -> EntityTypeName {
    EntityTypeName::parse(name).unwrap()
}

fn types(names: &[&str]) -> HashSet<EntityTypeName> {
    names.iter().map(|n| ty(n)).collect()
}

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn client(name: &str) -> ClientId {
    ClientId::parse(name).unwrap()
}

/// The cursor string clients see for a seq.
fn cursor(seq: i64) -> String {
    Cursor::new(Seq(seq)).encode()
}

const READABLE: &[&str] = &["end_user", "interactions", "notes"];

fn hub() -> Arc<Hub> {
    Hub::new(HubConfig::default())
}

/// A connection of tenant `t`, client `c`, that may read `READABLE` and has seen nothing yet.
fn connect(hub: &Hub, t: &str, c: &str) -> Connection {
    hub.register(tenant(t), client(c), types(READABLE), Cursor::new(Seq(0)))
        .unwrap()
}

/// The record a test event carries for a type and seq.
fn record_json(entity_type: &str, seq: i64) -> Value {
    json!({ "id": format!("{entity_type}-{seq}"), "name": format!("{entity_type} #{seq}"), "version": 1 })
}

/// A committed write of tenant `t` by client `origin` whose last record got `head`: `counts`
/// records per type, created in that order with consecutive seqs ending at `head`.
fn event(t: &str, origin: &str, head: i64, counts: &[(&str, u32)]) -> ChangeEvent {
    let total: i64 = counts.iter().map(|(_, n)| i64::from(*n)).sum();
    let mut seq = head - total;
    let mut records = Vec::new();
    for (name, n) in counts {
        for _ in 0..*n {
            seq += 1;
            records.push(RecordChange {
                entity_type: ty(name),
                id: syncd_model::RecordId::new_v7(),
                rule_fields: serde_json::Map::new(),
                rule_fields_before: None,
                action: RecordAction::Create,
                seq: Seq(seq),
                record: syncd_model::raw(&record_json(name, seq)),
            });
        }
    }
    ChangeEvent {
        tenant: tenant(t),
        origin_client: client(origin),
        cursor: Cursor::new(Seq(head)),
        counts: counts.iter().map(|(name, n)| (ty(name), *n)).collect(),
        records,
        status_updates: Vec::new(),
    }
}

/// The same event as another instance forwards it: counts and cursor, no records.
fn remote(mut event: ChangeEvent) -> ChangeEvent {
    event.records.clear();
    event
}

/// Polls a future once: what `next_batch` would hand over right now, without waiting.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// Everything queued for `conn` right now (nothing if the queue is empty).
fn take(conn: &Connection) -> Vec<Outgoing> {
    poll_once(conn.next_batch()).unwrap_or_default()
}

fn bytes_of(item: &Outgoing) -> &Bytes {
    match item {
        Outgoing::Message(bytes) => bytes,
        Outgoing::GoingAway => panic!("expected a message, got GoingAway"),
    }
}

fn parse(bytes: &Bytes) -> Value {
    let value: Value = serde_json::from_slice(bytes).expect("a JSON text frame");
    let timestamp = value["timestamp"].as_str().expect("a timestamp string");
    Timestamp::parse_rfc3339(timestamp).expect("an RFC 3339 timestamp");
    value
}

/// The messages queued for `conn` right now, parsed.
fn messages(conn: &Connection) -> Vec<Value> {
    take(conn)
        .iter()
        .map(|item| parse(bytes_of(item)))
        .collect()
}

/// The one message queued for `conn`, which must be of `kind`; returns its `data`.
fn only(conn: &Connection, kind: &str) -> Value {
    let mut got = messages(conn);
    assert_eq!(got.len(), 1, "expected exactly one {kind}, got {got:#?}");
    let message = got.remove(0);
    assert_eq!(message["type"], kind, "{message:#}");
    assert_eq!(
        message.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["type", "data", "timestamp"]
    );
    message["data"].clone()
}

fn notification(kind: &str, types: &[&str], count: u64, head: i64, origin: &str) -> Value {
    let names = types.join(", ");
    let message = match kind {
        "sync_complete" => format!("{names} sync completed successfully"),
        _ => format!("new {names} data available"),
    };
    json!({
        "event": kind,
        "entityTypes": types,
        "count": count,
        "cursor": cursor(head),
        "originClientId": origin,
        "message": message,
    })
}

fn data_update(entity_type: &str, action: &str, seq: i64, origin: &str) -> Value {
    json!({
        "type": entity_type,
        "action": action,
        "data": record_json(entity_type, seq),
        "cursor": cursor(seq),
        "originClientId": origin,
    })
}

/// One call of a record source: tenant, after, upto, types.
type Asked = (TenantId, Seq, Seq, Vec<EntityTypeName>);

/// Answers with the records of a fixed write and remembers what it was asked.
struct Records {
    records: Vec<RecordChange>,
    asked: Mutex<Vec<Asked>>,
}

#[async_trait::async_trait]
impl RecordSource for Records {
    async fn records(
        &self,
        tenant: &TenantId,
        after: Seq,
        upto: Seq,
        types: &[EntityTypeName],
    ) -> Vec<RecordChange> {
        self.asked
            .lock()
            .unwrap()
            .push((tenant.clone(), after, upto, types.to_vec()));
        tokio::task::yield_now().await;
        self.records
            .iter()
            .filter(|r| r.seq > after && r.seq <= upto && types.contains(&r.entity_type))
            .cloned()
            .collect()
    }
}

mod backplane;
mod cursors;
mod data_updates;
mod encoding;
mod notifications;
mod queues;
mod registration;
mod remote_events;
mod subscriptions;
