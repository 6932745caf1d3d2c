//! The harness of syncd's black-box end-to-end tests: a real server bound to port 0 on
//! loopback, a fresh database per test (SQLite always, PostgreSQL when
//! `SYNCD_TEST_DATABASE_URL` is set), tokens signed like an identity provider would, and typed
//! HTTP helpers that return `(StatusCode, serde_json::Value)`.
//!
//! Tests talk to the server only the way apps do (HTTP). The one white-box door is
//! [`TestApp::statements`], which counts SQL statements to prove that a push costs no per-record
//! round trip.
//!
//! # Where the suite is, and why it is a test of the `syncd` package
//! The tests are in `tests/e2e/` beside this harness, but their test target `e2e` is declared
//! by the `syncd` package (`bins/syncd/Cargo.toml`), with this crate as a dev-dependency.
//! Some tests start the real binary ([`process`]), and Cargo hands an integration test the
//! binaries of its own package only: built before the test runs, named in
//! `CARGO_BIN_EXE_syncd`, same profile and target directory. A test of this package would have
//! to build the binary itself. So `cargo test --workspace` (or `cargo test -p syncd --test e2e`)
//! builds `syncd` and runs the whole suite against it; `SYNCD_E2E_BINARY` can name another
//! binary. The files stay here, with the harness they use, as one test binary with a module per
//! feature.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
pub use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use syncd_server::config::Secret;
use syncd_server::state::Engine;
pub use syncd_server::{Settings, config};
use uuid::Uuid;

pub mod pg_cluster;
pub mod process;
pub mod restore;
pub mod ws;

/// The entity types file the repository ships (`examples/entities.toml`).
pub const EXAMPLE_ENTITIES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/entities.toml");

/// The environment variable naming a PostgreSQL admin URL
/// (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
pub const POSTGRES_ENV: &str = "SYNCD_TEST_DATABASE_URL";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary file under the system temp dir, removed on drop.
    Sqlite,
    /// A database `syncd_e2e_<uuid>` created on the server named by `SYNCD_TEST_DATABASE_URL`
    /// and dropped (`WITH (FORCE)`) on drop.
    Postgres,
}

impl Backend {
    /// The PostgreSQL admin URL, when configured.
    pub fn postgres_admin_url() -> Option<String> {
        std::env::var(POSTGRES_ENV)
            .ok()
            .filter(|url| !url.trim().is_empty())
    }

    /// SQLite always is; PostgreSQL only when `SYNCD_TEST_DATABASE_URL` is set.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres => Self::postgres_admin_url().is_some(),
        }
    }
}

/// Generates one test module per body, with an `on_sqlite` and an `on_postgres` test. The
/// PostgreSQL test prints `skipped: SYNCD_TEST_DATABASE_URL not set` to stderr when the variable
/// is unset.
///
/// ```text
/// e2e! {
///     async fn a_push_creates_a_record(backend) {
///         let app = TestApp::spawn(backend, |_| {}).await;
///         // …
///     }
/// }
/// ```
#[macro_export]
macro_rules! e2e {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($backend: $crate::Backend) $body

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                body($crate::Backend::Sqlite).await
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if $crate::Backend::Postgres.is_available() {
                    body($crate::Backend::Postgres).await
                } else {
                    $crate::report_skip(concat!(module_path!(), "::on_postgres"));
                }
            }
        }
    };
}

