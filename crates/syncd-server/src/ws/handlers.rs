//! What a session does with each client message.

use std::collections::HashSet;
use std::sync::Arc;

use syncd_core::{PullFrom, PullRequest, SyncError};
use syncd_hub::protocol::{self, NotificationKind};
use syncd_model::{Cursor, EntityTypeName, Timestamp};

use super::messages::{ClientMessage, Reply};
use super::session::{End, Session};
use crate::auth::{AuthError, Identity};
use crate::error::ErrorCode;
use crate::extract::principal;

/// Records counted for the catch-up notice of a subscribe with an old cursor.
const CATCH_UP_COUNT_LIMIT: i64 = 1000;

/// A problem with a message: said to the client, the connection stays open.
struct Refusal(ErrorCode, String);

fn unavailable() -> Refusal {
    Refusal(ErrorCode::Unavailable, "the database is unavailable".into())
}

impl Session {
    pub(super) async fn on_text(&mut self, text: &str) -> Result<(), End> {
        let message = match ClientMessage::parse(text) {
            Ok(message) => message,
            Err(problem) => return self.bad_message(&problem).await,
        };
        if self.principal.is_none() {
            return self.first_message(message).await;
        }
        let refused = match message {
            ClientMessage::Authenticate { token } => self.reauthenticate(token.as_deref()).await?,
            ClientMessage::Subscribe {
                entity_types,
                include_data,
                cursor,
            } => self.subscribe(entity_types, include_data, cursor).await?,
            ClientMessage::Unsubscribe { entity_types } => self.unsubscribe(entity_types).await?,
            ClientMessage::Heartbeat {} => {
                self.reply(Reply::HeartbeatResponse {}).await?;
                None
            }
            ClientMessage::RefreshRequest { entity_type } => {
                self.refresh(entity_type.as_deref()).await?
            }
        };
        match refused {
            Some(Refusal(code, message)) => self.error(code, &message).await,
            None => Ok(()),
        }
    }

    /// Before authentication only `authenticate` is heard; anything else closes the session.
    async fn first_message(&mut self, message: ClientMessage) -> Result<(), End> {
        let ClientMessage::Authenticate { token } = message else {
            return self.refuse_unauthenticated().await;
        };
        let identity = match self.verify(token.as_deref()) {
            Ok(identity) => identity,
            Err(e) => {
                let _ = self.error(ErrorCode::Unauthorized, &e.to_string()).await;
                return Err(End::unauthorized("unauthorized"));
            }
        };
        let expires_at = identity.expires_at;
        let registry = self.state.engine.registry();
        let Ok(p) = principal(identity, self.client_hint.as_deref(), registry) else {
            let _ = self
                .error(
                    ErrorCode::Unauthorized,
                    "the client id (X-Client-Id or clientId) is not valid",
                )
                .await;
            return Err(End::unauthorized("invalid client id"));
        };
        self.admit(p, expires_at).await
    }

    async fn refuse_unauthenticated(&mut self) -> Result<(), End> {
        let _ = self
            .error(
                ErrorCode::Unauthorized,
                "the first message must be `authenticate` with a token",
            )
            .await;
        Err(End::unauthorized("unauthenticated"))
    }

    /// A message the server cannot use: an error, or the end of an unauthenticated session.
    pub(super) async fn bad_message(&mut self, message: &str) -> Result<(), End> {
        if self.principal.is_none() {
            return self.refuse_unauthenticated().await;
        }
        self.error(ErrorCode::BadRequest, message).await
    }

    fn verify(&self, token: Option<&str>) -> Result<Identity, AuthError> {
        self.state.auth.verify(token.ok_or(AuthError::Missing)?)
    }

    /// A fresh token extends the session without reconnecting; it must name the same tenant
    /// and subject.
    async fn reauthenticate(&mut self, token: Option<&str>) -> Result<Option<Refusal>, End> {
        let identity = match self.verify(token) {
            Ok(identity) => identity,
            Err(e) => return Ok(Some(Refusal(ErrorCode::Unauthorized, e.to_string()))),
        };
        let (Some(p), Some(conn)) = (self.principal.as_mut(), self.conn.as_ref()) else {
            return Ok(None);
        };
        if identity.tenant != p.tenant || identity.subject != p.subject {
            return Ok(Some(Refusal(
                ErrorCode::Forbidden,
                "a connection cannot change tenant or subject; open a new one".into(),
            )));
        }
        p.scopes = identity.scopes;
        p.roles = identity.roles;
        let registry = self.state.engine.registry();
        let mut claims = identity.claims;
        claims.retain(|name| registry.names_claim(name));
        p.claims = claims;
        // The cursors the connection is handed from now on carry the fresh token's
        // fingerprint, as its pulls will.
        conn.set_access(
            self.state.engine.access_by_type(p),
            p.visibility_fingerprint(registry),
        );
        let readable = self
            .state
            .engine
            .readable_types(p)
            .into_iter()
            .map(|t| t.name.clone())
            .collect();
        conn.set_readable(readable);
        let connection_id = conn.id().to_string();
        self.expires_at = Some(identity.expires_at);
        let Some(p) = self.principal.clone() else {
            return Ok(None);
        };
        let cursor = self.state.engine.head(&p).await.ok();
        self.reply(Reply::Authenticated {
            tenant_id: &p.tenant,
            client_id: &p.client,
            connection_id,
            cursor,
        })
        .await?;
        Ok(None)
    }

