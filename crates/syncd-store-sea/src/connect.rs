//! Opening the store: the pool and its options per database, migrations, readiness.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use syncd_migrations::{Migrator, MigratorTrait};
use syncd_store::{Result, StoreError};
use tokio::sync::Mutex;

use crate::error;
use crate::inner::Inner;
use crate::sql::{self, Dialect};

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Pool size (forced to 1 for an in-memory SQLite database).
    pub max_connections: u32,
    /// How long a statement may wait for a pooled connection before the store answers
    /// `Unavailable`. A writer waits at most this plus `sqlite_busy_timeout` for its turn at the
    /// in-process write lock.
    pub acquire_timeout: Duration,
    /// How long SQLite retries when another process holds the database lock.
    pub sqlite_busy_timeout: Duration,
    /// How long a request waits for each database step once it has a connection (a read,
    /// BEGIN, a write, COMMIT) before the store answers `Unavailable`; also PostgreSQL's
    /// `lock_timeout`. Background maintenance (purges, migrations) is not bounded.
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            sqlite_busy_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The store on a SQLite file or a PostgreSQL database. Cheap to clone: clones share the pool,
/// the statement counter and the SQLite write lock.
#[derive(Clone)]
pub struct SeaStore {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaStore")
            .field("dialect", &self.inner.dialect)
            .field("statements", &self.statements())
            .finish_non_exhaustive()
    }
}

/// In-process write lock stripes on PostgreSQL. Two tenants sharing a stripe only queue behind
/// each other inside this process; the tenant row lock is what serialises a tenant's writers
/// across instances.
const WRITE_LOCK_STRIPES: usize = 64;

