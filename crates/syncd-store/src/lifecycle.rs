//! The data lifecycle of SPEC §10 as the store sees it: sync epochs and the retention horizon,
//! erasure, checksums over live records, and the bounded batches of scheduled maintenance.

use async_trait::async_trait;
use syncd_model::{EntityTypeName, Epoch, RecordId, Seq, TenantId, Timestamp, Version};

use crate::{Result, Store, TypeAccess};

/// The start of the stored answer of an idempotency key whose answer held an erased record:
/// `syncd-erased:{type}:{id}` (never JSON, so never a real answer). A replay is refused.
pub const ERASED_ANSWER: &str = "syncd-erased:";

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
    pub records: Vec<(RecordId, Version)>,
}

/// What one maintenance step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows changed or removed.
    pub rows: u64,
    /// A full batch was done: there may be more.
    pub more: bool,
}

/// A thin tombstone to write over a record still at `version`: the data it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Thinning {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub version: Version,
    pub data: serde_json::Map<String, serde_json::Value>,
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

    /// The live records of `types` (empty = every type) that the reader sees (`visibility`: the
    /// restricted types among them, as in [`crate::ChangesQuery::visibility`]) and the head they
    /// are current at, read in one snapshot.
    async fn live_versions(
        &self,
        tenant: &TenantId,
        types: &[EntityTypeName],
        visibility: &[TypeAccess],
    ) -> Result<(Seq, Vec<LiveVersions>)>;

    /// Removes what a record left beside its current row, after the write that erased it
    /// committed: every version but `keep` and its conflicts; the stored answers of the tenant's
    /// idempotency entries that name its id become [`ERASED_ANSWER`]. Returns the rows changed.
    async fn erase_traces(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        id: RecordId,
        keep: Version,
    ) -> Result<u64>;

    /// Removes every row of a tenant (records and thin tombstones, versions, conflicts,
    /// idempotency entries, audit rows) and starts it a new epoch, in one transaction that holds
    /// the tenant's write lock. Returns the new epoch.
    async fn erase_tenant(&self, tenant: &TenantId, now: Timestamp) -> Result<Epoch>;

    /// Up to `limit` tombstones updated in `[from, before)` that were not thinned at their
    /// current version, oldest first, with their tenants.
    async fn fat_tombstones(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, syncd_model::Record)>>;

    /// Writes thin tombstones over the records of `tenant` that are still the tombstones read
    /// (same version), and over their current version rows. The seq does not move: there is
    /// nothing new to pull, and a client whose cursor predates the delete still gets it.
    async fn thin(&self, tenant: &TenantId, thinned: &[Thinning]) -> Result<u64>;

    /// Drops up to `limit` thin tombstones updated before `before` (and their version rows),
    /// raising each tenant's horizon to the highest seq it dropped.
    async fn drop_thin_tombstones(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome>;

    /// Deletes up to `limit` idempotency entries created before `before`.
    async fn purge_idempotency(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome>;

    /// Deletes up to `limit` versions written before `before` (a record's current version is
    /// kept).
    async fn purge_versions(&self, before: Timestamp, limit: usize) -> Result<BatchOutcome>;

    /// Takes (or, for the same holder, extends) the maintenance lease until `until` unless
    /// another holder's lease runs past `now`. True when `holder` holds it.
    async fn take_lease(&self, holder: &str, now: Timestamp, until: Timestamp) -> Result<bool>;

    /// Gives the lease back, if `holder` still holds it.
    async fn release_lease(&self, holder: &str) -> Result<()>;
}
