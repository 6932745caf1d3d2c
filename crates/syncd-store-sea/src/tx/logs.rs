//! The rows a write stores beside the records: conflict log entries, resolved conflicts, the
//! idempotency entries, the audit rows and the tenant's new head, for one batch or a group.

use std::collections::HashMap;

use sea_orm::DatabaseTransaction;
use syncd_store::{ConflictStatus, IdempotencyEntry, PushAudit, Result, StoreError, WriteBatch};
use uuid::Uuid;

use super::SeaWriteTx;
use super::write::json_text;
use crate::sql::{Param, Sql, chunks};

impl SeaWriteTx {
    pub(super) async fn write_conflicts(
        &self,
        txn: &DatabaseTransaction,
        batches: &[&WriteBatch],
    ) -> Result<()> {
        let inner = &*self.inner;
        let conflicts: Vec<_> = batches.iter().flat_map(|b| &b.conflicts).collect();
        let sizes = conflicts.iter().map(|c| {
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
            for (n, c) in conflicts[range].iter().enumerate() {
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

    /// Marks the batches' resolved conflicts; each must still be open.
    pub(super) async fn resolve_conflicts(
        &self,
        txn: &DatabaseTransaction,
        batches: &[&WriteBatch],
    ) -> Result<()> {
        let mut ids: Vec<Uuid> = batches
            .iter()
            .flat_map(|b| b.resolved_conflicts.iter().copied())
            .collect();
        let Some(batch) = batches.last().filter(|_| !ids.is_empty()) else {
            return Ok(());
        };
        let inner = &*self.inner;
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
        batches: &[&WriteBatch],
    ) -> Result<()> {
        // One row per (client, key), the last batch's: one statement cannot upsert a row twice.
        let mut by_key: HashMap<(&str, &str), &IdempotencyEntry> = HashMap::new();
        let mut entries: Vec<&IdempotencyEntry> = Vec::new();
        for entry in batches.iter().filter_map(|b| b.idempotency.as_ref()) {
            if by_key
                .insert((entry.client_id.as_str(), entry.key.as_str()), entry)
                .is_none()
            {
                entries.push(entry);
            }
        }
        let entries: Vec<&IdempotencyEntry> = entries
            .iter()
            .filter_map(|e| by_key.get(&(e.client_id.as_str(), e.key.as_str())).copied())
            .collect();
        let inner = &*self.inner;
        let sizes = entries
            .iter()
            .map(|e| 100 + e.client_id.as_str().len() + e.key.len() + e.response.len());
        for range in chunks(inner.dialect, inner.statement_bytes, 1, 6, sizes) {
            // An expired entry that was not purged yet is replaced: the engine decided it no
            // longer applies. Writers of a tenant are serialised, so nothing else races here.
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push(
                "INSERT INTO idempotency_keys (tenant_id, client_id, key, request_hash, \
                 response, created_at) VALUES ",
            );
            for (n, entry) in entries[range].iter().enumerate() {
                q.push(if n == 0 { "(" } else { ", (" })
                    .ph(t)
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
                    .push(")");
            }
            q.push(
                " ON CONFLICT (tenant_id, client_id, key) DO UPDATE SET \
                 request_hash = excluded.request_hash, response = excluded.response, \
                 created_at = excluded.created_at",
            );
            inner.execute(txn, q).await?;
        }
        Ok(())
    }

    /// The audit rows and the new head as statements of their own (SQLite, or a write without
    /// records).
    pub(super) async fn write_audit_and_head(
        &self,
        txn: &DatabaseTransaction,
        batches: &[&WriteBatch],
    ) -> Result<()> {
        let inner = &*self.inner;
        let audits: Vec<&PushAudit> = batches.iter().filter_map(|b| b.audit.as_ref()).collect();
        let sizes = audits.iter().map(|a| 200 + a.subject.as_str().len());
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 13, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            push_audits(&mut q, t, &audits[range]);
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

    /// `, audit AS (…), clock AS (…)`: the audit rows and the new head as parts of a `WITH`
    /// (PostgreSQL, riding along with the records statement).
    pub(super) fn push_folded_audit_and_head(
        &self,
        q: &mut Sql,
        t: Param,
        batches: &[&WriteBatch],
    ) {
        let audits: Vec<&PushAudit> = batches.iter().filter_map(|b| b.audit.as_ref()).collect();
        if !audits.is_empty() {
            q.push(", audit AS (");
            push_audits(q, t, &audits);
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

/// `INSERT INTO push_audit …` for pushes (at least one); `t` is the tenant's parameter.
fn push_audits(q: &mut Sql, t: Param, audits: &[&PushAudit]) {
    q.push(
        "INSERT INTO push_audit (tenant_id, id, client_id, subject, changes, created, updated, \
         deleted, unchanged, conflicts, seq_first, seq_last, at) VALUES ",
    );
    for (n, audit) in audits.iter().enumerate() {
        q.push(if n == 0 { "(" } else { ", (" })
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
