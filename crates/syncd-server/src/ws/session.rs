//! One WebSocket session: the loop over client frames, the connection's hub queue, server
//! pings, the authentication deadline and the token's expiry.

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use actix_ws::{CloseCode, CloseReason, Message, MessageStream, ProtocolError};
use bytestring::ByteString;
use futures_util::StreamExt;
use syncd_core::Principal;
use syncd_hub::{Connection, Outgoing, RegisterError};
use syncd_model::EntityTypeName;
use tokio::time::{Instant, interval, sleep_until, timeout};

use super::messages::Reply;
use crate::error::ErrorCode;
use crate::state::AppState;

const PING_EVERY: Duration = Duration::from_secs(15);
const DEAD_AFTER: Duration = Duration::from_secs(45);
const AUTH_WITHIN: Duration = Duration::from_secs(10);
/// A send that cannot complete in this time means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(45);
/// Close code for authentication failures (application range).
pub(super) const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Why the loop ended.
pub(super) enum End {
    /// The peer closed or vanished: nothing more to send.
    Gone,
    Close(CloseCode, String),
}

impl End {
    pub(super) fn unauthorized(reason: &str) -> Self {
        End::Close(CloseCode::Other(CLOSE_UNAUTHORIZED), reason.into())
    }
}

pub(super) struct Session {
    pub(super) state: Arc<AppState>,
    session: actix_ws::Session,
    pub(super) conn: Option<Connection>,
    pub(super) principal: Option<Principal>,
    /// Unix seconds at which the session's token expires.
    pub(super) expires_at: Option<i64>,
    /// `X-Client-Id`, else `?clientId=`, for a token that names no client.
    pub(super) client_hint: Option<String>,
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

impl Session {
    pub(super) fn new(
        state: Arc<AppState>,
        session: actix_ws::Session,
        client_hint: Option<String>,
    ) -> Self {
        Self {
            state,
            session,
            conn: None,
            principal: None,
            expires_at: None,
            client_hint,
        }
    }

    pub(super) async fn run(
        &mut self,
        mut stream: MessageStream,
        admitted: Option<(Principal, i64)>,
    ) {
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
            let step = tokio::select! {
                message = stream.next() => {
                    last_heard = Instant::now();
                    self.on_frame(message).await
                }
                batch = next_batch(self.conn.as_ref()) => self.deliver(batch).await,
                _ = pings.tick() => self.session.ping(b"").await.map_err(|_| End::Gone),
                () = sleep_until(last_heard + DEAD_AFTER) => {
                    Err(End::Close(CloseCode::Away, "no response to pings".into()))
                }
                () = until(auth_deadline) => {
                    let _ = self.error(ErrorCode::Unauthorized, "authenticate within 10 seconds of connecting").await;
                    Err(End::unauthorized("unauthenticated"))
                }
                () = until(expiry) => {
                    let _ = self.error(ErrorCode::TokenExpired, "the token has expired; reconnect with a fresh one").await;
                    Err(End::unauthorized("token expired"))
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// A frame from the client (`None`: the stream ended).
    async fn on_frame(
        &mut self,
        message: Option<Result<Message, ProtocolError>>,
    ) -> Result<(), End> {
        match message {
            None => Err(End::Gone),
            Some(Err(ProtocolError::Overflow)) => {
                Err(End::Close(CloseCode::Size, "frame too large".into()))
            }
            Some(Err(_)) => Err(End::Close(CloseCode::Protocol, "protocol error".into())),
            Some(Ok(Message::Text(text))) => self.on_text(&text).await,
            Some(Ok(Message::Binary(_))) => {
                self.bad_message("binary frames are not supported; send JSON text")
                    .await
            }
            Some(Ok(Message::Ping(payload))) => {
                self.session.pong(&payload).await.map_err(|_| End::Gone)
            }
            Some(Ok(Message::Pong(_) | Message::Nop | Message::Continuation(_))) => Ok(()),
            Some(Ok(Message::Close(_))) => Err(End::Close(CloseCode::Normal, "bye".into())),
        }
    }

    /// Sends what the hub queued for this connection.
    async fn deliver(&mut self, batch: Vec<Outgoing>) -> Result<(), End> {
        for item in batch {
            match item {
                Outgoing::Message(bytes) => self.send(bytes).await?,
                Outgoing::GoingAway => {
                    return Err(End::Close(CloseCode::Away, "server shutting down".into()));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn send(&mut self, bytes: bytes::Bytes) -> Result<(), End> {
        let text = ByteString::try_from(bytes)
            .map_err(|_| End::Close(CloseCode::Error, "encoding".into()))?;
        match timeout(SEND_TIMEOUT, self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(CloseCode::Away, "peer stopped reading".into())),
        }
    }

    pub(super) async fn reply(&mut self, reply: Reply<'_>) -> Result<(), End> {
        let bytes = reply.encode();
        self.send(bytes).await
    }

    pub(super) async fn error(&mut self, code: ErrorCode, message: &str) -> Result<(), End> {
        self.reply(Reply::Error { code, message }).await
    }

    /// Registers the connection in the hub and says `authenticated`.
    pub(super) async fn admit(&mut self, p: Principal, expires_at: i64) -> Result<(), End> {
        // The connection's visibility travels with its registration, so no event reaches it
        // unfiltered.
        let Ok(listener) = self.state.engine.listener(&p).await else {
            let _ = self
                .error(
                    ErrorCode::Unavailable,
                    "the database is unavailable; reconnect later",
                )
                .await;
            return Err(End::Close(CloseCode::Again, "database unavailable".into()));
        };
        let head = listener.cursor;
        let registered = self.state.hub.admit(listener);
        let conn = match registered {
            Ok(conn) => conn,
            Err(e) => {
                let (close, code) = match e {
                    RegisterError::TenantFull | RegisterError::ClientFull => {
                        (CloseCode::Again, ErrorCode::TooManyConnections)
                    }
                    RegisterError::ShuttingDown => (CloseCode::Away, ErrorCode::Unavailable),
                };
                let _ = self.error(code, &e.to_string()).await;
                return Err(End::Close(close, e.to_string()));
            }
        };
        let connection_id = conn.id().to_string();
        self.conn = Some(conn);
        self.expires_at = Some(expires_at);
        self.reply(Reply::Authenticated {
            tenant_id: &p.tenant,
            client_id: &p.client,
            connection_id,
            cursor: Some(head),
        })
        .await?;
        self.principal = Some(p);
        Ok(())
    }

    /// Sorted names, for replies.
    pub(super) fn sorted(types: &std::collections::HashSet<EntityTypeName>) -> Vec<&str> {
        let mut names: Vec<&str> = types.iter().map(EntityTypeName::as_str).collect();
        names.sort_unstable();
        names
    }
}
