//! WebSocket authentication (SPEC §3, §6): a token in the header, in `?token=` or in a first
//! `authenticate` message; bad tokens refused at the upgrade with 401 JSON; unauthenticated
//! connections closed with 4401; sessions extended by a fresh token.

use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

/// The `authenticated` data of a connection of app `client` of `tenant`, at tenant head `head`.
#[track_caller]
fn assert_hello(hello: &Value, tenant: &str, client: &str, head: &str) {
    assert_eq!(hello["tenantId"], json!(tenant), "{hello}");
    assert_eq!(hello["clientId"], json!(client), "{hello}");
    assert!(
        hello["connectionId"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "no connectionId: {hello}"
    );
    assert_eq!(hello["cursor"], json!(head), "{hello}");
}

/// The upgrade was refused with 401 and the JSON error body of SPEC §4.
#[track_caller]
fn assert_refused(result: Result<WsClient, Refused>, what: &str) {
    match result {
        Ok(ws) => panic!("{what}: the upgrade succeeded ({ws:?})"),
        Err(refused) => {
            let status = StatusCode::from_u16(refused.status).unwrap();
            assert_error(
                &(status, refused.body.clone()),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            );
        }
    }
}

async fn push_one(app: &WsApp, tenant: &str, client: &str) -> Value {
    app.client(tenant, client)
        .push_ok(&json!({ "table": "end_user", "operation": "create", "data": { "name": "N" } }))
        .await
}

e2e! {
    async fn a_token_in_the_header_or_the_query_authenticates_the_connection(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let head = app.client(&t, "app-1").head().await;
        let token = app.token(&t, "app-1");
        let mut connections = Vec::new();
        for (path, auth) in [
            (WS_PATH, Auth::Header(&token)),
            (WS_PATH, Auth::Query(&token)),
            ("/ws", Auth::Header(&token)),
            ("/ws", Auth::Query(&token)),
        ] {
            let mut ws = WsClient::connect(&app.ws_url(path), auth, "app-1")
                .await
                .unwrap_or_else(|r| panic!("{path} {auth:?} refused: {r:?}"));
            ws.expect_authenticated().await;
            assert_hello(&ws.hello, &t, "app-1", &head);
            connections.push(ws);
        }
        let mut ids: Vec<&str> = connections
            .iter()
            .map(|c| c.hello["connectionId"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 4, "every connection has its own id");

        let pushed = push_one(&app, &t, "app-2").await;
        for ws in &mut connections {
            let note = ws.recv_type("sync_notification").await;
            assert_eq!(note["data"]["cursor"], pushed["cursor"], "{note}");
            ws.expect_silence().await;
        }
    }
}

e2e! {
    async fn the_client_id_comes_from_the_claim_else_the_query_else_the_subject(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let head = app.client(&t, "x").head().await;
        let bare = app.sign(&claims(&t, "user-7"));
        let url = format!("{}?clientId=tab-7", app.ws_url(WS_PATH));
        let mut ws = WsClient::connect(&url, Auth::Header(&bare), "tab").await.unwrap();
        ws.expect_authenticated().await;
        assert_hello(&ws.hello, &t, "tab-7", &head);

        let mut ws = app.connect_with_token(&bare, "sub").await;
        assert_hello(&ws.hello, &t, "user-7", &head);
        ws.heartbeat().await;

        // The claim wins over the query.
        let url = format!("{}?clientId=tab-8", app.ws_url(WS_PATH));
        let token = app.token(&t, "app-1");
        let mut ws = WsClient::connect(&url, Auth::Header(&token), "claim").await.unwrap();
        ws.expect_authenticated().await;
        assert_hello(&ws.hello, &t, "app-1", &head);
    }
}

e2e! {
    async fn a_first_authenticate_message_authenticates_the_connection(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let writer = app.client(&t, "app-2");
        writer.create_record("end_user", json!({ "name": "Old" })).await;
        let head = writer.head().await;

        let mut ws = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "app-1").await.unwrap();
        ws.expect_silence().await;
        ws.authenticate(&app.token(&t, "app-1")).await;
        ws.expect_authenticated().await;
        assert_hello(&ws.hello, &t, "app-1", &head);

        let pushed = push_one(&app, &t, "app-2").await;
        let note = ws.recv_type("sync_notification").await;
        assert_eq!(note["data"]["event"], json!("new_data_available"), "{note}");
        assert_eq!(note["data"]["cursor"], pushed["cursor"], "{note}");
        ws.heartbeat().await;

        // The same on the alias.
        let mut ws = WsClient::connect(&app.ws_url("/ws"), Auth::None, "alias").await.unwrap();
        ws.authenticate(&app.token(&t, "app-3")).await;
        ws.expect_authenticated().await;
        assert_hello(&ws.hello, &t, "app-3", pushed["cursor"].as_str().unwrap());
    }
}

e2e! {
    async fn a_bad_or_expired_token_at_the_upgrade_is_refused_with_401_json(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut expired = app_claims(&t, "app-1");
        expired["exp"] = json!(now() - 3600);
        expired["iat"] = json!(now() - 7200);
        let mut future = app_claims(&t, "app-1");
        future["nbf"] = json!(now() + 3600);
        let no_tenant = json!({ "sub": "s", "exp": now() + 3600 });
        let bad_tokens = [
            ("garbage", "not.a.jwt".to_owned()),
            ("expired", app.sign(&expired)),
            ("not yet valid", app.sign(&future)),
            ("wrong key", sign_hs256(&app_claims(&t, "app-1"), b"another-secret-entirely")),
            ("alg none", unsigned_token(&app_claims(&t, "app-1"))),
            ("tampered", tamper(&app.token(&t, "app-1"), &app_claims(&tenant(), "app-1"))),
            ("no tenant", app.sign(&no_tenant)),
        ];
        for (what, token) in &bad_tokens {
            for path in [WS_PATH, "/ws"] {
                let header = WsClient::connect(&app.ws_url(path), Auth::Header(token), what).await;
                assert_refused(header, &format!("{what} in the header of {path}"));
                let query = WsClient::connect(&app.ws_url(path), Auth::Query(token), what).await;
                assert_refused(query, &format!("{what} in ?token= of {path}"));
            }
        }
        assert_eq!(app.state().hub.stats().connections, 0);
    }
}

/// The one test that waits for the real 10 s timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_a_token_that_stays_silent_is_closed_with_4401() {
    let app = WsApp::spawn(Backend::Sqlite, |_| {}).await;
    let started = std::time::Instant::now();
    let mut ws = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "silent")
        .await
        .unwrap();
    let (close, before) = ws.expect_close_within(Duration::from_secs(15)).await;
    let waited = started.elapsed();
    assert_eq!(close.code, 4401, "{close:?}");
    assert_eq!(before.len(), 1, "one error, then the close: {before:?}");
    assert_eq!(before[0]["type"], json!("error"), "{before:?}");
    assert!(
        before[0]["data"]["code"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{before:?}"
    );
    assert!(
        waited >= Duration::from_secs(9) && waited <= Duration::from_secs(13),
        "closed after {waited:?}, expected about 10 s"
    );
    assert_eq!(app.state().hub.stats().connections, 0);
}

