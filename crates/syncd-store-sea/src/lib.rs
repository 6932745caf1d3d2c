//! The SeaORM implementation of the syncd storage contract ([`syncd_store::Store`]), on SQLite
//! and PostgreSQL from one code base. It depends on the model and the store contract only; it
//! must never depend on the engine, the server or any HTTP type.
//!
//! # Write transactions and change sequences
//! [`Store::begin_write`] takes the tenant's write lock before anything else and holds it until
//! commit or rollback, so a tenant's seqs are allocated and committed in the same order and no
//! reader can see seq N+1 while N is uncommitted:
//! - **PostgreSQL**: the first statement upserts the tenant's `tenant_clocks` row
//!   (`INSERT … ON CONFLICT DO UPDATE … RETURNING head`), which locks that row until the
//!   transaction ends. Writers of one tenant queue on the row (across instances too); other
//!   tenants are not blocked. [`Store::begin_write_and_load`] saves a round trip: one statement
//!   locks the existing row (`SELECT … FOR UPDATE`) and loads the records. That statement's
//!   snapshot may predate the commit it waited for, so it also reads the head as of its
//!   snapshot; a newer locked head means a writer committed in between, and the records are
//!   loaded again (every writer that changes a record moves the head). Inside one process, writers first queue on an async lock picked
//!   by tenant (64 stripes), so that a burst of writers for one tenant does not park every
//!   pooled connection on the row lock and starve the readers.
//! - **SQLite**: the transaction starts with `BEGIN IMMEDIATE` (the database write lock is taken
//!   at once, never upgraded later), after an in-process async mutex so that writers queue in
//!   the runtime instead of spinning on `SQLITE_BUSY`. WAL journal, `synchronous = NORMAL`
//!   (a committed write survives the process being killed; an OS crash or power loss may lose
//!   the last commits) and a busy timeout for writers in other processes.
//!
//! A transaction whose `load` or `write` failed can only be rolled back: `commit` refuses it.
//! Dropping a transaction rolls it back.
//!
//! # Reads
//! `changes` reads the tenant's committed head H first and then `seq > since AND seq <= H`,
//! so a page never includes a seq above a gap. The records table holds only the latest state
//! of each record, so a record changed many times since the cursor appears once.
//!
//! On SQLite, pages of records (`changes`, `list`, `pending`) come back as one JSON text built
//! by the query (see `rows::SQLITE_RECORDS_AS_JSON`): sqlx hands SQLite rows over one by one
//! from a worker thread, copying every column, and that cost a third of a 10 000-record pull.
//!
//! # Statements
//! Every statement goes through one helper that counts it ([`Store::statements`]); the one
//! exception is the background `ANALYZE` described below. A write transaction costs a fixed
//! number of statements whatever its size: `BEGIN`, the clock, one
//! `load` query for the records and one for the versions, then one multi-row statement per
//! table written and `COMMIT` (on PostgreSQL one statement writes records, versions, the audit
//! row and the head together). A statement is split only when it would bind more values than
//! the database allows (32 766 on SQLite, 65 535 on PostgreSQL), and, on a PostgreSQL connection
//! that may use TLS (any `sslmode` but `disable`/`allow`), when it would carry more than 12 KiB
//! of values: sqlx 0.9.0 sets no `TCP_NODELAY` and writes one TLS record per syscall, so a
//! longer message stalls about 40 ms on Nagle's algorithm (see `sql::PG_TLS_STATEMENT_BYTES`).
//! There a 100-record push costs about three write statements instead of one: a fixed cost per
//! 12 KiB, never per record. With `sslmode=disable` the count does not depend on the size.
//!
//! On SQLite every placeholder is an anonymous `?`: with numbered parameters sqlx resolves every
//! parameter's name, which SQLite answers by a linear scan (quadratic in the statement size).
//!
//! PostgreSQL plans with the table sizes and tenant frequencies of its last ANALYZE: on a fresh
//! or fast-growing database, or for a tenant the statistics do not know yet, the record lookups
//! of `load` read far more rows than they return until autovacuum catches up. The store runs an
//! `ANALYZE` of the planner's columns in the background each time its writes since start double
//! (1 000 to 64 000 records) and each time a tenant's writes since start double from 1 000 (see
//! `Inner::note_written`).
//!
//! # What is indexed
//! - `records`: primary key (tenant_id, entity_type, id) (`get`, `get_many`, `load`, upserts);
//!   unique (tenant_id, seq) (pull over every type); (tenant_id, entity_type, seq) (pull of some
//!   types, REST lists, pull-pending); (tenant_id, updated_at) (the legacy timestamp pull).
//! - `record_versions`: primary key (tenant_id, entity_type, id, version) (history, merge bases);
//!   (at) for the purge.
//! - `idempotency_keys`: primary key (tenant_id, client_id, key); (created_at) for the purge.
//! - `conflicts`: primary key (tenant_id, id); (tenant_id, status, created_at) for open conflicts.
//! - `push_audit`: primary key (tenant_id, id); (tenant_id, at).
//!
//! Field filters, pending conditions and search look into the JSON `data` of the records of one
//! tenant and type, walked in seq order through (tenant_id, entity_type, seq): they are not
//! indexed. Equality is JSON equality (SQLite `json_extract(data, path) = json_extract(value,
//! '$')`, PostgreSQL `data -> field = value::jsonb`; one difference: SQLite reads JSON `true` as
//! 1, PostgreSQL does not). A filter on JSON `null` matches records where the field is null or
//! absent. Search is a case-insensitive substring match (`LIKE … ESCAPE` on SQLite, which folds
//! ASCII letters only; `ILIKE` on PostgreSQL). Field names and values are always bound, never
//! spliced into SQL.
//!
//! # Values
//! Times are `BIGINT` Unix milliseconds. JSON is `jsonb` on PostgreSQL (which does not keep the
//! key order of objects) and text on SQLite. UUIDs are `uuid` on PostgreSQL and 16-byte blobs on
//! SQLite.
//!
//! # In-memory SQLite
//! `sqlite::memory:` (or `mode=memory`) works for demos and tests: the store keeps exactly one
//! connection open for its whole life (the database lives as long as it does), so reads wait
//! while a write transaction is open, and nothing is durable.

