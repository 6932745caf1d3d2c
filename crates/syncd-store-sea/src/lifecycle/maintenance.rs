//! The bounded batches of scheduled maintenance (SPEC §10): purges of idempotency entries and
//! old versions, tombstone thinning and the retention of thin tombstones, and the lease that
//! keeps runs exclusive across instances.
//!
//! Each batch is one short statement or transaction over at most `limit` rows. None takes a
//! tenant's clock row except the retention step, which raises the horizon (one small UPDATE per
//! tenant at the end of its transaction), so writers wait for a batch at most.

use syncd_model::{Record, Seq, TenantId, Timestamp};
use syncd_store::{BatchOutcome, Result, Thinning};

use crate::inner::Inner;
use crate::{columns, error};

/// The lease's one row.
const LEASE: &str = "maintenance";

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn outcome(rows: u64, limit: usize) -> BatchOutcome {
    BatchOutcome {
        rows,
        more: rows >= limit as u64,
    }
}

impl Inner {
    pub(crate) async fn purge_idempotency(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<BatchOutcome> {
        let mut q = self.sql();
        q.push(
            "DELETE FROM idempotency_keys WHERE (tenant_id, client_id, key) IN \
             (SELECT tenant_id, client_id, key FROM idempotency_keys WHERE created_at < ",
        )
        .bind(before.as_millis())
        .push(" LIMIT ")
        .bind(limit_of(limit))
        .push(")");
        Ok(outcome(self.execute(&self.db, q).await?, limit))
    }

    pub(crate) async fn purge_versions(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<BatchOutcome> {
        let mut q = self.sql();
        q.push(
            "DELETE FROM record_versions WHERE (tenant_id, entity_type, id, version) IN \
             (SELECT v.tenant_id, v.entity_type, v.id, v.version FROM record_versions v \
             WHERE v.at < ",
        )
        .bind(before.as_millis())
        .push(
            " AND NOT EXISTS (SELECT 1 FROM records r WHERE r.tenant_id = v.tenant_id \
             AND r.entity_type = v.entity_type AND r.id = v.id AND r.version = v.version) \
             LIMIT ",
        )
        .bind(limit_of(limit))
        .push(")");
        Ok(outcome(self.execute(&self.db, q).await?, limit))
    }

    pub(crate) async fn fat_tombstones(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        let mut q = self.sql();
        q.push("SELECT ")
            .columns(columns::SELECT)
            .push(", tenant_id FROM records WHERE deleted AND updated_at >= ")
            .bind(from.as_millis())
            .push(" AND updated_at < ")
            .bind(before.as_millis())
            .push(
                " AND (thinned_version IS NULL OR thinned_version <> version) \
                 ORDER BY updated_at LIMIT ",
            )
            .bind(limit_of(limit));
        let rows = self.query(&self.db, q).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let tenant: String = row.try_get_by_index(columns::COUNT).map_err(error::db)?;
            let tenant = TenantId::parse(tenant).map_err(|e| error::corrupt("tenant id", e))?;
            out.push((tenant, columns::read(row)?));
        }
        Ok(out)
    }

    pub(crate) async fn thin(&self, tenant: &TenantId, thinned: &[Thinning]) -> Result<u64> {
        let txn = self.begin_immediate().await?;
        let mut done = 0;
        for t in thinned {
            let data = serde_json::to_string(&t.data)
                .map_err(|e| syncd_store::StoreError::Internal(Box::new(e)))?;
            let mut q = self.sql();
            q.push("UPDATE records SET data = ")
                .bind_json(data.clone())
                .push(", thinned_version = version WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND entity_type = ")
                .bind(t.entity_type.as_str())
                .push(" AND id = ")
                .bind(t.id.as_uuid())
                .push(" AND version = ")
                .bind(t.version.0)
                .push(" AND deleted");
            let changed = self.execute(&txn, q).await?;
            if changed == 0 {
                // Written again since it was read: it is no longer that tombstone.
                continue;
            }
            done += changed;
            let mut q = self.sql();
            q.push("UPDATE record_versions SET data = ")
                .bind_json(data)
                .push(" WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND entity_type = ")
                .bind(t.entity_type.as_str())
                .push(" AND id = ")
                .bind(t.id.as_uuid())
                .push(" AND version = ")
                .bind(t.version.0);
            self.execute(&txn, q).await?;
        }
        self.count_statement();
        txn.commit().await.map_err(error::db)?;
        Ok(done)
    }

    pub(crate) async fn drop_thin_tombstones(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<BatchOutcome> {
        let txn = self.begin_immediate().await?;
        let mut q = self.sql();
        q.push(
            "SELECT tenant_id, MAX(seq), COUNT(*) FROM (SELECT tenant_id, seq FROM records \
             WHERE deleted AND updated_at < ",
        )
        .bind(before.as_millis())
        .push(" AND thinned_version = version ORDER BY updated_at LIMIT ")
        .bind(limit_of(limit))
        .push(") AS batch GROUP BY tenant_id");
        let groups = self.query(&txn, q).await?;
        let mut rows = 0u64;
        for row in &groups {
            let tenant: String = row.try_get_by_index(0).map_err(error::db)?;
            let horizon = Seq(row.try_get_by_index(1).map_err(error::db)?);
            let mut q = self.sql();
            let t = q.param(tenant.as_str());
            q.push(
                "DELETE FROM record_versions WHERE (tenant_id, entity_type, id) IN \
                 (SELECT tenant_id, entity_type, id FROM records WHERE tenant_id = ",
            )
            .ph(t)
            .push(" AND deleted AND thinned_version = version AND seq <= ")
            .bind(horizon.0)
            .push(" AND updated_at < ")
            .bind(before.as_millis())
            .push(")");
            self.execute(&txn, q).await?;
            let mut q = self.sql();
            q.push("DELETE FROM records WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND deleted AND thinned_version = version AND seq <= ")
                .bind(horizon.0)
                .push(" AND updated_at < ")
                .bind(before.as_millis());
            rows += self.execute(&txn, q).await?;
            let mut q = self.sql();
            q.push("UPDATE tenant_clocks SET horizon = ")
                .bind(horizon.0)
                .push(" WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND horizon < ")
                .bind(horizon.0);
            self.execute(&txn, q).await?;
        }
        self.count_statement();
        txn.commit().await.map_err(error::db)?;
        Ok(outcome(rows, limit))
    }

    pub(crate) async fn take_lease(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        let mut q = self.sql();
        q.push("INSERT INTO maintenance_lease (name, holder, until) VALUES (")
            .bind(LEASE)
            .push(", ")
            .bind(holder)
            .push(", ")
            .bind(until.as_millis())
            .push(
                ") ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 until = excluded.until WHERE maintenance_lease.holder = excluded.holder \
                 OR maintenance_lease.until < ",
            )
            .bind(now.as_millis())
            .push(" RETURNING holder");
        Ok(self.query_one(&self.db, q).await?.is_some())
    }

    pub(crate) async fn release_lease(&self, holder: &str) -> Result<()> {
        let mut q = self.sql();
        q.push("UPDATE maintenance_lease SET until = 0 WHERE name = ")
            .bind(LEASE)
            .push(" AND holder = ")
            .bind(holder);
        self.execute(&self.db, q).await?;
        Ok(())
    }
}