e2e! {
    async fn a_first_message_other_than_authenticate_gets_an_error_and_close_4401(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let expired = {
            let mut c = app_claims(&t, "app-1");
            c["exp"] = json!(now() - 3600);
            app.sign(&c)
        };
        let firsts = [
            json!({ "type": "heartbeat" }).to_string(),
            json!({ "type": "subscribe", "entityTypes": ["end_user"] }).to_string(),
            json!({ "type": "refresh_request", "entityType": "end_user" }).to_string(),
            "{not json".to_owned(),
            json!({ "token": app.token(&t, "app-1") }).to_string(),
            json!({ "type": "authenticate" }).to_string(),
            json!({ "type": "authenticate", "token": "not.a.jwt" }).to_string(),
            json!({ "type": "authenticate", "token": expired }).to_string(),
        ];
        for first in &firsts {
            let mut ws = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "anon").await.unwrap();
            ws.send_text(first).await;
            let (close, before) = ws.expect_close().await;
            assert_eq!(close.code, 4401, "{first}: {close:?}");
            assert_eq!(before.len(), 1, "{first}: one error, then the close: {before:?}");
            assert_eq!(before[0]["type"], json!("error"), "{first}: {before:?}");
            assert!(
                before[0]["data"]["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{first}: {before:?}"
            );
        }
        // A binary frame before authenticating is not an `authenticate` either.
        let mut ws = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "anon-binary").await.unwrap();
        ws.send(tokio_tungstenite::tungstenite::Message::Binary(vec![1u8, 2, 3].into()))
            .await;
        let (close, before) = ws.expect_close().await;
        assert_eq!(close.code, 4401, "binary first frame: {close:?}");
        assert_eq!(before.len(), 1, "one error, then the close: {before:?}");
        assert_eq!(before[0]["data"]["code"], json!("unauthorized"), "{before:?}");

        // A valid token with an invalid client id named by the query string.
        let bad_client = format!("{WS_PATH}?clientId=a%0Ab");
        let mut ws = WsClient::connect(&app.ws_url(&bad_client), Auth::None, "anon-client").await.unwrap();
        let mut claims = app_claims(&t, "ignored");
        claims.as_object_mut().unwrap().remove("client_id");
        ws.send_json(&json!({ "type": "authenticate", "token": app.sign(&claims) })).await;
        let (close, before) = ws.expect_close().await;
        assert_eq!(close.code, 4401, "invalid client id: {close:?}");
        assert_eq!(before.len(), 1, "one error, then the close: {before:?}");
        assert_eq!(before[0]["data"]["code"], json!("unauthorized"), "{before:?}");

        // Nothing was registered, and pushes reach nobody of the anonymous connections.
        assert_eq!(app.state().hub.stats().connections, 0);
    }
}

