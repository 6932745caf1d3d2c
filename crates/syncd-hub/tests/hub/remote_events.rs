//! Events from other instances, and the records they are read with.

use super::*;

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
