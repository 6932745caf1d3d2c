//! The write transaction: the tenant's lock, seq allocation, batched loads and batched writes.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};
use syncd_model::{ClientId, Record, Seq, TenantId, Version};
use syncd_store::{
    ConflictStatus, IdempotencyEntry, Loaded, PushAudit, RecordKey, RecordWrite, Result,
    StoreError, WriteBatch, WriteTx,
};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use crate::sql::{Dialect, Sql, chunks};
use crate::{Inner, error, rows};

pub(crate) struct SeaWriteTx {
    // Field order matters: the transaction is dropped (its rollback queued) before the
    // in-process write lock is released.
    txn: Option<DatabaseTransaction>,
    _write_lock: Option<OwnedMutexGuard<()>>,
    inner: Arc<Inner>,
    tenant: TenantId,
    /// The committed head when the transaction began.
    base: Seq,
    /// The last seq allocated.
    head: Seq,
    /// The head as stored in `tenant_clocks` by this transaction.
    stored_head: Seq,
    /// A statement failed: the transaction may only be rolled back.
    failed: bool,
    /// Record rows written so far.
    written: u64,
}

impl SeaWriteTx {
    pub(crate) async fn begin(inner: Arc<Inner>, tenant: &TenantId) -> Result<Self> {
        let (write_lock, txn) = open(&inner, tenant).await?;
        let head = lock_clock(&inner, &txn, tenant).await?;
        Ok(Self::started(inner, tenant, write_lock, txn, head))
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
            let head = lock_clock(&inner, &txn, tenant).await?;
            let mut tx = Self::started(inner, tenant, write_lock, txn, head);
            let loaded = tx.load(keys, versions).await?;
            return Ok((tx, loaded));
        };
        let records = if locked == seen {
            records
        } else {
            inner.records_by_keys(&txn, tenant, keys).await?
        };
        let mut tx = Self::started(inner, tenant, write_lock, txn, locked);
        let versions = tx.load_versions(versions).await;
        let versions = tx.track(versions)?;
        Ok((tx, Loaded { records, versions }))
    }

    fn started(
        inner: Arc<Inner>,
        tenant: &TenantId,
        write_lock: Option<OwnedMutexGuard<()>>,
        txn: DatabaseTransaction,
        head: Seq,
    ) -> Self {
        Self {
            txn: Some(txn),
            _write_lock: write_lock,
            inner,
            tenant: tenant.clone(),
            base: head,
            head,
            stored_head: head,
            failed: false,
            written: 0,
        }
    }

    fn txn(&self) -> Result<&DatabaseTransaction> {
        if self.failed {
            return Err(StoreError::Internal(
                "the write transaction failed earlier and can only be rolled back".into(),
            ));
        }
        self.txn
            .as_ref()
            .ok_or_else(|| StoreError::Internal("the write transaction is closed".into()))
    }

    /// Marks the transaction failed when `result` is an error.
    fn track<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    async fn load_inner(
        &self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded> {
        let txn = self.txn()?;
        let records = if keys.is_empty() {
            Vec::new()
        } else {
            self.inner.records_by_keys(txn, &self.tenant, keys).await?
        };
        Ok(Loaded {
            records,
            versions: self.load_versions(versions).await?,
        })
    }

    /// The data of the given versions, in one query per statement budget.
    async fn load_versions(
        &self,
        versions: &[(RecordKey, Version)],
    ) -> Result<
        Vec<(
            RecordKey,
            Version,
            serde_json::Map<String, serde_json::Value>,
        )>,
    > {
        let txn = self.txn()?;
        let inner = &*self.inner;
        let mut loaded_versions = Vec::new();
        if versions.is_empty() {
            return Ok(loaded_versions);
        }
        let mut wanted: Vec<&(RecordKey, Version)> = versions.iter().collect();
        wanted.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        wanted.dedup();
        let sizes = wanted
            .iter()
            .map(|(k, _)| 36 + k.entity_type.as_str().len());
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 4, sizes) {
            let chunk = &wanted[range];
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push("SELECT v.entity_type, v.id, v.version, ")
                .push(&inner.dialect.json_out("v.data"))
                .push(" FROM (VALUES ");
            for (i, (key, version)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" })
                    .bind(key.entity_type.as_str())
                    .push(", ")
                    .bind(key.id.as_uuid())
                    .push(", ")
                    .bind(version.0)
                    .push(")");
            }
            q.push(") AS k JOIN record_versions v ON v.tenant_id = ")
                .ph(t)
                .push(
                    " AND v.entity_type = k.column1 AND v.id = k.column2 \
                     AND v.version = k.column3",
                );
            for row in inner.query(txn, q).await? {
                loaded_versions.push(rows::version_data(&row)?);
            }
        }
        Ok(loaded_versions)
    }

    async fn write_inner(&self, batch: &WriteBatch) -> Result<()> {
        let txn = self.txn()?;
        let inner = &*self.inner;
        for write in &batch.records {
            let seq = write.record.seq;
            if seq <= self.base || seq > self.head {
                return Err(StoreError::Internal(format!(
                    "record {} carries seq {seq}, which this transaction did not allocate",
                    write.record.id
                )));
            }
        }
        let data = batch
            .records
            .iter()
            .map(|w| json_text(&w.record.data))
            .collect::<Result<Vec<String>>>()?;

        // The latest state per key goes into `records` (a batch may write a record more than
        // once; one statement cannot upsert the same row twice on PostgreSQL).
        let mut last: HashMap<(&str, Uuid), usize> = HashMap::with_capacity(batch.records.len());
        for (i, w) in batch.records.iter().enumerate() {
            last.insert((w.record.entity_type.as_str(), w.record.id.as_uuid()), i);
        }
        let mut is_latest = vec![false; batch.records.len()];
        for &i in last.values() {
            is_latest[i] = true;
        }
        let changed = batch
            .records
            .iter()
            .map(|w| json_text(&w.changed_fields))
            .collect::<Result<Vec<String>>>()?;
        let rows = RowsText {
            data: &data,
            changed: &changed,
            is_latest: &is_latest,
        };
        // On PostgreSQL the audit row and the new head ride along with the last records
        // statement: fewer round trips while the tenant's clock row is locked.
        let folded = match inner.dialect {
            crate::sql::Dialect::Postgres if !batch.records.is_empty() => {
                self.write_records_postgres(txn, batch, &rows).await?;
                true
            }
            _ => {
                self.write_records_sqlite(txn, batch, &rows).await?;
                false
            }
        };

        let sizes = batch.conflicts.iter().map(|c| {
            200 + c.strategy.len()
                + c.client_id.as_str().len()
                + c.subject.as_str().len()
                + c.fields.iter().map(|f| f.len() + 3).sum::<usize>()
                + json_len(&c.server_data)
                + json_len(&c.client_data)
        });
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 14, sizes) {
            let chunk = &batch.conflicts[range];
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push(
                "INSERT INTO conflicts (tenant_id, id, entity_type, record_id, strategy, status, \
                 server_version, server_data, client_data, fields, client_id, subject, \
                 created_at, resolved_at) VALUES ",
            );
            for (n, c) in chunk.iter().enumerate() {
                q.push(if n == 0 { "(" } else { ", (" })
                    .ph(t)
                    .push(", ")
                    .bind(c.id)
                    .push(", ")
                    .bind(c.entity_type.as_str())
                    .push(", ")
                    .bind(c.record_id.as_uuid())
                    .push(", ")
                    .bind(c.strategy.as_str())
                    .push(", ")
                    .bind(c.status.as_str())
                    .push(", ")
                    .bind(c.server_version.0)
                    .push(", ")
                    .bind_json(c.server_data.to_string())
                    .push(", ")
                    .bind_json(c.client_data.to_string())
                    .push(", ")
                    .bind_json(json_text(&c.fields)?)
                    .push(", ")
                    .bind(c.client_id.as_str())
                    .push(", ")
                    .bind(c.subject.as_str())
                    .push(", ")
                    .bind(c.created_at.as_millis())
                    .push(", ")
                    .bind(c.resolved_at.map(|t| t.as_millis()))
                    .push(")");
            }
            inner.execute(txn, q).await?;
        }

        if !batch.resolved_conflicts.is_empty() {
            let mut ids = batch.resolved_conflicts.clone();
            ids.sort_unstable();
            ids.dedup();
            let mut resolved = 0;
            for range in chunks(
                inner.dialect,
                inner.statement_bytes,
                3,
                1,
                ids.iter().map(|_| 20),
            ) {
                let chunk = &ids[range];
                let mut q = inner.sql();
                q.push("UPDATE conflicts SET status = ")
                    .bind(ConflictStatus::Resolved.as_str())
                    .push(", resolved_at = ")
                    .bind(batch.at.as_millis())
                    .push(" WHERE tenant_id = ")
                    .bind(self.tenant.as_str())
                    .push(" AND status = 'open' AND id IN ");
                q.bind_list(chunk.iter().copied());
                resolved += inner.execute(txn, q).await?;
            }
            // Two people resolving the same conflict: the second one loses.
            if resolved != ids.len() as u64 {
                return Err(StoreError::Conflict(
                    "a conflict to resolve is not open (already resolved, or unknown)".into(),
                ));
            }
        }

        if let Some(entry) = &batch.idempotency {
            // An expired entry that was not purged yet is replaced: the engine decided it no
            // longer applies. Writers of a tenant are serialised, so nothing else races here.
            let mut q = inner.sql();
            q.push(
                "INSERT INTO idempotency_keys (tenant_id, client_id, key, request_hash, \
                 response, created_at) VALUES (",
            )
            .bind(self.tenant.as_str())
            .push(", ")
            .bind(entry.client_id.as_str())
            .push(", ")
            .bind(entry.key.as_str())
            .push(", ")
            .bind(entry.request_hash.as_str())
            .push(", ")
            .bind(entry.response.clone())
            .push(", ")
            .bind(entry.created_at.as_millis())
            .push(
                ") ON CONFLICT (tenant_id, client_id, key) DO UPDATE SET \
                 request_hash = excluded.request_hash, response = excluded.response, \
                 created_at = excluded.created_at",
            );
            inner.execute(txn, q).await?;
        }

        if !folded {
            if let Some(audit) = &batch.audit {
                let mut q = inner.sql();
                let t = q.param(self.tenant.as_str());
                push_audit(&mut q, t, audit);
                inner.execute(txn, q).await?;
            }
            if self.head != self.stored_head {
                let mut q = inner.sql();
                let t = q.param(self.tenant.as_str());
                self.push_clock_update(&mut q, t);
                inner.execute(txn, q).await?;
            }
        }
        Ok(())
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
                    return Err(StoreError::Unavailable(
                        "timed out waiting for the tenant's write lock".into(),
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

/// Locks the tenant's clock row (creating it for a new tenant) and returns the head.
///
/// The clock row is the tenant's lock on PostgreSQL: the upsert locks it until the transaction
/// ends, and a writer that waited for it reads the head its predecessor committed.
async fn lock_clock(inner: &Inner, txn: &DatabaseTransaction, tenant: &TenantId) -> Result<Seq> {
    let mut q = inner.sql();
    q.push("INSERT INTO tenant_clocks (tenant_id, head) VALUES (")
        .bind(tenant.as_str())
        .push(
            ", 0) ON CONFLICT (tenant_id) DO UPDATE SET head = tenant_clocks.head \
             RETURNING head",
        );
    let row = inner
        .query_one(txn, q)
        .await?
        .ok_or_else(|| StoreError::Internal("the tenant clock returned no row".into()))?;
    Ok(Seq(row.try_get_by_index(0).map_err(error::db)?))
}

/// PostgreSQL: locks the tenant's existing clock row and loads `keys` in one statement. Returns
/// the locked head, the head as the statement's snapshot saw it, and the records as that
/// snapshot saw them; `None` when the tenant has no clock row yet, when there are no keys, or
/// when the keys need more than one statement (the caller then locks and loads separately).
async fn lock_and_load(
    inner: &Inner,
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    keys: &[RecordKey],
) -> Result<Option<(Seq, Seq, Vec<Record>)>> {
    if inner.dialect != Dialect::Postgres || keys.is_empty() {
        return Ok(None);
    }
    let (keys, ranges) = inner.key_chunks(keys);
    if ranges.len() != 1 {
        return Ok(None);
    }
    let mut q = inner.sql();
    let t = q.param(tenant.as_str());
    q.push("WITH clock AS (SELECT head FROM tenant_clocks WHERE tenant_id = ")
        .ph(t)
        .push(" FOR UPDATE), seen AS (SELECT head FROM tenant_clocks WHERE tenant_id = ")
        .ph(t)
        .push(") SELECT ")
        .push(&inner.dialect.record_columns("r"))
        .push(", clock.head, seen.head FROM clock CROSS JOIN seen LEFT JOIN (SELECT r.* FROM ");
    crate::push_records_of_keys(&mut q, t, &keys);
    q.push(") r ON true");
    let found = inner.query(txn, q).await?;
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let locked = Seq(first.try_get_by_index(10).map_err(error::db)?);
    let seen = Seq(first.try_get_by_index(11).map_err(error::db)?);
    let mut records = Vec::with_capacity(found.len());
    for row in &found {
        let entity_type: Option<String> = row.try_get_by_index(0).map_err(error::db)?;
        if entity_type.is_some() {
            records.push(rows::record(row)?);
        }
    }
    Ok(Some((locked, seen, records)))
}

/// The JSON text of a batch's rows, encoded once for every statement that needs it.
struct RowsText<'a> {
    data: &'a [String],
    changed: &'a [String],
    /// The row is the batch's last write of its record: it goes into `records`.
    is_latest: &'a [bool],
}

/// The columns `records` and `record_versions` share, in the order rows bind them.
const RECORD_SET: &str = "version = excluded.version, seq = excluded.seq, data = excluded.data, \
     deleted = excluded.deleted, sync_status = excluded.sync_status, \
     created_at = excluded.created_at, updated_at = excluded.updated_at, \
     edited_at = excluded.edited_at";

impl SeaWriteTx {
    /// SQLite: one multi-row upsert of the latest states, one multi-row insert of the versions.
    /// Statements cost no round trip there, only their size matters.
    async fn write_records_sqlite(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
        rows: &RowsText<'_>,
    ) -> Result<()> {
        let inner = &*self.inner;
        let latest: Vec<usize> = (0..batch.records.len())
            .filter(|&i| rows.is_latest[i])
            .collect();
        let sizes = latest.iter().map(|&i| {
            let r = &batch.records[i].record;
            100 + r.entity_type.as_str().len() + rows.data[i].len()
        });
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 11, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push(
                "INSERT INTO records (tenant_id, entity_type, id, version, seq, data, deleted, \
                 sync_status, created_at, updated_at, edited_at) VALUES ",
            );
            for (n, &i) in latest[range].iter().enumerate() {
                let r = &batch.records[i].record;
                q.push(if n == 0 { "(" } else { ", (" })
                    .ph(t)
                    .push(", ")
                    .bind(r.entity_type.as_str())
                    .push(", ")
                    .bind(r.id.as_uuid())
                    .push(", ")
                    .bind(r.version.0)
                    .push(", ")
                    .bind(r.seq.0)
                    .push(", ")
                    .bind_json(rows.data[i].clone())
                    .push(", ")
                    .bind(r.deleted)
                    .push(", ")
                    .bind(r.sync_status.as_str())
                    .push(", ")
                    .bind(r.created_at.as_millis())
                    .push(", ")
                    .bind(r.updated_at.as_millis())
                    .push(", ")
                    .bind(r.edited_at.as_millis())
                    .push(")");
            }
            q.push(" ON CONFLICT (tenant_id, entity_type, id) DO UPDATE SET ")
                .push(RECORD_SET);
            inner.execute(txn, q).await?;
        }

        let sizes = batch.records.iter().enumerate().map(|(i, w)| {
            100 + w.record.entity_type.as_str().len() + rows.data[i].len() + rows.changed[i].len()
        });
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 12, sizes) {
            let offset = range.start;
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            let client = q.param(batch.client_id.as_str());
            let subject = q.param(batch.subject.as_str());
            let at = q.param(batch.at.as_millis());
            q.push(
                "INSERT INTO record_versions (tenant_id, entity_type, id, version, seq, kind, \
                 data, deleted, changed_fields, client_id, subject, at) VALUES ",
            );
            for (n, w) in batch.records[range].iter().enumerate() {
                q.push(if n == 0 { "(" } else { ", (" }).ph(t).push(", ");
                push_version_values(&mut q, w, rows, offset + n);
                q.push(", ")
                    .ph(client)
                    .push(", ")
                    .ph(subject)
                    .push(", ")
                    .ph(at)
                    .push(")");
            }
            inner.execute(txn, q).await?;
        }
        Ok(())
    }

    /// PostgreSQL: each row is sent once and written to both tables by one statement (the
    /// upsert of the latest states is a data-modifying `WITH` over the same rows as the version
    /// insert). The last statement also inserts the audit row and stores the new head, so a
    /// push of one statement's worth of rows costs one round trip between its load and its
    /// commit.
    async fn write_records_postgres(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
        rows: &RowsText<'_>,
    ) -> Result<()> {
        let inner = &*self.inner;
        let sizes = batch.records.iter().enumerate().map(|(i, w)| {
            120 + w.record.entity_type.as_str().len() + rows.data[i].len() + rows.changed[i].len()
        });
        let ranges = chunks(inner.dialect, inner.statement_bytes, 20, 13, sizes);
        let last = ranges.len().saturating_sub(1);
        for (chunk, range) in ranges.into_iter().enumerate() {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            let client = q.param(batch.client_id.as_str());
            let subject = q.param(batch.subject.as_str());
            let at = q.param(batch.at.as_millis());
            q.push(
                "WITH input (entity_type, id, version, seq, kind, data, deleted, changed_fields, \
                 sync_status, created_at, updated_at, edited_at, latest) AS (VALUES ",
            );
            let offset = range.start;
            for (n, w) in batch.records[range].iter().enumerate() {
                let r = &w.record;
                q.push(if n == 0 { "(" } else { ", (" });
                push_version_values(&mut q, w, rows, offset + n);
                q.push(", ")
                    .bind(r.sync_status.as_str())
                    .push(", ")
                    .bind(r.created_at.as_millis())
                    .push(", ")
                    .bind(r.updated_at.as_millis())
                    .push(", ")
                    .bind(r.edited_at.as_millis())
                    .push(", ")
                    .bind(rows.is_latest[offset + n])
                    .push(")");
            }
            q.push(
                "), upserted AS (INSERT INTO records (tenant_id, entity_type, id, version, seq, \
                 data, deleted, sync_status, created_at, updated_at, edited_at) SELECT ",
            )
            .ph(t)
            .push(
                ", entity_type, id, version, seq, data, deleted, sync_status, created_at, \
                 updated_at, edited_at FROM input WHERE latest \
                 ON CONFLICT (tenant_id, entity_type, id) DO UPDATE SET ",
            )
            .push(RECORD_SET)
            .push(")");
            if chunk == last {
                if let Some(audit) = &batch.audit {
                    q.push(", audit AS (");
                    push_audit(&mut q, t, audit);
                    q.push(")");
                }
                if self.head != self.stored_head {
                    q.push(", clock AS (");
                    self.push_clock_update(&mut q, t);
                    q.push(")");
                }
            }
            q.push(
                " INSERT INTO record_versions (tenant_id, entity_type, id, version, seq, kind, \
                 data, deleted, changed_fields, client_id, subject, at) SELECT ",
            )
            .ph(t)
            .push(", entity_type, id, version, seq, kind, data, deleted, changed_fields, ")
            .ph(client)
            .push(", ")
            .ph(subject)
            .push(", ")
            .ph(at)
            .push(" FROM input");
            inner.execute(txn, q).await?;
        }
        Ok(())
    }

    /// `UPDATE tenant_clocks …` storing the last allocated seq; `t` is the tenant's parameter.
    fn push_clock_update(&self, q: &mut Sql, t: usize) {
        q.push("UPDATE tenant_clocks SET head = ")
            .bind(self.head.0)
            .push(" WHERE tenant_id = ")
            .ph(t);
    }
}