impl SeaStore {
    /// Opens a pool on `sqlite:…` or `postgres://…` (`postgresql://…`). Does not migrate.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<SeaStore> {
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            // The URL itself is not repeated: it may carry a password.
            return Err(StoreError::internal(
                "unsupported database URL: expected sqlite:… or postgres://…",
            ));
        };
        let db = Database::connect(pool_options(url, dialect, &options))
            .await
            .map_err(error::db)?;
        let statement_bytes = match dialect {
            Dialect::Postgres if postgres_may_use_tls(url) => sql::PG_TLS_STATEMENT_BYTES,
            Dialect::Postgres | Dialect::Sqlite => usize::MAX,
        };
        let stripes = match dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => WRITE_LOCK_STRIPES,
        };
        Ok(SeaStore {
            inner: Arc::new(Inner {
                db,
                dialect,
                statements: AtomicU64::new(0),
                write_locks: (0..stripes).map(|_| Arc::new(Mutex::new(()))).collect(),
                write_lock_timeout: options.acquire_timeout + options.sqlite_busy_timeout,
                bounds: crate::deadline::Bounds {
                    acquire: options.acquire_timeout,
                    statement: options.statement_timeout,
                },
                records_written: AtomicU64::new(0),
                tenant_written: std::sync::Mutex::new(HashMap::new()),
                analyzing: AtomicBool::new(false),
                analyze_requested: AtomicBool::new(false),
                checkpointing: AtomicBool::new(false),
                statement_bytes,
            }),
        })
    }

    /// [`SeaStore::connect`] with the default options, then [`SeaStore::migrate`]: a store ready
    /// for an engine, in one call.
    pub async fn open(url: &str) -> Result<SeaStore> {
        let store = Self::connect(url, StoreOptions::default()).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the pending migrations. Safe to run from several instances at once: on
    /// PostgreSQL they take an advisory lock, on SQLite the database write lock.
    pub async fn migrate(&self) -> Result<()> {
        let db = &self.inner.db;
        let txn = match self.inner.dialect {
            Dialect::Postgres => {
                let txn = db.begin().await.map_err(error::db)?;
                // Another instance may hold the migration lock for as long as its migrations
                // take: no lock timeout here.
                txn.execute_unprepared("SET LOCAL lock_timeout = 0")
                    .await
                    .map_err(error::db)?;
                // An arbitrary constant shared by every syncd instance ("syncd" in ASCII).
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(495958516580)")
                    .await
                    .map_err(error::db)?;
                txn
            }
            Dialect::Sqlite => db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .map_err(error::db)?,
        };
        Migrator::up(&txn, None).await.map_err(error::db)?;
        txn.commit().await.map_err(error::db)
    }

    /// Whether the store is on PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        self.inner.dialect == Dialect::Postgres
    }

    /// The SeaORM connection (pool) under the store.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The PostgreSQL pool, e.g. for LISTEN/NOTIFY; `None` on SQLite.
    pub fn pg_pool(&self) -> Option<sea_orm::sqlx::PgPool> {
        match self.inner.dialect {
            Dialect::Postgres => Some(self.inner.db.get_postgres_connection_pool().clone()),
            Dialect::Sqlite => None,
        }
    }

    /// Closes the pool: later calls fail with `Unavailable`.
    pub async fn close(&self) -> Result<()> {
        self.inner.db.close_by_ref().await.map_err(error::db)
    }

    /// How many SQL statements this store has sent since it was opened; lets tests check that
    /// a push costs a fixed number of round trips, not one per record. Background maintenance
    /// (ANALYZE, WAL checkpoints) is not counted.
    pub fn statements(&self) -> u64 {
        self.inner.statements.load(Ordering::Relaxed)
    }

    /// Fails when the database is unreachable or not migrated.
    pub(crate) async fn ping(&self) -> Result<()> {
        let inner = &*self.inner;
        // Reachable, and migrated: the migration table exists and lists every migration.
        let mut q = inner.sql();
        q.push("SELECT COUNT(*) FROM seaql_migrations");
        let applied: i64 = match inner.query_one(&inner.db, q).await {
            Ok(Some(row)) => row.try_get_by_index(0).map_err(error::db)?,
            Ok(None) => 0,
            Err(e @ StoreError::Unavailable(_)) => return Err(e),
            Err(e) => {
                return Err(StoreError::Internal(Box::new(NotMigrated(Some(Box::new(
                    e,
                ))))));
            }
        };
        let expected = Migrator::migrations().len();
        if usize::try_from(applied).unwrap_or(0) < expected {
            return Err(StoreError::internal(format!(
                "the database is not migrated: {applied} of {expected} migrations applied"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database is not migrated")]
struct NotMigrated(#[source] Option<syncd_store::Cause>);

/// The pool's options for `dialect`.
fn pool_options(url: &str, dialect: Dialect, options: &StoreOptions) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        // sqlx logs every statement at INFO otherwise.
        .sqlx_logging(false)
        // A ping on every checkout costs a round trip; only connections idle long enough to
        // have been dropped by the server or a proxy are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if dialect == Dialect::Postgres {
        // A step waiting for another instance's row lock (a tenant's clock row) gives up in the
        // database when the client stops waiting, so its connection is usable again at once.
        let lock_timeout = options.statement_timeout.as_millis().max(1).to_string();
        opts.map_sqlx_postgres_opts(move |o| o.options([("lock_timeout", lock_timeout.clone())]));
    }
    if dialect == Dialect::Sqlite {
        let busy = options.sqlite_busy_timeout;
        opts.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy)
                // 64 MiB of page cache per connection instead of 2 MiB: the indexes of a
                // busy tenant stay in memory.
                .pragma("cache_size", "-65536")
                // Checkpoint every ~40 MiB of WAL instead of ~4 MiB: hot index pages are
                // copied into the database once per checkpoint rather than many times.
                .pragma("wal_autocheckpoint", "10000")
        });
        if is_sqlite_memory(url) {
            // An in-memory database disappears with its last connection.
            opts.max_connections(1)
                .min_connections(1)
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>);
        }
    }
    opts
}

/// Whether a PostgreSQL connection may be encrypted: unless `sslmode` (in the URL, else in
/// `PGSSLMODE`, as sqlx reads it) is `disable` or `allow`, sqlx uses TLS when the server offers it.
fn postgres_may_use_tls(url: &str) -> bool {
    let from_url = url.split_once('?').and_then(|(_, query)| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| key.eq_ignore_ascii_case("sslmode") || *key == "ssl-mode")
            .map(|(_, value)| value.to_ascii_lowercase())
    });
    let mode = from_url.or_else(|| {
        std::env::var("PGSSLMODE")
            .ok()
            .map(|value| value.to_ascii_lowercase())
    });
    !matches!(mode.as_deref(), Some("disable" | "allow"))
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}
