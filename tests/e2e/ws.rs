//! The WebSocket protocol (SPEC §6, §8.4, §8.6): apps of a tenant learn of each other's
//! pushes and CRUD writes, with the records when they ask for them; heartbeats, refresh
//! requests, bad messages, reconnects with an old cursor and manual conflicts.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

/// The single-operation form of the seeds.
fn single_create(name: &str) -> Value {
    json!({ "table": "end_user", "operation": "create",
            "data": { "name": name, "email": "john@example.com", "phone": "1234567890" } })
}

fn cursor_of(response: &Value) -> String {
    response["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no cursor in {response}"))
        .to_owned()
}

/// A `sync_notification` with exactly these fields (`message` checked separately).
#[track_caller]
fn assert_notification(
    message: &Value,
    event: &str,
    types: &[&str],
    count: u64,
    cursor: &str,
    origin: &str,
) {
    assert_eq!(message["type"], json!("sync_notification"), "{message}");
    let data = &message["data"];
    assert_eq!(data["event"], json!(event), "{message}");
    assert_eq!(data["entityTypes"], json!(types), "{message}");
    assert_eq!(data["count"], json!(count), "{message}");
    assert_eq!(data["cursor"], json!(cursor), "{message}");
    assert_eq!(data["originClientId"], json!(origin), "{message}");
    let text = data["message"].as_str().unwrap_or_default();
    for ty in types {
        assert!(text.contains(ty), "the message names {ty}: {message}");
    }
}

/// A `data_update` of `entity_type` with `action` for record `id`, from `origin`.
#[track_caller]
fn assert_data_update(message: &Value, entity_type: &str, action: &str, id: &str, origin: &str) {
    assert_eq!(message["type"], json!("data_update"), "{message}");
    let data = &message["data"];
    assert_eq!(data["type"], json!(entity_type), "{message}");
    assert_eq!(data["action"], json!(action), "{message}");
    assert_eq!(data["data"]["id"], json!(id), "{message}");
    assert_eq!(data["originClientId"], json!(origin), "{message}");
    assert!(
        data["cursor"].as_str().is_some_and(|c| !c.is_empty()),
        "a data_update without a cursor: {message}"
    );
    assert!(
        data["data"].get("tenant_id").is_none(),
        "tenant_id shown: {message}"
    );
}

e2e! {
    async fn three_apps_of_a_tenant_learn_of_a_push_and_pull_it(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let other = tenant();
        let mut app1 = app.connect(&t, "app-1").await;
        let mut app2 = app.connect(&t, "app-2").await;
        let mut app3 = app.connect(&t, "app-3").await;
        let mut stranger1 = app.connect(&other, "app-1").await;
        let mut stranger2 = app.connect(&other, "app-2").await;
        for ws in [&app1, &app2, &app3] {
            assert_eq!(ws.hello["tenantId"], json!(t), "{}", ws.hello);
        }
        let cursor2 = app2.hello_cursor();
        let cursor3 = app3.hello_cursor();

        let pushed = app.client(&t, "app-1").push_ok(&single_create("John Doe")).await;
        let cursor = cursor_of(&pushed);
        let id = pushed["data"][0]["id"].as_str().unwrap().to_owned();

        let own = app1.recv().await;
        assert_notification(&own, "sync_complete", &["end_user"], 1, &cursor, "app-1");
        assert_eq!(
            own["data"]["message"],
            json!("end_user sync completed successfully"),
            "{own}"
        );
        for ws in [&mut app2, &mut app3] {
            let note = ws.recv().await;
            assert_notification(&note, "new_data_available", &["end_user"], 1, &cursor, "app-1");
        }
        for ws in [&mut app1, &mut app2, &mut app3, &mut stranger1, &mut stranger2] {
            ws.expect_silence().await;
        }

        for (name, from) in [("app-2", cursor2), ("app-3", cursor3)] {
            let page = app.client(&t, name).pull_ok(&json!({ "cursor": from })).await;
            let users = records_of(&page, "end_user");
            assert_eq!(ids(users), vec![id.clone()], "{name} pulls the record: {page}");
            assert_eq!(users[0]["name"], json!("John Doe"), "{page}");
            assert_eq!(page["cursor"], json!(cursor), "{page}");
        }
        let (seen, _) = app.client(&other, "app-2").pull_all(None, 1000).await;
        assert_eq!(seen, Vec::<Value>::new(), "the other tenant sees nothing");
    }
}

