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

// ---------------------------------------------------------------------------------------------
// Notifications

#[test]
fn a_new_connection_is_subscribed_to_every_readable_type_without_data() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-1");
    assert_eq!(
        conn.subscription(),
        Subscription {
            types: types(READABLE),
            include_data: false
        }
    );
    assert_eq!(conn.tenant(), &tenant("acme"));
    assert_eq!(conn.client(), &client("app-1"));
    assert!(take(&conn).is_empty(), "nothing is queued on registration");
}

#[test]
fn the_writing_client_gets_sync_complete_and_every_other_client_new_data_available() {
    let hub = hub();
    let app1a = connect(&hub, "acme", "app-1");
    let app1b = connect(&hub, "acme", "app-1");
    let app2 = connect(&hub, "acme", "app-2");
    let app3 = connect(&hub, "acme", "app-3");

    hub.deliver(&event("acme", "app-1", 7, &[("end_user", 1)]));

    let complete = notification("sync_complete", &["end_user"], 1, 7, "app-1");
    assert_eq!(only(&app1a, "sync_notification"), complete);
    assert_eq!(only(&app1b, "sync_notification"), complete);
    assert_eq!(
        complete["message"], "end_user sync completed successfully",
        "the wording SPEC §6 gives as its example"
    );
    let available = notification("new_data_available", &["end_user"], 1, 7, "app-1");
    assert_eq!(only(&app2, "sync_notification"), available);
    assert_eq!(only(&app3, "sync_notification"), available);
}

#[test]
fn every_event_yields_exactly_one_sync_notification_per_connection() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    hub.deliver(&event(
        "acme",
        "app-1",
        10,
        &[("end_user", 4), ("interactions", 3), ("notes", 3)],
    ));
    hub.deliver(&event("acme", "app-1", 12, &[("notes", 2)]));

    let got = messages(&conn);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0]["data"],
        notification(
            "new_data_available",
            &["end_user", "interactions", "notes"],
            10,
            10,
            "app-1"
        )
    );
    assert_eq!(
        got[1]["data"],
        notification("new_data_available", &["notes"], 2, 12, "app-1")
    );
}

#[test]
fn a_notification_names_and_counts_only_the_subscribed_types() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    conn.subscribe(Some(vec![ty("notes"), ty("end_user")]), false)
        .unwrap();

    hub.deliver(&event(
        "acme",
        "app-1",
        6,
        &[("end_user", 2), ("interactions", 3), ("notes", 1)],
    ));

    assert_eq!(
        only(&conn, "sync_notification"),
        notification("new_data_available", &["end_user", "notes"], 3, 6, "app-1")
    );
}

#[test]
fn an_event_touching_none_of_the_subscribed_types_sends_nothing() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    let writer = connect(&hub, "acme", "app-1");
    conn.subscribe(Some(vec![ty("notes")]), true).unwrap();
    writer.subscribe(Some(vec![ty("notes")]), true).unwrap();

    hub.deliver(&event(
        "acme",
        "app-1",
        5,
        &[("end_user", 2), ("interactions", 3)],
    ));

    assert!(take(&conn).is_empty());
    assert!(
        take(&writer).is_empty(),
        "not even the writer hears of types it unsubscribed from"
    );
    assert_eq!(hub.stats().enqueued, 0);
}

#[test]
fn a_connection_never_hears_of_types_its_token_may_not_read() {
    let hub = hub();
    let conn = hub
        .register(
            tenant("acme"),
            client("app-2"),
            types(&["end_user"]),
            Cursor::default(),
        )
        .unwrap();

    hub.deliver(&event(
        "acme",
        "app-1",
        3,
        &[("interactions", 2), ("end_user", 1)],
    ));
    hub.deliver(&event("acme", "app-1", 4, &[("interactions", 1)]));

    assert_eq!(
        only(&conn, "sync_notification"),
        notification("new_data_available", &["end_user"], 1, 3, "app-1")
    );
}

#[test]
fn another_tenants_connections_receive_nothing() {
    let hub = hub();
    let ours = connect(&hub, "acme", "app-2");
    let theirs = connect(&hub, "globex", "app-2");
    let theirs_same_client = connect(&hub, "globex", "app-1");
    for c in [&ours, &theirs, &theirs_same_client] {
        c.subscribe(None, true).unwrap();
    }

    hub.deliver(&event("acme", "app-1", 2, &[("end_user", 2)]));

    assert_eq!(
        messages(&ours).len(),
        3,
        "one notification, two data_update"
    );
    assert!(take(&theirs).is_empty());
    assert!(
        take(&theirs_same_client).is_empty(),
        "the same client id in another tenant is another client"
    );
    hub.deliver_data(
        &tenant("acme"),
        &client("app-1"),
        &event("acme", "app-1", 3, &[("end_user", 1)]).records,
    );
    assert!(take(&theirs).is_empty());
    assert!(take(&theirs_same_client).is_empty());
}

