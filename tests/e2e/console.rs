//! The console (SPEC §13) as the binary serves it: `/` leads to `/console/`, pages and SDK
//! modules come from inside the binary with their content type, unknown or climbing paths are
//! the JSON 404, and the development token exists only for a development server on loopback.
//! (What the pages do is tested in Chromium by `console/tests/`.)

use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::*;

/// An HTTP client that does not follow redirects.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = http().get(app.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn json_404(r: reqwest::Response) {
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["error"]["code"], json!("not_found"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_and_the_bare_console_path_lead_to_the_console() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let r = get(&app, "/", &[]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(header(&r, "location"), "/console/");
    let r = get(&app, "/console", &[]).await;
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&r, "location"), "/console/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_scripts_and_styles_come_from_the_binary_with_their_content_type() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let r = get(&app, "/console/", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    let etag = header(&r, "etag").to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("\"@syncd/client\": \"/sdk/client/index.js\""),
        "the page maps the SDK: {html}"
    );

    // Unchanged: 304 without a body.
    let r = get(&app, "/console/", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // A page by its name without `.html`, a script, a style sheet.
    for (path, ty) in [
        ("/console/activity", "text/html; charset=utf-8"),
        ("/console/data.html", "text/html; charset=utf-8"),
        ("/console/js/common.js", "text/javascript; charset=utf-8"),
        ("/console/css/console.css", "text/css; charset=utf-8"),
    ] {
        let r = get(&app, path, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, "content-type"), ty, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_is_served_as_modules_beside_the_console() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let r = get(&app, "/sdk/client/index.js", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    let text = r.text().await.unwrap();
    assert!(text.contains("createClient"), "{text}");
    json_404(get(&app, "/sdk/client/", &[]).await).await;
    json_404(get(&app, "/sdk/client/no-such-module.js", &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_climbing_paths_are_the_json_404() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    for path in [
        "/console/no-such-page.html",
        "/console/js/nothing.js",
        "/console/..%2F..%2FCargo.toml",
        "/console/%2e%2e/%2e%2e/Cargo.toml",
        "/console/.hidden",
        "/sdk/client/..%2F..%2F..%2FCargo.toml",
    ] {
        let r = get(&app, path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        json_404(r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_development_server_on_loopback_offers_an_admin_token_without_client_id() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let r = get(&app, "/console/dev-token", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let body: Value = r.json().await.unwrap();
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["tenantId"], json!("dev"), "{body}");
    assert_eq!(body["data"]["roles"], json!(["admin"]), "{body}");

    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64url_decode(payload)).unwrap();
    assert_eq!(claims["tenant_id"], json!("dev"), "{claims}");
    assert_eq!(claims["roles"], json!(["admin"]), "{claims}");
    assert!(claims.get("client_id").is_none(), "{claims}");

    // The token works: the stats are the admin's, and each app names its own client.
    let admin = app.client_with_token(token.clone());
    let (status, body) = admin.get("/api/admin/stats").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = admin
        .clone()
        .with_client_id_header("app-7")
        .push_ok(&json!({ "table": "end_user", "operation": "create", "data": { "name": "Ann" } }))
        .await;
    let id = res["data"][0]["id"].as_str().unwrap();
    let (_, history) = admin.get(&format!("/api/end_user/{id}/history")).await;
    assert_eq!(history["data"][0]["clientId"], json!("app-7"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_development_token_is_refused_through_a_proxy_or_under_another_name() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    json_404(
        get(
            &app,
            "/console/dev-token",
            &[("X-Forwarded-For", "203.0.113.9")],
        )
        .await,
    )
    .await;
    json_404(
        get(
            &app,
            "/console/dev-token",
            &[("Forwarded", "for=203.0.113.9")],
        )
        .await,
    )
    .await;
    // A page of another origin whose name was pointed at 127.0.0.1 sends its own Host.
    json_404(
        get(
            &app,
            "/console/dev-token",
            &[("Host", "attacker.example:8080")],
        )
        .await,
    )
    .await;
    let r = get(&app, "/console/dev-token", &[("Host", "localhost:8080")]).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_server_offers_no_development_token() {
    let app = TestApp::spawn(Backend::Sqlite, |s| s.env = config::Environment::Production).await;
    json_404(get(&app, "/console/dev-token", &[]).await).await;
    // The console itself is still there: it asks for a token.
    let r = get(&app, "/console/", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
}

fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        buffer = (buffer << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}
