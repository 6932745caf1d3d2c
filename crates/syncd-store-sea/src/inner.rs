//! What every clone of the store shares: the pool, the dialect, the statement counter, the
//! in-process write locks and the counters of background upkeep. Every statement the store
//! sends for a caller goes through [`Inner::query`], [`Inner::query_one`] or
//! [`Inner::execute`], which count it.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, ExecResult, QueryResult};
use syncd_model::TenantId;
use syncd_store::Result;
use tokio::sync::Mutex;

use crate::error;
use crate::sql::{Dialect, Sql};

pub(crate) struct Inner {
    pub(crate) db: DatabaseConnection,
    pub(crate) dialect: Dialect,
    pub(crate) statements: AtomicU64,
    /// Writers queue here, in the runtime, before they touch the database: one lock for all of
    /// SQLite (one writer at a time), tenant-hashed stripes on PostgreSQL so that writers queued
    /// behind a tenant's row lock do not each hold a pooled connection.
    pub(crate) write_locks: Vec<Arc<Mutex<()>>>,
    pub(crate) write_lock_timeout: Duration,
    /// How long a request may wait for the database (see `deadline`).
    pub(crate) bounds: crate::deadline::Bounds,
    /// The most bytes of values one statement carries (see `sql::PG_TLS_STATEMENT_BYTES`).
    pub(crate) statement_bytes: usize,
    /// Records written through this store since it was opened (see `housekeeping`).
    pub(crate) records_written: AtomicU64,
    /// PostgreSQL: records written per tenant since the store was opened.
    pub(crate) tenant_written: std::sync::Mutex<HashMap<TenantId, u64>>,
    /// PostgreSQL: a background ANALYZE runs / is wanted.
    pub(crate) analyzing: AtomicBool,
    pub(crate) analyze_requested: AtomicBool,
    /// A background WAL checkpoint is running (SQLite).
    pub(crate) checkpointing: AtomicBool,
}

impl Inner {
    pub(crate) fn sql(&self) -> Sql {
        Sql::new(self.dialect)
    }

    pub(crate) async fn query<C: ConnectionTrait>(
        &self,
        conn: &C,
        q: Sql,
    ) -> Result<Vec<QueryResult>> {
        let statement = q.build()?;
        self.count_statement();
        conn.query_all_raw(statement).await.map_err(error::db)
    }

    pub(crate) async fn query_one<C: ConnectionTrait>(
        &self,
        conn: &C,
        q: Sql,
    ) -> Result<Option<QueryResult>> {
        let statement = q.build()?;
        self.count_statement();
        conn.query_one_raw(statement).await.map_err(error::db)
    }

    pub(crate) async fn execute<C: ConnectionTrait>(&self, conn: &C, q: Sql) -> Result<u64> {
        let statement = q.build()?;
        self.count_statement();
        conn.execute_raw(statement)
            .await
            .map(|r: ExecResult| r.rows_affected())
            .map_err(error::db)
    }

    /// Counts a statement sent by SeaORM itself (`BEGIN`, `COMMIT`, `ROLLBACK`).
    pub(crate) fn count_statement(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
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
}
