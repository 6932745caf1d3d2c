//! Bad input (SPEC §4, §7, guarantee 8): a clear 4xx JSON error, nothing changed, the server
//! keeps serving.

use serde_json::{Value, json};
use syncd_e2e::*;

const SYNC_ROUTES: [&str; 3] = [
    "/api/client/sync/push",
    "/api/client/sync/pull",
    "/api/client/sync/pull-pending",
];

/// The first detail of a 422 names `field`.
#[track_caller]
fn assert_names_field(response: &(StatusCode, Value), field: &str) {
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let details = response.1["error"]["details"].as_array().expect("details");
    assert!(
        details.iter().any(|d| d["field"] == json!(field)),
        "no detail names `{field}`: {}",
        response.1
    );
}

/// `depth` nested arrays around a string.
fn nested(depth: usize) -> Value {
    let mut v = json!("deep");
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

e2e! {
    async fn malformed_json_is_a_400_json_error(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        for path in SYNC_ROUTES.iter().chain(&["/api/end_user"]) {
            for body in [&b"{not json"[..], b"{\"changes\": [", b"\xff\xfe", b"{\"a\":1}}"] {
                let raw = app1.send(Method::POST, path, &[], Some(body.to_vec())).await;
                assert_error(&raw.pair(), StatusCode::BAD_REQUEST, "bad_request");
            }
        }
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records, Vec::<Value>::new());
    }
}

e2e! {
    async fn a_body_of_the_wrong_shape_is_a_400_json_error(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        for body in [
            json!([]),
            json!("push"),
            json!({ "nothing": "here" }),
            json!({ "changes": 5 }),
            json!({ "changes": [ "not an object" ] }),
            json!({ "table": "end_user", "operation": "explode", "data": {} }),
        ] {
            let response = app1.push(&body).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        }
        for body in [json!([]), json!({ "entityTypes": "end_user" }), json!({ "limit": "ten" })] {
            assert_error(&app1.pull(&body).await, StatusCode::BAD_REQUEST, "bad_request");
        }
    }
}

e2e! {
    async fn a_body_over_the_size_limit_is_413_payload_too_large(backend) {
        let app = TestApp::spawn(backend, |s| s.limits.max_body_bytes = 2048).await;
        let app1 = app.client(&tenant(), "app-1");
        let big = json!({ "changes": { "interactions": [
            { "type": "call", "title": "t", "description": "x".repeat(4096) } ] } });
        for path in SYNC_ROUTES {
            let response = app1.json(Method::POST, path, &[], Some(&big)).await;
            assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        }
        let response = app1.post("/api/interactions", &big["changes"]["interactions"][0]).await;
        assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        // Just under the limit is served.
        let small = json!({ "changes": { "interactions": [
            { "type": "call", "title": "t", "description": "x".repeat(1500) } ] } });
        let res = app1.push_ok(&small).await;
        assert_eq!(res["results"][0]["status"], json!("created"));
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records.len(), 1, "only the small push was applied");
    }
}

e2e! {
    async fn more_changes_than_allowed_in_one_push_is_413(backend) {
        let app = TestApp::spawn(backend, |s| s.limits.max_changes_per_push = 5).await;
        let app1 = app.client(&tenant(), "app-1");
        let six: Vec<Value> = (0..6).map(|n| json!({ "name": format!("u{n}") })).collect();
        let response = app1.push(&json!({ "changes": { "end_user": six } })).await;
        assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        let six: Vec<Value> = (0..6)
            .map(|n| json!({ "entityType": "end_user", "data": { "name": format!("u{n}") } }))
            .collect();
        let response = app1.push(&json!({ "changes": six })).await;
        assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records, Vec::<Value>::new());

        let five: Vec<Value> = (0..5).map(|n| json!({ "name": format!("u{n}") })).collect();
        let res = app1.push_ok(&json!({ "changes": { "end_user": five } })).await;
        assert_eq!(res["results"].as_array().unwrap().len(), 5);
    }
}