/// Says on the process's stderr, past the test harness's output capture, that a PostgreSQL
/// test did not run: a skipped backend must never look like a silent pass.
pub fn report_skip(test: &str) {
    use std::io::Write;
    let line = format!("skipped: {POSTGRES_ENV} not set ({test})\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A database that exists for one test.
enum TestDatabase {
    Sqlite { path: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    async fn create(backend: Backend) -> (Self, String) {
        match backend {
            Backend::Sqlite => {
                let path =
                    std::env::temp_dir().join(format!("syncd-e2e-{}.db", Uuid::new_v4().simple()));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                (TestDatabase::Sqlite { path }, url)
            }
            Backend::Postgres => {
                let admin_url = Backend::postgres_admin_url()
                    .unwrap_or_else(|| panic!("{POSTGRES_ENV} is not set"));
                let name = format!("syncd_e2e_{}", Uuid::new_v4().simple());
                let mut conn = pg_connect(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = sqlx::Connection::close(conn).await;
                let url = with_database(&admin_url, &name);
                (TestDatabase::Postgres { admin_url, name }, url)
            }
        }
    }
}

impl TestDatabase {
    /// PostgreSQL only: makes this one database unreachable (no new connections, existing ones
    /// terminated) or reachable again. The PostgreSQL server and every other database stay up.
    pub(crate) async fn set_reachable(&self, reachable: bool) {
        let TestDatabase::Postgres { admin_url, name } = self else {
            panic!("set_reachable needs a PostgreSQL database");
        };
        let mut conn = pg_connect(admin_url).await;
        let sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot alter database {name}: {e}"));
        if !reachable {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(name.as_str())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot terminate the connections to {name}: {e}"));
        }
        let _ = sqlx::Connection::close(conn).await;
    }
}

async fn pg_connect(url: &str) -> sqlx::PgConnection {
    <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                let admin_url = admin_url.clone();
                let name = name.clone();
                // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
                // thread with its own runtime does the async clean-up.
                let done = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) =
                            <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await
                        {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
                                .execute(&mut conn)
                                .await
                            {
                                eprintln!("could not drop test database {name}: {e}");
                            }
                        }
                    });
                });
                let _ = done.join();
            }
        }
    }
}

/// `admin_url` with its database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// A server started for a test, ready to answer.
pub(crate) struct Started {
    pub address: String,
    pub port: u16,
    pub settings: Settings,
    pub state: Arc<syncd_server::state::AppState>,
    pub http: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
}

/// Builds and starts a server on `url`: loopback port 0, two workers, the HS256 `secret`, rate
/// limits high enough not to matter; `tweak` adjusts the settings last. Returns once `/readyz`
/// answers.
pub(crate) async fn start_server(
    backend: Backend,
    url: String,
    secret: String,
    tweak: impl FnOnce(&mut Settings),
) -> Started {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 2;
    settings.server.shutdown_timeout_secs = 1;
    settings.database.url = url;
    // Several tests run at once against one PostgreSQL server.
    settings.database.max_connections = 4;
    settings.auth.jwt_secret = Some(Secret::new(secret));
    settings.limits.requests_per_second = 1_000_000;
    settings.limits.burst = 1_000_000;
    tweak(&mut settings);

    let app = syncd_server::build(settings.clone())
        .await
        .unwrap_or_else(|e| panic!("the server did not start on {backend:?}: {e}"));
    let port = app.port();
    let state = app.state().clone().into_inner();
    let server = tokio::spawn(async move {
        if let Err(e) = app.run_until_stopped().await {
            eprintln!("server stopped with an error: {e}");
        }
    });
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
    let address = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{address}/readyz")).send().await
            && r.status().is_success()
        {
            return Started {
                address,
                port,
                settings,
                state,
                http,
                server,
            };
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server on {address} never became ready");
}

/// A running server on a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    /// The settings the server was built with.
    pub settings: Settings,
    pub backend: Backend,
    http: reqwest::Client,
    secret: String,
    engine: Arc<Engine>,
    server: tokio::task::JoinHandle<()>,
    // Last, so the server is stopped before its database goes away.
    _db: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Builds and starts a server: loopback port 0, two workers, a fresh database, a random
    /// HS256 secret, rate limits high enough not to matter. `tweak` adjusts the settings last.
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let (db, url) = TestDatabase::create(backend).await;
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let started = start_server(backend, url, secret.clone(), tweak).await;
        let engine = Arc::clone(&started.state.engine);
        TestApp {
            address: started.address,
            port: started.port,
            settings: started.settings,
            backend,
            http: started.http,
            secret,
            engine,
            server: started.server,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The HS256 secret the server verifies tokens with.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The engine behind the server, for the white-box checks the issue asks for.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// SQL statements the server's store has sent since it opened.
    pub fn statements(&self) -> u64 {
        self.engine.store().statements()
    }

    /// Signs `claims` with the server's secret (HS256).
    pub fn sign(&self, claims: &Value) -> String {
        sign_hs256(claims, self.secret.as_bytes())
    }

    /// A valid token for an app installation: `sub = user-<client>`, `tenant_id`, `client_id`.
    pub fn token(&self, tenant: &str, client: &str) -> String {
        let mut c = claims(tenant, &format!("user-{client}"));
        c["client_id"] = json!(client);
        self.sign(&c)
    }

    /// A client speaking as app `client` of `tenant` (token with a `client_id` claim).
    pub fn client(&self, tenant: &str, client: &str) -> Client {
        self.client_with_token(self.token(tenant, client))
    }

    /// A client sending this bearer token.
    pub fn client_with_token(&self, token: impl Into<String>) -> Client {
        Client {
            http: self.http.clone(),
            base: self.address.clone(),
            token: Some(token.into()),
            headers: Vec::new(),
        }
    }

    /// A client that sends no `Authorization` header.
    pub fn anonymous(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.address.clone(),
            token: None,
            headers: Vec::new(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Tokens

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Valid claims for a subject of a tenant, expiring in an hour.
pub fn claims(tenant: &str, sub: &str) -> Value {
    json!({ "sub": sub, "tenant_id": tenant, "iat": now(), "exp": now() + 3600 })
}

/// An HS256 JWT over `claims`.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap_or_else(|e| panic!("cannot sign a test token: {e}"))
}

/// A token with header `{"alg":"none"}`, the claims, and an empty signature.
pub fn unsigned_token(claims: &Value) -> String {
    format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    )
}

/// `token` with its payload replaced by `claims`, keeping the original header and signature.
pub fn tamper(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    format!(
        "{}.{}.{}",
        parts[0],
        base64url(claims.to_string().as_bytes()),
        parts[2]
    )
}

/// Unpadded base64url.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for s in sextets.iter().take(chunk.len() + 1) {
            out.push(char::from(ALPHABET[*s as usize]));
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// HTTP

/// A response as received: status, headers and the body text.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl RawResponse {
    /// The body as JSON; every syncd response is JSON, so anything else fails the test.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "the response ({}) is not JSON ({e}): {:?}",
                self.status,
                self.text.chars().take(500).collect::<String>()
            )
        })
    }

    pub fn pair(&self) -> (StatusCode, Value) {
        (self.status, self.json())
    }
}

