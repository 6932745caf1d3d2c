//! What keeps a flood of slow or many connections from locking everyone out: a deadline on
//! reading each request body, decoding of the `Content-Encoding`s actix can decode (and a 415
//! for the others), the process's open-file limit raised to its hard limit at start, and a cap
//! on concurrent connections kept below that limit.
//!
//! The request head is bounded by actix itself (`server.header_timeout_ms`, its
//! `client_request_timeout`); what follows the head is bounded here (`server.body_timeout_ms`).

use std::num::NonZeroUsize;
use std::time::Duration;

use actix_web::dev::{Decompress, Payload};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, ContentEncoding, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use crate::config::Settings;
use crate::error::ApiError;

/// Open files kept for everything but client connections: the listener, the database pool
/// (SQLite opens a file, its WAL and its shared memory per connection), logs, pipes.
const RESERVED_FILES: u64 = 64;
const FILES_PER_DATABASE_CONNECTION: u64 = 3;

/// The request's body as actix hands it over, decoded when its `Content-Encoding` is one
/// actix decodes (`gzip`, `deflate`, `br`, `zstd`; `identity` or none is the body as is). Any
/// other coding, or a chain of several, is a 415: taking such a body as plain JSON would read
/// garbage.
pub fn decoded(headers: &HeaderMap, payload: Payload) -> Result<Decompress<Payload>, ApiError> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value
            .to_str()
            .map_err(|_| unsupported("an unreadable coding"))?;
        codings.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
                .map(str::to_owned),
        );
    }
    let encoding = match codings.as_slice() {
        [] => ContentEncoding::Identity,
        [one] if one.eq_ignore_ascii_case("x-gzip") => ContentEncoding::Gzip,
        [one] => one
            .parse::<ContentEncoding>()
            .map_err(|_| unsupported(&format!("`{one}`")))?,
        _ => return Err(unsupported("more than one coding")),
    };
    Ok(Decompress::new(payload, encoding))
}

fn unsupported(what: &str) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "Content-Encoding {what} is not supported; send the body as is, or as gzip, deflate, br \
         or zstd"
    ))
}

/// Reads a whole body of at most `limit` bytes (after decoding) within `timeout`, counted from
/// now (the head has been read). A body that is too slow is a 408, one that is too large a 413.
pub async fn read_body<S>(
    stream: S,
    limit: usize,
    capacity: usize,
    timeout: Duration,
) -> Result<BytesMut, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>>,
{
    let too_large =
        || ApiError::PayloadTooLarge(format!("the request body is larger than {limit} bytes"));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::with_capacity(capacity.min(limit));
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(body),
            Err(_) => {
                return Err(ApiError::RequestTimeout(format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => too_large(),
            _ => ApiError::BadRequest("the request body could not be read or decoded".into()),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
}

/// Raises the soft limit of open files to the hard limit, so that connections and database
/// files are not refused long before the machine would refuse them. Returns the soft limit in
/// force afterwards, if the platform has one.
pub fn raise_open_file_limit() -> Option<u64> {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).ok();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) => {
            tracing::info!(
                open_files = now,
                before = before.map(|(soft, _)| soft),
                hard = before.map(|(_, hard)| hard),
                "open-file limit"
            );
            Some(now)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            before.map(|(soft, _)| soft)
        }
    }
}

/// How many client connections the server holds at once, in total and per worker (actix counts
/// per worker): `server.max_connections`, lowered to what the open-file limit leaves once the
/// database pool and the server's own files are counted. Past it, new connections wait in the
/// listen backlog (and past that are refused by the kernel) instead of failing every accept.
pub fn connection_cap(settings: &Settings, open_files: Option<u64>) -> (usize, usize) {
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        n => n,
    };
    let configured = settings.server.max_connections.max(1);
    let total = match open_files {
        Some(files) => {
            let reserved = RESERVED_FILES.saturating_add(
                u64::from(settings.database.max_connections)
                    .saturating_mul(FILES_PER_DATABASE_CONNECTION),
            );
            let room = usize::try_from(files.saturating_sub(reserved)).unwrap_or(usize::MAX);
            if room < configured {
                tracing::warn!(
                    max_connections = configured,
                    open_files = files,
                    capped = room.max(workers),
                    "server.max_connections is above what the open-file limit allows; capped"
                );
            }
            configured.min(room)
        }
        None => configured,
    }
    .max(workers);
    let per_worker = (total / workers).max(1);
    tracing::debug!(max_connections = total, per_worker, "connection cap");
    (total, per_worker)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settings(max: usize, workers: usize, pool: u32) -> Settings {
        let mut s = Settings::default();
        s.server.max_connections = max;
        s.server.workers = workers;
        s.database.max_connections = pool;
        s
    }

    #[test]
    fn the_connection_cap_stays_below_the_open_file_limit() {
        assert_eq!(connection_cap(&settings(1000, 2, 16), None), (1000, 500));
        assert_eq!(
            connection_cap(&settings(100_000, 4, 16), Some(1024)),
            (1024 - 64 - 48, (1024 - 64 - 48) / 4)
        );
        assert_eq!(
            connection_cap(&settings(10, 2, 16), Some(1_000_000)),
            (10, 5)
        );
        // Never below one connection per worker.
        assert_eq!(connection_cap(&settings(10, 2, 16), Some(20)), (2, 1));
    }

    #[actix_web::test]
    async fn a_body_that_does_not_arrive_in_time_is_a_408() {
        let slow = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
        let err = read_body(slow, 100, 10, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::RequestTimeout(_)), "{err:?}");
    }

    #[actix_web::test]
    async fn a_body_over_the_limit_is_a_413() {
        let chunk = || Ok(Bytes::from(vec![b' '; 60]));
        let big = futures_util::stream::iter(vec![chunk(), chunk()]);
        let err = read_body(big, 100, 10, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(_)), "{err:?}");
    }
}
