//! Operations endpoints (SPEC §4.6): liveness, readiness, Prometheus metrics, the OpenAPI 3.1
//! document of the whole API (one CRUD path per registered type) and its docs page, served
//! offline.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::*;

use crate::crud::{ENTITIES, spawn, with_entities};

/// The entity type names declared in `examples/entities.toml` (the `name` right after each
/// `[[entity]]`), plus the two built-in types.
fn registered_types() -> BTreeSet<String> {
    let text = std::fs::read_to_string(ENTITIES).expect("examples/entities.toml is readable");
    let mut names: BTreeSet<String> = ["end_user", "interactions"].map(str::to_owned).into();
    let mut in_entity = false;
    for line in text.lines().map(str::trim) {
        if line == "[[entity]]" {
            in_entity = true;
        } else if in_entity && let Some(rest) = line.strip_prefix("name") {
            let name = rest.trim().trim_start_matches('=').trim().trim_matches('"');
            names.insert(name.to_owned());
            in_entity = false;
        }
    }
    names
}

e2e! {
    async fn health_and_readiness_answer_200_without_a_token(backend) {
        let app = spawn(backend).await;
        let anonymous = app.anonymous();
        for path in ["/healthz", "/readyz"] {
            let response = anonymous.send(Method::GET, path, &[], None).await;
            assert_eq!(response.status, StatusCode::OK, "GET {path}: {}", response.text);
        }
        // Only GET: a wrong method is a JSON error, not a crash.
        let (status, body) = anonymous.json(Method::POST, "/healthz", &[], None).await;
        assert!(status.is_client_error(), "{status} {body}");
        assert_eq!(body["success"], json!(false), "{body}");
    }
}

e2e! {
    async fn metrics_are_prometheus_text_counting_http_requests(backend) {
        let app = spawn(backend).await;
        let client = app.client(&tenant(), "app-1");
        client.pull_ok(&json!({})).await;
        let (status, _) = client.get("/api/clients").await;
        assert_eq!(status, StatusCode::OK);

        let response = app.anonymous().send(Method::GET, "/metrics", &[], None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        let content_type = response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(content_type.starts_with("text/plain"), "content-type {content_type:?}");
        let text = &response.text;
        assert!(
            text.lines().any(|l| l.starts_with("# TYPE syncd_http_requests_total counter")),
            "no counter syncd_http_requests_total:\n{text}"
        );
        // Sample lines: `name{labels} value`, with a numeric value.
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("syncd_http_requests_total{"))
            .collect();
        assert!(!samples.is_empty(), "no samples:\n{text}");
        for sample in &samples {
            let value = sample.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "not a Prometheus sample: {sample}");
        }
        assert!(
            samples.iter().any(|s| s.contains("/api/client/sync/pull") && s.contains("status=\"200\"")),
            "the pull is not counted: {samples:#?}"
        );
    }
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn methods(doc: &Value, path: &str) -> BTreeSet<String> {
    doc["paths"][path]
        .as_object()
        .map(|ops| ops.keys().cloned().collect())
        .unwrap_or_default()
}

/// The `/api/<type>` paths of a document: single-segment paths under `/api/` that are not the
/// sync routes.
fn type_paths(doc: &Value) -> BTreeSet<String> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.keys())
        .filter_map(|p| p.strip_prefix("/api/"))
        .filter(|rest| !rest.contains('/') && *rest != "client")
        .map(str::to_owned)
        .collect()
}

