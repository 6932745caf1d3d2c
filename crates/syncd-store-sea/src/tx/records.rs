//! Writing record states and their version rows, one way per dialect: on SQLite statements cost
//! no round trip, only their size matters; on PostgreSQL each statement is a round trip made
//! while the tenant's clock row is locked.

use sea_orm::DatabaseTransaction;
use syncd_model::Record;
use syncd_store::{RecordWrite, Result, WriteBatch};

use super::SeaWriteTx;
use super::write::{Rows, Writers};
use crate::columns;
use crate::sql::{Sql, chunks};

/// The columns of a version row after `tenant_id`, in the order [`push_version_values`] binds
/// the first eight of them and [`Writers::push`] the last three.
const VERSION_INSERT: &str = "INSERT INTO record_versions (tenant_id, entity_type, id, version, \
     seq, kind, data, deleted, changed_fields, client_id, subject, at)";

impl SeaWriteTx {
    /// SQLite: one multi-row upsert of the latest states, one multi-row insert of the versions.
    pub(super) async fn write_records_sqlite(
        &self,
        txn: &DatabaseTransaction,
        batches: &[&WriteBatch],
        rows: &Rows<'_>,
    ) -> Result<()> {
        let inner = &*self.inner;
        let latest: Vec<usize> = (0..rows.writes.len())
            .filter(|&i| rows.is_latest[i])
            .collect();
        let sizes = latest.iter().map(|&i| {
            let r = &rows.writes[i].1.record;
            100 + r.entity_type.as_str().len() + rows.data[i].len()
        });
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 11, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push("INSERT INTO records (tenant_id, ")
                .push(columns::LIST)
                .push(") VALUES ");
            for (n, &i) in latest[range].iter().enumerate() {
                let r = &rows.writes[i].1.record;
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
                    .push(", ");
                push_status_and_times(&mut q, r);
                q.push(")");
            }
            q.push(" ON CONFLICT (tenant_id, entity_type, id) DO UPDATE SET ")
                .push(columns::UPSERT_SET);
            inner.execute(txn, q).await?;
        }

        let sizes = rows.writes.iter().enumerate().map(|(i, (_, w))| {
            100 + w.record.entity_type.as_str().len() + rows.data[i].len() + rows.changed[i].len()
        });
        // SQLite binds a shared value at each use: the writer's three count per row.
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 12, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            let mut writers = Writers::new(batches);
            q.push(VERSION_INSERT).push(" VALUES ");
            for (n, i) in range.enumerate() {
                let (b, w) = rows.writes[i];
                q.push(if n == 0 { "(" } else { ", (" }).ph(t).push(", ");
                push_version_values(&mut q, w, rows, i);
                q.push(", ");
                writers.push(&mut q, b);
                q.push(")");
            }
            inner.execute(txn, q).await?;
        }
        Ok(())
    }

    /// PostgreSQL: each row is sent once and written to both tables by one statement (the
    /// upsert of the latest states is a data-modifying `WITH` over the same rows as the version
    /// insert). The last statement also inserts the audit rows and stores the new head, so a
    /// push (or a group of pushes) of one statement's worth of rows costs one round trip between
    /// its load and its commit.
    pub(super) async fn write_records_postgres(
        &self,
        txn: &DatabaseTransaction,
        batches: &[&WriteBatch],
        rows: &Rows<'_>,
    ) -> Result<()> {
        let inner = &*self.inner;
        let sizes = rows.writes.iter().enumerate().map(|(i, (_, w))| {
            120 + w.record.entity_type.as_str().len() + rows.data[i].len() + rows.changed[i].len()
        });
        let shared = 20 + Writers::shared(batches.len()) + 13 * batches.len();
        let ranges = chunks(inner.dialect, inner.statement_bytes, shared, 13, sizes);
        let last = ranges.len().saturating_sub(1);
        for (chunk, range) in ranges.into_iter().enumerate() {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            let mut writers = Writers::new(batches);
            q.push(
                "WITH input (entity_type, id, version, seq, kind, data, deleted, changed_fields, \
                 sync_status, created_at, updated_at, edited_at, latest, client_id, subject, \
                 at) AS (VALUES ",
            );
            for (n, i) in range.enumerate() {
                let (b, w) = rows.writes[i];
                q.push(if n == 0 { "(" } else { ", (" });
                push_version_values(&mut q, w, rows, i);
                q.push(", ");
                push_status_and_times(&mut q, &w.record);
                q.push(", ").bind(rows.is_latest[i]).push(", ");
                writers.push(&mut q, b);
                q.push(")");
            }
            q.push("), upserted AS (INSERT INTO records (tenant_id, ")
                .push(columns::LIST)
                .push(") SELECT ")
                .ph(t)
                .push(", ")
                .push(columns::LIST)
                .push(
                    " FROM input WHERE latest \
                     ON CONFLICT (tenant_id, entity_type, id) DO UPDATE SET ",
                )
                .push(columns::UPSERT_SET)
                .push(")");
            if chunk == last {
                self.push_folded_audit_and_head(&mut q, t, batches);
            }
            q.push(" ")
                .push(VERSION_INSERT)
                .push(" SELECT ")
                .ph(t)
                .push(
                    ", entity_type, id, version, seq, kind, data, deleted, changed_fields, \
                     client_id, subject, at FROM input",
                );
            inner.execute(txn, q).await?;
        }
        Ok(())
    }
}

/// The last four record columns of [`columns::LIST`]: sync status and the three times.
fn push_status_and_times(q: &mut Sql, r: &Record) {
    q.bind(r.sync_status.as_str())
        .push(", ")
        .bind(r.created_at.as_millis())
        .push(", ")
        .bind(r.updated_at.as_millis())
        .push(", ")
        .bind(r.edited_at.as_millis());
}

/// The values of a version row both dialects share, in this order: entity type, id, version,
/// seq, kind, data, deleted, changed fields. `i` is the row's index in the batch.
fn push_version_values(q: &mut Sql, w: &RecordWrite, rows: &Rows<'_>, i: usize) {
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