/// The values of a version row both dialects share, in this order: entity type, id, version,
/// seq, kind, data, deleted, changed fields. `i` is the row's index in the batch.
fn push_version_values(q: &mut Sql, w: &RecordWrite, rows: &RowsText<'_>, i: usize) {
    let r = &w.record;
    q.bind(r.entity_type.as_str())
        .push(", ")
        .bind(r.id.as_uuid())
        .push(", ")
        .bind(r.version.0)
        .push(", ")
        .bind(r.seq.0)
        .push(", ")
        .bind(w.kind.as_str())
        .push(", ")
        .bind_json(rows.data[i].clone())
        .push(", ")
        .bind(r.deleted)
        .push(", ")
        .bind_json(rows.changed[i].clone());
}

/// `INSERT INTO push_audit …` for one push; `t` is the tenant's parameter.
fn push_audit(q: &mut Sql, t: usize, audit: &PushAudit) {
    q.push(
        "INSERT INTO push_audit (tenant_id, id, client_id, subject, changes, created, updated, \
         deleted, unchanged, conflicts, seq_first, seq_last, at) VALUES (",
    )
    .ph(t)
    .push(", ")
    .bind(Uuid::now_v7())
    .push(", ")
    .bind(audit.client_id.as_str())
    .push(", ")
    .bind(audit.subject.as_str())
    .push(", ")
    .bind(i64::from(audit.changes))
    .push(", ")
    .bind(i64::from(audit.created))
    .push(", ")
    .bind(i64::from(audit.updated))
    .push(", ")
    .bind(i64::from(audit.deleted))
    .push(", ")
    .bind(i64::from(audit.unchanged))
    .push(", ")
    .bind(i64::from(audit.conflicts))
    .push(", ")
    .bind(audit.seq_range.map(|(first, _)| first.0))
    .push(", ")
    .bind(audit.seq_range.map(|(_, last)| last.0))
    .push(", ")
    .bind(audit.at.as_millis())
    .push(")");
}