#[test]
fn an_event_for_a_tenant_without_connections_is_counted_and_goes_nowhere() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    hub.deliver(&event("nobody-here", "app-1", 1, &[("end_user", 1)]));
    assert!(take(&conn).is_empty());
    let stats = hub.stats();
    assert_eq!((stats.events, stats.enqueued, stats.queued), (1, 0, 0));
}

#[test]
fn a_write_touching_more_than_64_types_is_announced_for_every_type() {
    let names: Vec<String> = (0..70).map(|i| format!("type_{i:02}")).collect();
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let counts: Vec<(&str, u32)> = all.iter().map(|n| (*n, 1)).collect();
    let hub = hub();
    let everything = hub
        .register(
            tenant("acme"),
            client("app-2"),
            types(&all),
            Cursor::default(),
        )
        .unwrap();
    let last_only = hub
        .register(
            tenant("acme"),
            client("app-3"),
            types(&all),
            Cursor::default(),
        )
        .unwrap();
    last_only
        .subscribe(Some(vec![ty("type_69")]), true)
        .unwrap();

    hub.deliver(&event("acme", "app-1", 70, &counts));

    assert_eq!(
        only(&everything, "sync_notification"),
        notification("new_data_available", &all, 70, 70, "app-1")
    );
    let got = messages(&last_only);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0]["data"],
        notification("new_data_available", &["type_69"], 1, 70, "app-1")
    );
    assert_eq!(
        got[1]["data"],
        data_update("type_69", "create", 70, "app-1")
    );
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

#[test]
fn subscribe_replaces_the_set_narrowing_or_widening_it_and_none_means_every_readable_type() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");

    let narrowed = conn.subscribe(Some(vec![ty("end_user")]), false).unwrap();
    assert_eq!(narrowed.types, types(&["end_user"]));
    assert_eq!(conn.subscription(), narrowed);
    hub.deliver(&event("acme", "app-1", 2, &[("notes", 1), ("end_user", 1)]));
    assert_eq!(
        only(&conn, "sync_notification")["entityTypes"],
        json!(["end_user"])
    );

    let widened = conn
        .subscribe(Some(vec![ty("end_user"), ty("notes")]), true)
        .unwrap();
    assert_eq!(
        widened,
        Subscription {
            types: types(&["end_user", "notes"]),
            include_data: true
        }
    );
    let everything = conn.subscribe(None, false).unwrap();
    assert_eq!(
        everything,
        Subscription {
            types: types(READABLE),
            include_data: false
        }
    );
    let nothing = conn.subscribe(Some(Vec::new()), false).unwrap();
    assert!(
        nothing.types.is_empty(),
        "an empty list is an empty set, not every type"
    );
    hub.deliver(&event("acme", "app-1", 3, &[("end_user", 1)]));
    assert!(take(&conn).is_empty());
}

#[test]
fn subscribing_to_a_type_that_is_not_readable_is_refused_and_leaves_the_set_unchanged() {
    let hub = hub();
    let conn = hub
        .register(
            tenant("acme"),
            client("app-2"),
            types(&["end_user", "notes"]),
            Cursor::default(),
        )
        .unwrap();
    let before = conn.subscribe(Some(vec![ty("notes")]), true).unwrap();

    let refused = conn.subscribe(Some(vec![ty("end_user"), ty("interactions")]), false);

    assert_eq!(refused, Err(NotReadable("interactions".into())));
    assert_eq!(
        refused.unwrap_err().to_string(),
        "the token may not read `interactions`"
    );
    assert_eq!(
        conn.subscription(),
        before,
        "types and includeData unchanged"
    );
    hub.deliver(&event(
        "acme",
        "app-1",
        2,
        &[("interactions", 1), ("end_user", 1)],
    ));
    assert!(take(&conn).is_empty());
}

#[test]
fn unsubscribe_removes_types_from_the_set() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    conn.subscribe(None, true).unwrap();

    let after = conn.unsubscribe(&[ty("end_user"), ty("interactions")]);

    assert_eq!(
        after,
        Subscription {
            types: types(&["notes"]),
            include_data: true
        }
    );
    assert_eq!(
        conn.unsubscribe(&[ty("end_user")]),
        after,
        "removing a type not in the set changes nothing"
    );
    hub.deliver(&event("acme", "app-1", 1, &[("end_user", 1)]));
    assert!(take(&conn).is_empty());
    hub.deliver(&event("acme", "app-1", 3, &[("end_user", 1), ("notes", 1)]));
    let got = messages(&conn);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0]["data"],
        notification("new_data_available", &["notes"], 1, 3, "app-1")
    );
    assert_eq!(got[1]["data"], data_update("notes", "create", 3, "app-1"));
}

