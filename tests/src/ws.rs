//! The WebSocket side of the harness: a server whose hub can be inspected ([`WsApp`], also
//! several instances on one database), and a WebSocket client ([`WsClient`]) that never hangs:
//! every receive has a timeout and returns an error instead of waiting forever.
//!
//! Every server message the client receives is checked against the envelope of SPEC §6
//! (`type`, `data` object, RFC 3339 `timestamp`) before a test sees it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use syncd_server::state::AppState;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::{Backend, Client, Settings, TestDatabase, claims, sign_hs256, start_server};

/// How long a receive waits before it reports a timeout.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// How long "receives nothing" is watched.
pub const SILENCE: Duration = Duration::from_millis(300);
/// The WebSocket path (SPEC §6); `/ws` is its alias.
pub const WS_PATH: &str = "/api/client/sync/ws";

// ------------------------------------------------------------------------------------------
// Server

/// A running server like [`crate::TestApp`], that also keeps the server's state so tests can
/// read the hub's counters (`app.state().hub.stats()`), and can start more instances on the
/// same database ([`WsApp::spawn_on`]).
pub struct WsApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    pub settings: Settings,
    pub backend: Backend,
    state: Arc<AppState>,
    http: reqwest::Client,
    secret: String,
    server: JoinHandle<()>,
    // Shared by every instance on the database; the last one to go drops it.
    _db: Arc<TestDatabase>,
}

impl Drop for WsApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WsApp {
    /// A server on a fresh database, set up like [`crate::TestApp::spawn`].
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> WsApp {
        let (db, url) = TestDatabase::create(backend).await;
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        Self::start(backend, Arc::new(db), url, secret, tweak).await
    }

    /// Another instance on this instance's database, verifying the same tokens: what several
    /// `syncd` processes behind a load balancer are.
    pub async fn spawn_on(&self, tweak: impl FnOnce(&mut Settings)) -> WsApp {
        Self::start(
            self.backend,
            Arc::clone(&self._db),
            self.settings.database.url.clone(),
            self.secret.clone(),
            tweak,
        )
        .await
    }

    async fn start(
        backend: Backend,
        db: Arc<TestDatabase>,
        url: String,
        secret: String,
        tweak: impl FnOnce(&mut Settings),
    ) -> WsApp {
        let started = start_server(backend, url, secret.clone(), tweak).await;
        WsApp {
            address: started.address,
            port: started.port,
            settings: started.settings,
            backend,
            state: started.state,
            http: started.http,
            secret,
            server: started.server,
            _db: db,
        }
    }

    /// PostgreSQL only: makes the database unreachable (its connections terminated, new ones
    /// refused) or reachable again; the PostgreSQL server and other databases stay up.
    pub async fn set_database_reachable(&self, reachable: bool) {
        self._db.set_reachable(reachable).await;
    }

    /// The server's shared state: `state().hub.stats()` are the hub's counters.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `ws://127.0.0.1:<port><path>`
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// Signs `claims` with the server's secret (HS256).
    pub fn sign(&self, claims: &Value) -> String {
        sign_hs256(claims, self.secret.as_bytes())
    }

    /// A valid token for app `client` of `tenant`: `sub = user-<client>`, `client_id` claim.
    pub fn token(&self, tenant: &str, client: &str) -> String {
        self.sign(&app_claims(tenant, client))
    }

    /// A token for app `client` of `tenant` with a `scope` claim.
    pub fn scoped_token(&self, tenant: &str, client: &str, scope: &str) -> String {
        let mut c = app_claims(tenant, client);
        c["scope"] = json!(scope);
        self.sign(&c)
    }

    /// An HTTP client speaking as app `client` of `tenant`.
    pub fn client(&self, tenant: &str, client: &str) -> Client {
        self.client_with_token(self.token(tenant, client))
    }

    /// An HTTP client sending this bearer token.
    pub fn client_with_token(&self, token: impl Into<String>) -> Client {
        Client {
            http: self.http.clone(),
            base: self.address.clone(),
            token: Some(token.into()),
            headers: Vec::new(),
        }
    }

    /// App `client` of `tenant` connected with its token in the `Authorization` header; the
    /// `authenticated` message has been received (so the connection is registered).
    pub async fn connect(&self, tenant: &str, client: &str) -> WsClient {
        self.connect_with_token(&self.token(tenant, client), client)
            .await
    }

    /// Connects with `token` in the header and waits for `authenticated`.
    pub async fn connect_with_token(&self, token: &str, label: &str) -> WsClient {
        let mut ws = WsClient::connect(&self.ws_url(WS_PATH), Auth::Header(token), label)
            .await
            .unwrap_or_else(|r| panic!("{label}: the upgrade was refused: {r:?}"));
        ws.expect_authenticated().await;
        ws
    }

