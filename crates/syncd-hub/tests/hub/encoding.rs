//! One encoding per event.

use super::*;

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
        rule_fields: serde_json::Map::new(),
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
