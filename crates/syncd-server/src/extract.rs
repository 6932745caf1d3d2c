//! Request extractors: the authenticated caller and JSON bodies, both failing with the JSON
//! error body.

use std::future::{Ready, ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;
use syncd_core::Principal;
use syncd_model::{ClientId, Registry};

use crate::auth::{AuthError, Identity};
use crate::error::ApiError;
use crate::state::AppState;

/// The bearer token of a request, from `Authorization: Bearer …`.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The `X-Client-Id` header, when present and not empty.
pub fn client_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-client-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// The caller as the engine knows it, for HTTP and WebSocket alike. The client id is the
/// token's `client_id`, else `client_hint` (the `X-Client-Id` header, else the WebSocket
/// `clientId` query parameter), else the subject.
/// Of the token's claims the principal keeps those that visibility rules of `registry` name.
pub fn principal(
    identity: Identity,
    client_hint: Option<&str>,
    registry: &Registry,
) -> Result<Principal, ApiError> {
    let invalid = |e: syncd_model::IdError| ApiError::BadRequest(format!("client id: {e}"));
    let (client, explicit) = match (identity.client, client_hint) {
        (Some(client), _) => (client, true),
        (None, Some(named)) => (ClientId::parse(named).map_err(invalid)?, true),
        (None, None) => (
            ClientId::parse(identity.subject.as_str()).map_err(invalid)?,
            false,
        ),
    };
    let mut claims = identity.claims;
    claims.retain(|name| registry.names_claim(name));
    Ok(Principal {
        claims,
        tenant: identity.tenant,
        subject: identity.subject,
        client,
        client_explicit: explicit,
        scopes: identity.scopes,
        roles: identity.roles,
    })
}

/// An authenticated, rate-limited caller.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = AppState::of(req)?;
    let token = bearer(req).ok_or(AuthError::Missing)?;
    let identity = state.auth.verify(token)?;
    state
        .limiter
        .check(identity.tenant.as_str(), identity.subject.as_str())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    Ok(Caller(principal(
        identity,
        client_header(req),
        state.engine.registry(),
    )?))
}

/// A JSON request body within the configured size; an empty body reads as `{}`.
pub struct JsonBody(pub Value);

impl JsonBody {
    /// The body as an object: routes whose body is a set of named options refuse anything else.
    pub fn into_object(self) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.0 {
            Value::Object(body) => Ok(body),
            _ => Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            )),
        }
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout) = match AppState::of(req) {
            Ok(state) => (
                state.settings.limits.max_body_bytes,
                Duration::from_millis(state.settings.server.body_timeout_ms),
            ),
            Err(e) => return Box::pin(ready(Err(e))),
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Box::pin(ready(Err(ApiError::PayloadTooLarge(format!(
                "the request body is larger than {limit} bytes"
            )))));
        }
        let body = match crate::limits::decoded(req.headers(), payload.take()) {
            Ok(body) => body,
            Err(e) => return Box::pin(ready(Err(e))),
        };
        Box::pin(async move {
            let capacity = declared.unwrap_or(1024);
            let body = crate::limits::read_body(body, limit, capacity, timeout).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(JsonBody(Value::Object(serde_json::Map::new())));
            }
            serde_json::from_slice(&body)
                .map(JsonBody)
                .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
        })
    }
}
