//! What a fault and abuse campaign found (issue 16), each as a test on both databases: NUL
//! characters, blank identities in tokens, the JWT `crit` header, bodies in codings the server
//! does not decode, slow bodies, error bodies below the handlers, and the backplane's resync
//! after its LISTEN connection dropped.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use syncd_e2e::ws::WsApp;
use syncd_e2e::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::crud::spawn as spawn_with_entities;

/// Every push shape, each carrying a NUL inside `end_user.name`.
fn pushes_with_a_nul() -> Vec<Value> {
    vec![
        json!({ "changes": [ { "entityType": "end_user", "op": "upsert",
                               "data": { "name": "a\u{0}b" } } ] }),
        json!({ "changes": { "end_user": [ { "name": "a\u{0}b" } ] } }),
        json!({ "table": "end_user", "operation": "create", "data": { "name": "a\u{0}b" } }),
    ]
}

#[track_caller]
fn assert_names_field(body: &Value, field: &str) {
    let details = body["error"]["details"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        details.iter().any(|d| d["field"] == json!(field)
            && d["message"].as_str().is_some_and(|m| m.contains("NUL"))),
        "no detail names `{field}` and the NUL: {body}"
    );
}

e2e! {
    /// Defect 1: PostgreSQL answered 500 (it refuses NUL in text and jsonb) where SQLite stored
    /// the string; now both refuse it with a 422 naming the field, and nothing is stored.
    async fn a_nul_character_in_record_data_is_a_422_naming_the_field_on_every_route(backend) {
        let app = spawn_with_entities(backend).await;
        let c = app.client(&tenant(), "app-1");
        for body in pushes_with_a_nul() {
            let response = c.push(&body).await;
            assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_names_field(&response.1, "name");
        }
        // Nested inside a json field, in a server-managed field, in a list-form id.
        let nested = json!({ "changes": [ { "entityType": "distributors", "op": "upsert",
            "data": { "name": "d", "agreement_data": { "terms": ["ok", "x\u{0}"] } } } ] });
        let response = c.push(&nested).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names_field(&response.1, "agreement_data");
        let managed = json!({ "changes": { "end_user": [ { "name": "n", "sync_status": "p\u{0}" } ] } });
        let response = c.push(&managed).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names_field(&response.1, "sync_status");
        let id = json!({ "changes": [ { "entityType": "end_user", "op": "upsert",
            "id": "0190a4f3-7a3c-7d2e-9b1f-2c5e8d7a6b40\u{0}", "data": { "name": "n" } } ] });
        let response = c.push(&id).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names_field(&response.1, "id");
        let key = json!({ "pushId": "k\u{0}", "changes": [] });
        assert_error(&c.push(&key).await, StatusCode::BAD_REQUEST, "bad_request");

        // REST writes.
        let response = c.post("/api/end_user", &json!({ "name": "a\u{0}b" })).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names_field(&response.1, "name");
        let created = c.create_record("end_user", json!({ "name": "clean" })).await;
        let response = c
            .put("/api/end_user", &json!({ "id": created["id"], "phone": "1\u{0}" }))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_names_field(&response.1, "phone");

        // Nothing but the clean record was stored, and the server keeps serving.
        let (records, _) = c.pull_all(None, 1000).await;
        assert_eq!(ids(&records), vec![created["id"].as_str().unwrap_or_default().to_owned()]);
    }
}

e2e! {
    /// Defect 1: a `%00` in a `?field=` filter or `?search=` was a 500 on PostgreSQL.
    async fn a_nul_character_in_a_filter_or_a_search_is_a_400(backend) {
        let app = spawn_with_entities(backend).await;
        let c = app.client(&tenant(), "app-1");
        c.create_record("end_user", json!({ "name": "ab" })).await;
        for path in [
            "/api/end_user?name=a%00b",
            "/api/clients?search=a%00",
            "/api/distributors?agreement_data=%22a%5Cu0000%22",
        ] {
            let response = c.get(path).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        }
        let (status, _) = c.get("/api/end_user?name=ab").await;
        assert_eq!(status, StatusCode::OK);
    }
}