#[test]
fn a_fresh_token_that_may_read_less_drops_those_types_from_the_subscription() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    conn.subscribe(Some(vec![ty("end_user"), ty("notes")]), true)
        .unwrap();

    conn.set_readable(types(&["notes", "interactions"]));

    assert_eq!(
        conn.subscription(),
        Subscription {
            types: types(&["notes"]),
            include_data: true
        },
        "a newly readable type is not added by itself"
    );
    assert_eq!(
        conn.subscribe(Some(vec![ty("end_user")]), false),
        Err(NotReadable("end_user".into()))
    );
    assert_eq!(
        conn.subscribe(None, false).unwrap().types,
        types(&["notes", "interactions"])
    );
}

// ---------------------------------------------------------------------------------------------
// data_update and sync_status_update

#[test]
fn include_data_subscribers_get_one_data_update_per_record_of_their_types() {
    let hub = hub();
    let with_data = connect(&hub, "acme", "app-2");
    with_data
        .subscribe(Some(vec![ty("end_user")]), true)
        .unwrap();
    let without = connect(&hub, "acme", "app-3");
    without
        .subscribe(Some(vec![ty("end_user")]), false)
        .unwrap();
    let writer = connect(&hub, "acme", "app-1");
    writer.subscribe(None, true).unwrap();

    let mut write = event("acme", "app-1", 13, &[("end_user", 2), ("interactions", 1)]);
    write.records[1].action = RecordAction::Update;
    let mut delete = event("acme", "app-1", 14, &[("end_user", 1)]);
    delete.records[0].action = RecordAction::Delete;
    hub.deliver(&write);
    hub.deliver(&delete);

    let got = messages(&with_data);
    let kinds: Vec<&str> = got.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "sync_notification",
            "data_update",
            "data_update",
            "sync_notification",
            "data_update"
        ]
    );
    assert_eq!(
        got[0]["data"],
        notification("new_data_available", &["end_user"], 2, 13, "app-1")
    );
    assert_eq!(
        got[1]["data"],
        data_update("end_user", "create", 11, "app-1")
    );
    assert_eq!(
        got[2]["data"],
        data_update("end_user", "update", 12, "app-1")
    );
    assert_eq!(
        got[4]["data"],
        data_update("end_user", "delete", 14, "app-1")
    );

    let got = messages(&without);
    assert_eq!(got.len(), 2, "notifications only: {got:#?}");
    assert!(got.iter().all(|m| m["type"] == "sync_notification"));

    let got = messages(&writer);
    let updates: Vec<&Value> = got.iter().filter(|m| m["type"] == "data_update").collect();
    assert_eq!(
        updates.len(),
        4,
        "the writer asked for data too, of every type"
    );
    assert_eq!(
        updates[2]["data"],
        data_update("interactions", "create", 13, "app-1")
    );
}

#[test]
fn status_updates_reach_the_subscribers_of_their_type() {
    let hub = hub();
    let users = connect(&hub, "acme", "app-2");
    users.subscribe(Some(vec![ty("end_user")]), false).unwrap();
    let notes = connect(&hub, "acme", "app-3");
    notes.subscribe(Some(vec![ty("notes")]), true).unwrap();
    let writer = connect(&hub, "acme", "app-1");

    // A manual conflict recorded: nothing written, one status set by the server.
    let id = RecordId::new_v7();
    let conflict = ChangeEvent {
        tenant: tenant("acme"),
        origin_client: client("app-1"),
        cursor: Cursor::new(Seq(4)),
        counts: Vec::new(),
        records: Vec::new(),
        status_updates: vec![StatusUpdate {
            entity_type: ty("end_user"),
            id,
            status: SyncStatus::Conflict,
        }],
    };
    hub.deliver(&conflict);

    let expected = json!({ "entityType": "end_user", "id": id.to_string(), "status": "conflict" });
    assert_eq!(only(&users, "sync_status_update"), expected);
    assert_eq!(only(&writer, "sync_status_update"), expected);
    assert!(take(&notes).is_empty());

    // A resolution writes the record and reports its new status in the same event.
    let mut resolved = event("acme", "app-1", 5, &[("end_user", 1)]);
    resolved.status_updates.push(StatusUpdate {
        entity_type: ty("end_user"),
        id,
        status: SyncStatus::Synced,
    });
    hub.deliver(&resolved);
    let got = messages(&users);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0]["type"], "sync_notification");
    assert_eq!(got[1]["type"], "sync_status_update");
    assert_eq!(got[1]["data"]["status"], "synced");
    assert!(take(&notes).is_empty());
}

// ---------------------------------------------------------------------------------------------
// One encoding per event