mod error;
mod rows;
mod sql;
mod stats;
mod tx;

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, ExecResult, QueryResult,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::Value;
use syncd_migrations::{Migrator, MigratorTrait};
use syncd_model::{
    ClientId, EntityTypeName, PendingCondition, Record, Seq, TenantId, Timestamp, Version,
};
use syncd_store::{
    ChangePage, ChangesQuery, ConflictEntry, IdempotencyEntry, ListPage, ListQuery, Loaded,
    PurgeStats, RecordKey, Result, Since, Store, StoreError, VersionEntry, WriteTx,
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::sql::{Dialect, Sql, contains_pattern, limit_plus_one};

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
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The store on a SQLite file or a PostgreSQL database. Cheap to clone: clones share the pool,
/// the statement counter and the SQLite write lock.
#[derive(Clone)]
pub struct SeaStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    db: DatabaseConnection,
    dialect: Dialect,
    statements: AtomicU64,
    /// Writers queue here, in the runtime, before they touch the database: one lock for all of
    /// SQLite (one writer at a time), tenant-hashed stripes on PostgreSQL so that writers queued
    /// behind a tenant's row lock do not each hold a pooled connection.
    write_locks: Vec<Arc<Mutex<()>>>,
    write_lock_timeout: Duration,
    /// The most bytes of values one statement carries (see `sql::PG_TLS_STATEMENT_BYTES`).
    statement_bytes: usize,
    /// Records written through this store since it was opened (PostgreSQL: see
    /// [`Inner::note_written`]).
    records_written: AtomicU64,
    /// PostgreSQL: records written per tenant since the store was opened.
    tenant_written: std::sync::Mutex<HashMap<TenantId, u64>>,
    /// PostgreSQL: a background ANALYZE runs / is wanted.
    analyzing: AtomicBool,
    analyze_requested: AtomicBool,
    /// A background WAL checkpoint is running (SQLite).
    checkpointing: AtomicBool,
}

