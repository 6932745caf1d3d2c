//! The WebSocket endpoint (SPEC §6): authentication by header, `?token=` or a first
//! `authenticate` message; subscriptions; heartbeats; server pings and dead-peer detection;
//! events from the hub, each connection reading its own bounded queue.

use std::collections::HashSet;
use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, ProtocolError, Session};
use bytestring::ByteString;
use futures_util::StreamExt;
use serde_json::{Value, json};
use syncd_core::{Principal, PullFrom, PullRequest};
use syncd_hub::protocol::{self, NotificationKind};
use syncd_hub::{Connection, Outgoing, RegisterError};
use syncd_model::{Cursor, EntityTypeName, Timestamp};
use tokio::time::{Instant, interval, sleep_until, timeout};

use crate::auth::{AuthError, Identity};
use crate::error::ApiError;
use crate::extract::{bearer, principal};
use crate::routes::query_pairs;
use crate::state::AppState;

const PING_EVERY: Duration = Duration::from_secs(15);
const DEAD_AFTER: Duration = Duration::from_secs(45);
const AUTH_WITHIN: Duration = Duration::from_secs(10);
/// A send that cannot complete in this time means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(45);
/// Close code for authentication failures (application range).
const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Records counted for the catch-up notice of a subscribe with an old cursor.
const CATCH_UP_COUNT_LIMIT: i64 = 1000;

/// `GET /api/client/sync/ws` and `GET /ws`.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&req)?;
    let param = |name: &str| {
        query
            .iter()
            .find_map(|(k, v)| (k == name && !v.is_empty()).then(|| v.clone()))
    };
    let client_hint = param("clientId");
    let token = bearer(&req).map(str::to_owned).or_else(|| param("token"));
    let admitted = match token {
        Some(token) => {
            let identity = state.auth.verify(&token)?;
            state
                .limiter
                .check(identity.tenant.as_str(), identity.subject.as_str())
                .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
            let expires_at = identity.expires_at;
            Some((
                principal(identity, &req, client_hint.as_deref())?,
                expires_at,
            ))
        }
        None => None,
    };
    let header_client = req
        .headers()
        .get("x-client-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    let stream = stream.max_frame_size(state.settings.limits.ws_frame_bytes);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let mut ws = Ws {
            state,
            session,
            conn: None,
            principal: None,
            expires_at: None,
            client_hint: header_client.or(client_hint),
        };
        ws.run(stream, admitted).await;
    });
    Ok(response)
}

/// Why the loop ended.
enum End {
    /// The peer closed or vanished: nothing more to send.
    Gone,
    Close(CloseCode, String),
}

struct Ws {
    state: Arc<AppState>,
    session: Session,
    conn: Option<Connection>,
    principal: Option<Principal>,
    /// Unix seconds at which the session's token expires.
    expires_at: Option<i64>,
    client_hint: Option<String>,
}

async fn next_batch(conn: Option<&Connection>) -> Vec<Outgoing> {
    match conn {
        Some(conn) => conn.next_batch().await,
        None => pending().await,
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => pending().await,
    }
}

fn expiry_instant(expires_at: Option<i64>) -> Option<Instant> {
    let expires_at = expires_at?;
    // The same leeway the HTTP side grants.
    let left = expires_at + 30 - time::OffsetDateTime::now_utc().unix_timestamp();
    Some(Instant::now() + Duration::from_secs(left.max(0).unsigned_abs()))
}

impl Ws {
    async fn run(&mut self, mut stream: MessageStream, admitted: Option<(Principal, i64)>) {
        metrics::counter!("syncd_ws_upgrades_total").increment(1);
        let end = self.serve(&mut stream, admitted).await;
        // Unregister before closing so that counts are right as soon as the peer sees the close.
        self.conn = None;
        if let End::Close(code, description) = end {
            let session = self.session.clone();
            let _ = timeout(
                Duration::from_secs(5),
                session.close(Some(CloseReason {
                    code,
                    description: Some(description),
                })),
            )
            .await;
        }
    }