e2e! {
    async fn an_unknown_entity_type_is_422_in_push_pull_and_pull_pending(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        for body in [
            json!({ "changes": { "no_such_type": [ { "name": "x" } ] } }),
            json!({ "changes": { "end_user": [ { "name": "ok" } ], "no_such_type": [ { "a": 1 } ] } }),
            json!({ "changes": [ { "entityType": "no_such_type", "data": { "a": 1 } } ] }),
            json!({ "table": "no_such_type", "operation": "create", "data": { "a": 1 } }),
        ] {
            let response = app1.push(&body).await;
            assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
        }
        let response = app1.pull(&json!({ "entityTypes": ["end_user", "no_such_type"] })).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
        let response = app1.pull(&json!({ "table": "no_such_type", "lastSync": time_from_now(-60) })).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
        let response = app1.pull_pending(&json!({ "entityTypes": ["no_such_type"] })).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records, Vec::<Value>::new(), "the valid change of a mixed push was not applied");
    }
}

e2e! {
    async fn an_unknown_route_is_a_404_json_error(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        for path in [
            "/nothing-here",
            "/api/client/sync/nope",
            "/api/client/sync/push/extra",
            "/api/no_such_type",
            "/api/no_such_type/0190b7c4-0000-7000-8000-000000000000",
        ] {
            let response = app1.get(path).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        }
        let response = app.anonymous().get("/definitely/not/here").await;
        assert_eq!(response.0, StatusCode::NOT_FOUND, "{}", response.1);
        assert_eq!(response.1["success"], json!(false));
    }
}

e2e! {
    async fn a_wrong_method_is_a_405_json_error(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        for (method, path) in [
            (Method::GET, "/api/client/sync/push"),
            (Method::DELETE, "/api/client/sync/pull"),
            (Method::PUT, "/api/client/sync/pull-pending"),
            (Method::POST, "/api/client/sync/conflicts"),
        ] {
            let raw = app1.send(method.clone(), path, &[], None).await;
            let (status, body) = raw.pair();
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
            assert_eq!(body["success"], json!(false), "{body}");
            assert!(body["error"]["code"].is_string(), "{body}");
            assert!(body["error"]["message"].is_string(), "{body}");
        }
    }
}

/// The shipped example entities file: it declares `distributors.agreement_data` as `json`.
fn with_example_entities(s: &mut Settings) {
    s.sync.entities_file = Some(EXAMPLE_ENTITIES.into());
}

/// `depth` nested objects around a number.
fn nested_objects(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!({ "a": v });
    }
    v
}

e2e! {
    async fn json_nested_deeper_than_32_is_422_naming_the_field(backend) {
        let app = TestApp::spawn(backend, with_example_entities).await;
        let app1 = app.client(&tenant(), "app-1");
        for deep in [nested(33), nested_objects(33), nested(100)] {
            let response = app1
                .push(&json!({ "changes": { "distributors": [
                    { "name": "d", "agreement_data": deep } ] } }))
                .await;
            assert_names_field(&response, "agreement_data");
        }
        let response = app1
            .push(&json!({ "changes": { "interactions": [
                { "type": "call", "title": "t", "description": nested(40) } ] } }))
            .await;
        assert_names_field(&response, "description");
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records, Vec::<Value>::new());

        // 32 levels are allowed.
        let res = app1
            .push_ok(&json!({ "changes": { "distributors": [
                { "name": "d", "agreement_data": nested(32) },
                { "name": "e", "agreement_data": nested_objects(32) } ] } }))
            .await;
        assert_eq!(res["results"][0]["status"], json!("created"), "{res}");
        assert_eq!(res["data"][0]["agreement_data"], nested(32));
    }
}