impl fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaStore")
            .field("dialect", &self.inner.dialect)
            .field("statements", &self.inner.statements.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SeaStore {
    /// Opens a pool on `sqlite:…` or `postgres://…` (`postgresql://…`). Does not migrate.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<SeaStore> {
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            // The URL itself is not repeated: it may carry a password.
            return Err(StoreError::Internal(
                "unsupported database URL: expected sqlite:… or postgres://…".into(),
            ));
        };
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // sqlx logs every statement at INFO otherwise.
            .sqlx_logging(false)
            // A ping on every checkout costs a round trip; only connections idle long enough to
            // have been dropped by the server or a proxy are checked.
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
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
        let statement_bytes = match dialect {
            Dialect::Postgres if postgres_may_use_tls(url) => sql::PG_TLS_STATEMENT_BYTES,
            Dialect::Postgres | Dialect::Sqlite => usize::MAX,
        };
        let db = Database::connect(opts).await.map_err(error::db)?;
        let stripes = match dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => WRITE_LOCK_STRIPES,
        };
        let write_locks = (0..stripes).map(|_| Arc::new(Mutex::new(()))).collect();
        Ok(SeaStore {
            inner: Arc::new(Inner {
                db,
                dialect,
                statements: AtomicU64::new(0),
                write_locks,
                write_lock_timeout: options.acquire_timeout + options.sqlite_busy_timeout,
                records_written: AtomicU64::new(0),
                tenant_written: std::sync::Mutex::new(HashMap::new()),
                analyzing: AtomicBool::new(false),
                analyze_requested: AtomicBool::new(false),
                checkpointing: AtomicBool::new(false),
                statement_bytes,
            }),
        })
    }

    /// Applies the pending migrations. Safe to run from several instances at once: on
    /// PostgreSQL they take an advisory lock, on SQLite the database write lock.
    pub async fn migrate(&self) -> Result<()> {
        let db = &self.inner.db;
        let txn = match self.inner.dialect {
            Dialect::Postgres => {
                let txn = db.begin().await.map_err(error::db)?;
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

    fn sql(&self) -> Sql {
        Sql::new(self.inner.dialect)
    }
}

/// Appends `(VALUES (type, id), …) AS k JOIN records r ON …`: the records `keys` name, `t` being
/// the tenant's parameter. A VALUES list joined on the primary key: one index probe per key on
/// both databases, and no deep OR chains (SQLite limits expression depth).
pub(crate) fn push_records_of_keys(q: &mut Sql, t: usize, keys: &[&RecordKey]) {
    q.push("(VALUES ");
    for (i, key) in keys.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .bind(key.entity_type.as_str())
            .push(", ")
            .bind(key.id.as_uuid())
            .push(")");
    }
    q.push(") AS k JOIN records r ON r.tenant_id = ")
        .ph(t)
        .push(" AND r.entity_type = k.column1 AND r.id = k.column2");
}

/// What the background ANALYZE reads: every column the planner estimates with, not the JSON
/// data (the costly part of an ANALYZE of these tables, and no query filters on it by plan).
const ANALYZE_SQL: &str = "ANALYZE records (tenant_id, entity_type, id, version, seq, deleted, \
     sync_status, created_at, updated_at, edited_at), \
     record_versions (tenant_id, entity_type, id, version, seq, at)";

/// Doublings of the store's own writes (from 1 000 records) that trigger an ANALYZE: up to
/// 64 000, while the whole table is young.
const ANALYZE_STORE_DOUBLINGS: u32 = 7;

/// Whether going from `before` to `before + added` records crosses one of 1 000 × 2^k for
/// k < `doublings`.
fn crosses_doubling(before: u64, added: u64, doublings: u32) -> bool {
    let after = before.saturating_add(added);
    (0..doublings.min(54)).any(|k| {
        let at = 1_000u64 << k;
        before < at && at <= after
    })
}

/// In-process write lock stripes on PostgreSQL. Two tenants sharing a stripe only queue behind
/// each other inside this process; the tenant row lock is what serialises a tenant's writers
/// across instances.
const WRITE_LOCK_STRIPES: usize = 64;

/// Records written between two background WAL checkpoints on SQLite.
const SQLITE_CHECKPOINT_RECORDS: u64 = 5_000;

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

impl Inner {
    /// Every statement of the store goes through here (or [`Inner::execute`]).
    pub(crate) async fn query<C: ConnectionTrait>(
        &self,
        conn: &C,
        q: Sql,
    ) -> Result<Vec<QueryResult>> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.query_all_raw(q.build()).await.map_err(error::db)
    }

    pub(crate) async fn query_one<C: ConnectionTrait>(
        &self,
        conn: &C,
        q: Sql,
    ) -> Result<Option<QueryResult>> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.query_one_raw(q.build()).await.map_err(error::db)
    }

    pub(crate) async fn execute<C: ConnectionTrait>(&self, conn: &C, q: Sql) -> Result<u64> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.execute_raw(q.build())
            .await
            .map(|r: ExecResult| r.rows_affected())
            .map_err(error::db)
    }

    /// The in-process write lock of `tenant`.
    pub(crate) fn write_lock(&self, tenant: &TenantId) -> Option<Arc<Mutex<()>>> {
        let stripes = self.write_locks.len();
        let index = if stripes <= 1 {
            0
        } else {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            tenant.as_str().hash(&mut hasher);
            (hasher.finish() % stripes as u64) as usize
        };
        self.write_locks.get(index).cloned()
    }

    /// Notes committed record writes. PostgreSQL plans with the table sizes of its last ANALYZE
    /// (scaled by the table's current pages) and caches the generic plans of prepared statements
    /// until the next one. Never analysed, a table is planned as nearly empty and lookups by id
    /// go through the (tenant, type, seq) index: a scan of the whole type per key. Analysed small,
    /// the `load` join is planned as a hash join over a sequential scan, which the cached plan
    /// keeps doing while the table grows, until autovacuum analyses it again (a minute or more
    /// later). Statistics also decide how one tenant is planned: a tenant that is not in the
    /// last ANALYZE's most-common values (a new tenant, when the others all are) is estimated at
    /// one row, and `load` then reads every record of the tenant to find the pushed ones, a cost
    /// that grows with the tenant (measured: a third of the push throughput lost by a tenant's
    /// 20 000th record). So the store asks for an ANALYZE itself, in the background, each time
    /// its writes since start double from 1 000 to 64 000 records, and each time one tenant's
    /// writes since start double from 1 000: a few times per tenant and process. It reads the
    /// columns the planner estimates with, not the JSON data, which made a whole-table ANALYZE
    /// cost the database more CPU than the pushes around it. Runs never overlap.
    ///
    /// On SQLite the same counter drives WAL checkpoints: every ~5 000 records one `PASSIVE`
    /// checkpoint runs in the background on a pooled connection, so the copy of WAL pages into the
    /// database happens beside the writers instead of inside the commit that crosses the
    /// auto-checkpoint threshold (which stays as a safety net).
    pub(crate) fn note_written(self: &Arc<Self>, tenant: &TenantId, records: u64) {
        if records == 0 {
            return;
        }
        if self.dialect == Dialect::Sqlite {
            let before = self.records_written.fetch_add(records, Ordering::Relaxed);
            let crossed = before / SQLITE_CHECKPOINT_RECORDS
                != before.saturating_add(records) / SQLITE_CHECKPOINT_RECORDS;
            if crossed && !self.checkpointing.swap(true, Ordering::AcqRel) {
                let inner = Arc::clone(self);
                tokio::spawn(async move {
                    // Maintenance, not counted in `statements()`; best effort.
                    let _ = inner
                        .db
                        .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                        .await;
                    inner.checkpointing.store(false, Ordering::Release);
                });
            }
            return;
        }
        let before = self.records_written.fetch_add(records, Ordering::Relaxed);
        let store_crossed = crosses_doubling(before, records, ANALYZE_STORE_DOUBLINGS);
        let tenant_crossed = {
            let mut written = self
                .tenant_written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = written.entry(tenant.clone()).or_insert(0);
            let before = *count;
            *count = before.saturating_add(records);
            crosses_doubling(before, records, u32::MAX)
        };
        if store_crossed || tenant_crossed {
            self.request_analyze();
        }
    }

    /// Runs [`ANALYZE_SQL`] in the background, one at a time: a request made while one runs is
    /// served by one more run right after it.
    fn request_analyze(self: &Arc<Self>) {
        self.analyze_requested.store(true, Ordering::Release);
        if self.analyzing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                while inner.analyze_requested.swap(false, Ordering::AcqRel) {
                    // Not counted in `statements()`: it is maintenance, not work done for a
                    // caller, and would make the counts of the calls around it depend on timing.
                    // Best effort: autovacuum analyses the tables later anyway.
                    let _ = inner.db.execute_unprepared(ANALYZE_SQL).await;
                }
                inner.analyzing.store(false, Ordering::Release);
                // A request that arrived after the last check and found `analyzing` still set
                // is served here, unless another task has taken over.
                if !inner.analyze_requested.load(Ordering::Acquire)
                    || inner.analyzing.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            }
        });
    }

    /// Counts a statement sent by SeaORM itself (`BEGIN`, `COMMIT`, `ROLLBACK`).
    pub(crate) fn count_statement(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sql(&self) -> Sql {
        Sql::new(self.dialect)
    }

    async fn head_of<C: ConnectionTrait>(&self, conn: &C, tenant: &TenantId) -> Result<Seq> {
        let mut q = self.sql();
        q.push("SELECT head FROM tenant_clocks WHERE tenant_id = ")
            .bind(tenant.as_str());
        match self.query_one(conn, q).await? {
            Some(row) => Ok(Seq(row.try_get_by_index(0).map_err(error::db)?)),
            None => Ok(Seq::ZERO),
        }
    }

    /// `keys` in key order without repeats, and the ranges of them one statement each carries.
    pub(crate) fn key_chunks<'k>(
        &self,
        keys: &'k [RecordKey],
    ) -> (Vec<&'k RecordKey>, Vec<std::ops::Range<usize>>) {
        let mut keys: Vec<&RecordKey> = keys.iter().collect();
        keys.sort_unstable();
        keys.dedup();
        let sizes = keys.iter().map(|k| 24 + k.entity_type.as_str().len());
        let ranges = sql::chunks(self.dialect, self.statement_bytes, 0, 3, sizes);
        (keys, ranges)
    }

    /// Current states of `keys` in one statement per bind-limit chunk.
    pub(crate) async fn records_by_keys<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
        keys: &[RecordKey],
    ) -> Result<Vec<Record>> {
        let (keys, ranges) = self.key_chunks(keys);
        let mut out = Vec::with_capacity(keys.len());
        for range in ranges {
            let mut q = self.sql();
            let t = q.param(tenant.as_str());
            q.push("SELECT ")
                .push(&self.dialect.record_columns("r"))
                .push(" FROM ");
            push_records_of_keys(&mut q, t, &keys[range]);
            out.extend(rows::records(&self.query(conn, q).await?)?);
        }
        Ok(out)
    }

    /// Runs a query of [`Dialect::record_columns`] (ordered by seq) and reads the records.
    pub(crate) async fn select_records<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut q: Sql,
    ) -> Result<Vec<Record>> {
        match self.dialect {
            Dialect::Sqlite => {
                let plain = q.clone();
                let (prefix, suffix) = rows::SQLITE_RECORDS_AS_JSON;
                q.wrap(prefix, suffix);
                match self.query(conn, q).await {
                    Ok(rows) => rows::records_from_json(&rows),
                    Err(StoreError::Internal(_)) => {
                        // The one JSON text is capped at SQLite's maximum string length (1 GB
                        // by default): a page that large is read row by row instead.
                        rows::records(&self.query(conn, plain).await?)
                    }
                    Err(e) => Err(e),
                }
            }
            Dialect::Postgres => rows::records(&self.query(conn, q).await?),
        }
    }

    /// `data ->`-style JSON equality of a field with a JSON value, appended to `q`.
    fn push_field_equals(&self, q: &mut Sql, field: &str, value: &Value) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => {
                let path = sqlite_path(field)?;
                let p = q.param(path);
                if value.is_null() {
                    q.push("json_extract(data, ").ph(p).push(") IS NULL");
                } else {
                    q.push("json_extract(data, ")
                        .ph(p)
                        .push(") = json_extract(")
                        .bind(value.to_string())
                        .push(", '$')");
                }
            }
            Dialect::Postgres => {
                let p = q.param(field);
                if value.is_null() {
                    q.push("(data -> ")
                        .ph(p)
                        .push(" IS NULL OR data -> ")
                        .ph(p)
                        .push(" = 'null'::jsonb)");
                } else {
                    q.push("data -> ")
                        .ph(p)
                        .push(" = ")
                        .bind_json(value.to_string());
                }
            }
        }
        Ok(())
    }

    /// A case-insensitive substring match of `text` in any of `fields`, appended to `q`.
    fn push_search(&self, q: &mut Sql, fields: &[String], text: &str) -> Result<()> {
        if fields.is_empty() {
            // Nothing is searchable, so nothing matches.
            q.push("1 = 0");
            return Ok(());
        }
        let pattern = q.param(contains_pattern(text));
        q.push("(");
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            match self.dialect {
                Dialect::Sqlite => {
                    q.push("json_extract(data, ")
                        .bind(sqlite_path(field)?)
                        .push(") LIKE ")
                        .ph(pattern)
                        .push(" ESCAPE '\\'");
                }
                Dialect::Postgres => {
                    q.push("(data ->> ")
                        .bind(field.as_str())
                        .push(") ILIKE ")
                        .ph(pattern)
                        .push(" ESCAPE E'\\\\'");
                }
            }
        }
        q.push(")");
        Ok(())
    }
}

