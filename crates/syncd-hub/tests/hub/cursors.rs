//! The cursors the hub hands out carry the tenant's epoch and the connection's visibility
//! fingerprint; a reset replaces a connection's queue; events of other instances are filtered
//! by the visibility facts they carry.

use std::collections::HashMap;

use syncd_hub::RemoteFacts;
use syncd_model::{Access, Epoch, FieldIn};

use super::*;

fn at(seq: i64, epoch: u32, fingerprint: u32) -> String {
    Cursor::at(Seq(seq), Epoch(epoch), fingerprint).encode()
}

#[test]
fn notifications_and_data_updates_carry_the_epoch_and_the_connections_fingerprint() {
    let hub = hub();
    let conn = hub
        .register(
            tenant("acme"),
            client("app-2"),
            types(READABLE),
            Cursor::at(Seq(0), Epoch(3), 77),
        )
        .unwrap();
    conn.subscribe(None, true).unwrap();
    let mut write = event("acme", "app-1", 12, &[("end_user", 2)]);
    // The writer's cursor carries the writer's fingerprint, not this connection's.
    write.cursor = Cursor::at(Seq(12), Epoch(3), 5);
    hub.deliver(&write);
    let got = messages(&conn);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0]["data"]["cursor"], json!(at(12, 3, 77)));
    assert_eq!(got[1]["data"]["cursor"], json!(at(11, 3, 77)));
    assert_eq!(got[2]["data"]["cursor"], json!(at(12, 3, 77)));

    // A fresh token of other visibility inputs: later cursors carry its fingerprint.
    conn.set_access(HashMap::new(), 78);
    let mut next = event("acme", "app-1", 13, &[("end_user", 1)]);
    next.cursor = Cursor::at(Seq(13), Epoch(3), 5);
    hub.deliver(&next);
    let got = messages(&conn);
    assert_eq!(got[0]["data"]["cursor"], json!(at(13, 3, 78)));
}

#[test]
fn a_reset_replaces_the_queue_by_one_resync_with_reset_and_later_events_queue_as_usual() {
    let hub = hub();
    let conn = connect(&hub, "acme", "app-2");
    let other = connect(&hub, "globex", "app-2");
    hub.deliver(&event("acme", "app-1", 4, &[("notes", 1)]));
    hub.reset_tenant(&tenant("acme"), Epoch(2), Seq(4));
    let reset = only(&conn, "resync_required");
    assert_eq!(reset["reset"], json!(true), "{reset}");
    assert_eq!(reset["cursor"], json!(at(4, 2, 0)));
    assert!(take(&other).is_empty());

    let mut write = event("acme", "app-1", 5, &[("notes", 1)]);
    write.cursor = Cursor::at(Seq(5), Epoch(2), 0);
    hub.deliver(&write);
    let note = only(&conn, "sync_notification");
    assert_eq!(note["cursor"], json!(at(5, 2, 0)));
}

fn assigned(owner: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("assigned_to".into(), json!(owner));
    m
}

/// A remote event of two end_user records (alice's, bob's) and a note, with its facts.
fn remote_write() -> (ChangeEvent, RemoteFacts) {
    let write = event("acme", "app-1", 3, &[("end_user", 2), ("notes", 1)]);
    let facts: Vec<RecordChange> = write.records[..2]
        .iter()
        .zip(["alice", "bob"])
        .map(|(r, owner)| RecordChange {
            rule_fields: assigned(owner),
            ..r.clone()
        })
        .collect();
    let facts = RemoteFacts {
        records: facts,
        complete: true,
    };
    (remote(write), facts)
}

fn alice(hub: &Hub) -> Connection {
    let only_hers = Access::Only(vec![FieldIn {
        field: "assigned_to".into(),
        values: vec!["alice".into()],
    }]);
    hub.register_with_access(
        tenant("acme"),
        client("app-alice"),
        types(READABLE),
        HashMap::from([(ty("end_user"), only_hers)]),
        Cursor::new(Seq(0)),
    )
    .unwrap()
}

#[test]
fn a_remote_event_counts_for_a_restricted_connection_only_what_it_sees() {
    let hub = hub();
    let conn = alice(&hub);
    let notes_only = alice(&hub);
    notes_only
        .subscribe(Some(vec![ty("notes")]), false)
        .unwrap();
    let everyone = connect(&hub, "acme", "app-3");
    let (write, facts) = remote_write();
    hub.deliver_remote(&write, &facts);
    let note = only(&conn, "sync_notification");
    assert_eq!(note["count"], json!(2), "{note}");
    assert_eq!(only(&notes_only, "sync_notification")["count"], json!(1));
    assert_eq!(only(&everyone, "sync_notification")["count"], json!(3));

    // Without facts (they did not fit), the restricted connection is told to pull.
    let incomplete = RemoteFacts {
        records: Vec::new(),
        complete: false,
    };
    hub.deliver_remote(&write, &incomplete);
    only(&conn, "resync_required");
    // A connection subscribed to none of the types it sees part of is notified as usual.
    assert_eq!(only(&notes_only, "sync_notification")["count"], json!(1));
    assert_eq!(only(&everyone, "sync_notification")["count"], json!(3));
}

#[test]
fn a_status_update_of_a_record_a_connection_cannot_see_is_not_sent_to_it() {
    let hub = hub();
    let conn = alice(&hub);
    let everyone = connect(&hub, "acme", "app-3");
    let mut write = event("acme", "app-1", 3, &[]);
    write.status_updates.push(StatusUpdate {
        entity_type: ty("end_user"),
        id: RecordId::new_v7(),
        status: SyncStatus::Conflict,
        rule_fields: assigned("bob"),
    });
    hub.deliver(&write);
    assert!(take(&conn).is_empty());
    only(&everyone, "sync_status_update");
    write.status_updates[0].rule_fields = assigned("alice");
    hub.deliver(&write);
    only(&conn, "sync_status_update");
}