e2e! {
    async fn a_string_over_64_kib_is_422_naming_the_field(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let response = app1
            .push(&json!({ "changes": { "interactions": [
                { "type": "call", "title": "t", "description": "x".repeat(64 * 1024 + 1) } ] } }))
            .await;
        assert_names_field(&response, "description");
        let response = app1
            .post("/api/interactions", &json!({ "type": "call", "title": "t",
                "description": "y".repeat(70_000) }))
            .await;
        assert_names_field(&response, "description");

        // Exactly 64 KiB is fine.
        let res = app1
            .push_ok(&json!({ "changes": { "interactions": [
                { "type": "call", "title": "t", "description": "z".repeat(64 * 1024) } ] } }))
            .await;
        assert_eq!(res["results"][0]["status"], json!("created"));
    }
}

e2e! {
    async fn a_field_over_its_length_or_of_the_wrong_type_is_422_naming_the_field(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let response = app1
            .push(&json!({ "changes": { "end_user": [ { "name": "n".repeat(300) } ] } }))
            .await;
        assert_names_field(&response, "name");
        let response = app1
            .push(&json!({ "changes": { "end_user": [ { "name": "n", "active": "yes" } ] } }))
            .await;
        assert_names_field(&response, "active");
        let response = app1
            .push(&json!({ "changes": { "interactions": [ { "type": "call", "title": "t",
                "date": "next tuesday" } ] } }))
            .await;
        assert_names_field(&response, "date");
        let response = app1
            .push(&json!({ "changes": { "end_user": [ { "name": "n", "favourite_colour": "red" } ] } }))
            .await;
        assert_names_field(&response, "favourite_colour");
    }
}

e2e! {
    async fn the_server_keeps_serving_after_1000_bad_requests_in_a_row(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let forged = app.client_with_token(sign_hs256(&claims(&t, "x"), b"wrong key, wrong key, wrong key!"));
        let head = app1.head().await;
        for n in 0..1000 {
            let raw = match n % 5 {
                0 => app1.send(Method::POST, "/api/client/sync/push", &[], Some(b"{oops".to_vec())).await,
                1 => {
                    let body = json!({ "changes": { "nope": [ { "n": n } ] } });
                    app1.send(Method::POST, "/api/client/sync/push", &[], Some(body.to_string().into_bytes())).await
                }
                2 => {
                    let body = json!({ "changes": { "end_user": [ { "email": "x" } ] } });
                    forged.send(Method::POST, "/api/client/sync/push", &[], Some(body.to_string().into_bytes())).await
                }
                3 => app1.send(Method::GET, "/api/client/sync/nothing", &[], None).await,
                _ => {
                    let body = json!({ "changes": { "end_user": [ { "email": "not an email" } ] } });
                    app1.send(Method::POST, "/api/client/sync/push", &[], Some(body.to_string().into_bytes())).await
                }
            };
            assert!(raw.status.is_client_error(), "request {n}: {} {}", raw.status, raw.text);
            assert_eq!(raw.json()["success"], json!(false), "request {n}");
        }
        assert_eq!(app1.head().await, head, "no bad request changed anything");

        let res = app1.push_ok(&json!({ "changes": { "end_user": [ { "name": "still here" } ] } })).await;
        assert_eq!(res["results"][0]["status"], json!("created"));
        let (records, _) = app1.pull_all(None, 100).await;
        assert_eq!(records.len(), 1);
        let (status, _) = app.anonymous().get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
    }
}

e2e! {
    async fn a_caller_over_its_rate_limit_gets_429_with_retry_after(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.limits.requests_per_second = 1;
            s.limits.burst = 3;
        })
        .await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let mut limited = None;
        for _ in 0..10 {
            let raw = app1
                .send(Method::POST, "/api/client/sync/pull", &[], Some(b"{}".to_vec()))
                .await;
            if raw.status == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(raw);
                break;
            }
            assert_eq!(raw.status, StatusCode::OK, "{}", raw.text);
        }
        let raw = limited.expect("ten requests in a row with burst 3 were never limited");
        assert_error(&raw.pair(), StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry_after: u64 = raw
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Retry-After: {:?}", raw.headers));
        assert!(retry_after >= 1, "Retry-After: {retry_after}");
        // Another subject of the same tenant has its own budget.
        let (status, body) = app.client(&t, "app-2").pull(&json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
