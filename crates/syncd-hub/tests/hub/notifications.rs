//! `sync_notification`: who hears of an event, and what it names and counts.

use super::*;

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
