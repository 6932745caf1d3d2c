//! Every error of an HTTP handler as the SPEC §4 body (`syncd_core::ErrorEnvelope`), and the
//! only place the server decides statuses: the engine's errors keep the code and status
//! `syncd_core::ErrorKind` gives them (one mapping, shared with embedding services); the codes
//! only the edge speaks are decided here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use syncd_core::{ErrorEnvelope, ErrorKind, SyncError};
use syncd_model::ChangeError;

use crate::auth::AuthError;

/// Every error an HTTP handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request body did not arrive within the body timeout.
    #[error("{0}")]
    RequestTimeout(String),
    /// A body in a `Content-Encoding` the server does not decode.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("the server is shutting down or overloaded")]
    Unavailable,
    /// A bug at the edge (e.g. an answer that could not be encoded); the cause goes to the log.
    #[error("internal error")]
    Internal(#[source] syncd_store::Cause),
}

/// Every error code a client can see, over HTTP (with its status) or in a WebSocket `error`
/// message. One list, so both transports speak the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    VersionConflict,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    UnknownEntityType,
    IdempotencyKeyReused,
    RateLimited,
    /// The client must drop its local records and pull from the start (SPEC §10, §11).
    ResyncRequired,
    Unavailable,
    Internal,
    /// WebSocket only: the session's token expired.
    TokenExpired,
    /// WebSocket only: the tenant or client is over its connection limit.
    TooManyConnections,
}

/// Where a code's word and status are decided: the engine's kinds in `syncd-core` (one mapping
/// for the server and embedders alike), the codes only the server speaks here.
enum Decided {
    Engine(ErrorKind),
    Edge(&'static str, StatusCode),
}

impl ErrorCode {
    fn decided(self) -> Decided {
        use Decided::{Edge, Engine};
        match self {
            ErrorCode::BadRequest => Engine(ErrorKind::BadRequest),
            ErrorCode::Forbidden => Engine(ErrorKind::Forbidden),
            ErrorCode::NotFound => Engine(ErrorKind::NotFound),
            ErrorCode::VersionConflict => Engine(ErrorKind::VersionConflict),
            ErrorCode::PayloadTooLarge => Engine(ErrorKind::PayloadTooLarge),
            ErrorCode::ValidationFailed => Engine(ErrorKind::ValidationFailed),
            ErrorCode::UnknownEntityType => Engine(ErrorKind::UnknownEntityType),
            ErrorCode::IdempotencyKeyReused => Engine(ErrorKind::IdempotencyKeyReused),
            ErrorCode::ResyncRequired => Engine(ErrorKind::ResyncRequired),
            ErrorCode::Unavailable => Engine(ErrorKind::Unavailable),
            ErrorCode::Internal => Engine(ErrorKind::Internal),
            ErrorCode::Unauthorized => Edge("unauthorized", StatusCode::UNAUTHORIZED),
            ErrorCode::MethodNotAllowed => {
                Edge("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED)
            }
            ErrorCode::RequestTimeout => Edge("request_timeout", StatusCode::REQUEST_TIMEOUT),
            ErrorCode::UnsupportedMediaType => {
                Edge("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorCode::RateLimited => Edge("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ErrorCode::TokenExpired => Edge("token_expired", StatusCode::UNAUTHORIZED),
            ErrorCode::TooManyConnections => {
                Edge("too_many_connections", StatusCode::TOO_MANY_REQUESTS)
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self.decided() {
            Decided::Engine(kind) => kind.code(),
            Decided::Edge(code, _) => code,
        }
    }

    pub fn status(self) -> StatusCode {
        match self.decided() {
            Decided::Engine(kind) => {
                StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Decided::Edge(_, status) => status,
        }
    }
}

impl From<ErrorKind> for ErrorCode {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::BadRequest => ErrorCode::BadRequest,
            ErrorKind::Forbidden => ErrorCode::Forbidden,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::VersionConflict => ErrorCode::VersionConflict,
            ErrorKind::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ErrorKind::ValidationFailed => ErrorCode::ValidationFailed,
            ErrorKind::UnknownEntityType => ErrorCode::UnknownEntityType,
            ErrorKind::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            ErrorKind::ResyncRequired => ErrorCode::ResyncRequired,
            ErrorKind::Unavailable => ErrorCode::Unavailable,
            ErrorKind::Internal => ErrorCode::Internal,
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ApiError {
    /// The error's code; its HTTP status is [`ErrorCode::status`].
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Sync(e) => e.kind().into(),
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            ApiError::RequestTimeout(_) => ErrorCode::RequestTimeout,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn details(&self) -> &[ChangeError] {
        match self {
            ApiError::Sync(e) => e.details(),
            _ => &[],
        }
    }

    /// The message a client sees: never a cause chain, SQL or internals for 5xx (the engine's
    /// errors say theirs in `syncd-core`).
    fn public_message(&self) -> String {
        match self {
            ApiError::Sync(e) => e.public_message(),
            ApiError::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code();
        let status = code.status();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(self), "request failed");
        }
        let mut response = HttpResponse::build(status);
        if let ApiError::RateLimited { retry_after_secs } = self {
            // `Retry-After: 0` reads as "now" and invites a tight retry loop.
            let secs = (*retry_after_secs).max(1);
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        let details = self.details().to_vec();
        response.json(ErrorEnvelope::new(
            code.as_str(),
            self.public_message(),
            details,
        ))
    }
}

/// The error and its causes on one line, for the log.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_s_kinds_keep_their_code_and_status_through_the_server_s_list() {
        for kind in ErrorKind::ALL {
            let code = ErrorCode::from(kind);
            assert_eq!(code.as_str(), kind.code());
            assert_eq!(code.status().as_u16(), kind.status());
            assert!(matches!(code.decided(), Decided::Engine(k) if k == kind));
        }
    }

    /// The body the server answers, as JSON.
    fn answered(e: ApiError) -> (StatusCode, serde_json::Value) {
        use actix_web::body::MessageBody;
        let response = e.error_response();
        let status = response.status();
        let bytes = response.into_body().try_into_bytes().unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[test]
    fn an_engine_error_answers_with_the_body_an_embedder_gets_from_the_engine() {
        let detail = ChangeError::invalid(1, "tasks", Some("title"), "is required");
        for e in [
            SyncError::BadRequest {
                message: "bad shape".into(),
                details: vec![detail],
            },
            SyncError::Unavailable(syncd_store::StoreError::unavailable("pool timed out")),
        ] {
            let (status, expected) = (e.status(), serde_json::to_value(e.body()));
            let (answered_status, body) = answered(ApiError::Sync(e));
            assert_eq!(answered_status.as_u16(), status);
            assert_eq!(Some(body), expected.ok());
        }
        let (_, body) = answered(ApiError::Sync(SyncError::Unavailable(
            syncd_store::StoreError::unavailable("pool timed out"),
        )));
        let message = &body["error"]["message"];
        assert_eq!(
            message,
            "the database is unavailable; the request can be retried safely"
        );
    }
}
