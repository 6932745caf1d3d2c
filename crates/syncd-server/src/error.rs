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
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("the server is shutting down or overloaded")]
    Unavailable,
}

#[derive(Serialize)]
struct Body<'a> {
    success: bool,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: String,
    details: &'a [ChangeError],
}

impl ApiError {
    fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::Sync(e) => match e {
                SyncError::BadRequest { .. } => ("bad_request", StatusCode::BAD_REQUEST),
                SyncError::Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN),
                SyncError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
                SyncError::VersionConflict(_) => ("version_conflict", StatusCode::CONFLICT),
                SyncError::PayloadTooLarge(_) => {
                    ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE)
                }
                SyncError::Invalid {
                    kind: InvalidKind::Failed,
                    ..
                } => ("validation_failed", StatusCode::UNPROCESSABLE_ENTITY),
                SyncError::Invalid {
                    kind: InvalidKind::UnknownEntityType,
                    ..
                } => ("unknown_entity_type", StatusCode::UNPROCESSABLE_ENTITY),
                SyncError::IdempotencyKeyReused => {
                    ("idempotency_key_reused", StatusCode::UNPROCESSABLE_ENTITY)
                }
                SyncError::Unavailable(_) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
                SyncError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            },
            ApiError::Unauthorized(_) => ("unauthorized", StatusCode::UNAUTHORIZED),
            ApiError::BadRequest(_) => ("bad_request", StatusCode::BAD_REQUEST),
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            ApiError::PayloadTooLarge(_) => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::RateLimited { .. } => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ApiError::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    fn details(&self) -> &[ChangeError] {
        match self {
            ApiError::Sync(SyncError::BadRequest { details, .. })
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
            ApiError::Sync(SyncError::Internal(_)) => "internal server error".into(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code_and_status().1
    }

    fn error_response(&self) -> HttpResponse {
        let (code, status) = self.code_and_status();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(self), "request failed");
        }
        let mut response = HttpResponse::build(status);
        if let ApiError::RateLimited { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
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