/// The SQLite JSON path of a top-level field: `$."name"`. SQLite's path syntax has no escape
/// for a double quote inside a quoted label, so such names are refused (declared field names
/// are identifiers and never contain one).
fn sqlite_path(field: &str) -> Result<String> {
    if field.contains('"') {
        return Err(StoreError::Internal(format!(
            "field name {field:?} cannot be addressed in a JSON path"
        )));
    }
    Ok(format!("$.\"{field}\""))
}

#[async_trait]
impl Store for SeaStore {
    async fn begin_write(&self, tenant: &TenantId) -> Result<Box<dyn WriteTx>> {
        Ok(Box::new(
            tx::SeaWriteTx::begin(self.inner.clone(), tenant).await?,
        ))
    }

    async fn begin_write_and_load(
        &self,
        tenant: &TenantId,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<(Box<dyn WriteTx>, Loaded)> {
        let (tx, loaded) =
            tx::SeaWriteTx::begin_and_load(self.inner.clone(), tenant, keys, versions).await?;
        Ok((Box::new(tx), loaded))
    }

    async fn changes(&self, tenant: &TenantId, query: &ChangesQuery) -> Result<ChangePage> {
        let inner = &*self.inner;
        let db = &inner.db;
        // The committed head first: every seq up to it is committed, so reading no further
        // than it can never step over a seq that commits later.
        let head = inner.head_of(db, tenant).await?;
        let floor = match query.since {
            Since::Seq(s) => {
                if s >= head {
                    return Ok(ChangePage {
                        records: Vec::new(),
                        has_more: false,
                        next: s.max(head),
                    });
                }
                s
            }
            Since::UpdatedAfter(_) => Seq::ZERO,
        };
        let mut q = self.sql();
        let tenant_param = q.param(tenant.as_str());
        q.push("SELECT ")
            .push(&inner.dialect.record_columns(""))
            .push(" FROM records WHERE tenant_id = ")
            .ph(tenant_param);
        match query.since {
            Since::Seq(s) => {
                q.push(" AND seq > ").bind(s.0);
            }
            Since::UpdatedAfter(t) => {
                // Walking the seq index from the first match, found through the updated_at
                // index, instead of from the tenant's first record.
                let after = q.param(t.as_millis());
                q.push(" AND updated_at > ")
                    .ph(after)
                    .push(" AND seq >= (SELECT MIN(seq) FROM records WHERE tenant_id = ")
                    .ph(tenant_param)
                    .push(" AND updated_at > ")
                    .ph(after)
                    .push(")");
            }
        }
        q.push(" AND seq <= ").bind(head.0);
        push_type_filter(&mut q, &query.entity_types);
        q.push(" ORDER BY seq LIMIT ")
            .bind(limit_plus_one(query.limit));
        let mut records = inner.select_records(db, q).await?;
        let has_more = records.len() > query.limit;
        records.truncate(query.limit);
        let next = if has_more {
            records.last().map_or(floor, |r| r.seq)
        } else {
            head.max(floor)
        };
        Ok(ChangePage {
            records,
            has_more,
            next,
        })
    }

    async fn head(&self, tenant: &TenantId) -> Result<Seq> {
        self.inner.head_of(&self.inner.db, tenant).await
    }

    async fn get(&self, tenant: &TenantId, key: &RecordKey) -> Result<Option<Record>> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&inner.dialect.record_columns(""))
            .push(" FROM records WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(key.entity_type.as_str())
            .push(" AND id = ")
            .bind(key.id.as_uuid());
        match inner.query_one(&inner.db, q).await? {
            Some(row) => rows::record(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn get_many(&self, tenant: &TenantId, keys: &[RecordKey]) -> Result<Vec<Record>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .records_by_keys(&self.inner.db, tenant, keys)
            .await
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&inner.dialect.record_columns(""))
            .push(" FROM records WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(query.entity_type.as_str())
            .push(" AND seq > ")
            .bind(query.after.0);
        if !query.include_deleted {
            q.push(" AND NOT deleted");
        }
        for (field, value) in &query.filters {
            q.push(" AND ");
            inner.push_field_equals(&mut q, field, value)?;
        }
        if let Some((fields, text)) = &query.search {
            q.push(" AND ");
            inner.push_search(&mut q, fields, text)?;
        }
        q.push(" ORDER BY seq LIMIT ")
            .bind(limit_plus_one(query.limit));
        let mut records = inner.select_records(&inner.db, q).await?;
        let has_more = records.len() > query.limit;
        records.truncate(query.limit);
        let next = records.last().map_or(query.after, |r| r.seq);
        Ok(ListPage {
            records,
            has_more,
            next,
        })
    }

    async fn pending(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        conditions: &[PendingCondition],
        limit: usize,
    ) -> Result<Vec<Record>> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&inner.dialect.record_columns(""))
            .push(" FROM records WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(entity_type.as_str())
            .push(" AND NOT deleted");
        for condition in conditions {
            q.push(" AND ");
            match condition {
                PendingCondition::SyncStatus(status) => {
                    q.push("sync_status = ").bind(status.as_str());
                }
                PendingCondition::FieldEquals { field, value } => {
                    inner.push_field_equals(&mut q, field, value)?;
                }
            }
        }
        q.push(" ORDER BY seq LIMIT ").bind(limit_plus_one(limit));
        inner.select_records(&inner.db, q).await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        key: &RecordKey,
        since: Timestamp,
    ) -> Result<Vec<VersionEntry>> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&rows::select_list(
                inner.dialect,
                &rows::VERSION_COLUMNS,
                &["data", "changed_fields"],
            ))
            .push(" FROM record_versions WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(key.entity_type.as_str())
            .push(" AND id = ")
            .bind(key.id.as_uuid())
            .push(" AND at >= ")
            .bind(since.as_millis())
            .push(" ORDER BY version");
        inner
            .query(&inner.db, q)
            .await?
            .iter()
            .map(rows::version_entry)
            .collect()
    }