    /// Like [`WsApp::connect`], on a socket whose receive buffer is a few KiB: once the client
    /// stops reading, the server's writes back up almost at once.
    pub async fn connect_small_buffer(&self, tenant: &str, client: &str) -> WsClient {
        let token = self.token(tenant, client);
        let mut ws = WsClient::connect_small_buffer(&self.ws_url(WS_PATH), &token, client).await;
        ws.expect_authenticated().await;
        ws
    }
}

/// Claims of app `client` of `tenant`, valid for an hour.
pub fn app_claims(tenant: &str, client: &str) -> Value {
    let mut c = claims(tenant, &format!("user-{client}"));
    c["client_id"] = json!(client);
    c
}

// ------------------------------------------------------------------------------------------
// Client

/// Where the client puts its token when it connects.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `Authorization: Bearer <token>`
    Header(&'a str),
    /// `?token=<token>`
    Query(&'a str),
    /// Nothing: the first message must be `authenticate`.
    None,
}

/// An upgrade the server answered with an HTTP error instead of 101.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: u16,
    /// The body as JSON (`Value::Null` when it is not JSON; `text` has it as received).
    pub body: Value,
    pub text: String,
}

/// A close frame as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}

/// Why a receive returned no message.
#[derive(Debug, Clone)]
pub enum RecvError {
    /// Nothing arrived in time.
    Timeout(Duration),
    /// The server closed the connection (with this close frame, if it sent one).
    Closed(Option<CloseInfo>),
    /// A frame that is not a JSON text message.
    NotJson(String),
    Transport(String),
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One WebSocket connection, as an app holds it.
pub struct WsClient {
    stream: Stream,
    label: String,
    /// The `data` of the `authenticated` message, once received.
    pub hello: Value,
    close: Option<CloseInfo>,
    ended: bool,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("label", &self.label)
            .field("close", &self.close)
            .finish_non_exhaustive()
    }
}

impl WsClient {
    /// Opens a connection to `url` (a `ws://` URL with the path). An HTTP error answer is
    /// `Err(Refused)`; a failure to connect at all fails the test.
    pub async fn connect(url: &str, auth: Auth<'_>, label: &str) -> Result<WsClient, Refused> {
        let request = Self::request(url, auth);
        let connected = timeout(RECV_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("{label}: the upgrade took longer than {RECV_TIMEOUT:?}"));
        match connected {
            Ok((stream, _response)) => Ok(Self::new(stream, label)),
            Err(tungstenite::Error::Http(response)) => {
                let text = response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err(Refused {
                    status: response.status().as_u16(),
                    body: serde_json::from_str(&text).unwrap_or(Value::Null),
                    text,
                })
            }
            Err(e) => panic!("{label}: cannot connect to {url}: {e}"),
        }
    }

    /// Connects with the token in the header over a socket with a 4 KiB receive buffer (no
    /// kernel auto-tuning), for clients that stop reading.
    pub async fn connect_small_buffer(url: &str, token: &str, label: &str) -> WsClient {
        let request = Self::request(url, Auth::Header(token));
        let authority = request.uri().authority().map(|a| a.to_string());
        let addr: std::net::SocketAddr = authority
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{label}: not a loopback ip:port URL: {url}"));
        let socket = tokio::net::TcpSocket::new_v4()
            .unwrap_or_else(|e| panic!("{label}: cannot create a socket: {e}"));
        socket
            .set_recv_buffer_size(4096)
            .unwrap_or_else(|e| panic!("{label}: cannot shrink the receive buffer: {e}"));
        let tcp = timeout(RECV_TIMEOUT, socket.connect(addr))
            .await
            .unwrap_or_else(|_| panic!("{label}: connecting took longer than {RECV_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("{label}: cannot connect to {addr}: {e}"));
        let (stream, _response) = timeout(
            RECV_TIMEOUT,
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp)),
        )
        .await
        .unwrap_or_else(|_| panic!("{label}: the upgrade took longer than {RECV_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{label}: the upgrade failed: {e}"));
        Self::new(stream, label)
    }

