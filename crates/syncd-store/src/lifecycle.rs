//! The data lifecycle of SPEC §10 as the store sees it: sync epochs and the retention horizon,
//! erasure, checksums over live records, and the bounded batches of scheduled maintenance.

use async_trait::async_trait;
use syncd_model::{EntityTypeName, Epoch, RecordId, Seq, TenantId, Timestamp};

use crate::{Result, Store};

/// Where a tenant's sync stands: what a cursor is checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncState {
    /// The last committed seq.
    pub head: Seq,
    /// The epoch every cursor handed out now carries.
    pub epoch: Epoch,
    /// The highest seq maintenance dropped for good: a cursor below it could miss a delete.
    pub horizon: Seq,
}

/// Whose sync `reset-sync` restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetScope {
    Tenant(TenantId),
    /// Every tenant, those the database does not know yet included (after a restored backup).
    All,
}

/// Live records of one type in a tenant, as the integrity check sums them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVersions {
    pub entity_type: EntityTypeName,
    pub records: Vec<(RecordId, syncd_model::Version)>,
}

/// The store operations behind the data lifecycle.
#[async_trait]
pub trait LifecycleStore: Store {
    /// Starts a new epoch for one tenant or all of them; returns the tenants and their new
    /// epochs (for `All`, the floor new tenants start at is listed under no tenant: it is not
    /// in the list).
    async fn reset_sync(
        &self,
        scope: &ResetScope,
        now: Timestamp,
    ) -> Result<Vec<(TenantId, Epoch)>>;

    /// The live records of `types` (empty = every type) and the head they are current at, read
    /// in one snapshot.
    async fn live_versions(
        &self,
        tenant: &TenantId,
        types: &[EntityTypeName],
    ) -> Result<(Seq, Vec<LiveVersions>)>;
}