    async fn serve(
        &mut self,
        stream: &mut MessageStream,
        admitted: Option<(Principal, i64)>,
    ) -> End {
        if let Some((p, expires_at)) = admitted
            && let Err(end) = self.admit(p, expires_at).await
        {
            return end;
        }
        let auth_deadline = Instant::now() + AUTH_WITHIN;
        let mut pings = interval(PING_EVERY);
        pings.reset();
        let mut last_heard = Instant::now();
        loop {
            let auth_deadline = self.conn.is_none().then_some(auth_deadline);
            let expiry = expiry_instant(self.expires_at);
            tokio::select! {
                message = stream.next() => {
                    last_heard = Instant::now();
                    let result = match message {
                        None => return End::Gone,
                        Some(Err(ProtocolError::Overflow)) => {
                            return End::Close(CloseCode::Size, "frame too large".into());
                        }
                        Some(Err(_)) => return End::Close(CloseCode::Protocol, "protocol error".into()),
                        Some(Ok(Message::Text(text))) => self.on_text(&text).await,
                        Some(Ok(Message::Binary(_))) => {
                            self.bad_message("binary frames are not supported; send JSON text").await
                        }
                        Some(Ok(Message::Ping(payload))) => {
                            self.session.pong(&payload).await.map_err(|_| End::Gone)
                        }
                        Some(Ok(Message::Pong(_) | Message::Nop | Message::Continuation(_))) => Ok(()),
                        Some(Ok(Message::Close(_))) => return End::Close(CloseCode::Normal, "bye".into()),
                    };
                    if let Err(end) = result {
                        return end;
                    }
                }
                batch = next_batch(self.conn.as_ref()) => {
                    for item in batch {
                        match item {
                            Outgoing::Message(bytes) => {
                                if let Err(end) = self.send(bytes).await {
                                    return end;
                                }
                            }
                            Outgoing::GoingAway => {
                                return End::Close(CloseCode::Away, "server shutting down".into());
                            }
                        }
                    }
                }
                _ = pings.tick() => {
                    if self.session.ping(b"").await.is_err() {
                        return End::Gone;
                    }
                }
                () = sleep_until(last_heard + DEAD_AFTER) => {
                    return End::Close(CloseCode::Away, "no response to pings".into());
                }
                () = until(auth_deadline) => {
                    let _ = self.error("unauthorized", "authenticate within 10 seconds of connecting").await;
                    return End::Close(CloseCode::Other(CLOSE_UNAUTHORIZED), "unauthenticated".into());
                }
                () = until(expiry) => {
                    let _ = self.error("token_expired", "the token has expired; reconnect with a fresh one").await;
                    return End::Close(CloseCode::Other(CLOSE_UNAUTHORIZED), "token expired".into());
                }
            }
        }
    }

