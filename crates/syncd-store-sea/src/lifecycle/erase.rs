//! Erasure (SPEC §10): the traces a record leaves beside its current row, and a whole tenant.

use syncd_model::{EntityTypeName, Epoch, RecordId, TenantId, Timestamp, Version};
use syncd_store::Result;

use super::epochs::next_epoch;
use crate::error;
use crate::inner::Inner;
use syncd_store::ERASED_ANSWER;

/// Every table that holds rows of a tenant besides its clock.
const TENANT_TABLES: [&str; 5] = [
    "DELETE FROM records WHERE tenant_id = ",
    "DELETE FROM record_versions WHERE tenant_id = ",
    "DELETE FROM conflicts WHERE tenant_id = ",
    "DELETE FROM idempotency_keys WHERE tenant_id = ",
    "DELETE FROM push_audit WHERE tenant_id = ",
];

impl Inner {
    pub(crate) async fn erase_traces(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        id: RecordId,
        keep: Version,
    ) -> Result<u64> {
        let txn = self.begin_immediate().await?;
        let mut q = self.sql();
        q.push("DELETE FROM record_versions WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(entity_type.as_str())
            .push(" AND id = ")
            .bind(id.as_uuid())
            .push(" AND version <> ")
            .bind(keep.0);
        let mut removed = self.execute(&txn, q).await?;
        let mut q = self.sql();
        q.push("DELETE FROM conflicts WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(entity_type.as_str())
            .push(" AND record_id = ")
            .bind(id.as_uuid());
        removed += self.execute(&txn, q).await?;
        // A stored push answer holds the records as they were sent back, each with its id in
        // this form. The answer is replaced by a marker naming the erased record, so that a
        // replay of its key is refused instead of returning the data (or applying it again).
        let mut q = self.sql();
        q.push("UPDATE idempotency_keys SET response = ")
            .bind(format!("{ERASED_ANSWER}{entity_type}:{id}"))
            .push(" WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND response LIKE ")
            .bind(format!("%{id}%"));
        removed += self.execute(&txn, q).await?;
        self.count_statement();
        txn.commit().await.map_err(error::db)?;
        Ok(removed)
    }

    pub(crate) async fn erase_tenant(&self, tenant: &TenantId, now: Timestamp) -> Result<Epoch> {
        let txn = self.begin_immediate().await?;
        // The clock row first: it is the tenant's write lock, so no write of the tenant runs
        // while its rows go.
        let state = self.sync_state(&txn, tenant).await?;
        let next = next_epoch(state.epoch, now)?;
        let mut q = self.sql();
        q.push("INSERT INTO tenant_clocks (tenant_id, head, epoch) VALUES (")
            .bind(tenant.as_str())
            .push(", 0, ")
            .bind(next)
            .push(") ON CONFLICT (tenant_id) DO UPDATE SET epoch = excluded.epoch, horizon = 0");
        self.execute(&txn, q).await?;
        for statement in TENANT_TABLES {
            let mut q = self.sql();
            q.push(statement).bind(tenant.as_str());
            self.execute(&txn, q).await?;
        }
        self.count_statement();
        txn.commit().await.map_err(error::db)?;
        super::epochs::epoch_of(next)
    }
}
