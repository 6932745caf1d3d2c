//! Several `syncd` instances on one PostgreSQL database (SPEC §6 "Several instances"): the
//! LISTEN/NOTIFY backplane tells a client connected to instance B about a push made on
//! instance A, with the records when it subscribed with `includeData`, and never about another
//! tenant's. PostgreSQL only: with SQLite the hub is in-process.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

/// Two instances on one fresh PostgreSQL database, or `None` (reported) without PostgreSQL.
async fn two_instances(test: &str) -> Option<(WsApp, WsApp)> {
    if !Backend::Postgres.is_available() {
        report_skip(test);
        return None;
    }
    let a = WsApp::spawn(Backend::Postgres, |_| {}).await;
    let b = a.spawn_on(|_| {}).await;
    assert_eq!(a.settings.database.url, b.settings.database.url);
    assert_ne!(a.port, b.port);
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_instance_b_hears_of_a_push_on_instance_a() {
    let Some((a, b)) =
        two_instances("ws_instances::a_client_on_instance_b_hears_of_a_push_on_instance_a").await
    else {
        return;
    };
    let t = tenant();
    let mut listener = b.connect(&t, "app-2").await;
    let mut with_data = b.connect(&t, "app-3").await;
    with_data.subscribe(json!({ "includeData": true })).await;
    // The writer's own connection on the other instance hears `sync_complete`.
    let mut writer_on_b = b.connect(&t, "app-1").await;
    let mut writer_on_a = a.connect(&t, "app-1").await;

    let pushed = a
        .client(&t, "app-1")
        .push_ok(&json!({ "table": "end_user", "operation": "create",
                          "data": { "name": "John Doe", "email": "john@example.com" } }))
        .await;
    let cursor = pushed["cursor"].as_str().unwrap().to_owned();
    let id = pushed["data"][0]["id"].as_str().unwrap().to_owned();

    let note = listener.recv_type("sync_notification").await;
    assert_eq!(
        note["data"],
        json!({ "event": "new_data_available", "entityTypes": ["end_user"], "count": 1,
                "cursor": cursor, "originClientId": "app-1",
                "message": note["data"]["message"] }),
        "{note}"
    );
    assert!(
        note["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("end_user")),
        "{note}"
    );
    listener.expect_silence().await;

    let messages = with_data.recv_n(2).await;
    with_data.expect_silence().await;
    let note = &messages[0];
    assert_eq!(note["type"], json!("sync_notification"), "{messages:?}");
    assert_eq!(note["data"]["cursor"], json!(cursor), "{note}");
    let update = &messages[1];
    assert_eq!(update["type"], json!("data_update"), "{messages:?}");
    assert_eq!(update["data"]["type"], json!("end_user"), "{update}");
    assert_eq!(update["data"]["action"], json!("create"), "{update}");
    assert_eq!(update["data"]["data"]["id"], json!(id), "{update}");
    assert_eq!(
        update["data"]["data"]["name"],
        json!("John Doe"),
        "{update}"
    );
    assert_eq!(update["data"]["data"]["version"], json!(1), "{update}");
    assert_eq!(update["data"]["cursor"], json!(cursor), "{update}");
    assert_eq!(update["data"]["originClientId"], json!("app-1"), "{update}");

    for ws in [&mut writer_on_a, &mut writer_on_b] {
        let own = ws.recv_type("sync_notification").await;
        assert_eq!(
            own["data"]["event"],
            json!("sync_complete"),
            "{}: {own}",
            ws.label()
        );
        assert_eq!(own["data"]["cursor"], json!(cursor), "{own}");
        ws.expect_silence().await;
    }

    // An update and a delete on A reach B's data subscriber with their actions, in order.
    let res = a
        .client(&t, "app-1")
        .push_ok(&json!({ "changes": [
            { "entityType": "end_user", "op": "upsert", "id": id, "baseVersion": 1,
              "data": { "name": "John Updated" } },
            { "entityType": "interactions", "op": "upsert",
              "data": { "type": "call", "title": "Call John", "date": "2024-01-01T10:00:00Z" } },
        ] }))
        .await;
    let interaction = res["data"][1]["id"].as_str().unwrap().to_owned();
    let messages = with_data.recv_n(3).await;
    with_data.expect_silence().await;
    assert_eq!(
        messages[0]["type"],
        json!("sync_notification"),
        "{messages:?}"
    );
    assert_eq!(messages[0]["data"]["count"], json!(2), "{messages:?}");
    let updates: Vec<&Value> = of_type(&messages, "data_update");
    assert_eq!(updates.len(), 2, "{messages:?}");
    assert_eq!(
        updates[0]["data"]["action"],
        json!("update"),
        "{messages:?}"
    );
    assert_eq!(updates[0]["data"]["data"]["id"], json!(id));
    assert_eq!(updates[0]["data"]["data"]["name"], json!("John Updated"));
    assert_eq!(updates[1]["data"]["type"], json!("interactions"));
    assert_eq!(updates[1]["data"]["action"], json!("create"));
    assert_eq!(updates[1]["data"]["data"]["id"], json!(interaction));

    let (status, _) = a
        .client(&t, "app-1")
        .delete(&format!("/api/end_user/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let messages = with_data.recv_n(2).await;
    assert_eq!(messages[1]["type"], json!("data_update"), "{messages:?}");
    assert_eq!(
        messages[1]["data"]["action"],
        json!("delete"),
        "{messages:?}"
    );
    assert_eq!(messages[1]["data"]["data"]["id"], json!(id), "{messages:?}");
    assert_eq!(
        messages[1]["data"]["data"]["deleted"],
        json!(true),
        "{messages:?}"
    );
    for ws in [&mut writer_on_a, &mut writer_on_b] {
        for _ in 0..2 {
            let own = ws.recv_type("sync_notification").await;
            assert_eq!(
                own["data"]["event"],
                json!("sync_complete"),
                "{}: {own}",
                ws.label()
            );
        }
        ws.expect_silence().await;
    }

    // And the other way round: a push on B reaches A.
    let pushed = b
        .client(&t, "app-2")
        .push_ok(
            &json!({ "table": "end_user", "operation": "create", "data": { "name": "From B" } }),
        )
        .await;
    let note = writer_on_a.recv_type("sync_notification").await;
    assert_eq!(note["data"]["event"], json!("new_data_available"), "{note}");
    assert_eq!(note["data"]["cursor"], pushed["cursor"], "{note}");
    assert_eq!(note["data"]["originClientId"], json!("app-2"), "{note}");

    // A client that reconnects to B with its old cursor learns what A wrote meanwhile.
    let old = listener.hello_cursor();
    let mut back = b.connect(&t, "app-2").await;
    back.subscribe(json!({ "cursor": old })).await;
    let note = back.recv_type("sync_notification").await;
    assert_eq!(note["data"]["event"], json!("new_data_available"), "{note}");
    assert_eq!(note["data"]["cursor"], pushed["cursor"], "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_stay_isolated_across_instances() {
    let Some((a, b)) = two_instances("ws_instances::tenants_stay_isolated_across_instances").await
    else {
        return;
    };
    let t = tenant();
    let u = tenant();
    let mut t_on_a = a.connect(&t, "app-1").await;
    let mut t_on_b = b.connect(&t, "app-1").await;
    t_on_b.subscribe(json!({ "includeData": true })).await;
    // Same client id in the other tenant: it is still another app.
    let mut u_on_a = a.connect(&u, "app-1").await;
    u_on_a.subscribe(json!({ "includeData": true })).await;
    let mut u_on_b = b.connect(&u, "app-1").await;
    u_on_b.subscribe(json!({ "includeData": true })).await;

    let pushed = a
        .client(&t, "app-2")
        .push_ok(
            &json!({ "table": "end_user", "operation": "create", "data": { "name": "T only" } }),
        )
        .await;
    for ws in [&mut t_on_a, &mut t_on_b] {
        let note = ws.recv_type("sync_notification").await;
        assert_eq!(
            note["data"]["cursor"],
            pushed["cursor"],
            "{}: {note}",
            ws.label()
        );
    }
    let update = t_on_b.recv_type("data_update").await;
    assert_eq!(update["data"]["data"]["name"], json!("T only"), "{update}");
    for ws in [&mut t_on_a, &mut t_on_b, &mut u_on_a, &mut u_on_b] {
        ws.expect_silence().await;
    }

    let pushed = b
        .client(&u, "app-2")
        .push_ok(
            &json!({ "table": "end_user", "operation": "create", "data": { "name": "U only" } }),
        )
        .await;
    for ws in [&mut u_on_a, &mut u_on_b] {
        let messages = ws.recv_n(2).await;
        assert_eq!(
            messages[0]["data"]["cursor"],
            pushed["cursor"],
            "{}: {messages:?}",
            ws.label()
        );
        assert_eq!(messages[1]["type"], json!("data_update"), "{messages:?}");
        assert_eq!(
            messages[1]["data"]["data"]["name"],
            json!("U only"),
            "{messages:?}"
        );
    }
    for ws in [&mut t_on_a, &mut t_on_b, &mut u_on_a, &mut u_on_b] {
        ws.expect_silence().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_recorded_on_instance_a_is_announced_on_instance_b() {
    let test = "ws_instances::a_conflict_recorded_on_instance_a_is_announced_on_instance_b";
    if !Backend::Postgres.is_available() {
        report_skip(test);
        return;
    }
    let manual = |s: &mut Settings| {
        s.sync.strategies.insert("end_user".into(), "manual".into());
    };
    let a = WsApp::spawn(Backend::Postgres, manual).await;
    let b = a.spawn_on(manual).await;
    let t = tenant();
    let record = a
        .client(&t, "app-1")
        .create_record("end_user", json!({ "name": "Ann", "phone": "1" }))
        .await;
    let id = record["id"].as_str().unwrap().to_owned();
    let mut watcher = b.connect(&t, "watcher").await;
    let mut stranger = b.connect(&tenant(), "watcher").await;

    let update = |phone: &str| {
        json!({ "changes": [ { "entityType": "end_user", "op": "update", "id": id,
                                "baseVersion": 1, "data": { "phone": phone } } ] })
    };
    a.client(&t, "app-1").push_ok(&update("2")).await;
    watcher.recv_type("sync_notification").await;
    let res = a.client(&t, "app-2").push_ok(&update("3")).await;
    assert_eq!(res["results"][0]["status"], json!("conflict"), "{res}");

    let (status_update, _) = watcher.recv_until("sync_status_update", 2).await;
    assert_eq!(
        status_update["data"],
        json!({ "entityType": "end_user", "id": id, "status": "conflict" }),
        "{status_update}"
    );
    stranger.expect_silence().await;
}