    async fn send(&mut self, bytes: bytes::Bytes) -> Result<(), End> {
        let text = ByteString::try_from(bytes)
            .map_err(|_| End::Close(CloseCode::Error, "encoding".into()))?;
        match timeout(SEND_TIMEOUT, self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(CloseCode::Away, "peer stopped reading".into())),
        }
    }

    async fn reply(&mut self, kind: &str, data: Value) -> Result<(), End> {
        self.send(protocol::envelope(kind, data, Timestamp::now()))
            .await
    }

    async fn error(&mut self, code: &str, message: &str) -> Result<(), End> {
        self.reply("error", json!({ "code": code, "message": message }))
            .await
    }

    /// Registers the connection in the hub and says `authenticated`.
    async fn admit(&mut self, p: Principal, expires_at: i64) -> Result<(), End> {
        let engine = &self.state.engine;
        let readable: HashSet<EntityTypeName> = engine
            .readable_types(&p)
            .into_iter()
            .map(|t| t.name.clone())
            .collect();
        let head = match engine.head(&p).await {
            Ok(head) => head,
            Err(_) => {
                let _ = self
                    .error(
                        "unavailable",
                        "the database is unavailable; reconnect later",
                    )
                    .await;
                return Err(End::Close(CloseCode::Again, "database unavailable".into()));
            }
        };
        let conn = match self
            .state
            .hub
            .register(p.tenant.clone(), p.client.clone(), readable, head)
        {
            Ok(conn) => conn,
            Err(e) => {
                let (close, code) = match e {
                    RegisterError::TenantFull | RegisterError::ClientFull => {
                        (CloseCode::Again, "too_many_connections")
                    }
                    RegisterError::ShuttingDown => (CloseCode::Away, "unavailable"),
                };
                let _ = self.error(code, &e.to_string()).await;
                return Err(End::Close(close, e.to_string()));
            }
        };
        let connection_id = conn.id();
        self.conn = Some(conn);
        self.expires_at = Some(expires_at);
        self.reply(
            "authenticated",
            json!({
                "tenantId": p.tenant,
                "clientId": p.client,
                "connectionId": connection_id.to_string(),
                "cursor": head,
            }),
        )
        .await?;
        self.principal = Some(p);
        Ok(())
    }

    fn verify(&self, token: Option<&str>) -> Result<Identity, AuthError> {
        self.state.auth.verify(token.ok_or(AuthError::Missing)?)
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        let message: Value = match serde_json::from_str(text) {
            Ok(Value::Object(m)) => Value::Object(m),
            _ => {
                return self
                    .bad_message("messages must be JSON objects with a `type`")
                    .await;
            }
        };
        let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
        if self.principal.is_none() {
            if kind != "authenticate" {
                let _ = self
                    .error(
                        "unauthorized",
                        "the first message must be `authenticate` with a token",
                    )
                    .await;
                return Err(End::Close(
                    CloseCode::Other(CLOSE_UNAUTHORIZED),
                    "unauthenticated".into(),
                ));
            }
            let identity = match self.verify(message.get("token").and_then(Value::as_str)) {
                Ok(identity) => identity,
                Err(e) => {
                    let _ = self.error("unauthorized", &e.to_string()).await;
                    return Err(End::Close(
                        CloseCode::Other(CLOSE_UNAUTHORIZED),
                        "unauthorized".into(),
                    ));
                }
            };
            let expires_at = identity.expires_at;
            let Some(p) = self.principal_for(identity) else {
                let _ = self
                    .error(
                        "unauthorized",
                        "the client id (X-Client-Id or clientId) is not valid",
                    )
                    .await;
                return Err(End::Close(
                    CloseCode::Other(CLOSE_UNAUTHORIZED),
                    "invalid client id".into(),
                ));
            };
            return self.admit(p, expires_at).await;
        }
        match kind {
            "authenticate" => self.reauthenticate(&message).await,
            "subscribe" => self.subscribe(&message).await,
            "unsubscribe" => self.unsubscribe(&message).await,
            "heartbeat" => self.reply("heartbeat_response", json!({})).await,
            "refresh_request" => self.refresh(&message).await,
            "" => self.bad_message("a message needs a `type`").await,
            other => {
                self.bad_message(&format!("unknown message type `{other}`"))
                    .await
            }
        }
    }

    async fn bad_message(&mut self, message: &str) -> Result<(), End> {
        if self.principal.is_none() {
            let _ = self
                .error(
                    "unauthorized",
                    "the first message must be `authenticate` with a token",
                )
                .await;
            return Err(End::Close(
                CloseCode::Other(CLOSE_UNAUTHORIZED),
                "unauthenticated".into(),
            ));
        }
        self.error("bad_request", message).await
    }

    fn principal_for(&self, identity: Identity) -> Option<Principal> {
        let client = identity
            .client
            .clone()
            .map(|c| c.to_string())
            .or_else(|| self.client_hint.clone());
        let explicit = client.is_some();
        let client =
            syncd_model::ClientId::parse(client.unwrap_or_else(|| identity.subject.to_string()))
                .ok()?;
        Some(Principal {
            tenant: identity.tenant,
            subject: identity.subject,
            client,
            client_explicit: explicit,
            scopes: identity.scopes,
            roles: identity.roles,
        })
    }

    /// A fresh token extends the session without reconnecting; it must name the same tenant
    /// and subject.
    async fn reauthenticate(&mut self, message: &Value) -> Result<(), End> {
        let identity = match self.verify(message.get("token").and_then(Value::as_str)) {
            Ok(identity) => identity,
            Err(e) => return self.error("unauthorized", &e.to_string()).await,
        };
        let (Some(p), Some(conn)) = (self.principal.as_mut(), self.conn.as_ref()) else {
            return Ok(());
        };
        if identity.tenant != p.tenant || identity.subject != p.subject {
            return self
                .error(
                    "forbidden",
                    "a connection cannot change tenant or subject; open a new one",
                )
                .await;
        }
        p.scopes = identity.scopes;
        p.roles = identity.roles;
        let readable = self
            .state
            .engine
            .readable_types(p)
            .into_iter()
            .map(|t| t.name.clone())
            .collect();
        conn.set_readable(readable);
        self.expires_at = Some(identity.expires_at);
        let data = json!({
            "tenantId": p.tenant,
            "clientId": p.client,
            "connectionId": conn.id().to_string(),
            "cursor": self.state.engine.head(p).await.ok(),
        });
        self.reply("authenticated", data).await
    }

    /// Entity type names of a message field; unknown names are an error message.
    async fn types_of(
        &mut self,
        value: Option<&Value>,
    ) -> Result<Option<Vec<EntityTypeName>>, Option<End>> {
        let names = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(self
                    .error("bad_request", "`entityTypes` must be an array of strings")
                    .await
                    .err());
            }
        };
        let mut types = Vec::with_capacity(names.len());
        for name in names {
            let Some(name) = name.as_str() else {
                return Err(self
                    .error("bad_request", "`entityTypes` must be an array of strings")
                    .await
                    .err());
            };
            match self.state.engine.registry().get(name) {
                Some(ty) => types.push(ty.name.clone()),
                None => {
                    let message = format!("unknown entity type `{name}`");
                    return Err(self.error("unknown_entity_type", &message).await.err());
                }
            }
        }
        Ok(Some(types))
    }

    async fn subscribe(&mut self, message: &Value) -> Result<(), End> {
        let types = match self.types_of(message.get("entityTypes")).await {
            Ok(types) => types,
            Err(end) => return end.map_or(Ok(()), Err),
        };
        let include_data = match message.get("includeData") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return self
                    .error("bad_request", "`includeData` must be true or false")
                    .await;
            }
        };
        let cursor = match message.get("cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => match Cursor::decode(c) {
                Ok(c) => Some(c),
                Err(e) => return self.error("bad_request", &e.to_string()).await,
            },
            Some(_) => return self.error("bad_request", "`cursor` must be a string").await,
        };
        let Some(conn) = self.conn.as_ref() else {
            return Ok(());
        };
        let subscription = match conn.subscribe(types, include_data) {
            Ok(s) => s,
            Err(e) => return self.error("forbidden", &e.to_string()).await,
        };
        let mut names: Vec<&str> = subscription
            .types
            .iter()
            .map(EntityTypeName::as_str)
            .collect();
        names.sort_unstable();
        let reply = json!({ "entityTypes": names, "includeData": subscription.include_data });
        self.reply("subscribed", reply).await?;
        if let Some(cursor) = cursor {
            self.catch_up(cursor, &subscription.types).await?;
        }
        Ok(())
    }

    /// A reconnecting client that names an old cursor learns at once that there is more.
    async fn catch_up(
        &mut self,
        cursor: Cursor,
        types: &HashSet<EntityTypeName>,
    ) -> Result<(), End> {
        let Some(p) = self.principal.clone() else {
            return Ok(());
        };
        let engine = Arc::clone(&self.state.engine);
        let head = match engine.head(&p).await {
            Ok(head) => head,
            Err(_) => {
                return self
                    .error("unavailable", "the database is unavailable")
                    .await;
            }
        };
        if cursor >= head || types.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        names.sort_unstable();
        let request = PullRequest {
            from: PullFrom::Cursor(cursor),
            entity_types: Some(names),
            limit: Some(CATCH_UP_COUNT_LIMIT),
        };
        let Ok(page) = engine.pull(&p, &request).await else {
            return self
                .error("unavailable", "the database is unavailable")
                .await;
        };
        let counts: Vec<(EntityTypeName, u32)> = page
            .data
            .iter()
            .filter(|(_, records)| !records.is_empty())
            .map(|(ty, records)| (ty.name.clone(), records.len() as u32))
            .collect();
        if counts.is_empty() {
            return Ok(());
        }
        let message = protocol::sync_notification(
            NotificationKind::NewDataAvailable,
            counts.iter().map(|(t, n)| (t, *n)),
            head,
            None,
            Timestamp::now(),
        );
        self.send(message).await
    }

    async fn unsubscribe(&mut self, message: &Value) -> Result<(), End> {
        let types = match self.types_of(message.get("entityTypes")).await {
            Ok(Some(types)) => types,
            Ok(None) => {
                return self
                    .error("bad_request", "`unsubscribe` needs `entityTypes`")
                    .await;
            }
            Err(end) => return end.map_or(Ok(()), Err),
        };
        let Some(conn) = self.conn.as_ref() else {
            return Ok(());
        };
        let subscription = conn.unsubscribe(&types);
        let mut names: Vec<&str> = subscription
            .types
            .iter()
            .map(EntityTypeName::as_str)
            .collect();
        names.sort_unstable();
        let reply = json!({ "entityTypes": names, "includeData": subscription.include_data });
        self.reply("subscribed", reply).await
    }

    async fn refresh(&mut self, message: &Value) -> Result<(), End> {
        let Some(p) = self.principal.clone() else {
            return Ok(());
        };
        let name = match message.get("entityType") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return self
                    .error("bad_request", "`entityType` must be a string")
                    .await;
            }
        };
        if let Some(name) = &name {
            if self.state.engine.registry().get(name).is_none() {
                return self
                    .error(
                        "unknown_entity_type",
                        &format!("unknown entity type `{name}`"),
                    )
                    .await;
            }
            if !p.scopes.can_read(name) {
                return self
                    .error("forbidden", &format!("the token may not read `{name}`"))
                    .await;
            }
        }
        let head = match self.state.engine.head(&p).await {
            Ok(head) => head,
            Err(_) => {
                return self
                    .error("unavailable", "the database is unavailable")
                    .await;
            }
        };
        self.reply(
            "sync_request",
            json!({ "entityType": name, "cursor": head }),
        )
        .await
    }
}
