//! A slow WebSocket consumer (SPEC §6 rules, issue 6): while 50,000 records flow as
//! `data_update`s, a client that stops reading gets `resync_required` when it reads again,
//! another client of the tenant receives every event in order, and the hub's queues stay
//! bounded (asserted on the hub's counters, never on time).

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

/// Pushes of `RECORDS_PER_PUSH` records (the `max_changes_per_push` default).
const PUSHES: usize = 50;
const RECORDS_PER_PUSH: usize = 1000;
/// Each push puts one `sync_notification` and 1000 `data_update`s in every queue that wants
/// data, all at once; a queue that a reader drains between pushes must hold one push.
const QUEUE: usize = 1024;
/// The slow client reads the first pushes, then stops: the remaining 20,000 records (far
/// more than the socket buffers hold) flow while its socket stays open and unread. It does
/// not stop from the start because the server closes a connection whose writes have been
/// stuck for 45 s; the unread stretch must stay well under that on a loaded machine.
const SLOW_STOPS_AT: usize = 30;

fn name(push: usize, i: usize) -> String {
    format!("p{push:02}-r{i:04}")
}

e2e! {
    async fn a_client_that_stops_reading_gets_resync_required_and_others_are_unaffected(backend) {
        let app = WsApp::spawn(backend, |s| s.limits.ws_queue_events = QUEUE).await;
        let t = tenant();
        let writer = app.client(&t, "writer");

        let mut slow = app.connect_small_buffer(&t, "slow").await;
        slow.subscribe(json!({ "includeData": true })).await;
        let mut reader = app.connect(&t, "reader").await;
        reader.subscribe(json!({ "entityTypes": ["end_user"], "includeData": true })).await;
        let start = reader.hello_cursor();

        let mut all_ids: Vec<String> = Vec::with_capacity(PUSHES * RECORDS_PER_PUSH);
        for p in 0..PUSHES {
            if p == SLOW_STOPS_AT {
                // The last thing the slow client does before it stops reading; from here on
                // its socket stays open and is never polled.
                slow.heartbeat().await;
            }
            let changes: Vec<Value> = (0..RECORDS_PER_PUSH)
                .map(|i| json!({ "entityType": "end_user", "op": "upsert",
                                 "data": { "name": name(p, i), "phone": "1234567890" } }))
                .collect();
            let res = writer.push_ok(&json!({ "changes": changes })).await;
            let cursor = res["cursor"].as_str().unwrap().to_owned();
            let ids: Vec<String> = res["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(ids.len(), RECORDS_PER_PUSH);

            // The reader keeps up: the notification, then every record in push order.
            assert_push_received(&reader.recv_n(RECORDS_PER_PUSH + 1).await, p, &cursor, &ids);
            if p < SLOW_STOPS_AT {
                assert_push_received(&slow.recv_n(RECORDS_PER_PUSH + 1).await, p, &cursor, &ids);
            }
            all_ids.extend(ids);

            let stats = app.state().hub.stats();
            assert_eq!(stats.connections, 2, "{stats:?}");
            assert!(
                stats.queued <= (QUEUE as u64) * stats.connections,
                "push {p}: the queues hold more than their capacity: {stats:?}"
            );
            if p < SLOW_STOPS_AT {
                assert_eq!((stats.resyncs, stats.dropped), (0, 0), "push {p}: {stats:?}");
            }
        }
        reader.expect_silence().await;
        let stats = app.state().hub.stats();
        assert!(stats.resyncs >= 1, "the slow client's queue never overflowed: {stats:?}");
        assert!(stats.dropped >= 1, "{stats:?}");

        // The slow client reads at last: what was already on its way, in order, then
        // resync_required with the cursor of the last event it was given.
        let (resync, before) = slow
            .recv_until("resync_required", PUSHES * (RECORDS_PER_PUSH + 1))
            .await;
        let first_unread = SLOW_STOPS_AT * RECORDS_PER_PUSH;
        let mut expected = all_ids[first_unread..].iter();
        for m in &before {
            if m["type"] == json!("data_update") {
                assert_eq!(
                    Some(&m["data"]["data"]["id"]),
                    expected.next().map(|id| json!(id)).as_ref(),
                    "the slow client's events are the first unread ones, in order: {m}"
                );
            } else {
                assert_eq!(m["type"], json!("sync_notification"), "{m}");
            }
        }
        let received = all_ids.len() - expected.len();
        assert!(received < all_ids.len(), "the slow client was sent everything");
        let cursor = resync["data"]["cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("resync_required without a cursor: {resync}"))
            .to_owned();
        slow.heartbeat().await;
        slow.expect_silence().await;

        // Pulling from that cursor yields exactly what the slow client has not seen.
        let slow_http = app.client(&t, "slow");
        let (missed, _) = slow_http.pull_all(Some(&cursor), 10_000).await;
        assert_eq!(ids(&missed), all_ids[received..].to_vec());
        let (everything, _) = slow_http.pull_all(Some(&start), 10_000).await;
        assert_eq!(everything.len(), all_ids.len());
    }
}

/// One push as a data subscriber receives it: the notification, then each record in order.
#[track_caller]
fn assert_push_received(messages: &[Value], p: usize, cursor: &str, ids: &[String]) {
    let note = &messages[0];
    assert_eq!(note["type"], json!("sync_notification"), "push {p}: {note}");
    assert_eq!(
        note["data"]["count"],
        json!(RECORDS_PER_PUSH),
        "push {p}: {note}"
    );
    assert_eq!(note["data"]["cursor"], json!(cursor), "push {p}: {note}");
    assert_eq!(
        note["data"]["originClientId"],
        json!("writer"),
        "push {p}: {note}"
    );
    assert_eq!(messages.len(), ids.len() + 1);
    for (i, (m, id)) in messages[1..].iter().zip(ids).enumerate() {
        assert_eq!(m["type"], json!("data_update"), "push {p} record {i}: {m}");
        assert_eq!(
            m["data"]["action"],
            json!("create"),
            "push {p} record {i}: {m}"
        );
        assert_eq!(
            m["data"]["data"]["id"],
            json!(id),
            "push {p} record {i}: {m}"
        );
        assert_eq!(
            m["data"]["data"]["name"],
            json!(name(p, i)),
            "push {p} record {i}: {m}"
        );
    }
}