/// An HTTP client speaking to one test server as one caller.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

impl Client {
    /// Adds a header to every request of this client (e.g. `X-Client-Id`).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `X-Client-Id: <client>` with every request.
    pub fn with_client_id_header(self, client: &str) -> Self {
        self.with_header("X-Client-Id", client)
    }

    /// Any request: method, path, extra headers, raw body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> RawResponse {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read the response of {path}: {e}"));
        RawResponse {
            status,
            headers,
            text,
        }
    }

    /// Any request, without panicking when no answer comes (the server was killed, the
    /// connection refused): for fault tests. `timeout` bounds the whole exchange.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<RawResponse, String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(timeout);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())) {
            request = request.header(name, value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| e.to_string())?;
        Ok(RawResponse {
            status,
            headers,
            text,
        })
    }

    /// A JSON request; returns `(status, body)`.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.send(
            method,
            path,
            headers,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
        .pair()
    }

    /// `POST /api/client/sync/push`.
    pub async fn push(&self, body: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, "/api/client/sync/push", &[], Some(body))
            .await
    }

    /// `POST /api/client/sync/push` with an `Idempotency-Key`.
    pub async fn push_with_key(&self, key: &str, body: &Value) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            "/api/client/sync/push",
            &[("Idempotency-Key", key)],
            Some(body),
        )
        .await
    }

    /// `POST /api/client/sync/push`, the response as received.
    pub async fn push_raw(&self, key: Option<&str>, body: &Value) -> RawResponse {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.send(
            Method::POST,
            "/api/client/sync/push",
            &headers,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// `POST /api/client/sync/pull`.
    pub async fn pull(&self, body: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, "/api/client/sync/pull", &[], Some(body))
            .await
    }

    /// `POST /api/client/sync/pull-pending`.
    pub async fn pull_pending(&self, body: &Value) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            "/api/client/sync/pull-pending",
            &[],
            Some(body),
        )
        .await
    }

    /// `GET /api/client/sync/conflicts?<query>`.
    pub async fn conflicts(&self, query: &str) -> (StatusCode, Value) {
        let path = if query.is_empty() {
            "/api/client/sync/conflicts".to_owned()
        } else {
            format!("/api/client/sync/conflicts?{query}")
        };
        self.json(Method::GET, &path, &[], None).await
    }

    /// `POST /api/client/sync/conflicts/{id}/resolve`.
    pub async fn resolve_conflict(&self, id: &str, body: &Value) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            &format!("/api/client/sync/conflicts/{id}/resolve"),
            &[],
            Some(body),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.json(Method::GET, path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, path, &[], Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::PUT, path, &[], Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.json(Method::DELETE, path, &[], None).await
    }

    /// Pushes and insists on 200; returns the body.
    pub async fn push_ok(&self, body: &Value) -> Value {
        let (status, json) = self.push(body).await;
        assert_eq!(status, StatusCode::OK, "push {body} answered {json}");
        json
    }

    /// Pulls and insists on 200; returns the body.
    pub async fn pull_ok(&self, body: &Value) -> Value {
        let (status, json) = self.pull(body).await;
        assert_eq!(status, StatusCode::OK, "pull {body} answered {json}");
        json
    }

    /// Creates one record through a list-form push and returns the server's copy.
    pub async fn create_record(&self, entity_type: &str, data: Value) -> Value {
        let body =
            json!({ "changes": [ { "entityType": entity_type, "op": "upsert", "data": data } ] });
        let response = self.push_ok(&body).await;
        assert_eq!(
            response["results"][0]["status"],
            json!("created"),
            "{response}"
        );
        response["data"][0].clone()
    }

    /// Pages through everything after `cursor` (all readable types) with the given page size;
    /// returns every record in the order received and the final cursor.
    pub async fn pull_all(&self, cursor: Option<&str>, limit: u32) -> (Vec<Value>, String) {
        let mut cursor = cursor.map(str::to_owned);
        let mut records = Vec::new();
        for _ in 0..10_000 {
            let mut body = json!({ "limit": limit });
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let page = self.pull_ok(&body).await;
            records.extend(page_records(&page));
            cursor = Some(
                page["cursor"]
                    .as_str()
                    .unwrap_or_else(|| panic!("a pull without a cursor: {page}"))
                    .to_owned(),
            );
            if page["hasMore"] != json!(true) {
                return (records, cursor.unwrap_or_default());
            }
        }
        panic!("pulling never reached hasMore: false");
    }

    /// The tenant head: the cursor of a pull from scratch that reaches the end.
    pub async fn head(&self) -> String {
        self.pull_all(None, 10_000).await.1
    }
}

