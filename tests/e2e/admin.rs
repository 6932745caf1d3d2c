//! `GET /api/admin/stats` (SPEC §13): the figures of the console's Activity page, for tokens
//! with the `admin` role, of the caller's tenant only.

use serde_json::{Value, json};
use syncd_e2e::ws::{WsApp, app_claims};
use syncd_e2e::*;

fn admin_claims(tenant: &str) -> Value {
    let mut c = claims(tenant, "ops");
    c["roles"] = json!(["admin"]);
    c
}

async fn stats(client: &Client) -> Value {
    let (status, body) = client.get("/api/admin/stats").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    body["data"].clone()
}

fn create(name: &str) -> Value {
    json!({ "name": name, "email": format!("{}@example.com", name.to_lowercase()) })
}

e2e! {
    async fn the_stats_need_a_token_with_the_admin_role(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        assert_error(&app.anonymous().get("/api/admin/stats").await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&app.client(&t, "app-1").get("/api/admin/stats").await, StatusCode::FORBIDDEN, "forbidden");
        let mut c = claims(&t, "someone");
        c["roles"] = json!(["manager"]);
        assert_error(&app.client_with_token(app.sign(&c)).get("/api/admin/stats").await, StatusCode::FORBIDDEN, "forbidden");
        let s = stats(&app.client_with_token(app.sign(&admin_claims(&t)))).await;
        assert_eq!(s["types"]["end_user"], json!({ "live": 0, "tombstones": 0 }), "{s}");
        assert_eq!(s["pushes"], json!({ "lastMinute": 0, "lastHour": 0 }), "{s}");
        assert_eq!(s["pushLatencyMs"], json!({ "p50": null, "p99": null }), "{s}");
        let (_, doc) = app.anonymous().get("/openapi.json").await;
        assert!(doc["paths"]["/api/admin/stats"]["get"].is_object(), "the route is documented");
        assert!(doc["components"]["schemas"]["AdminStats"].is_object());
    }
}

e2e! {
    async fn the_stats_count_the_tenants_records_pushes_conflicts_and_connections_only(backend) {
        let app = WsApp::spawn(backend, |s| {
            s.sync.strategies.insert("end_user".into(), "manual".into());
        })
        .await;
        let a = tenant();
        let b = tenant();
        let app1 = app.client(&a, "app-1");
        let app2 = app.client(&a, "app-2");
        let _listener = app.connect(&a, "app-3").await;

        // Four pushes: two creates, one create, a delete, and a stale update (a manual conflict).
        let first = app1.push_ok(&json!({ "changes": { "end_user": [create("Ann"), create("Bob")] } })).await;
        let ann = first["data"][0]["id"].as_str().unwrap().to_owned();
        let bob = first["data"][1]["id"].as_str().unwrap().to_owned();
        app1.push_ok(&json!({ "table": "end_user", "operation": "create", "data": create("Cid") })).await;
        app1.push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "delete", "id": bob, "baseVersion": 1 } ] })).await;
        app1.push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "update", "id": ann, "baseVersion": 1, "data": { "phone": "1" } } ] })).await;
        let conflict = app2.push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "update", "id": ann, "baseVersion": 1, "data": { "phone": "2" } } ] })).await;
        assert_eq!(conflict["results"][0]["status"], json!("conflict"), "{conflict}");
        // A replay is not a push.
        let (status, _) = app1.push_with_key("k-1", &json!({ "table": "interactions", "operation": "create", "data": { "type": "call", "title": "Hello" } })).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app1.push_with_key("k-1", &json!({ "table": "interactions", "operation": "create", "data": { "type": "call", "title": "Hello" } })).await;
        assert_eq!(status, StatusCode::OK);
        // A REST write is a change, not a push.
        let (status, body) = app1.post("/api/interactions", &json!({ "type": "email", "title": "Later" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // Tenant B: one push, nobody connected.
        app.client(&b, "app-1").push_ok(&json!({ "table": "end_user", "operation": "create", "data": create("Dee") })).await;
        app.state().hub.resync_all();

        let s = stats(&app.client_with_token(app.sign(&admin_claims(&a)))).await;
        assert_eq!(s["types"]["end_user"], json!({ "live": 2, "tombstones": 1 }), "{s}");
        assert_eq!(s["types"]["interactions"], json!({ "live": 2, "tombstones": 0 }), "{s}");
        assert_eq!(s["openConflicts"], json!(1), "{s}");
        assert_eq!(s["conflictsByStrategy"]["manual"], json!(1), "{s}");
        assert_eq!(s["conflictsByStrategy"]["field-merge"], json!(0), "interactions' strategy is listed: {s}");
        assert_eq!(s["connections"], json!(1), "{s}");
        assert_eq!(s["resyncs"], json!(1), "{s}");
        assert_eq!(s["pushes"], json!({ "lastMinute": 6, "lastHour": 6 }), "{s}");
        // Records written: 2 + 1 + 1 (delete) + 1 (update) + 1 (interaction) + 1 (REST).
        assert_eq!(s["changes"], json!({ "lastMinute": 7, "lastHour": 7 }), "{s}");
        let p50 = s["pushLatencyMs"]["p50"].as_f64().unwrap_or_else(|| panic!("no p50: {s}"));
        let p99 = s["pushLatencyMs"]["p99"].as_f64().unwrap_or_else(|| panic!("no p99: {s}"));
        assert!(p50 > 0.0 && p50 <= p99, "{s}");

        let s = stats(&app.client_with_token(app.sign(&admin_claims(&b)))).await;
        assert_eq!(s["types"]["end_user"], json!({ "live": 1, "tombstones": 0 }), "{s}");
        assert_eq!(s["types"]["interactions"], json!({ "live": 0, "tombstones": 0 }), "{s}");
        assert_eq!(s["openConflicts"], json!(0), "{s}");
        assert_eq!(s["conflictsByStrategy"]["manual"], json!(0), "{s}");
        assert_eq!(s["connections"], json!(0), "{s}");
        assert_eq!(s["resyncs"], json!(0), "{s}");
        assert_eq!(s["pushes"], json!({ "lastMinute": 1, "lastHour": 1 }), "{s}");
        assert_eq!(s["changes"], json!({ "lastMinute": 1, "lastHour": 1 }), "{s}");

        // A token of tenant A without the role learns nothing, even of its own tenant.
        let plain = app.client_with_token(app.sign(&app_claims(&a, "app-1")));
        assert_error(&plain.get("/api/admin/stats").await, StatusCode::FORBIDDEN, "forbidden");
    }
}

e2e! {
    async fn the_stats_show_types_outside_the_tokens_read_scope_to_nobody(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        app.client(&t, "app-1").push_ok(&json!({ "table": "interactions", "operation": "create", "data": { "type": "call", "title": "Hi" } })).await;
        let mut c = admin_claims(&t);
        c["scope"] = json!("sync:read:end_user");
        let s = stats(&app.client_with_token(app.sign(&c))).await;
        assert!(s["types"].get("interactions").is_none(), "{s}");
        assert_eq!(s["types"]["end_user"], json!({ "live": 0, "tombstones": 0 }), "{s}");
    }
}