#[test]
fn each_event_is_encoded_once_and_the_same_bytes_are_shared_by_every_recipient() {
    let hub = hub();
    let others: Vec<Connection> = (2..6)
        .map(|i| connect(&hub, "acme", &format!("app-{i}")))
        .collect();
    let writers = [
        connect(&hub, "acme", "app-1"),
        connect(&hub, "acme", "app-1"),
    ];
    for c in &others[..2] {
        c.subscribe(None, true).unwrap();
    }
    let id = RecordId::new_v7();
    let mut write = event("acme", "app-1", 9, &[("end_user", 1)]);
    write.status_updates.push(StatusUpdate {
        entity_type: ty("end_user"),
        id,
        status: SyncStatus::Conflict,
    });
    hub.deliver(&write);

    let batches: Vec<Vec<Outgoing>> = others.iter().map(take).collect();
    let first: Vec<&Bytes> = batches[0].iter().map(bytes_of).collect();
    assert_eq!(first.len(), 3, "notification, data_update, status");
    for batch in &batches {
        let notification = bytes_of(&batch[0]);
        assert_eq!(notification, first[0]);
        assert_eq!(notification.as_ptr(), first[0].as_ptr(), "one buffer");
        let status = bytes_of(batch.last().unwrap());
        assert_eq!(status.as_ptr(), first[2].as_ptr());
    }
    assert_eq!(
        bytes_of(&batches[1][1]).as_ptr(),
        first[1].as_ptr(),
        "data_update shared too"
    );
    let complete: Vec<Bytes> = writers
        .iter()
        .map(|c| bytes_of(&take(c)[0]).clone())
        .collect();
    assert_eq!(complete[0].as_ptr(), complete[1].as_ptr());
    assert_ne!(
        complete[0], *first[0],
        "sync_complete differs from new_data_available"
    );
    assert_eq!(parse(first[2])["data"]["id"], id.to_string());
}

// ---------------------------------------------------------------------------------------------
// Bounded queues

#[test]
fn a_reader_gets_all_50000_events_in_order_while_one_that_stopped_reading_gets_one_resync() {
    const EVENTS: i64 = 50_000;
    let hub = hub();
    let capacity = hub.config().queue_capacity;
    assert_eq!(capacity, 1024, "the default queue capacity");
    let slow = connect(&hub, "acme", "app-slow");
    let reader = connect(&hub, "acme", "app-reader");

    // The slow one reads the first three events, then stops reading.
    for head in 1..=3 {
        hub.deliver(&event("acme", "app-1", head, &[("end_user", 1)]));
    }
    assert_eq!(messages(&slow).len(), 3);

    let mut seen: Vec<String> = Vec::new();
    let mut read = |reader: &Connection| {
        for message in messages(reader) {
            assert_eq!(message["type"], "sync_notification", "{message:#}");
            seen.push(message["data"]["cursor"].as_str().unwrap().to_owned());
        }
    };
    for head in 4..=EVENTS + 3 {
        hub.deliver(&event("acme", "app-1", head, &[("end_user", 1)]));
        assert!(slow.queued() <= capacity, "queue bounded at every step");
        if head % 500 == 0 {
            read(&reader);
            assert!(hub.stats().queued <= capacity as u64 + 500);
        }
    }
    read(&reader);

    let expected: Vec<String> = (1..=EVENTS + 3).map(cursor).collect();
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "the reader got every event, in order");

    let stats = hub.stats();
    assert_eq!(stats.events, EVENTS as u64 + 3);
    assert_eq!(stats.resyncs, 1);
    assert_eq!(
        stats.dropped, EVENTS as u64,
        "every event the slow one missed"
    );
    assert_eq!(
        stats.enqueued,
        (EVENTS as u64 + 3) + 3 + capacity as u64,
        "the reader's, the slow one's first three and a full queue"
    );
    assert_eq!(stats.queued, 1, "only the resync_required waits");

    let resync = only(&slow, "resync_required");
    assert_eq!(
        resync,
        json!({
            "cursor": cursor(3),
            "message": "events were dropped because this connection fell behind; pull from your cursor to catch up",
        }),
        "the last cursor the slow connection took"
    );

    // Once it has read the resync, it is served again.
    hub.deliver(&event("acme", "app-1", EVENTS + 4, &[("end_user", 1)]));
    assert_eq!(
        only(&slow, "sync_notification")["cursor"],
        cursor(EVENTS + 4)
    );
}

#[test]
fn hub_stats_count_connections_events_enqueued_dropped_resyncs_and_queued() {
    let hub = Hub::new(HubConfig {
        queue_capacity: 3,
        ..HubConfig::default()
    });
    assert_eq!(hub.stats(), HubStats::default());
    let a = connect(&hub, "acme", "app-a");
    let b = connect(&hub, "acme", "app-b");
    let other = connect(&hub, "globex", "app-a");
    assert_eq!(hub.stats().connections, 3);
    assert_eq!(hub.tenant_connections(&tenant("acme")), 2);
    assert_eq!(hub.tenant_connections(&tenant("globex")), 1);

    for head in 1..=2 {
        hub.deliver(&event("acme", "app-1", head, &[("end_user", 1)]));
    }
    assert_eq!(
        hub.stats(),
        HubStats {
            connections: 3,
            events: 2,
            enqueued: 4,
            dropped: 0,
            resyncs: 0,
            queued: 4
        }
    );
    assert_eq!(messages(&b).len(), 2);
    for head in 3..=6 {
        hub.deliver(&event("acme", "app-1", head, &[("end_user", 1)]));
        messages(&b);
    }
    // `a` never reads: event 3 fills its queue (3); event 4 overflows it, dropping the three
    // queued and the new one for one resync_required; events 5 and 6 are dropped behind it.
    // `b` reads every time and gets all six.
    assert_eq!(
        hub.stats(),
        HubStats {
            connections: 3,
            events: 6,
            enqueued: 3 + 6,
            dropped: 6,
            resyncs: 1,
            queued: 1
        }
    );
    assert_eq!(a.queued(), 1);
    assert_eq!(only(&a, "resync_required")["cursor"], cursor(0));
    assert_eq!(hub.stats().queued, 0);
    drop(other);
    assert_eq!(hub.stats().connections, 2);
}