/// Every record of a pull or pull-pending body, types in the order of the `data` object.
/// Each record gets an `_type` key naming its entity type.
pub fn page_records(page: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(data) = page["data"].as_object() {
        for (ty, records) in data {
            for r in records.as_array().into_iter().flatten() {
                let mut r = r.clone();
                r["_type"] = json!(ty);
                out.push(r);
            }
        }
    }
    out
}

/// The records of one type in a pull or pull-pending body.
pub fn records_of<'a>(page: &'a Value, entity_type: &str) -> &'a Vec<Value> {
    page["data"][entity_type]
        .as_array()
        .unwrap_or_else(|| panic!("no `data.{entity_type}` array in {page}"))
}

/// The ids of a list of records.
pub fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts the JSON error body of SPEC §4: status, `success: false`, `error.code`, a
/// non-empty `error.message`.
#[track_caller]
pub fn assert_error(response: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (actual, body) = response;
    assert_eq!(
        *actual, status,
        "expected {status} {code}, got {actual}: {body}"
    );
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["error"]["code"], json!(code), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the error has no message: {body}"
    );
    let text = body.to_string();
    for leak in [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "sqlx",
        "sea_orm",
        "panicked",
        "stack backtrace",
    ] {
        assert!(
            !text.contains(leak),
            "the error leaks internals ({leak}): {body}"
        );
    }
}

/// True for `2024-01-01T12:00:00.000Z`: RFC 3339, milliseconds, UTC.
pub fn is_rfc3339_millis_utc(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

/// True for a hyphenated UUID.
pub fn is_uuid(value: &Value) -> bool {
    value.as_str().is_some_and(|s| Uuid::try_parse(s).is_ok())
}

/// A fresh tenant name, so tests never share rows by accident.
pub fn tenant() -> String {
    format!("tenant-{}", Uuid::new_v4().simple())
}

/// A fresh UUID string.
pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// An RFC 3339 time `offset_secs` from now (negative: in the past), with milliseconds.
pub fn time_from_now(offset_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64url_matches_known_values() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn the_database_of_an_admin_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
