//! The data lifecycle (SPEC §10) in SQL: sync epochs and horizons in `tenant_clocks`
//! (`epochs`), and the snapshot of live versions the integrity check sums (`live`).

mod epochs;
mod live;

pub(crate) use epochs::{FLOOR_TENANT, epoch_of};

use async_trait::async_trait;
use syncd_model::{EntityTypeName, Epoch, Seq, TenantId, Timestamp};
use syncd_store::{LifecycleStore, LiveVersions, ResetScope, Result};

use crate::connect::SeaStore;
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
    ) -> Result<(Seq, Vec<LiveVersions>)> {
        bounded(
            self.inner.bounds.call(),
            "a read of live versions",
            self.inner.live_versions(tenant, types),
        )
        .await
    }
}