    /// Registered type names; an unknown one is refused.
    fn types_of(&self, names: Option<Vec<String>>) -> Result<Option<Vec<EntityTypeName>>, Refusal> {
        let Some(names) = names else {
            return Ok(None);
        };
        let registry = self.state.engine.registry();
        names
            .iter()
            .map(|name| {
                registry.get(name).map(|ty| ty.name.clone()).ok_or_else(|| {
                    Refusal(
                        ErrorCode::UnknownEntityType,
                        format!("unknown entity type `{name}`"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    async fn subscribe(
        &mut self,
        entity_types: Option<Vec<String>>,
        include_data: Option<bool>,
        cursor: Option<String>,
    ) -> Result<Option<Refusal>, End> {
        let types = match self.types_of(entity_types) {
            Ok(types) => types,
            Err(refusal) => return Ok(Some(refusal)),
        };
        let cursor = match cursor.as_deref().map(Cursor::decode).transpose() {
            Ok(cursor) => cursor,
            Err(e) => return Ok(Some(Refusal(ErrorCode::BadRequest, e.to_string()))),
        };
        let cursor = match cursor {
            Some(cursor) => match self.check_cursor(cursor).await? {
                Ok(cursor) => cursor,
                Err(refusal) => return Ok(Some(refusal)),
            },
            None => None,
        };
        let Some(conn) = self.conn.as_ref() else {
            return Ok(None);
        };
        let subscription = match conn.subscribe(types, include_data.unwrap_or(false)) {
            Ok(s) => s,
            Err(e) => return Ok(Some(Refusal(ErrorCode::Forbidden, e.to_string()))),
        };
        self.reply(Reply::Subscribed {
            entity_types: Self::sorted(&subscription.types),
            include_data: subscription.include_data,
        })
        .await?;
        match cursor {
            Some(cursor) => self.catch_up(cursor, &subscription.types).await,
            None => Ok(None),
        }
    }

    /// A subscribe's cursor that cannot be continued (SPEC §10) gets `resync_required` with
    /// `reset: true` at once; the subscription then starts from the head, with no catch-up.
    async fn check_cursor(
        &mut self,
        cursor: Cursor,
    ) -> Result<Result<Option<Cursor>, Refusal>, End> {
        let Some(p) = self.principal.clone() else {
            return Ok(Ok(None));
        };
        let engine = Arc::clone(&self.state.engine);
        match engine.check_cursor(&p, cursor).await {
            Ok(_) => Ok(Ok(Some(cursor))),
            Err(SyncError::ResyncRequired(_)) => {
                let Ok(head) = engine.head(&p).await else {
                    return Ok(Err(unavailable()));
                };
                self.send(protocol::resync_reset(head, Timestamp::now()))
                    .await?;
                Ok(Ok(None))
            }
            Err(_) => Ok(Err(unavailable())),
        }
    }

    /// A reconnecting client that names an old cursor learns at once that there is more.
    async fn catch_up(
        &mut self,
        cursor: Cursor,
        types: &HashSet<EntityTypeName>,
    ) -> Result<Option<Refusal>, End> {
        let Some(p) = self.principal.clone() else {
            return Ok(None);
        };
        let unavailable = || {
            Some(Refusal(
                ErrorCode::Unavailable,
                "the database is unavailable".into(),
            ))
        };
        let engine = Arc::clone(&self.state.engine);
        let Ok(head) = engine.head(&p).await else {
            return Ok(unavailable());
        };
        if cursor >= head || types.is_empty() {
            return Ok(None);
        }
        let request = PullRequest {
            from: PullFrom::Cursor(cursor),
            entity_types: Some(Self::sorted(types).into_iter().map(str::to_owned).collect()),
            limit: Some(CATCH_UP_COUNT_LIMIT),
        };
        let Ok(page) = engine.pull(&p, &request).await else {
            return Ok(unavailable());
        };
        let counts: Vec<(&EntityTypeName, u32)> = page
            .data
            .iter()
            .filter(|(_, records)| !records.is_empty())
            .map(|(ty, records)| (&ty.name, records.len() as u32))
            .collect();
        if counts.is_empty() {
            return Ok(None);
        }
        let message = protocol::sync_notification(
            NotificationKind::NewDataAvailable,
            counts.into_iter(),
            head,
            None,
            Timestamp::now(),
        );
        self.send(message).await?;
        Ok(None)
    }

    async fn unsubscribe(
        &mut self,
        entity_types: Option<Vec<String>>,
    ) -> Result<Option<Refusal>, End> {
        let types = match self.types_of(entity_types) {
            Ok(Some(types)) => types,
            Ok(None) => {
                return Ok(Some(Refusal(
                    ErrorCode::BadRequest,
                    "`unsubscribe` needs `entityTypes`".into(),
                )));
            }
            Err(refusal) => return Ok(Some(refusal)),
        };
        let Some(conn) = self.conn.as_ref() else {
            return Ok(None);
        };
        let subscription = conn.unsubscribe(&types);
        self.reply(Reply::Subscribed {
            entity_types: Self::sorted(&subscription.types),
            include_data: subscription.include_data,
        })
        .await?;
        Ok(None)
    }

    async fn refresh(&mut self, entity_type: Option<&str>) -> Result<Option<Refusal>, End> {
        let Some(p) = self.principal.clone() else {
            return Ok(None);
        };
        if let Some(name) = entity_type {
            if self.state.engine.registry().get(name).is_none() {
                return Ok(Some(Refusal(
                    ErrorCode::UnknownEntityType,
                    format!("unknown entity type `{name}`"),
                )));
            }
            if !p.scopes.can_read(name) {
                return Ok(Some(Refusal(
                    ErrorCode::Forbidden,
                    format!("the token may not read `{name}`"),
                )));
            }
        }
        let Ok(cursor) = self.state.engine.head(&p).await else {
            return Ok(Some(Refusal(
                ErrorCode::Unavailable,
                "the database is unavailable".into(),
            )));
        };
        self.reply(Reply::SyncRequest {
            entity_type,
            cursor,
        })
        .await?;
        Ok(None)
    }
}
