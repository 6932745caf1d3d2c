//! Reads of what the store keeps beside the records: version history, the conflict log and
//! idempotency entries; and the purge of what has outlived its window.

use sea_orm::ConnectionTrait;
use syncd_model::{ClientId, EntityTypeName, TenantId, Timestamp};
use syncd_store::{
    ConflictEntry, IdempotencyEntry, PurgeStats, RecordKey, Result, TypeAccess, VersionEntry,
};
use uuid::Uuid;

use crate::inner::Inner;
use crate::rows;
use crate::sql::chunks;

impl Inner {
    /// A record's versions written at or after `since`, oldest first.
    pub(crate) async fn history(
        &self,
        tenant: &TenantId,
        key: &RecordKey,
        since: Timestamp,
    ) -> Result<Vec<VersionEntry>> {
        let mut q = self.sql();
        q.push("SELECT ")
            .columns(rows::VERSION)
            .push(" FROM record_versions WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(key.entity_type.as_str())
            .push(" AND id = ")
            .bind(key.id.as_uuid())
            .push(" AND at >= ")
            .bind(since.as_millis())
            .push(" ORDER BY version");
        self.query(&self.db, q)
            .await?
            .iter()
            .map(rows::version_entry)
            .collect()
    }

    /// Open conflicts, oldest first.
    pub(crate) async fn open_conflicts(
        &self,
        tenant: &TenantId,
        entity_type: Option<&EntityTypeName>,
        visibility: &[TypeAccess],
        limit: usize,
    ) -> Result<Vec<ConflictEntry>> {
        let mut q = self.sql();
        let t = q.param(tenant.as_str());
        q.push("SELECT ")
            .columns(rows::CONFLICT)
            .push(" FROM conflicts WHERE tenant_id = ")
            .ph(t)
            .push(" AND status = 'open'");
        if let Some(ty) = entity_type {
            q.push(" AND entity_type = ").bind(ty.as_str());
        }
        if !visibility.is_empty() {
            // A conflict of a restricted type shows when its record is visible now.
            q.push(" AND (entity_type NOT IN ");
            q.bind_list(visibility.iter().map(|v| v.entity_type.as_str()));
            q.push(" OR EXISTS (SELECT 1 FROM records r WHERE r.tenant_id = ")
                .ph(t)
                .push(" AND r.entity_type = conflicts.entity_type AND r.id = conflicts.record_id AND (");
            for (i, access) in visibility.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                q.push("(r.entity_type = ")
                    .bind(access.entity_type.as_str())
                    .push(" AND ");
                crate::visibility::matches(
                    &mut q,
                    crate::visibility::Table::Records,
                    &access.matches,
                )?;
                q.push(")");
            }
            q.push(")))");
        }
        q.push(" ORDER BY created_at, id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        self.query(&self.db, q)
            .await?
            .iter()
            .map(rows::conflict)
            .collect()
    }

    /// One conflict log entry of the tenant.
    pub(crate) async fn conflict(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Option<ConflictEntry>> {
        let mut q = self.sql();
        q.push("SELECT ")
            .columns(rows::CONFLICT)
            .push(" FROM conflicts WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND id = ")
            .bind(id);
        match self.query_one(&self.db, q).await? {
            Some(row) => rows::conflict(&row).map(Some),
            None => Ok(None),
        }
    }

    /// An idempotency entry, through `conn` (the pool, or a write transaction under the lock).
    pub(crate) async fn idempotency_entry<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        let mut q = self.sql();
        q.push("SELECT ")
            .columns(rows::IDEMPOTENCY)
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

    /// The entries of several `(client, key)` pairs in one query per statement budget.
    pub(crate) async fn idempotency_entries<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
        keys: &[(ClientId, String)],
    ) -> Result<Vec<IdempotencyEntry>> {
        let mut found = Vec::new();
        let sizes = keys.iter().map(|(c, k)| 8 + c.as_str().len() + k.len());
        for range in chunks(self.dialect, self.statement_bytes, 1, 2, sizes) {
            let mut q = self.sql();
            let t = q.param(tenant.as_str());
            q.push("SELECT ")
                .columns(rows::IDEMPOTENCY)
                .push(" FROM idempotency_keys WHERE tenant_id = ")
                .ph(t)
                .push(" AND (client_id, key) IN (VALUES ");
            for (n, (client, key)) in keys[range].iter().enumerate() {
                q.push(if n == 0 { "(" } else { ", (" })
                    .bind(client.as_str())
                    .push(", ")
                    .bind(key.as_str())
                    .push(")");
            }
            q.push(")");
            for row in self.query(conn, q).await? {
                found.push(rows::idempotency(&row)?);
            }
        }
        Ok(found)
    }

    /// Deletes idempotency entries and versions older than their windows (a record's current
    /// version is always kept).
    pub(crate) async fn purge(
        &self,
        idempotency_before: Timestamp,
        versions_before: Timestamp,
    ) -> Result<PurgeStats> {
        let mut q = self.sql();
        q.push("DELETE FROM idempotency_keys WHERE created_at < ")
            .bind(idempotency_before.as_millis());
        let idempotency_entries = self.execute(&self.db, q).await?;
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
        let versions = self.execute(&self.db, q).await?;
        Ok(PurgeStats {
            idempotency_entries,
            versions,
        })
    }
}
