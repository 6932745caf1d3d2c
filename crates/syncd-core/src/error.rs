//! The engine's one error type, its transport-neutral classification (the SPEC §4 code and the
//! HTTP status of each kind) and the SPEC §4 error body, decided here once for the syncd server
//! and embedders alike.

use serde::Serialize;
use syncd_model::ChangeError;
use syncd_store::{Cause, StoreError};

/// Which 422 a validation failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    /// `validation_failed`
    Failed,
    /// `unknown_entity_type`
    UnknownEntityType,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Malformed input: wrong shape, undecodable cursor.
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Vec<ChangeError>,
    },
    /// The token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Changes of a push address records the token cannot see (SPEC §11); nothing was applied.
    #[error("{message}")]
    ForbiddenChanges {
        message: String,
        details: Vec<ChangeError>,
    },
    /// Nothing with this id in the caller's tenant.
    #[error("{0}")]
    NotFound(String),
    /// A write named a version that is no longer current.
    #[error("{0}")]
    VersionConflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Some changes are invalid; none was applied.
    #[error("{message}")]
    Invalid {
        kind: InvalidKind,
        message: String,
        details: Vec<ChangeError>,
    },
    /// The client's cursor cannot be continued (another sync epoch, ahead of the head, behind
    /// the retention horizon, other visibility inputs): it must drop its local copy of the
    /// records, keep its unsent changes, and pull from the start.
    #[error("{0}")]
    ResyncRequired(String),
    /// The idempotency key was used before with another body.
    #[error("this idempotency key was already used with a different request body")]
    IdempotencyKeyReused,
    /// The database cannot be reached; retrying is safe.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// A bug or corrupt data; the cause goes to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// What kind of failure a [`SyncError`] is: the SPEC §4 code a client sees and the HTTP status
/// that goes with it. The syncd server answers every engine error with exactly these; a service
/// embedding the engine can answer with them too, over any transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadRequest,
    Forbidden,
    NotFound,
    VersionConflict,
    PayloadTooLarge,
    ValidationFailed,
    UnknownEntityType,
    IdempotencyKeyReused,
    /// The client must drop its local records and pull from the start (SPEC §10, §11).
    ResyncRequired,
    /// The database is down; the request can be retried safely.
    Unavailable,
    /// A bug or corrupt data: log the error's source, show the client nothing of it.
    Internal,
}

impl ErrorKind {
    /// Every kind, for tables and tests.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::BadRequest,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::VersionConflict,
        ErrorKind::PayloadTooLarge,
        ErrorKind::ValidationFailed,
        ErrorKind::UnknownEntityType,
        ErrorKind::IdempotencyKeyReused,
        ErrorKind::ResyncRequired,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The SPEC §4 error code, e.g. `validation_failed`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::VersionConflict => "version_conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::ValidationFailed => "validation_failed",
            ErrorKind::UnknownEntityType => "unknown_entity_type",
            ErrorKind::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorKind::ResyncRequired => "resync_required",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status of SPEC §4 (a number, so that no HTTP crate is needed here).
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::VersionConflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::ValidationFailed
            | ErrorKind::UnknownEntityType
            | ErrorKind::IdempotencyKeyReused => 422,
            ErrorKind::ResyncRequired => 410,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

impl SyncError {
    /// The error's kind: its SPEC §4 code and HTTP status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::BadRequest { .. } => ErrorKind::BadRequest,
            SyncError::Forbidden(_) | SyncError::ForbiddenChanges { .. } => ErrorKind::Forbidden,
            SyncError::NotFound(_) => ErrorKind::NotFound,
            SyncError::VersionConflict(_) => ErrorKind::VersionConflict,
            SyncError::PayloadTooLarge(_) => ErrorKind::PayloadTooLarge,
            SyncError::Invalid {
                kind: InvalidKind::Failed,
                ..
            } => ErrorKind::ValidationFailed,
            SyncError::Invalid {
                kind: InvalidKind::UnknownEntityType,
                ..
            } => ErrorKind::UnknownEntityType,
            SyncError::IdempotencyKeyReused => ErrorKind::IdempotencyKeyReused,
            SyncError::ResyncRequired(_) => ErrorKind::ResyncRequired,
            SyncError::Unavailable(_) => ErrorKind::Unavailable,
            SyncError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The HTTP status of the error's kind.
    pub fn status(&self) -> u16 {
        self.kind().status()
    }