// The document depends on the registry, not on the database: one backend is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_with_the_sync_paths_and_one_crud_path_per_registered_type() {
    let app = TestApp::spawn(Backend::Sqlite, with_entities).await;
    let response = app
        .anonymous()
        .send(Method::GET, "/openapi.json", &[], None)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let doc = response.json();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi: {version:?}");
    assert!(
        doc["info"]["title"].is_string() && doc["info"]["version"].is_string(),
        "{}",
        doc["info"]
    );

    for (path, method) in [
        ("/api/client/sync/push", "post"),
        ("/api/client/sync/pull", "post"),
        ("/api/client/sync/pull-pending", "post"),
        ("/api/client/sync/conflicts", "get"),
        ("/api/client/sync/conflicts/{id}/resolve", "post"),
        ("/api/client/sync/ws", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            methods(&doc, path).contains(method),
            "no `{method} {path}` in the document"
        );
    }

    let types = registered_types();
    assert_eq!(
        types.len(),
        15,
        "built-ins plus the 13 example types: {types:?}"
    );
    assert_eq!(
        type_paths(&doc),
        types,
        "one /api/{{type}} path per registered type"
    );
    for ty in &types {
        let collection = methods(&doc, &format!("/api/{ty}"));
        for m in ["get", "post", "put", "delete"] {
            assert!(collection.contains(m), "no `{m} /api/{ty}`: {collection:?}");
        }
        let one = methods(&doc, &format!("/api/{ty}/{{id}}"));
        assert!(
            one.contains("get") && one.contains("delete"),
            "/api/{ty}/{{id}}: {one:?}"
        );
        let history = methods(&doc, &format!("/api/{ty}/{{id}}/history"));
        assert!(
            history.contains("get"),
            "/api/{ty}/{{id}}/history: {history:?}"
        );
    }

    // Every reference resolves inside the document.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("an external or odd $ref: {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {r}"
        );
    }

    // Without the entities file only the built-in types are documented.
    let plain = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let doc = plain
        .anonymous()
        .send(Method::GET, "/openapi.json", &[], None)
        .await
        .json();
    assert_eq!(
        type_paths(&doc),
        ["end_user", "interactions"].map(str::to_owned).into(),
    );
}

/// The values of `attr="…"` (or `attr='…'`) attributes in an HTML page.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    for quote in ['"', '\''] {
        let needle = format!("{attr}={quote}");
        let mut from = 0;
        while let Some(i) = lower[from..].find(&needle) {
            let start = from + i + needle.len();
            let Some(len) = html[start..].find(quote) else {
                break;
            };
            out.push(html[start..start + len].to_owned());
            from = start + len;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_is_html_served_offline() {
    let app = TestApp::spawn(Backend::Sqlite, with_entities).await;
    let no_redirects = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let first = no_redirects
        .get(app.url("/docs"))
        .send()
        .await
        .expect("GET /docs");
    if first.status().is_redirection() {
        let location = first
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            location.starts_with('/') || location.starts_with(&app.address),
            "/docs redirects off the server: {location:?}"
        );
    } else {
        assert_eq!(first.status(), StatusCode::OK);
    }

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let page = http.get(app.url("/docs")).send().await.expect("GET /docs");
    assert_eq!(page.status(), StatusCode::OK);
    let base = page.url().clone();
    let content_type = page
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let html = page.text().await.expect("the page body");
    assert!(
        content_type.starts_with("text/html"),
        "content-type {content_type:?}"
    );
    assert!(
        html.to_ascii_lowercase().contains("<html"),
        "not an HTML page: {html}"
    );

    let assets: Vec<String> = attribute_values(&html, "src")
        .into_iter()
        .chain(attribute_values(&html, "href"))
        .collect();
    assert!(
        !assets.is_empty(),
        "a docs page without scripts or styles: {html}"
    );
    let mut points_at_document = false;
    for asset in &assets {
        let lower = asset.to_ascii_lowercase();
        assert!(
            !lower.starts_with("http://")
                && !lower.starts_with("https://")
                && !lower.starts_with("//"),
            "the docs page loads {asset} from outside the server (not offline)"
        );
        if lower.starts_with("data:") || lower.starts_with('#') {
            continue;
        }
        let url = base.join(asset).expect("a relative URL");
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{url}");
        let response = http.get(url.clone()).send().await.expect("GET an asset");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the docs page's {url} is not served"
        );
        let body = response.text().await.unwrap_or_default();
        points_at_document |= body.contains("/openapi.json");
    }
    assert!(
        points_at_document || html.contains("/openapi.json"),
        "neither the page nor its scripts load this server's /openapi.json"
    );
}
