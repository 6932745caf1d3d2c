//! WebSocket subscriptions (SPEC §6): a new connection hears of every readable type;
//! `subscribe` narrows, widens and switches data on; `unsubscribe`; scopes bound what a
//! connection can hear; `count` counts only subscribed types; one notification per push.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

fn user(name: &str) -> Value {
    json!({ "entityType": "end_user", "op": "upsert", "data": { "name": name } })
}

fn interaction(title: &str) -> Value {
    json!({ "entityType": "interactions", "op": "upsert",
            "data": { "type": "call", "title": title, "date": "2024-01-01T10:00:00Z" } })
}

async fn push(writer: &Client, changes: Vec<Value>) -> String {
    let res = writer.push_ok(&json!({ "changes": changes })).await;
    res["cursor"].as_str().unwrap().to_owned()
}

/// The one `sync_notification` of a push: its `entityTypes` and `count` and `cursor`; nothing
/// else follows.
#[track_caller]
fn assert_counts(note: &Value, types: &[&str], count: u64, cursor: &str) {
    assert_eq!(note["type"], json!("sync_notification"), "{note}");
    assert_eq!(note["data"]["entityTypes"], json!(types), "{note}");
    assert_eq!(note["data"]["count"], json!(count), "{note}");
    assert_eq!(note["data"]["cursor"], json!(cursor), "{note}");
}

e2e! {
    async fn a_new_connection_hears_of_every_readable_type(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        let writer = app.client(&t, "app-2");

        let c = push(&writer, vec![user("a")]).await;
        assert_counts(&ws.recv().await, &["end_user"], 1, &c);
        ws.expect_silence().await;
        let c = push(&writer, vec![interaction("i")]).await;
        assert_counts(&ws.recv().await, &["interactions"], 1, &c);
        ws.expect_silence().await;
        let c = push(&writer, vec![user("b"), interaction("j"), user("c")]).await;
        assert_counts(&ws.recv().await, &["end_user", "interactions"], 3, &c);
        ws.expect_silence().await;
    }
}

