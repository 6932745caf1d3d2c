//! Database errors turned into [`StoreError`]s: unreachable → `Unavailable` (retry later),
//! unique violation → `Conflict`, everything else → `Internal`. The driver's error stays the
//! source of each, so the log shows it whole.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};
use syncd_store::{Cause, StoreError};

pub(crate) fn db(err: DbErr) -> StoreError {
    match kind_of(&err) {
        Kind::Unavailable => StoreError::Unavailable(Box::new(err)),
        Kind::Unique => StoreError::Conflict(Box::new(err)),
        Kind::Other => StoreError::Internal(Box::new(err)),
    }
}

/// A value read from the database that the store cannot make sense of.
#[derive(Debug, thiserror::Error)]
#[error("unreadable {what} in the database")]
struct Corrupt {
    what: &'static str,
    #[source]
    source: Cause,
}

pub(crate) fn corrupt(what: &'static str, detail: impl Into<Cause>) -> StoreError {
    StoreError::Internal(Box::new(Corrupt {
        what,
        source: detail.into(),
    }))
}

enum Kind {
    Unavailable,
    Unique,
    Other,
}

fn kind_of(err: &DbErr) -> Kind {
    match err {
        // A URL or option the driver cannot use will not get better by retrying.
        DbErr::Conn(RuntimeErr::SqlxError(e))
            if matches!(
                **e,
                sqlx::Error::Configuration(_) | sqlx::Error::InvalidArgument(_)
            ) =>
        {
            Kind::Other
        }
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Kind::Unavailable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            classify(e)
        }
        _ => Kind::Other,
    }
}

fn classify(err: &sqlx::Error) -> Kind {
    match err {
        sqlx::Error::Database(e) => {
            if e.is_unique_violation() {
                return Kind::Unique;
            }
            let code = e.code().unwrap_or_default();
            let retryable = if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_is_retryable(&code)
            } else {
                postgres_is_retryable(&code)
            };
            if retryable {
                Kind::Unavailable
            } else {
                Kind::Other
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => Kind::Unavailable,
        _ => Kind::Other,
    }
}

/// SQLSTATEs meaning "not now" rather than "never": connection exceptions (08xxx), operator
/// intervention such as a shutdown (57P0x), a statement cancelled (57014, e.g. by a
/// `statement_timeout` set in the database), a lock not granted within `lock_timeout` (55P03),
/// too many connections, serialization failure, deadlock.
fn postgres_is_retryable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || matches!(code, "57014" | "55P03" | "53300" | "40001" | "40P01")
}

/// SQLite reports (extended) result codes as decimal numbers; the primary code is the low byte:
/// 5 = SQLITE_BUSY, 6 = SQLITE_LOCKED (another process held the database past the busy timeout).
fn sqlite_is_retryable(code: &str) -> bool {
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn transient_codes_are_retryable_and_others_are_not() {
        for code in [
            "08006", "57P01", "57014", "55P03", "53300", "40001", "40P01",
        ] {
            assert!(postgres_is_retryable(code), "{code}");
        }
        for code in ["23505", "42P01", "25P02", ""] {
            assert!(!postgres_is_retryable(code), "{code}");
        }
        for code in ["5", "517", "6", "262"] {
            assert!(sqlite_is_retryable(code), "{code}");
        }
        for code in ["1", "19", "1555", "2067", ""] {
            assert!(!sqlite_is_retryable(code), "{code}");
        }
    }

    #[test]
    fn pool_errors_are_unavailable() {
        let err = db(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(err.is_unavailable());
    }

    #[test]
    fn the_driver_error_stays_the_source() {
        let err = db(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(err.source().is_some_and(|s| s.is::<DbErr>()));
        let err = corrupt("record data", "not JSON");
        let chain = err.source().map(ToString::to_string);
        assert_eq!(
            chain.as_deref(),
            Some("unreadable record data in the database")
        );
    }
}
