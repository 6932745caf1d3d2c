//! Subscriptions: replacing, narrowing, refusing, a fresh token.

use super::*;

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
