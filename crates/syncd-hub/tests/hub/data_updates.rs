//! `data_update` and `sync_status_update` messages.

use super::*;

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
            rule_fields: serde_json::Map::new(),
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
        rule_fields: serde_json::Map::new(),
    });
    hub.deliver(&resolved);
    let got = messages(&users);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0]["type"], "sync_notification");
    assert_eq!(got[1]["type"], "sync_status_update");
    assert_eq!(got[1]["data"]["status"], "synced");
    assert!(take(&notes).is_empty());
}