    /// The message a client may see: the error's own words, never a cause (SQL, a driver's
    /// text) for `Unavailable` and `Internal`; log the error's `source()` instead.
    pub fn public_message(&self) -> String {
        match self {
            SyncError::Unavailable(_) => {
                "the database is unavailable; the request can be retried safely".into()
            }
            SyncError::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }

    /// The SPEC §4 body of this error, as the syncd server answers it.
    pub fn body(&self) -> ErrorEnvelope {
        ErrorEnvelope::new(
            self.kind().code(),
            self.public_message(),
            self.details().to_vec(),
        )
    }

    /// The refused changes of a push, one problem each with its index, type and field (the
    /// `details` of the SPEC §4 body); empty for every other error.
    pub fn details(&self) -> &[ChangeError] {
        match self {
            SyncError::BadRequest { details, .. }
            | SyncError::ForbiddenChanges { details, .. }
            | SyncError::Invalid { details, .. } => details,
            _ => &[],
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        SyncError::BadRequest {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A bug the engine found itself.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        SyncError::Internal(message.into().into())
    }

    /// Whether this is a store's refusal of a conflicting write.
    pub(crate) fn is_store_conflict(&self) -> bool {
        match self {
            SyncError::Internal(cause) => cause
                .downcast_ref::<StoreError>()
                .is_some_and(|e| matches!(e, StoreError::Conflict(_))),
            _ => false,
        }
    }

    pub(crate) fn unknown_type(name: &str) -> Self {
        SyncError::Invalid {
            kind: InvalidKind::UnknownEntityType,
            message: format!("unknown entity type `{name}`"),
            details: Vec::new(),
        }
    }

    pub(crate) fn invalid(details: Vec<ChangeError>) -> Self {
        let message = match details.len() {
            1 => "1 change is invalid; nothing was applied".to_owned(),
            n => format!("{n} problems in the request; nothing was applied"),
        };
        SyncError::Invalid {
            kind: InvalidKind::Failed,
            message,
            details,
        }
    }
}

/// The SPEC §4 error body, written once (as [`crate::Envelope`] is the success body):
/// `{"success": false, "error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorEnvelope {
    success: bool,
    error: ErrorContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct ErrorContent {
    code: &'static str,
    message: String,
    details: Vec<ChangeError>,
}

impl ErrorEnvelope {
    /// A body of any code: [`SyncError::body`] for the engine's errors, this for a transport's
    /// own (`unauthorized`, `rate_limited`, …).
    pub fn new(code: &'static str, message: impl Into<String>, details: Vec<ChangeError>) -> Self {
        Self {
            success: false,
            error: ErrorContent {
                code,
                message: message.into(),
                details,
            },
        }
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => SyncError::Unavailable(e),
            StoreError::NotFound => SyncError::NotFound("not found".into()),
            StoreError::Conflict(_) | StoreError::Internal(_) => SyncError::Internal(Box::new(e)),
        }
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_code_and_status_of_spec_section_4() {
        let table: Vec<(&str, u16)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.code(), k.status()))
            .collect();
        assert_eq!(
            table,
            [
                ("bad_request", 400),
                ("forbidden", 403),
                ("not_found", 404),
                ("version_conflict", 409),
                ("payload_too_large", 413),
                ("validation_failed", 422),
                ("unknown_entity_type", 422),
                ("idempotency_key_reused", 422),
                ("resync_required", 410),
                ("unavailable", 503),
                ("internal", 500),
            ]
        );
    }

    #[test]
    fn an_error_gives_its_kind_and_only_refused_changes_carry_details() {
        let detail = ChangeError::invalid(2, "tasks", Some("title"), "is required");
        let invalid = SyncError::invalid(vec![detail.clone()]);
        assert_eq!(invalid.kind(), ErrorKind::ValidationFailed);
        assert_eq!(invalid.status(), 422);
        assert_eq!(invalid.details(), [detail]);
        assert_eq!(
            SyncError::unknown_type("x").kind(),
            ErrorKind::UnknownEntityType
        );
        assert_eq!(SyncError::Forbidden("no".into()).status(), 403);
        assert!(SyncError::Forbidden("no".into()).details().is_empty());
        assert_eq!(SyncError::internal("bug").kind().code(), "internal");
    }

    #[test]
    fn the_body_is_spec_section_4_s_and_shows_no_cause() {
        let detail = ChangeError::invalid(0, "tasks", Some("title"), "is required");
        let body =
            serde_json::to_value(SyncError::invalid(vec![detail]).body()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({ "success": false, "error": {
                "code": "validation_failed",
                "message": "1 change is invalid; nothing was applied",
                "details": [{ "index": 0, "entityType": "tasks", "field": "title",
                              "message": "is required" }] } })
        );
        let hidden = SyncError::Internal("SELECT secret FROM t".into()).body();
        let hidden = serde_json::to_string(&hidden).unwrap_or_default();
        assert!(!hidden.contains("secret"), "{hidden}");
        assert!(hidden.contains(r#""code":"internal""#), "{hidden}");
    }
}
