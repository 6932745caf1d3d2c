//! What the admin statistics read from storage: counts of one tenant, each from an indexed
//! query of that tenant's rows only.
//!
//! A separate trait rather than more [`Store`] methods: the engine's write and read paths never
//! need it, and a store that cannot count cheaply can leave the admin statistics out.

use async_trait::async_trait;
use syncd_model::{EntityTypeName, TenantId, Timestamp};

use crate::{Result, Store};

/// Live records and tombstones of one entity type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCounts {
    pub live: u64,
    pub tombstones: u64,
}

/// Counts of one tenant at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantCounts {
    /// Types that have at least one record (live or tombstone); absent types have none.
    pub types: Vec<(EntityTypeName, TypeCounts)>,
    /// Open `manual` conflicts.
    pub open_conflicts: u64,
    /// Conflict log entries (open, resolved and decided by a strategy) created at or after the
    /// `since` given to [`StoreStats::tenant_counts`], per strategy name.
    pub conflicts_by_strategy: Vec<(String, u64)>,
}

/// Counting queries for the admin statistics.
#[async_trait]
pub trait StoreStats: Store {
    /// Per-type record counts, open conflicts, and conflicts recorded since `conflicts_since`,
    /// of `tenant` only.
    async fn tenant_counts(
        &self,
        tenant: &TenantId,
        conflicts_since: Timestamp,
    ) -> Result<TenantCounts>;
}