#[test]
fn resync_all_queues_one_resync_required_per_connection_with_its_last_delivered_cursor() {
    let hub = hub();
    let behind = connect(&hub, "acme", "app-a");
    let idle = hub
        .register(
            tenant("globex"),
            client("app-b"),
            types(READABLE),
            Cursor::new(Seq(41)),
        )
        .unwrap();
    hub.deliver(&event("acme", "app-1", 5, &[("end_user", 1)]));
    assert_eq!(messages(&behind).len(), 1);
    hub.deliver(&event("acme", "app-1", 6, &[("end_user", 1)]));
    hub.deliver(&event("acme", "app-1", 7, &[("end_user", 1)]));

    hub.resync_all();
    hub.resync_all();

    assert_eq!(only(&behind, "resync_required")["cursor"], cursor(5));
    assert_eq!(
        only(&idle, "resync_required")["cursor"],
        cursor(41),
        "the cursor it registered with"
    );
    let stats = hub.stats();
    assert_eq!(
        stats.resyncs, 2,
        "one per connection, however often it is called"
    );
    assert_eq!(
        stats.dropped, 2,
        "the two queued notifications; an empty queue loses nothing"
    );
    assert_eq!(stats.queued, 0);
}

// ---------------------------------------------------------------------------------------------
// Registration, caps, shutdown

#[test]
fn the_tenant_connection_cap_refuses_registration_with_tenant_full() {
    let hub = Hub::new(HubConfig {
        max_connections_per_tenant: 3,
        ..HubConfig::default()
    });
    let conns: Vec<Connection> = (0..3)
        .map(|i| connect(&hub, "acme", &format!("app-{i}")))
        .collect();

    let refused = hub.register(
        tenant("acme"),
        client("app-9"),
        types(READABLE),
        Cursor::default(),
    );
    assert_eq!(refused.unwrap_err(), RegisterError::TenantFull);
    assert!(
        hub.register(
            tenant("globex"),
            client("app-9"),
            types(READABLE),
            Cursor::default()
        )
        .is_ok(),
        "another tenant has its own cap"
    );
    drop(conns);
    assert!(
        hub.register(
            tenant("acme"),
            client("app-9"),
            types(READABLE),
            Cursor::default()
        )
        .is_ok()
    );
}

#[test]
fn the_client_connection_cap_refuses_registration_with_client_full() {
    let hub = Hub::new(HubConfig {
        max_connections_per_client: 2,
        ..HubConfig::default()
    });
    let first = connect(&hub, "acme", "app-1");
    let _second = connect(&hub, "acme", "app-1");

    let refused = hub.register(
        tenant("acme"),
        client("app-1"),
        types(READABLE),
        Cursor::default(),
    );
    assert_eq!(refused.unwrap_err(), RegisterError::ClientFull);
    assert_eq!(
        RegisterError::ClientFull.to_string(),
        "this client has too many WebSocket connections"
    );
    let _other_client = connect(&hub, "acme", "app-2");
    let _same_name_other_tenant = connect(&hub, "globex", "app-1");
    let _again = connect(&hub, "globex", "app-1");
    drop(first);
    let _third = connect(&hub, "acme", "app-1");
    assert_eq!(hub.tenant_connections(&tenant("acme")), 3);
}

#[test]
fn dropping_a_connection_unregisters_it() {
    let hub = hub();
    let stays = connect(&hub, "acme", "app-1");
    let leaves = connect(&hub, "acme", "app-2");
    let ids = (stays.id(), leaves.id());
    assert_ne!(ids.0, ids.1);
    drop(leaves);

    assert_eq!(hub.tenant_connections(&tenant("acme")), 1);
    hub.deliver(&event("acme", "app-3", 1, &[("end_user", 1)]));
    assert_eq!(hub.stats().enqueued, 1, "only the remaining connection");
    assert_eq!(messages(&stays).len(), 1);
    drop(stays);
    assert_eq!(hub.stats().connections, 0);
    assert_eq!(hub.tenant_connections(&tenant("acme")), 0);
}

#[test]
fn a_connection_outliving_its_hub_drops_quietly() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-1");
    drop(hub);
    assert!(take(&conn).is_empty());
    drop(conn);
}