e2e! {
    /// Defect 1, WebSocket: a message with a NUL anywhere is an `error` with `bad_request`, and
    /// the connection stays open.
    async fn a_websocket_message_with_a_nul_character_gets_a_bad_request_error(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let mut ws = app.connect(&tenant(), "app-1").await;
        for message in [
            json!({ "type": "subscribe", "entityTypes": ["end_user\u{0}"] }),
            json!({ "type": "refresh_request", "entityType": "end\u{0}" }),
            json!({ "type": "subscribe", "cursor": "c1\u{0}" }),
        ] {
            ws.send_json(&message).await;
            let reply = ws.recv_type("error").await;
            assert_eq!(reply["data"]["code"], json!("bad_request"), "{message}: {reply}");
        }
        ws.send_json(&json!({ "type": "heartbeat" })).await;
        ws.recv_type("heartbeat_response").await;
    }
}

e2e! {
    /// Defect 5: a correctly signed token whose tenant, subject or client id is only whitespace
    /// or control characters is refused (401) on HTTP and on the WebSocket upgrade.
    async fn a_token_with_a_blank_tenant_subject_or_client_id_is_a_401(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let body = json!({ "changes": [] });
        let mut tokens = Vec::new();
        for blank in [" ", "\t", "\u{a0}", "\u{1}"] {
            tokens.push(app.sign(&claims(blank, "sub-1")));
            tokens.push(app.sign(&claims(&tenant(), blank)));
            let mut c = claims(&tenant(), "sub-1");
            c["client_id"] = json!(blank);
            tokens.push(app.sign(&c));
        }
        for token in &tokens {
            let response = app.client_with_token(token.clone()).push(&body).await;
            assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
            let ws = syncd_e2e::ws::WsClient::connect(
                &app.ws_url(syncd_e2e::ws::WS_PATH),
                syncd_e2e::ws::Auth::Query(token),
                "blank",
            )
            .await;
            match ws {
                Ok(_) => panic!("the upgrade with a blank claim was accepted"),
                Err(refused) => assert_eq!(refused.status, 401, "{refused:?}"),
            }
        }
    }
}