/// A cheap upper estimate of a JSON value's encoded size.
fn json_len(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => 24,
        serde_json::Value::String(s) => s.len() + 2,
        serde_json::Value::Array(items) => 2 + items.iter().map(|v| json_len(v) + 1).sum::<usize>(),
        serde_json::Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + json_len(v))
                .sum::<usize>()
        }
    }
}

fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(format!("unencodable JSON: {e}")))
}

#[async_trait]
impl WriteTx for SeaWriteTx {
    fn head(&self) -> Seq {
        self.head
    }

    fn next_seq(&mut self) -> Seq {
        self.head = self.head.next();
        self.head
    }

    async fn idempotency(
        &mut self,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        let result = match self.txn() {
            Ok(txn) => {
                self.inner
                    .idempotency_entry(txn, &self.tenant, client, key)
                    .await
            }
            Err(e) => Err(e),
        };
        self.track(result)
    }

    async fn load(
        &mut self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded> {
        let result = self.load_inner(keys, versions).await;
        self.track(result)
    }

    async fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        let result = self.write_inner(batch).await;
        if result.is_ok() {
            self.stored_head = self.head;
            self.written += batch.records.len() as u64;
        }
        self.track(result)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(txn) = self.txn.take() else {
            return Err(StoreError::Internal(
                "the write transaction is closed".into(),
            ));
        };
        self.inner.count_statement();
        if self.failed {
            txn.rollback().await.map_err(error::db)?;
            return Err(StoreError::Internal(
                "a statement of the write transaction failed; it was rolled back".into(),
            ));
        }
        txn.commit().await.map_err(error::db)?;
        self.inner.note_written(&self.tenant, self.written);
        Ok(())
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        let Some(txn) = self.txn.take() else {
            return Ok(());
        };
        self.inner.count_statement();
        txn.rollback().await.map_err(error::db)
    }
}
