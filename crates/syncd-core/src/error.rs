//! The engine's one error type. HTTP statuses are decided at the server edge.

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

impl SyncError {
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