#[test]
fn shutdown_queues_going_away_for_every_connection_and_refuses_new_ones() {
    let hub = hub();
    let busy = connect(&hub, "acme", "app-1");
    let idle = connect(&hub, "globex", "app-1");
    hub.deliver(&event("acme", "app-2", 1, &[("end_user", 1)]));

    hub.shutdown();

    let got = take(&busy);
    assert_eq!(got.len(), 2);
    assert_eq!(parse(bytes_of(&got[0]))["type"], "sync_notification");
    assert_eq!(got[1], Outgoing::GoingAway, "after what was already queued");
    assert_eq!(take(&idle), [Outgoing::GoingAway]);
    assert_eq!(
        hub.register(
            tenant("acme"),
            client("app-3"),
            types(READABLE),
            Cursor::default()
        )
        .unwrap_err(),
        RegisterError::ShuttingDown
    );
}

#[test]
fn going_away_survives_a_queue_overflow() {
    let hub = Hub::new(HubConfig {
        queue_capacity: 2,
        ..HubConfig::default()
    });
    let conn = connect(&hub, "acme", "app-1");
    hub.deliver(&event("acme", "app-2", 1, &[("end_user", 1)]));
    hub.shutdown();
    hub.deliver(&event("acme", "app-2", 2, &[("end_user", 1)]));

    let got = take(&conn);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(parse(bytes_of(&got[0]))["type"], "resync_required");
    assert_eq!(got[1], Outgoing::GoingAway);
}

// ---------------------------------------------------------------------------------------------
// Events from other instances

#[test]
fn deliver_data_sends_records_to_the_data_subscribers_of_their_types() {
    let hub = hub();
    let users = connect(&hub, "acme", "app-2");
    users.subscribe(Some(vec![ty("end_user")]), true).unwrap();
    let notes = connect(&hub, "acme", "app-3");
    notes.subscribe(Some(vec![ty("notes")]), true).unwrap();
    let no_data = connect(&hub, "acme", "app-4");

    let records = event("acme", "app-1", 3, &[("end_user", 2), ("interactions", 1)]).records;
    hub.deliver_data(&tenant("acme"), &client("app-1"), &records);

    let got = messages(&users);
    assert_eq!(
        got.iter().map(|m| m["data"].clone()).collect::<Vec<_>>(),
        [
            data_update("end_user", "create", 1, "app-1"),
            data_update("end_user", "create", 2, "app-1")
        ]
    );
    assert!(got.iter().all(|m| m["type"] == "data_update"));
    assert!(take(&notes).is_empty());
    assert!(take(&no_data).is_empty());
}

#[test]
fn a_remote_event_without_a_record_source_still_notifies_but_sends_no_data() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    conn.subscribe(None, true).unwrap();
    hub.deliver(&remote(event("acme", "app-1", 4, &[("notes", 2)])));
    assert_eq!(
        only(&conn, "sync_notification"),
        notification("new_data_available", &["notes"], 2, 4, "app-1")
    );
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

#[tokio::test]
async fn a_remote_event_has_its_records_read_from_the_record_source_for_data_subscribers() {
    let write = event("acme", "app-1", 20, &[("end_user", 2), ("notes", 1)]);
    let source = Arc::new(Records {
        records: write.records.clone(),
        asked: Mutex::new(Vec::new()),
    });
    let hub = connected(source.clone(), Arc::new(Forwarded::default()));
    let with_data = connect(&hub, "acme", "app-2");
    with_data
        .subscribe(Some(vec![ty("end_user")]), true)
        .unwrap();
    let without = connect(&hub, "acme", "app-3");

    hub.deliver(&remote(write));

    assert_eq!(
        only(&with_data, "sync_notification"),
        notification("new_data_available", &["end_user"], 2, 20, "app-1")
    );
    let batch = tokio::time::timeout(Duration::from_secs(5), with_data.next_batch())
        .await
        .expect("the records arrive");
    let got: Vec<Value> = batch.iter().map(|i| parse(bytes_of(i))).collect();
    assert_eq!(
        got.iter().map(|m| m["data"].clone()).collect::<Vec<_>>(),
        [
            data_update("end_user", "create", 18, "app-1"),
            data_update("end_user", "create", 19, "app-1")
        ]
    );
    assert!(got.iter().all(|m| m["type"] == "data_update"));
    assert_eq!(
        *source.asked.lock().unwrap(),
        [(
            tenant("acme"),
            Seq(17),
            Seq(20),
            vec![ty("end_user"), ty("notes")]
        )],
        "the seq range of the write: (head - records, head]"
    );
    assert_eq!(messages(&without).len(), 1, "the notification only");
}

#[tokio::test]
async fn a_remote_event_is_not_read_from_the_store_when_nobody_wants_its_data() {
    let source = Arc::new(Records {
        records: Vec::new(),
        asked: Mutex::new(Vec::new()),
    });
    let hub = connected(source.clone(), Arc::new(Forwarded::default()));
    let no_data = connect(&hub, "acme", "app-2");
    let other_types = connect(&hub, "acme", "app-3");
    other_types
        .subscribe(Some(vec![ty("notes")]), true)
        .unwrap();

    hub.deliver(&remote(event("acme", "app-1", 2, &[("end_user", 2)])));
    tokio::time::sleep(Duration::from_millis(20)).await;

    assert!(source.asked.lock().unwrap().is_empty());
    assert_eq!(messages(&no_data).len(), 1);
    assert!(take(&other_types).is_empty());
}

