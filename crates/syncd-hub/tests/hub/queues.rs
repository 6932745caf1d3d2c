//! Bounded queues: a slow reader gets `resync_required`, never unbounded memory.

use super::*;

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
