//! The one JSON error body of SPEC §4, and the only place statuses are decided.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use syncd_core::{InvalidKind, SyncError};
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

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::VersionConflict => "version_conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::UnknownEntityType => "unknown_entity_type",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ResyncRequired => "resync_required",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TooManyConnections => "too_many_connections",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized | ErrorCode::TokenExpired => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::VersionConflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationFailed
            | ErrorCode::UnknownEntityType
            | ErrorCode::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited | ErrorCode::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ResyncRequired => StatusCode::GONE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    success: bool,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: String,
    details: &'a [ChangeError],
}

impl ApiError {
    /// The error's code; its HTTP status is [`ErrorCode::status`].
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Sync(e) => match e {
                SyncError::BadRequest { .. } => ErrorCode::BadRequest,
                SyncError::Forbidden(_) | SyncError::ForbiddenChanges { .. } => {
                    ErrorCode::Forbidden
                }
                SyncError::NotFound(_) => ErrorCode::NotFound,
                SyncError::VersionConflict(_) => ErrorCode::VersionConflict,
                SyncError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
                SyncError::Invalid {
                    kind: InvalidKind::Failed,
                    ..
                } => ErrorCode::ValidationFailed,
                SyncError::Invalid {
                    kind: InvalidKind::UnknownEntityType,
                    ..
                } => ErrorCode::UnknownEntityType,
                SyncError::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
                SyncError::ResyncRequired(_) => ErrorCode::ResyncRequired,
                SyncError::Unavailable(_) => ErrorCode::Unavailable,
                SyncError::Internal(_) => ErrorCode::Internal,
            },
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
            ApiError::Sync(SyncError::BadRequest { details, .. })
            | ApiError::Sync(SyncError::ForbiddenChanges { details, .. })
            | ApiError::Sync(SyncError::Invalid { details, .. }) => details,
            _ => &[],
        }
    }

    /// The message a client sees: never a cause chain, SQL or internals for 5xx.
    fn public_message(&self) -> String {
        match self {
            ApiError::Sync(SyncError::Unavailable(_)) => {
                "the database is unavailable; the request can be retried safely".into()
            }
            ApiError::Sync(SyncError::Internal(_)) | ApiError::Internal(_) => {
                "internal server error".into()
            }
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
        response.json(Body {
            success: false,
            error: ErrorBody {
                code,
                message: self.public_message(),
                details: self.details(),
            },
        })
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