e2e! {
    async fn include_data_sends_one_data_update_per_changed_record(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut watcher = app.connect(&t, "watcher").await;
        let reply = watcher.subscribe(json!({ "includeData": true })).await;
        assert_eq!(
            reply["data"],
            json!({ "entityTypes": ["end_user", "interactions"], "includeData": true }),
            "{reply}"
        );
        let mut plain = app.connect(&t, "plain").await;
        let writer = app.client(&t, "writer");

        let body = json!({ "changes": [
            { "entityType": "end_user", "op": "upsert", "data": { "name": "Ann" } },
            { "entityType": "interactions", "op": "upsert",
              "data": { "type": "call", "title": "Call Ann", "date": "2024-01-01T10:00:00Z" } },
            { "entityType": "end_user", "op": "upsert", "data": { "name": "Bob" } },
        ] });
        let pushed = writer.push_ok(&body).await;
        let cursor = cursor_of(&pushed);
        let created: Vec<String> = pushed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();

        let messages = watcher.recv_n(4).await;
        watcher.expect_silence().await;
        let notes = of_type(&messages, "sync_notification");
        assert_eq!(notes.len(), 1, "{messages:?}");
        assert_notification(
            notes[0],
            "new_data_available",
            &["end_user", "interactions"],
            3,
            &cursor,
            "writer",
        );
        let updates = of_type(&messages, "data_update");
        assert_eq!(updates.len(), 3, "{messages:?}");
        let types = ["end_user", "interactions", "end_user"];
        for ((update, id), ty) in updates.iter().zip(&created).zip(types) {
            assert_data_update(update, ty, "create", id, "writer");
            assert_eq!(update["data"]["data"]["version"], json!(1), "{update}");
        }
        assert_eq!(updates[0]["data"]["data"]["name"], json!("Ann"));
        assert_eq!(updates[1]["data"]["data"]["title"], json!("Call Ann"));
        assert_eq!(updates[2]["data"]["data"]["name"], json!("Bob"));
        assert_eq!(
            updates[2]["data"]["cursor"],
            json!(cursor),
            "the last record's cursor is the push's"
        );

        // Without includeData: the notification only.
        let note = plain.recv().await;
        assert_notification(&note, "new_data_available", &["end_user", "interactions"], 3, &cursor, "writer");
        plain.expect_silence().await;

        // An update and a delete.
        let body = json!({ "changes": [
            { "entityType": "end_user", "op": "upsert", "id": created[0], "baseVersion": 1,
              "data": { "name": "Ann Updated" } },
            { "entityType": "end_user", "op": "delete", "id": created[2], "baseVersion": 1 },
        ] });
        let pushed = writer.push_ok(&body).await;
        let cursor = cursor_of(&pushed);
        let messages = watcher.recv_n(3).await;
        watcher.expect_silence().await;
        let notes = of_type(&messages, "sync_notification");
        assert_eq!(notes.len(), 1, "{messages:?}");
        assert_notification(notes[0], "new_data_available", &["end_user"], 2, &cursor, "writer");
        let updates = of_type(&messages, "data_update");
        assert_eq!(updates.len(), 2, "{messages:?}");
        assert_data_update(updates[0], "end_user", "update", &created[0], "writer");
        assert_eq!(updates[0]["data"]["data"]["name"], json!("Ann Updated"));
        assert_eq!(updates[0]["data"]["data"]["version"], json!(2));
        assert_data_update(updates[1], "end_user", "delete", &created[2], "writer");
        assert_eq!(updates[1]["data"]["data"]["deleted"], json!(true), "{}", updates[1]);
        assert_eq!(updates[1]["data"]["data"]["is_deleted"], json!(1), "{}", updates[1]);
    }
}

