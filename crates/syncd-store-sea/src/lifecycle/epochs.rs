//! Sync epochs and retention horizons, kept in `tenant_clocks` beside the head.
//!
//! A new epoch is `max(old + 1, now in Unix seconds)`, not just `old + 1`: after a database is
//! restored from a backup its epochs are those of the backup, and a plain counter would hand
//! out again an epoch that cursors of the lost timeline carry. Seconds since 1970 only grow, so
//! an epoch started after the restore differs from every epoch started before it.
//!
//! The row of the empty tenant id (never a valid tenant id) is the floor `reset-sync --all`
//! sets: a tenant without a clock row starts at it (see `tx::begin::lock_clock`).

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use syncd_model::{Epoch, Seq, TenantId, Timestamp};
use syncd_store::{ResetScope, Result, StoreError, SyncState};

use crate::error;
use crate::inner::Inner;
use crate::sql::Dialect;

/// The reserved `tenant_clocks` row holding the epoch floor of tenants created later.
pub(crate) const FLOOR_TENANT: &str = "";

/// An epoch read from a BIGINT column.
pub(crate) fn epoch_of(value: i64) -> Result<Epoch> {
    u32::try_from(value)
        .map(Epoch)
        .map_err(|_| StoreError::internal(format!("a stored epoch is out of range: {value}")))
}

/// The epoch after `old`, started at `now`.
pub(super) fn next_epoch(old: Epoch, now: Timestamp) -> Result<i64> {
    let secs = now.as_millis().div_euclid(1000);
    let next = i64::from(old.0).saturating_add(1).max(secs);
    if next > i64::from(u32::MAX) {
        return Err(StoreError::internal("no sync epoch is left to start"));
    }
    Ok(next)
}

impl Inner {
    /// Head, epoch and horizon of a tenant; a tenant without a clock row is at head 0 of the
    /// floor epoch.
    pub(crate) async fn sync_state<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
    ) -> Result<SyncState> {
        let mut q = self.sql();
        q.push("SELECT tenant_id, head, epoch, horizon FROM tenant_clocks WHERE tenant_id IN (")
            .bind(tenant.as_str())
            .push(", ")
            .bind(FLOOR_TENANT)
            .push(")");
        let mut state = SyncState::default();
        for row in self.query(conn, q).await? {
            let id: String = row.try_get_by_index(0).map_err(error::db)?;
            let epoch = epoch_of(row.try_get_by_index(2).map_err(error::db)?)?;
            if id == FLOOR_TENANT {
                state.epoch = epoch;
                continue;
            }
            return Ok(SyncState {
                head: Seq(row.try_get_by_index(1).map_err(error::db)?),
                epoch,
                horizon: Seq(row.try_get_by_index(3).map_err(error::db)?),
            });
        }
        Ok(state)
    }

    /// Starts a new epoch for the tenants of `scope`, in one transaction.
    pub(crate) async fn reset_sync(
        &self,
        scope: &ResetScope,
        now: Timestamp,
    ) -> Result<Vec<(TenantId, Epoch)>> {
        let txn = self.begin_immediate().await?;
        let tenants: Vec<String> = match scope {
            ResetScope::Tenant(tenant) => vec![tenant.as_str().to_owned()],
            ResetScope::All => {
                let mut q = self.sql();
                q.push("SELECT tenant_id FROM tenant_clocks");
                let mut ids = self
                    .query(&txn, q)
                    .await?
                    .iter()
                    .map(|row| row.try_get_by_index::<String>(0).map_err(error::db))
                    .collect::<Result<Vec<_>>>()?;
                if !ids.iter().any(|id| id == FLOOR_TENANT) {
                    ids.push(FLOOR_TENANT.to_owned());
                }
                ids
            }
        };
        let mut out = Vec::with_capacity(tenants.len());
        for id in tenants {
            let state = match TenantId::parse(id.as_str()) {
                Ok(tenant) => self.sync_state(&txn, &tenant).await?,
                Err(_) => self.floor_state(&txn).await?,
            };
            let next = next_epoch(state.epoch, now)?;
            let mut q = self.sql();
            q.push("INSERT INTO tenant_clocks (tenant_id, head, epoch) VALUES (")
                .bind(id.as_str())
                .push(", 0, ")
                .bind(next)
                .push(") ON CONFLICT (tenant_id) DO UPDATE SET epoch = excluded.epoch");
            self.execute(&txn, q).await?;
            if let Ok(tenant) = TenantId::parse(id) {
                out.push((tenant, epoch_of(next)?));
            }
        }
        self.count_statement();
        txn.commit().await.map_err(error::db)?;
        Ok(out)
    }

    /// A transaction that takes SQLite's write lock at once (a deferred one could fail with
    /// `SQLITE_BUSY` when it upgrades from reading to writing).
    pub(crate) async fn begin_immediate(&self) -> Result<DatabaseTransaction> {
        self.count_statement();
        let options = TransactionOptions {
            sqlite_transaction_mode: match self.dialect {
                Dialect::Sqlite => Some(SqliteTransactionMode::Immediate),
                Dialect::Postgres => None,
            },
            ..TransactionOptions::default()
        };
        self.db.begin_with_options(options).await.map_err(error::db)
    }

    /// The floor row's epoch (0 when there is none).
    async fn floor_state<C: ConnectionTrait>(&self, conn: &C) -> Result<SyncState> {
        let mut q = self.sql();
        q.push("SELECT epoch FROM tenant_clocks WHERE tenant_id = ")
            .bind(FLOOR_TENANT);
        let epoch = match self.query_one(conn, q).await? {
            Some(row) => epoch_of(row.try_get_by_index(0).map_err(error::db)?)?,
            None => Epoch::default(),
        };
        Ok(SyncState {
            epoch,
            ..SyncState::default()
        })
    }
}
