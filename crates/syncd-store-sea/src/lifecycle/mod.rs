//! The data lifecycle (SPEC §10) in SQL: sync epochs and horizons in `tenant_clocks`
//! (`epochs`), and the snapshot of live versions the integrity check sums (`live`).

mod epochs;
mod erase;
mod live;
mod maintenance;
mod scan;

pub(crate) use epochs::{FLOOR_TENANT, epoch_of};

use async_trait::async_trait;
use syncd_model::Record;
use syncd_model::{EntityTypeName, Epoch, RecordId, Seq, TenantId, Timestamp, Version};
use syncd_store::{
    BatchOutcome, LifecycleStore, LiveVersions, ResetScope, Result, Thinning, TypeAccess,
};

use crate::connect::SeaStore;

impl SeaStore {
    /// Every table with rows whose text contains `needle`, and how many: proves that an
    /// erasure left no copy of a record's values (tests, audits). Scans every row.
    pub async fn rows_containing(&self, needle: &str) -> Result<Vec<(String, u64)>> {
        self.inner.rows_containing(needle).await
    }
}
use crate::deadline::bounded;

#[async_trait]
impl LifecycleStore for SeaStore {
    async fn reset_sync(
        &self,
        scope: &ResetScope,
        now: Timestamp,
    ) -> Result<Vec<(TenantId, Epoch)>> {
        // An operator's command, not a request: it waits for writers of the tenants it resets.
        self.inner.reset_sync(scope, now).await
    }

    async fn live_versions(
        &self,
        tenant: &TenantId,
        types: &[EntityTypeName],
        visibility: &[TypeAccess],
    ) -> Result<(Seq, Vec<LiveVersions>)> {
        bounded(
            self.inner.bounds.call(),
            "a read of live versions",
            self.inner.live_versions(tenant, types, visibility),
        )
        .await
    }

    async fn erase_traces(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        id: RecordId,
        keep: Version,
    ) -> Result<u64> {
        // An operator's request that must finish: not bounded like a client's read.
        self.inner.erase_traces(tenant, entity_type, id, keep).await
    }

    async fn erase_tenant(&self, tenant: &TenantId, now: Timestamp) -> Result<Epoch> {
        self.inner.erase_tenant(tenant, now).await
    }

    // Maintenance is background work, not a request: its batches are bounded by `limit`, not by
    // the request timers.
    async fn fat_tombstones(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        self.inner.fat_tombstones(from, before, limit).await
    }

    async fn thin(&self, tenant: &TenantId, thinned: &[Thinning]) -> Result<u64> {
        self.inner.thin(tenant, thinned).await
    }

    async fn drop_thin_tombstones(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome> {
        self.inner.drop_thin_tombstones(before, limit).await
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome> {
        self.inner.purge_idempotency(before, limit).await
    }

    async fn purge_versions(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome> {
        self.inner.purge_versions(before, limit).await
    }

    async fn take_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
        self.inner.take_lease(holder, now, until).await
    }

    async fn release_lease(&self, holder: &str) -> Result<()> {
        self.inner.release_lease(holder).await
    }
}