    fn request(url: &str, auth: Auth<'_>) -> tungstenite::handshake::client::Request {
        let url = match auth {
            Auth::Query(token) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}token={token}")
            }
            Auth::Header(_) | Auth::None => url.to_owned(),
        };
        let mut request = url
            .as_str()
            .into_client_request()
            .unwrap_or_else(|e| panic!("not a WebSocket URL {url}: {e}"));
        if let Auth::Header(token) = auth {
            let value = format!("Bearer {token}")
                .parse()
                .unwrap_or_else(|e| panic!("a token that is no header value: {e}"));
            request.headers_mut().insert("Authorization", value);
        }
        request
    }

    fn new(stream: Stream, label: &str) -> WsClient {
        WsClient {
            stream,
            label: label.to_owned(),
            hello: Value::Null,
            close: None,
            ended: false,
        }
    }

    /// The name this client has in failure messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The close frame received so far, if any.
    pub fn close_frame(&self) -> Option<&CloseInfo> {
        self.close.as_ref()
    }

    /// `hello.cursor`: the tenant head when the connection was authenticated.
    pub fn hello_cursor(&self) -> String {
        self.hello["cursor"]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "{}: `authenticated` without a cursor: {}",
                    self.label, self.hello
                )
            })
            .to_owned()
    }

    /// Sends any frame (within [`RECV_TIMEOUT`]).
    pub async fn send(&mut self, message: Message) {
        let label = &self.label;
        match timeout(RECV_TIMEOUT, self.stream.send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{label}: cannot send: {e}"),
            Err(_) => panic!("{label}: a send took longer than {RECV_TIMEOUT:?}"),
        }
    }

    /// Sends a frame and returns the transport error, if any, instead of failing.
    pub async fn try_send(&mut self, message: Message) -> Result<(), String> {
        match timeout(RECV_TIMEOUT, self.stream.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("a send took longer than {RECV_TIMEOUT:?}")),
        }
    }

    /// Sends a JSON text frame.
    pub async fn send_json(&mut self, message: &Value) {
        self.send(Message::text(message.to_string())).await;
    }

    /// Sends a text frame as is (e.g. malformed JSON).
    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text.to_owned())).await;
    }

    /// The next JSON message, waiting at most `wait`. Pings and pongs are skipped.
    pub async fn recv_json_within(&mut self, wait: Duration) -> Result<Value, RecvError> {
        if self.ended {
            return Err(RecvError::Closed(self.close.clone()));
        }
        let deadline = Instant::now() + wait;
        // Bounded by the deadline; the count only guards against a flood of control frames.
        for _ in 0..10_000 {
            let next = match timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(RecvError::Timeout(wait)),
                Ok(next) => next,
            };
            match next {
                None => {
                    self.ended = true;
                    return Err(RecvError::Closed(self.close.clone()));
                }
                Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                )) => {
                    self.ended = true;
                    return Err(RecvError::Closed(self.close.clone()));
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Err(RecvError::Transport(e.to_string()));
                }
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str())
                        .map_err(|e| RecvError::NotJson(format!("{e}: {}", text.as_str())))?;
                    assert_envelope(&self.label, &value);
                    return Ok(value);
                }
                Some(Ok(Message::Binary(b))) => {
                    return Err(RecvError::NotJson(format!(
                        "a binary frame of {} bytes",
                        b.len()
                    )));
                }
                Some(Ok(Message::Close(frame))) => {
                    self.close = Some(close_info(frame));
                    self.ended = true;
                    return Err(RecvError::Closed(self.close.clone()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
        Err(RecvError::Timeout(wait))
    }

    /// The next JSON message within [`RECV_TIMEOUT`].
    pub async fn recv_json(&mut self) -> Result<Value, RecvError> {
        self.recv_json_within(RECV_TIMEOUT).await
    }

    /// The next message; fails the test when none comes within [`RECV_TIMEOUT`].
    pub async fn recv(&mut self) -> Value {
        match self.recv_json().await {
            Ok(v) => v,
            Err(e) => panic!("{}: expected a message, got {e:?}", self.label),
        }
    }

    /// The next message, which must be of type `kind`.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(
            message["type"],
            json!(kind),
            "{}: expected `{kind}`, got {message}",
            self.label
        );
        message
    }

    /// Reads until a message of type `kind` (at most `max` messages, each within
    /// [`RECV_TIMEOUT`]); returns it and the messages before it.
    pub async fn recv_until(&mut self, kind: &str, max: usize) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        for _ in 0..max {
            let message = match self.recv_json().await {
                Ok(m) => m,
                Err(e) => panic!(
                    "{}: expected `{kind}`, got {e:?} after {} other messages (last: {})",
                    self.label,
                    before.len(),
                    before.last().unwrap_or(&Value::Null)
                ),
            };
            if message["type"] == json!(kind) {
                return (message, before);
            }
            before.push(message);
        }
        panic!("{}: no `{kind}` among {max} messages", self.label);
    }

    /// `n` messages, in order.
    pub async fn recv_n(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            match self.recv_json().await {
                Ok(m) => out.push(m),
                Err(e) => panic!(
                    "{}: expected {n} messages, got {e:?} after {i} (last: {})",
                    self.label,
                    out.last().unwrap_or(&Value::Null)
                ),
            }
        }
        out
    }

    /// Every message that arrives until [`SILENCE`] passes without one (at most `max`).
    pub async fn drain(&mut self, max: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..max {
            match self.recv_json_within(SILENCE).await {
                Ok(m) => out.push(m),
                Err(RecvError::Timeout(_)) => return out,
                Err(e) => panic!("{}: got {e:?} after {out:?}", self.label),
            }
        }
        panic!("{}: more than {max} messages: {out:?}", self.label);
    }

    /// Nothing arrives during `wait` (and the connection stays open).
    pub async fn expect_silence_for(&mut self, wait: Duration) {
        match self.recv_json_within(wait).await {
            Err(RecvError::Timeout(_)) => {}
            Ok(message) => panic!("{}: expected nothing, got {message}", self.label),
            Err(e) => panic!("{}: expected nothing, got {e:?}", self.label),
        }
    }

    /// Nothing arrives during [`SILENCE`].
    pub async fn expect_silence(&mut self) {
        self.expect_silence_for(SILENCE).await;
    }

    /// Reads until the server closes (at most 100 messages, each within `wait`); returns the
    /// close frame and the messages before it. A connection that ends without a close frame
    /// fails the test.
    pub async fn expect_close_within(&mut self, wait: Duration) -> (CloseInfo, Vec<Value>) {
        let mut before = Vec::new();
        for _ in 0..100 {
            match self.recv_json_within(wait).await {
                Ok(message) => before.push(message),
                Err(RecvError::Closed(Some(close))) => return (close, before),
                Err(e) => panic!(
                    "{}: expected a close frame, got {e:?} after {before:?}",
                    self.label
                ),
            }
        }
        panic!("{}: no close frame among 100 messages", self.label);
    }

    /// [`WsClient::expect_close_within`] with [`RECV_TIMEOUT`].
    pub async fn expect_close(&mut self) -> (CloseInfo, Vec<Value>) {
        self.expect_close_within(RECV_TIMEOUT).await
    }

    /// Waits for `authenticated` and keeps its data in [`WsClient::hello`].
    pub async fn expect_authenticated(&mut self) -> Value {
        let message = self.recv_type("authenticated").await;
        self.hello = message["data"].clone();
        message
    }

    /// Sends `{"type":"authenticate","token":…}`.
    pub async fn authenticate(&mut self, token: &str) {
        self.send_json(&json!({ "type": "authenticate", "token": token }))
            .await;
    }

    /// Sends `subscribe` and returns the `subscribed` reply (messages of other types before it
    /// fail the test).
    pub async fn subscribe(&mut self, request: Value) -> Value {
        let mut message = request;
        message["type"] = json!("subscribe");
        self.send_json(&message).await;
        self.recv_type("subscribed").await
    }

    /// Sends `heartbeat` and expects `heartbeat_response` next.
    pub async fn heartbeat(&mut self) -> Value {
        self.send_json(&json!({ "type": "heartbeat" })).await;
        self.recv_type("heartbeat_response").await
    }

    /// Closes the connection politely and waits (briefly) for the server's answer.
    pub async fn close(mut self) {
        if self.ended {
            return;
        }
        let _ = self.try_send(Message::Close(None)).await;
        for _ in 0..1000 {
            match timeout(RECV_TIMEOUT, self.stream.next()).await {
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) | Err(_) => return,
            }
        }
    }
}

fn close_info(frame: Option<CloseFrame>) -> CloseInfo {
    match frame {
        Some(f) => CloseInfo {
            code: u16::from(f.code),
            reason: f.reason.as_str().to_owned(),
        },
        // A close frame without a code means 1005 (no status received).
        None => CloseInfo {
            code: 1005,
            reason: String::new(),
        },
    }
}

/// Every server message is `{ "type": "...", "data": {…}, "timestamp": "…" }` (SPEC §6).
#[track_caller]
pub fn assert_envelope(label: &str, message: &Value) {
    assert!(
        message["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{label}: a message without a `type`: {message}"
    );
    assert!(
        message["data"].is_object(),
        "{label}: `data` is not an object: {message}"
    );
    let stamp = message["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: a message without a `timestamp` string: {message}"));
    assert!(
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).is_ok(),
        "{label}: `timestamp` is not RFC 3339: {message}"
    );
    if let Some(object) = message.as_object() {
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["data", "timestamp", "type"],
            "{label}: unexpected top-level keys: {message}"
        );
    }
}

/// The messages of one type.
pub fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .filter(|m| m["type"] == json!(kind))
        .collect()
}
