//! The rows a write stores beside the records: conflict log entries, resolved conflicts, the
//! idempotency entry, the audit row and the tenant's new head.

use sea_orm::DatabaseTransaction;
use syncd_store::{ConflictStatus, PushAudit, Result, StoreError, WriteBatch};
use uuid::Uuid;

use super::SeaWriteTx;
use super::write::json_text;
use crate::sql::{Param, Sql, chunks};

impl SeaWriteTx {
    pub(super) async fn write_conflicts(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
    ) -> Result<()> {
        let inner = &*self.inner;
        let sizes = batch.conflicts.iter().map(|c| {
            200 + c.strategy.len()
                + c.client_id.as_str().len()
                + c.subject.as_str().len()
                + c.fields.iter().map(|f| f.len() + 3).sum::<usize>()
                + json_len(&c.server_data)
                + json_len(&c.client_data)
        });
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 14, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push(
                "INSERT INTO conflicts (tenant_id, id, entity_type, record_id, strategy, status, \
                 server_version, server_data, client_data, fields, client_id, subject, \
                 created_at, resolved_at) VALUES ",
            );
            for (n, c) in batch.conflicts[range].iter().enumerate() {
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
        Ok(())
    }

    /// Marks the batch's resolved conflicts; each must still be open.
    pub(super) async fn resolve_conflicts(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
    ) -> Result<()> {
        if batch.resolved_conflicts.is_empty() {
            return Ok(());
        }
        let inner = &*self.inner;
        let mut ids = batch.resolved_conflicts.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut resolved = 0;
        let sizes = ids.iter().map(|_| 20);
        for range in chunks(inner.dialect, inner.statement_bytes, 3, 1, sizes) {
            let mut q = inner.sql();
            q.push("UPDATE conflicts SET status = ")
                .bind(ConflictStatus::Resolved.as_str())
                .push(", resolved_at = ")
                .bind(batch.at.as_millis())
                .push(" WHERE tenant_id = ")
                .bind(self.tenant.as_str())
                .push(" AND status = 'open' AND id IN ");
            q.bind_list(ids[range].iter().copied());
            resolved += inner.execute(txn, q).await?;
        }
        // Two people resolving the same conflict: the second one loses.
        if resolved != ids.len() as u64 {
            return Err(StoreError::conflict(
                "a conflict to resolve is not open (already resolved, or unknown)",
            ));
        }
        Ok(())
    }

    pub(super) async fn write_idempotency(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
    ) -> Result<()> {
        let Some(entry) = &batch.idempotency else {
            return Ok(());
        };
        // An expired entry that was not purged yet is replaced: the engine decided it no
        // longer applies. Writers of a tenant are serialised, so nothing else races here.
        let mut q = self.inner.sql();
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
        self.inner.execute(txn, q).await?;
        Ok(())
    }

    /// The audit row and the new head as statements of their own (SQLite, or a write without
    /// records).
    pub(super) async fn write_audit_and_head(
        &self,
        txn: &DatabaseTransaction,
        batch: &WriteBatch,
    ) -> Result<()> {
        let inner = &*self.inner;
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
        Ok(())
    }

    /// `, audit AS (…), clock AS (…)`: the audit row and the new head as parts of a `WITH`
    /// (PostgreSQL, riding along with the records statement).
    pub(super) fn push_folded_audit_and_head(&self, q: &mut Sql, t: Param, batch: &WriteBatch) {
        if let Some(audit) = &batch.audit {
            q.push(", audit AS (");
            push_audit(q, t, audit);
            q.push(")");
        }
        if self.head != self.stored_head {
            q.push(", clock AS (");
            self.push_clock_update(q, t);
            q.push(")");
        }
    }

    /// `UPDATE tenant_clocks …` storing the last allocated seq; `t` is the tenant's parameter.
    fn push_clock_update(&self, q: &mut Sql, t: Param) {
        q.push("UPDATE tenant_clocks SET head = ")
            .bind(self.head.0)
            .push(" WHERE tenant_id = ")
            .ph(t);
    }
}

/// `INSERT INTO push_audit …` for one push; `t` is the tenant's parameter.
fn push_audit(q: &mut Sql, t: Param, audit: &PushAudit) {
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
