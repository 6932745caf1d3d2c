//! Registration, connection caps, shutdown.

use super::*;

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
