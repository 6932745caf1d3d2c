//! Starting a write transaction: the in-process queue, `BEGIN`, and the tenant's clock row,
//! which is the tenant's write lock on PostgreSQL.

use std::sync::Arc;

use sea_orm::{DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};
use syncd_model::{Epoch, Record, Seq, TenantId, Version};
use syncd_store::{Loaded, RecordKey, Result, StoreError, WriteTx};
use tokio::sync::OwnedMutexGuard;

use super::SeaWriteTx;
use crate::inner::Inner;
use crate::lifecycle::{FLOOR_TENANT, epoch_of};
use crate::reads::push_records_of_keys;
use crate::sql::Dialect;
use crate::{columns, error};

impl SeaWriteTx {
    pub(crate) async fn begin(inner: Arc<Inner>, tenant: &TenantId) -> Result<Self> {
        let (write_lock, txn) = open(&inner, tenant).await?;
        let clock = lock_clock(&inner, &txn, tenant).await?;
        Ok(Self::started(inner, tenant, write_lock, txn, clock))
    }

    /// `begin` and `load` in one round trip fewer (PostgreSQL): the tenant's clock row is
    /// locked by the statement that loads the records. That statement reads with a snapshot
    /// taken when it started, before it may have waited for the lock (another instance writing
    /// the same tenant): so it also reads the head as of that snapshot, and when the locked head
    /// is newer, a writer committed in between and the records are loaded again. Every writer
    /// that changes a record moves the head, so equal heads mean the records are current.
    pub(crate) async fn begin_and_load(
        inner: Arc<Inner>,
        tenant: &TenantId,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<(Self, Loaded)> {
        let (write_lock, txn) = open(&inner, tenant).await?;
        let Some((locked, seen, records)) = lock_and_load(&inner, &txn, tenant, keys).await? else {
            // A new tenant (no clock row yet), or more keys than one statement carries.
            let clock = lock_clock(&inner, &txn, tenant).await?;
            let mut tx = Self::started(inner, tenant, write_lock, txn, clock);
            let loaded = tx.load(keys, versions).await?;
            return Ok((tx, loaded));
        };
        let records = if locked.0 == seen {
            records
        } else {
            inner.records_by_keys(&txn, tenant, keys).await?
        };
        let mut tx = Self::started(inner, tenant, write_lock, txn, locked);
        let versions = tx.load_versions(versions).await;
        let versions = tx.track(versions)?;
        Ok((tx, Loaded { records, versions }))
    }
}

/// Queues for the in-process write lock, then begins the database transaction.
async fn open(
    inner: &Inner,
    tenant: &TenantId,
) -> Result<(Option<OwnedMutexGuard<()>>, DatabaseTransaction)> {
    let write_lock = match inner.write_lock(tenant) {
        Some(lock) => {
            let waited = tokio::time::timeout(inner.write_lock_timeout, lock.lock_owned()).await;
            match waited {
                Ok(guard) => Some(guard),
                Err(_) => {
                    return Err(StoreError::unavailable(
                        "timed out waiting for the tenant's write lock",
                    ));
                }
            }
        }
        None => None,
    };
    inner.count_statement();
    let txn = if inner.dialect == Dialect::Sqlite {
        // IMMEDIATE: take the database write lock now rather than upgrade a read lock
        // later, which could fail with SQLITE_BUSY midway through the transaction.
        inner
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
    } else {
        inner.db.begin().await
    }
    .map_err(error::db)?;
    Ok((write_lock, txn))
}

/// Locks the tenant's clock row (creating it for a new tenant) and returns the head and epoch.
///
/// The clock row is the tenant's lock on PostgreSQL: the upsert locks it until the transaction
/// ends, and a writer that waited for it reads the head its predecessor committed. A new tenant
/// starts at the epoch floor of the last `reset-sync --all` (see `lifecycle::epochs`).
async fn lock_clock(
    inner: &Inner,
    txn: &DatabaseTransaction,
    tenant: &TenantId,
) -> Result<(Seq, Epoch)> {
    let mut q = inner.sql();
    q.push("INSERT INTO tenant_clocks (tenant_id, head, epoch) VALUES (")
        .bind(tenant.as_str())
        .push(", 0, COALESCE((SELECT epoch FROM tenant_clocks WHERE tenant_id = ")
        .bind(FLOOR_TENANT)
        .push(
            "), 0)) ON CONFLICT (tenant_id) DO UPDATE SET head = tenant_clocks.head \
             RETURNING head, epoch",
        );
    let row = inner
        .query_one(txn, q)
        .await?
        .ok_or_else(|| StoreError::internal("the tenant clock returned no row"))?;
    Ok((
        Seq(row.try_get_by_index(0).map_err(error::db)?),
        epoch_of(row.try_get_by_index(1).map_err(error::db)?)?,
    ))
}

/// PostgreSQL: locks the tenant's existing clock row and loads `keys` in one statement. Returns
/// the locked head and epoch, the head as the statement's snapshot saw it, and the records as
/// that snapshot saw them; `None` when the tenant has no clock row yet, when there are no keys, or
/// when the keys need more than one statement (the caller then locks and loads separately).
async fn lock_and_load(
    inner: &Inner,
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    keys: &[RecordKey],
) -> Result<Option<((Seq, Epoch), Seq, Vec<Record>)>> {
    if inner.dialect != Dialect::Postgres || keys.is_empty() {
        return Ok(None);
    }
    let (keys, ranges) = inner.key_chunks(keys);
    if ranges.len() != 1 {
        return Ok(None);
    }
    let mut q = inner.sql();
    let t = q.param(tenant.as_str());
    q.push("WITH clock AS (SELECT head, epoch FROM tenant_clocks WHERE tenant_id = ")
        .ph(t)
        .push(" FOR UPDATE), seen AS (SELECT head FROM tenant_clocks WHERE tenant_id = ")
        .ph(t)
        .push(") SELECT ")
        .columns(columns::SELECT_R)
        .push(
            ", clock.head, seen.head, clock.epoch FROM clock CROSS JOIN seen \
             LEFT JOIN (SELECT r.* FROM ",
        );
    push_records_of_keys(&mut q, t, &keys);
    q.push(") r ON true");
    let found = inner.query(txn, q).await?;
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let locked = Seq(first.try_get_by_index(columns::COUNT).map_err(error::db)?);
    let seen = Seq(first
        .try_get_by_index(columns::COUNT + 1)
        .map_err(error::db)?);
    let epoch = epoch_of(
        first
            .try_get_by_index(columns::COUNT + 2)
            .map_err(error::db)?,
    )?;
    let mut records = Vec::with_capacity(found.len());
    for row in &found {
        // The LEFT JOIN gives one row of NULLs when no key exists.
        let entity_type: Option<String> = row.try_get_by_index(0).map_err(error::db)?;
        if entity_type.is_some() {
            records.push(columns::read(row)?);
        }
    }
    Ok(Some(((locked, epoch), seen, records)))
}