    async fn open_conflicts(
        &self,
        tenant: &TenantId,
        entity_type: Option<&EntityTypeName>,
        limit: usize,
    ) -> Result<Vec<ConflictEntry>> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&conflict_columns(inner.dialect))
            .push(" FROM conflicts WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND status = 'open'");
        if let Some(ty) = entity_type {
            q.push(" AND entity_type = ").bind(ty.as_str());
        }
        q.push(" ORDER BY created_at, id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        inner
            .query(&inner.db, q)
            .await?
            .iter()
            .map(rows::conflict)
            .collect()
    }

    async fn conflict(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ConflictEntry>> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&conflict_columns(inner.dialect))
            .push(" FROM conflicts WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND id = ")
            .bind(id);
        match inner.query_one(&inner.db, q).await? {
            Some(row) => rows::conflict(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn idempotency(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        self.inner
            .idempotency_entry(&self.inner.db, tenant, client, key)
            .await
    }

    async fn purge(
        &self,
        idempotency_before: Timestamp,
        versions_before: Timestamp,
    ) -> Result<PurgeStats> {
        let inner = &*self.inner;
        let mut q = self.sql();
        q.push("DELETE FROM idempotency_keys WHERE created_at < ")
            .bind(idempotency_before.as_millis());
        let idempotency_entries = inner.execute(&inner.db, q).await?;
        let mut q = self.sql();
        q.push("DELETE FROM record_versions WHERE at < ")
            .bind(versions_before.as_millis())
            .push(
                " AND NOT EXISTS (SELECT 1 FROM records r \
                 WHERE r.tenant_id = record_versions.tenant_id \
                 AND r.entity_type = record_versions.entity_type \
                 AND r.id = record_versions.id \
                 AND r.version = record_versions.version)",
            );
        let versions = inner.execute(&inner.db, q).await?;
        Ok(PurgeStats {
            idempotency_entries,
            versions,
        })
    }

    async fn ping(&self) -> Result<()> {
        let inner = &*self.inner;
        // Reachable, and migrated: the migration table exists and lists every migration.
        let mut q = self.sql();
        q.push("SELECT COUNT(*) FROM seaql_migrations");
        let applied: i64 = match inner.query_one(&inner.db, q).await {
            Ok(Some(row)) => row.try_get_by_index(0).map_err(error::db)?,
            Ok(None) => 0,
            Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e)),
            Err(e) => {
                return Err(StoreError::Internal(format!(
                    "the database is not migrated: {e}"
                )));
            }
        };
        let expected = Migrator::migrations().len();
        if usize::try_from(applied).unwrap_or(0) < expected {
            return Err(StoreError::Internal(format!(
                "the database is not migrated: {applied} of {expected} migrations applied"
            )));
        }
        Ok(())
    }

    fn statements(&self) -> u64 {
        self.inner.statements.load(Ordering::Relaxed)
    }
}

impl Inner {
    pub(crate) async fn idempotency_entry<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        let mut q = self.sql();
        q.push("SELECT ")
            .push(&rows::select_list(
                self.dialect,
                &rows::IDEMPOTENCY_COLUMNS,
                &["response"],
            ))
            .push(" FROM idempotency_keys WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND client_id = ")
            .bind(client.as_str())
            .push(" AND key = ")
            .bind(key);
        match self.query_one(conn, q).await? {
            Some(row) => rows::idempotency(&row).map(Some),
            None => Ok(None),
        }
    }
}

fn conflict_columns(dialect: Dialect) -> String {
    rows::select_list(
        dialect,
        &rows::CONFLICT_COLUMNS,
        &["server_data", "client_data", "fields"],
    )
}

fn push_type_filter(q: &mut Sql, types: &[EntityTypeName]) {
    match types {
        [] => {}
        [one] => {
            q.push(" AND entity_type = ").bind(one.as_str());
        }
        many => {
            q.push(" AND entity_type IN ");
            q.bind_list(many.iter().map(EntityTypeName::as_str));
        }
    }
}