/// Remembers what it was asked to forward.
#[derive(Default)]
struct Forwarded(Mutex<Vec<ChangeEvent>>);

impl Backplane for Forwarded {
    fn forward(&self, event: &ChangeEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

/// A hub of one instance among several, with this record source and backplane.
fn connected(records: Arc<dyn RecordSource>, backplane: Arc<dyn Backplane>) -> Arc<Hub> {
    Hub::connected(HubConfig::default(), records, move |_| backplane)
}

#[test]
fn publish_delivers_locally_and_forwards_the_event_to_the_backplane() {
    let backplane = Arc::new(Forwarded::default());
    let nothing = Arc::new(Records {
        records: Vec::new(),
        asked: Mutex::new(Vec::new()),
    });
    let alone = hub();
    let hub = connected(nothing, backplane.clone());
    let conn = connect(&hub, "acme", "app-2");
    let write = event("acme", "app-1", 1, &[("end_user", 1)]);
    alone.publish(Arc::new(write.clone()));
    assert!(backplane.0.lock().unwrap().is_empty());

    hub.publish(Arc::new(write.clone()));

    assert_eq!(*backplane.0.lock().unwrap(), [write]);
    assert_eq!(messages(&conn).len(), 1);
}

#[tokio::test]
async fn next_batch_waits_for_the_next_event() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            hub.deliver(&event("acme", "app-1", 1, &[("end_user", 1)]));
        }
    });
    let batch = tokio::time::timeout(Duration::from_secs(5), conn.next_batch())
        .await
        .expect("woken by the event");
    assert_eq!(batch.len(), 1);
    waiting.await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Several instances on one PostgreSQL database (only when `SYNCD_TEST_DATABASE_URL` names an
// admin connection; each test gets a database of its own, dropped at the end)

mod postgres {
    use std::str::FromStr;

    use sqlx::PgPool;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use syncd_hub::PgBackplane;

    use super::*;

    const PG_ENV: &str = "SYNCD_TEST_DATABASE_URL";

    /// A fresh database on the server of `SYNCD_TEST_DATABASE_URL`; dropped by `finish`.
    struct Database {
        admin: PgPool,
        name: String,
        options: PgConnectOptions,
    }

    impl Database {
        async fn create() -> Option<Database> {
            let Ok(url) = std::env::var(PG_ENV) else {
                eprintln!("skipped: {PG_ENV} not set");
                return None;
            };
            let admin_options = PgConnectOptions::from_str(&url).unwrap();
            let admin = PgPoolOptions::new()
                .max_connections(2)
                .connect_with(admin_options.clone())
                .await
                .unwrap();
            let name = format!("syncd_hub_{}", uuid::Uuid::new_v4().simple());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&admin)
                .await
                .unwrap();
            let options = admin_options.database(&name);
            Some(Database {
                admin,
                name,
                options,
            })
        }

        async fn pool(&self) -> PgPool {
            PgPoolOptions::new()
                .max_connections(2)
                .connect_with(self.options.clone())
                .await
                .unwrap()
        }

        /// Cuts every connection to the database, as a failover or a restart would.
        async fn cut_connections(&self) -> i64 {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(&self.name)
            .fetch_one(&self.admin)
            .await
            .unwrap()
        }

        async fn finish(&self) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&self.admin)
            .await
            .unwrap();
            self.admin.close().await;
        }
    }

    /// Runs `case` on a fresh database and drops the database afterwards, even when the case
    /// fails. Without `SYNCD_TEST_DATABASE_URL` it says so on stderr and does nothing.
    async fn on_postgres<F, Fut>(case: F)
    where
        F: FnOnce(Arc<Database>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(db) = Database::create().await else {
            return;
        };
        let db = Arc::new(db);
        let outcome = tokio::spawn(case(Arc::clone(&db))).await;
        db.finish().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    /// An instance: a hub whose local events go to the others through the database, and
    /// whose remote events' records are read from `records`.
    async fn instance_with(
        db: &Database,
        records: Arc<dyn RecordSource>,
    ) -> (Arc<Hub>, Arc<PgBackplane>) {
        let listening = PgBackplane::listen(db.pool().await).await.unwrap();
        let mut started = None;
        let hub = Hub::connected(HubConfig::default(), records, |hub| {
            let backplane = listening.start(hub);
            started = Some(backplane.clone());
            backplane
        });
        (hub, started.unwrap())
    }

    async fn instance(db: &Database) -> (Arc<Hub>, Arc<PgBackplane>) {
        let nothing = Arc::new(Records {
            records: Vec::new(),
            asked: Mutex::new(Vec::new()),
        });
        instance_with(db, nothing).await
    }

    async fn next_messages(conn: &Connection) -> Vec<Value> {
        let batch = tokio::time::timeout(Duration::from_secs(10), conn.next_batch())
            .await
            .expect("a message within 10 s");
        batch.iter().map(|i| parse(bytes_of(i))).collect()
    }

    /// Reads until `n` messages have arrived.
    async fn collect(conn: &Connection, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        while got.len() < n {
            got.extend(next_messages(conn).await);
        }
        got
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_on_instance_a_reaches_the_clients_of_instance_b_with_data_read_on_b() {
        on_postgres(|db| async move {
            let mut write = event("acme", "app-1", 20, &[("end_user", 2), ("notes", 1)]);
            let id = RecordId::new_v7();
            write.status_updates.push(StatusUpdate {
                entity_type: ty("end_user"),
                id,
                status: SyncStatus::Conflict,
            });
            let source = Arc::new(Records {
                records: write.records.clone(),
                asked: Mutex::new(Vec::new()),
            });
            let (hub_a, a) = instance(&db).await;
            let (hub_b, b) = instance_with(&db, source.clone()).await;
            assert_ne!(a.instance(), b.instance());
            let on_a = connect(&hub_a, "acme", "app-2");
            let on_b = connect(&hub_b, "acme", "app-3");
            on_b.subscribe(Some(vec![ty("end_user")]), true).unwrap();
            let writer_on_b = connect(&hub_b, "acme", "app-1");
            let other_tenant_on_b = connect(&hub_b, "globex", "app-3");

            hub_a.publish(Arc::new(write));

            let got = collect(&on_b, 4).await;
            let kinds: Vec<&str> = got.iter().map(|m| m["type"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                [
                    "sync_notification",
                    "sync_status_update",
                    "data_update",
                    "data_update"
                ]
            );
            assert_eq!(
                got[0]["data"],
                notification("new_data_available", &["end_user"], 2, 20, "app-1")
            );
            assert_eq!(
                got[1]["data"],
                json!({ "entityType": "end_user", "id": id.to_string(), "status": "conflict" })
            );
            assert_eq!(
                got[2]["data"],
                data_update("end_user", "create", 18, "app-1")
            );
            assert_eq!(
                got[3]["data"],
                data_update("end_user", "create", 19, "app-1")
            );
            let asked = source.asked.lock().unwrap().clone();
            assert_eq!(
                asked,
                [(
                    tenant("acme"),
                    Seq(17),
                    Seq(20),
                    vec![ty("end_user"), ty("notes")]
                )]
            );
            let got = collect(&writer_on_b, 2).await;
            assert_eq!(
                got[0]["data"],
                notification("sync_complete", &["end_user", "notes"], 3, 20, "app-1"),
                "the writer's connections on other instances get sync_complete too"
            );

            // A round trip later, instance A has not delivered its own event a second time and
            // the other tenant heard nothing.
            hub_b.publish(Arc::new(event("acme", "app-9", 21, &[("notes", 1)])));
            let got = collect(&on_a, 3).await;
            assert_eq!(got.len(), 3, "{got:#?}");
            assert_eq!(got[0]["data"]["cursor"], cursor(20));
            assert_eq!(got[1]["type"], "sync_status_update");
            assert_eq!(got[2]["data"]["cursor"], cursor(21));
            assert!(take(&other_tenant_on_b).is_empty());
            assert_eq!(hub_a.stats().events, 2);
            assert_eq!(hub_b.stats().events, 2);

            drop((on_a, on_b, writer_on_b, other_tenant_on_b));
            drop((a, b, hub_a, hub_b));
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_listener_loses_its_connection_every_client_is_told_to_resync() {
        on_postgres(|db| async move {
            let (hub_a, a) = instance(&db).await;
            let (hub_b, b) = instance(&db).await;
            let on_b = connect(&hub_b, "acme", "app-3");
            hub_a.publish(Arc::new(event("acme", "app-1", 1, &[("end_user", 1)])));
            assert_eq!(next_messages(&on_b).await[0]["type"], "sync_notification");

            assert!(db.cut_connections().await >= 2, "at least both listeners");

            let got = next_messages(&on_b).await;
            assert_eq!(got[0]["type"], "resync_required", "{got:#?}");
            assert_eq!(got[0]["data"]["cursor"], cursor(1));
            // Listening again: later events cross once more (the sender's pool reconnects too).
            let mut head = 1;
            let got = loop {
                head += 1;
                hub_a.publish(Arc::new(event("acme", "app-1", head, &[("end_user", 1)])));
                if let Ok(batch) =
                    tokio::time::timeout(Duration::from_millis(500), on_b.next_batch()).await
                {
                    break batch.iter().map(|i| parse(bytes_of(i))).collect::<Vec<_>>();
                }
                assert!(head < 40, "events never crossed again");
            };
            assert_eq!(got[0]["type"], "sync_notification", "{got:#?}");

            drop(on_b);
            drop((a, b, hub_a, hub_b));
        })
        .await;
    }
}