e2e! {
    async fn re_authenticating_with_a_fresh_token_extends_the_session(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        // Valid thanks to the 30 s leeway; the session ends about 3 s from now.
        let mut short = app_claims(&t, "app-1");
        short["exp"] = json!(now() - 27);
        let short = app.sign(&short);
        let mut lapsing = app.connect_with_token(&short, "lapsing").await;
        let mut renewed = app.connect_with_token(&short, "renewed").await;
        let id = renewed.hello["connectionId"].clone();

        renewed.authenticate(&app.token(&t, "app-1")).await;
        renewed.expect_authenticated().await;
        assert_eq!(renewed.hello["connectionId"], id, "the same connection: {}", renewed.hello);
        assert_eq!(renewed.hello["tenantId"], json!(t));
        assert_eq!(renewed.hello["clientId"], json!("app-1"));
        assert!(renewed.hello["cursor"].is_string(), "{}", renewed.hello);

        let (close, before) = lapsing.expect_close_within(Duration::from_secs(10)).await;
        assert_eq!(close.code, 4401, "{close:?}");
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(before[0]["type"], json!("error"), "{before:?}");
        assert_eq!(before[0]["data"]["code"], json!("token_expired"), "{before:?}");

        // Past the old token's end the renewed session still works.
        renewed.expect_silence_for(Duration::from_secs(1)).await;
        renewed.heartbeat().await;
        let pushed = push_one(&app, &t, "app-2").await;
        let note = renewed.recv_type("sync_notification").await;
        assert_eq!(note["data"]["cursor"], pushed["cursor"]);
    }
}

e2e! {
    async fn authenticating_again_as_another_tenant_is_refused_and_the_connection_stays_usable(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let other = tenant();
        let mut ws = app.connect(&t, "app-1").await;

        ws.authenticate(&app.token(&other, "app-1")).await;
        let error = ws.recv_type("error").await;
        assert_eq!(error["data"]["code"], json!("forbidden"), "{error}");
        ws.heartbeat().await;

        ws.authenticate("not.a.jwt").await;
        let error = ws.recv_type("error").await;
        assert_eq!(error["data"]["code"], json!("unauthorized"), "{error}");
        ws.heartbeat().await;

        // Still the first tenant's connection, and only that.
        push_one(&app, &other, "app-2").await;
        ws.expect_silence().await;
        let pushed = push_one(&app, &t, "app-2").await;
        let note = ws.recv_type("sync_notification").await;
        assert_eq!(note["data"]["cursor"], pushed["cursor"], "{note}");
        ws.expect_silence().await;
    }
}