e2e! {
    /// Defect 6: RFC 7515 §4.1.11, a `crit` header naming an extension the server does not
    /// understand must be refused.
    async fn a_token_with_a_critical_header_extension_is_a_401(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.crit = Some(vec!["x-unknown".into()]);
        header.extras.insert("x-unknown", json!(true));
        let token = jsonwebtoken::encode(
            &header,
            &claims(&tenant(), "sub-1"),
            &jsonwebtoken::EncodingKey::from_secret(app.secret().as_bytes()),
        )
        .unwrap();
        let response = app.client_with_token(token).push(&json!({ "changes": [] })).await;
        assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

/// CRC-32 (IEEE), for the gzip trailer.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as a gzip member made of one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

e2e! {
    /// Defect 7: a `Content-Encoding` the server does not decode was ignored and the body read
    /// as plain; now gzip (and deflate, br, zstd) is decoded and anything else is a 415.
    async fn a_body_in_a_coding_the_server_does_not_decode_is_a_415_and_gzip_is_decoded(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let c = app.client(&tenant(), "app-1");
        let body = json!({ "changes": [ { "entityType": "end_user", "data": { "name": "zipped" } } ] });
        let plain = body.to_string().into_bytes();
        for coding in ["x-unknown", "br, x", "gzip, gzip", "compress"] {
            let response = c
                .send(Method::POST, "/api/client/sync/push", &[("Content-Encoding", coding)],
                      Some(plain.clone()))
                .await;
            assert_error(&response.pair(), StatusCode::UNSUPPORTED_MEDIA_TYPE,
                         "unsupported_media_type");
        }
        let response = c
            .send(Method::POST, "/api/client/sync/push", &[("Content-Encoding", "gzip")],
                  Some(gzip_stored(&plain)))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        assert_eq!(response.json()["data"][0]["name"], json!("zipped"));
        let (records, _) = c.pull_all(None, 100).await;
        assert_eq!(records.len(), 1, "only the decoded push was applied: {records:?}");
    }
}

e2e! {
    /// Defect 4: errors that actix answered for syncd (an extractor, a mounted service) had an
    /// empty or plain-text body; every error the server can shape carries the SPEC §4 body.
    async fn errors_below_the_handlers_carry_the_json_error_body(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let c = app.client(&tenant(), "app-1");
        for (method, path) in [
            (Method::GET, "/docs/no-such-asset.js"),
            (Method::GET, "/api/end_user/%FF"),
            (Method::GET, "/api/client/sync/ws"),
            (Method::POST, "/openapi.json"),
        ] {
            let response = c.send(method.clone(), path, &[], None).await;
            assert!(response.status.is_client_error(), "{method} {path}: {response:?}");
            let (_, body) = response.pair();
            assert_eq!(body["success"], json!(false), "{method} {path}: {body}");
            assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
            assert!(body["error"]["message"].is_string(), "{method} {path}: {body}");
        }
    }
}

/// A raw connection that sends a push head announcing `declared` bytes, then trickles the body
/// (`chunk` bytes every `every`) until the server answers or closes, or `give_up` passes.
/// Returns the status line of the answer, if any, and how long it took.
async fn slow_upload(
    port: u16,
    token: &str,
    declared: usize,
    chunk: usize,
    every: Duration,
    give_up: Duration,
) -> (Option<String>, Duration) {
    let started = Instant::now();
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return (None, started.elapsed());
    };
    let head = format!(
        "POST /api/client/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return (None, started.elapsed());
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let filler = vec![b' '; chunk];
    while started.elapsed() < give_up {
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => {
                if stream.write_all(&filler).await.is_err() {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .map(str::to_owned);
    (status, started.elapsed())
}

e2e! {
    /// Defect 3: a body sent a few bytes at a time held its connection open forever. Now the
    /// whole body must arrive within `server.body_timeout_ms` (408 with the JSON body), and a
    /// normal client keeps its latency meanwhile.
    async fn slow_request_bodies_are_cut_off_and_a_normal_client_keeps_its_latency(backend) {
        let app = TestApp::spawn(backend, |s| s.server.body_timeout_ms = 1_500).await;
        let t = tenant();
        let token = app.token(&t, "slow");
        let port = app.port;
        let mut slow = Vec::new();
        for _ in 0..40 {
            let token = token.clone();
            slow.push(tokio::spawn(async move {
                slow_upload(port, &token, 100_000, 60, Duration::from_millis(300),
                            Duration::from_secs(8)).await
            }));
        }
        let normal = app.client(&t, "normal");
        let mut worst = Duration::ZERO;
        for i in 0..15 {
            let started = Instant::now();
            normal.create_record("end_user", json!({ "name": format!("n{i}") })).await;
            worst = worst.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for task in slow {
            let (status, took) = task.await.unwrap();
            let status = status.unwrap_or_else(|| {
                panic!("a slow upload got no answer within {took:?}")
            });
            assert!(status.contains(" 408 "), "{status}");
            assert!(took < Duration::from_secs(6), "cut off after {took:?}");
        }
        assert!(worst < Duration::from_secs(2), "a normal push took {worst:?} during the flood");
        // The 408 is the JSON body of SPEC §4.
        let response = {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let head = format!(
                "POST /api/client/sync/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Length: 10\r\n\r\n{{"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut text = String::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut text)).await;
            text
        };
        assert!(response.contains("\"request_timeout\""), "{response}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Defect 7: after the backplane's LISTEN connection dropped and could not be re-established at
/// once (the database refused connections), no `resync_required` ever reached the clients,
/// although events sent meanwhile were lost. Now it is sent once the listener is back.
async fn clients_get_resync_required_once_the_backplane_listener_is_back() {
    if !Backend::Postgres.is_available() {
        report_skip(concat!(
            module_path!(),
            "::clients_get_resync_required_once_the_backplane_listener_is_back"
        ));
        return;
    }
    let app = WsApp::spawn(Backend::Postgres, |_| {}).await;
    let mut ws = app.connect(&tenant(), "app-1").await;
    app.set_database_reachable(false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.set_database_reachable(true).await;
    let (resync, _) = ws.recv_until("resync_required", 50).await;
    assert!(resync["data"]["cursor"].is_string(), "{resync}");
}