e2e! {
    async fn crud_writes_notify_and_send_data_updates_with_their_actions(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut watcher = app.connect(&t, "watcher").await;
        watcher.subscribe(json!({ "entityTypes": ["end_user"], "includeData": true })).await;
        let mut admin_ws = app.connect(&t, "admin").await;
        let admin = app.client(&t, "admin");

        // POST one record.
        let (status, created) = admin
            .post("/api/end_user", &json!({ "name": "Crud", "email": "crud@example.com" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        let messages = watcher.recv_n(2).await;
        assert_eq!(messages[0]["type"], json!("sync_notification"), "{messages:?}");
        assert_eq!(messages[0]["data"]["event"], json!("new_data_available"));
        assert_eq!(messages[0]["data"]["entityTypes"], json!(["end_user"]));
        assert_eq!(messages[0]["data"]["count"], json!(1));
        assert_eq!(messages[0]["data"]["originClientId"], json!("admin"));
        assert_data_update(&messages[1], "end_user", "create", &id, "admin");
        assert_eq!(messages[1]["data"]["data"]["name"], json!("Crud"));
        assert_eq!(messages[1]["data"]["data"]["sync_status"], json!("pending"));
        let own = admin_ws.recv_type("sync_notification").await;
        assert_eq!(own["data"]["event"], json!("sync_complete"), "{own}");
        assert_eq!(own["data"]["cursor"], messages[0]["data"]["cursor"], "{own}");

        // PUT (a patch).
        let (status, updated) = admin
            .put("/api/end_user", &json!({ "id": id, "phone": "555" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        let messages = watcher.recv_n(2).await;
        assert_eq!(messages[0]["type"], json!("sync_notification"), "{messages:?}");
        assert_eq!(messages[0]["data"]["count"], json!(1));
        assert_data_update(&messages[1], "end_user", "update", &id, "admin");
        assert_eq!(messages[1]["data"]["data"]["phone"], json!("555"));
        assert_eq!(messages[1]["data"]["data"]["name"], json!("Crud"));
        assert_eq!(messages[1]["data"]["data"]["version"], json!(2));

        // DELETE.
        let (status, deleted) = admin.delete(&format!("/api/end_user/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        let messages = watcher.recv_n(2).await;
        assert_eq!(messages[0]["type"], json!("sync_notification"), "{messages:?}");
        assert_data_update(&messages[1], "end_user", "delete", &id, "admin");
        assert_eq!(messages[1]["data"]["data"]["deleted"], json!(true));

        // A bulk POST: one notification counting both, one data_update each.
        let (status, bulk) = admin
            .post("/api/end_user", &json!([ { "name": "B1" }, { "name": "B2" } ]))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bulk}");
        let messages = watcher.recv_n(3).await;
        watcher.expect_silence().await;
        assert_eq!(messages[0]["type"], json!("sync_notification"), "{messages:?}");
        assert_eq!(messages[0]["data"]["count"], json!(2));
        for (m, r) in messages[1..].iter().zip(bulk["data"].as_array().unwrap()) {
            assert_data_update(m, "end_user", "create", r["id"].as_str().unwrap(), "admin");
        }
    }
}

e2e! {
    async fn heartbeat_is_answered_and_refresh_request_asks_for_a_sync(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        ws.heartbeat().await;

        ws.send_json(&json!({ "type": "refresh_request", "entityType": "end_user" })).await;
        let request = ws.recv_type("sync_request").await;
        assert_eq!(request["data"]["entityType"], json!("end_user"), "{request}");
        assert_eq!(request["data"]["cursor"], json!(ws.hello_cursor()), "{request}");

        let pushed = app.client(&t, "app-2").push_ok(&single_create("Ann")).await;
        ws.recv_type("sync_notification").await;
        ws.send_json(&json!({ "type": "refresh_request", "entityType": "interactions" })).await;
        let request = ws.recv_type("sync_request").await;
        assert_eq!(request["data"]["entityType"], json!("interactions"), "{request}");
        assert_eq!(request["data"]["cursor"], pushed["cursor"], "the head moved: {request}");
        ws.expect_silence().await;
        ws.heartbeat().await;
    }
}

e2e! {
    async fn a_malformed_or_unknown_message_gets_an_error_and_the_connection_stays_open(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        for bad in [
            "{not json",
            "[1, 2, 3]",
            "\"heartbeat\"",
            r#"{"type":"frobnicate"}"#,
            r#"{"no":"type"}"#,
            r#"{"type":"subscribe","entityTypes":"end_user"}"#,
            r#"{"type":"subscribe","entityTypes":["no_such_type"]}"#,
            r#"{"type":"subscribe","cursor":"not-a-cursor"}"#,
        ] {
            ws.send_text(bad).await;
            let error = ws.recv().await;
            assert_eq!(error["type"], json!("error"), "{bad} → {error}");
            assert!(
                error["data"]["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{bad} → {error}"
            );
            assert!(
                error["data"]["message"].as_str().is_some_and(|c| !c.is_empty()),
                "{bad} → {error}"
            );
            ws.heartbeat().await;
        }
        ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![1u8, 2, 3])).await;
        assert_eq!(ws.recv().await["type"], json!("error"));
        ws.heartbeat().await;

        // Still subscribed to everything: a push is announced.
        app.client(&t, "app-2").push_ok(&single_create("Still here")).await;
        let note = ws.recv_type("sync_notification").await;
        assert_eq!(note["data"]["entityTypes"], json!(["end_user"]), "{note}");
    }
}

e2e! {
    async fn a_client_reconnecting_with_an_old_cursor_is_told_at_once(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        app1.create_record("end_user", json!({ "name": "Before" })).await;

        let ws = app.connect(&t, "app-2").await;
        let old = ws.hello_cursor();
        assert_eq!(old, app1.head().await, "authenticated carries the tenant head");
        ws.close().await;

        let a = app1.create_record("end_user", json!({ "name": "Missed 1" })).await;
        let b = app1.create_record("end_user", json!({ "name": "Missed 2" })).await;
        let head = app1.head().await;

        let mut ws = app.connect(&t, "app-2").await;
        assert_eq!(ws.hello_cursor(), head);
        let reply = ws.subscribe(json!({ "cursor": old })).await;
        assert_eq!(
            reply["data"],
            json!({ "entityTypes": ["end_user", "interactions"], "includeData": false })
        );
        let note = ws.recv_type("sync_notification").await;
        assert_eq!(note["data"]["event"], json!("new_data_available"), "{note}");
        assert_eq!(note["data"]["entityTypes"], json!(["end_user"]), "{note}");
        assert_eq!(note["data"]["count"], json!(2), "{note}");
        assert_eq!(note["data"]["cursor"], json!(head), "{note}");
        ws.expect_silence().await;

        let page = app.client(&t, "app-2").pull_ok(&json!({ "cursor": old })).await;
        assert_eq!(
            ids(records_of(&page, "end_user")),
            vec![a["id"].as_str().unwrap(), b["id"].as_str().unwrap()]
        );

        // With the current cursor there is nothing to say.
        ws.subscribe(json!({ "cursor": head })).await;
        ws.expect_silence().await;
        // Nor for an old cursor when only unsubscribed types moved.
        app1.create_record(
            "interactions",
            json!({ "type": "call", "title": "t", "date": "2024-01-01T10:00:00Z" }),
        )
        .await;
        ws.recv_type("sync_notification").await;
        ws.subscribe(json!({ "entityTypes": ["end_user"], "cursor": head })).await;
        ws.expect_silence().await;
    }
}

e2e! {
    async fn a_manual_conflict_sends_a_sync_status_update(backend) {
        let app = WsApp::spawn(backend, |s| {
            s.sync.strategies.insert("end_user".into(), "manual".into());
        })
        .await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let app2 = app.client(&t, "app-2");
        let record = app1.create_record("end_user", json!({ "name": "Ann", "phone": "1" })).await;
        let id = record["id"].as_str().unwrap().to_owned();
        let mut watcher = app.connect(&t, "watcher").await;
        let mut other_tenant = app.connect(&tenant(), "watcher").await;

        let update = |phone: &str| {
            json!({ "changes": [ { "entityType": "end_user", "op": "update", "id": id,
                                    "baseVersion": 1, "data": { "phone": phone } } ] })
        };
        app1.push_ok(&update("2")).await;
        watcher.recv_type("sync_notification").await;
        let res = app2.push_ok(&update("3")).await;
        assert_eq!(res["results"][0]["status"], json!("conflict"), "{res}");

        // The conflict is announced once; a notification may come with it (nothing changed).
        let messages = watcher.drain(10).await;
        let statuses = of_type(&messages, "sync_status_update");
        assert_eq!(statuses.len(), 1, "{messages:?}");
        assert_eq!(
            statuses[0]["data"],
            json!({ "entityType": "end_user", "id": id, "status": "conflict" }),
            "{messages:?}"
        );
        assert!(of_type(&messages, "sync_notification").len() <= 1, "{messages:?}");
        assert_eq!(messages.len(), statuses.len() + of_type(&messages, "sync_notification").len());
        other_tenant.expect_silence().await;

        // Resolving is a normal write (one notification) and a status change the server makes.
        let (_, open) = app2.conflicts("entityType=end_user").await;
        let conflict = open["data"][0]["id"].as_str().unwrap().to_owned();
        let (status, resolved) = app2
            .resolve_conflict(&conflict, &json!({ "data": { "name": "Ann", "phone": "3" } }))
            .await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        let messages = watcher.drain(10).await;
        let statuses = of_type(&messages, "sync_status_update");
        assert_eq!(statuses.len(), 1, "{messages:?}");
        assert_eq!(
            statuses[0]["data"],
            json!({ "entityType": "end_user", "id": id, "status": "synced" }),
            "{messages:?}"
        );
        let notes = of_type(&messages, "sync_notification");
        assert_eq!(notes.len(), 1, "the resolution is one write: {messages:?}");
        assert_eq!(notes[0]["data"]["event"], json!("new_data_available"), "{messages:?}");
        assert_eq!(notes[0]["data"]["entityTypes"], json!(["end_user"]), "{messages:?}");
        assert_eq!(notes[0]["data"]["count"], json!(1), "{messages:?}");
        assert_eq!(messages.len(), 2, "{messages:?}");
        other_tenant.expect_silence().await;
    }
}