e2e! {
    async fn subscribe_with_entity_types_narrows_and_without_widens_back(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        let writer = app.client(&t, "app-2");

        let reply = ws.subscribe(json!({ "entityTypes": ["interactions"] })).await;
        assert_eq!(reply["data"], json!({ "entityTypes": ["interactions"], "includeData": false }));
        push(&writer, vec![user("a"), user("b")]).await;
        ws.expect_silence().await;
        let c = push(&writer, vec![user("c"), interaction("i"), user("d")]).await;
        assert_counts(&ws.recv().await, &["interactions"], 1, &c);
        ws.expect_silence().await;

        let reply = ws.subscribe(json!({})).await;
        assert_eq!(
            reply["data"],
            json!({ "entityTypes": ["end_user", "interactions"], "includeData": false })
        );
        let c = push(&writer, vec![user("e")]).await;
        assert_counts(&ws.recv().await, &["end_user"], 1, &c);
        ws.expect_silence().await;

        // `subscribe` replaces the set, it does not add to it.
        let reply = ws.subscribe(json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(reply["data"]["entityTypes"], json!(["end_user"]));
        let reply = ws.subscribe(json!({ "entityTypes": ["interactions"] })).await;
        assert_eq!(reply["data"]["entityTypes"], json!(["interactions"]));
        push(&writer, vec![user("f")]).await;
        ws.expect_silence().await;

        // An empty list: nothing at all.
        let reply = ws.subscribe(json!({ "entityTypes": [] })).await;
        assert_eq!(reply["data"], json!({ "entityTypes": [], "includeData": false }));
        push(&writer, vec![user("g"), interaction("k")]).await;
        ws.expect_silence().await;
    }
}

e2e! {
    async fn unsubscribe_removes_types_from_the_set(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        let writer = app.client(&t, "app-2");
        ws.subscribe(json!({ "includeData": true })).await;

        ws.send_json(&json!({ "type": "unsubscribe", "entityTypes": ["end_user"] })).await;
        let reply = ws.recv_type("subscribed").await;
        assert_eq!(reply["data"], json!({ "entityTypes": ["interactions"], "includeData": true }));
        push(&writer, vec![user("a")]).await;
        ws.expect_silence().await;
        let c = push(&writer, vec![interaction("i"), user("b")]).await;
        let messages = ws.recv_n(2).await;
        assert_counts(&messages[0], &["interactions"], 1, &c);
        assert_eq!(messages[1]["type"], json!("data_update"), "{messages:?}");
        assert_eq!(messages[1]["data"]["type"], json!("interactions"), "{messages:?}");
        ws.expect_silence().await;

        ws.send_json(&json!({ "type": "unsubscribe", "entityTypes": ["interactions"] })).await;
        let reply = ws.recv_type("subscribed").await;
        assert_eq!(reply["data"], json!({ "entityTypes": [], "includeData": true }));
        push(&writer, vec![interaction("j"), user("c")]).await;
        ws.expect_silence().await;
    }
}

e2e! {
    async fn subscribing_to_a_type_outside_the_scope_is_forbidden_and_changes_nothing(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let token = app.scoped_token(&t, "app-1", "sync:read:end_user sync:write");
        let mut ws = app.connect_with_token(&token, "app-1").await;
        let writer = app.client(&t, "app-2");

        let reply = ws.subscribe(json!({ "includeData": true })).await;
        assert_eq!(reply["data"], json!({ "entityTypes": ["end_user"], "includeData": true }));

        for types in [json!(["interactions"]), json!(["end_user", "interactions"])] {
            ws.send_json(&json!({ "type": "subscribe", "entityTypes": types, "includeData": false }))
                .await;
            let error = ws.recv_type("error").await;
            assert_eq!(error["data"]["code"], json!("forbidden"), "{types} → {error}");
            assert!(error["data"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }

        // Unchanged: end_user with data, still no interactions.
        push(&writer, vec![interaction("i")]).await;
        ws.expect_silence().await;
        let c = push(&writer, vec![user("a")]).await;
        let messages = ws.recv_n(2).await;
        assert_counts(&messages[0], &["end_user"], 1, &c);
        assert_eq!(messages[1]["type"], json!("data_update"), "{messages:?}");
        ws.expect_silence().await;
        ws.heartbeat().await;
    }
}

e2e! {
    async fn a_read_scoped_token_never_hears_of_other_types(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let token = app.scoped_token(&t, "app-1", "sync:read:end_user");
        let mut scoped = app.connect_with_token(&token, "scoped").await;
        let mut scoped_data = app.connect_with_token(&token, "scoped-data").await;
        scoped_data.subscribe(json!({ "includeData": true })).await;
        let writer = app.client(&t, "app-2");

        push(&writer, vec![interaction("i"), interaction("j")]).await;
        scoped.expect_silence().await;
        scoped_data.expect_silence().await;

        let c = push(&writer, vec![interaction("k"), user("a"), interaction("l"), user("b")]).await;
        assert_counts(&scoped.recv().await, &["end_user"], 2, &c);
        scoped.expect_silence().await;
        let messages = scoped_data.recv_n(3).await;
        scoped_data.expect_silence().await;
        assert_counts(&messages[0], &["end_user"], 2, &c);
        for m in &messages[1..] {
            assert_eq!(m["type"], json!("data_update"), "{messages:?}");
            assert_eq!(m["data"]["type"], json!("end_user"), "{messages:?}");
        }

        // Widening asks for every readable type: still only end_user.
        let reply = scoped.subscribe(json!({})).await;
        assert_eq!(reply["data"]["entityTypes"], json!(["end_user"]));
        push(&writer, vec![interaction("m")]).await;
        scoped.expect_silence().await;

        // refresh_request for an unreadable type is refused too.
        scoped
            .send_json(&json!({ "type": "refresh_request", "entityType": "interactions" }))
            .await;
        let error = scoped.recv_type("error").await;
        assert_eq!(error["data"]["code"], json!("forbidden"), "{error}");

        // A catch-up with an old cursor counts only the readable types.
        let mut late = app.connect_with_token(&token, "late").await;
        late.subscribe(json!({ "cursor": scoped.hello_cursor() })).await;
        let note = late.recv_type("sync_notification").await;
        assert_eq!(note["data"]["entityTypes"], json!(["end_user"]), "{note}");
        assert_eq!(note["data"]["count"], json!(2), "{note}");
        late.expect_silence().await;
    }
}

e2e! {
    async fn count_counts_only_the_subscribed_types_records(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut everything = app.connect(&t, "all").await;
        let mut users = app.connect(&t, "users").await;
        users.subscribe(json!({ "entityTypes": ["end_user"] })).await;
        let mut calls = app.connect(&t, "calls").await;
        calls.subscribe(json!({ "entityTypes": ["interactions"] })).await;
        let writer = app.client(&t, "writer");

        let c = push(
            &writer,
            vec![user("a"), interaction("i"), user("b"), user("c"), interaction("j")],
        )
        .await;
        assert_counts(&everything.recv().await, &["end_user", "interactions"], 5, &c);
        assert_counts(&users.recv().await, &["end_user"], 3, &c);
        assert_counts(&calls.recv().await, &["interactions"], 2, &c);
        for ws in [&mut everything, &mut users, &mut calls] {
            ws.expect_silence().await;
        }
    }
}

e2e! {
    async fn a_push_yields_exactly_one_notification_per_connection(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut writer_a = app.connect(&t, "writer").await;
        let mut writer_b = app.connect(&t, "writer").await;
        let mut reader_a = app.connect(&t, "reader").await;
        let mut reader_b = app.connect(&t, "reader").await;
        let writer = app.client(&t, "writer");

        for round in 0..3 {
            let changes: Vec<Value> = (0..10)
                .map(|i| if i % 2 == 0 { user(&format!("u{round}-{i}")) } else { interaction(&format!("i{round}-{i}")) })
                .collect();
            let c = push(&writer, changes).await;
            for (ws, event) in [
                (&mut writer_a, "sync_complete"),
                (&mut writer_b, "sync_complete"),
                (&mut reader_a, "new_data_available"),
                (&mut reader_b, "new_data_available"),
            ] {
                let note = ws.recv().await;
                assert_counts(&note, &["end_user", "interactions"], 10, &c);
                assert_eq!(note["data"]["event"], json!(event), "{}: {note}", ws.label());
                assert_eq!(note["data"]["originClientId"], json!("writer"), "{note}");
                ws.expect_silence().await;
            }
        }
    }
}
