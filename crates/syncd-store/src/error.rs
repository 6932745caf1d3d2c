//! What can go wrong in storage, with the cause kept as the error's source.

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The cause behind a [`StoreError`]: the driver's error, or a message for what the store found
/// itself. Kept as the error's source, so the log shows the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in storage. The server maps these to statuses; the causes go to the log
/// only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist in the tenant.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated (e.g. a version row written twice).
    #[error("conflicting write")]
    Conflict(#[source] Cause),
    /// The database cannot be reached or refused the connection; retrying later is safe.
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else: a bug, corrupt data, a failed migration.
    #[error("storage error")]
    Internal(#[source] Cause),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// An internal error described by the store itself.
    pub fn internal(message: impl Into<String>) -> Self {
        StoreError::Internal(message.into().into())
    }

    /// An unavailable database, described by the store itself.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StoreError::Unavailable(message.into().into())
    }

    /// A conflicting write, described by the store itself.
    pub fn conflict(message: impl Into<String>) -> Self {
        StoreError::Conflict(message.into().into())
    }
}
