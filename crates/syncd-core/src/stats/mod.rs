//! The admin statistics of a tenant (SPEC §13, `GET /api/admin/stats`): record counts per type,
//! open conflicts and conflicts per strategy from indexed queries of the tenant's rows (kept for
//! [`COUNTS_TTL`] per tenant, so many consoles polling cost one set of queries), and pushes,
//! changes and push latency from small in-memory windows this engine keeps per tenant.
//!
//! The windows are per process: with several instances each one counts the pushes it answered
//! and the writes it committed. Memory per active tenant is fixed (a few kilobytes); tenants
//! idle for an hour are forgotten.

use serde::Serialize;
use serde_json::{Map, Value, json};
use syncd_model::Timestamp;
use syncd_store::StoreStats;

pub(crate) mod activity;

use self::activity::epoch_secs;
pub use self::activity::{Activity, COUNTS_TTL, Latency, Window};
use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// Figures the engine cannot know: they come from the notification hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveFigures {
    /// WebSocket connections of the tenant right now.
    pub connections: u64,
    /// `resync_required` messages sent to the tenant's connections.
    pub resyncs: u64,
}

/// The answer of `GET /api/admin/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStats {
    /// Every type the caller may read: `{ "live": n, "tombstones": n }`, in registry order.
    pub types: Map<String, Value>,
    pub open_conflicts: u64,
    pub connections: u64,
    pub pushes: Window,
    pub changes: Window,
    /// Every strategy in force for a readable type, with the conflicts it handled in the last
    /// hour (open, resolved by a person, or decided by the strategy).
    pub conflicts_by_strategy: Map<String, Value>,
    pub resyncs: u64,
    pub push_latency_ms: Latency,
}

impl<S> SyncEngine<S> {
    /// The activity windows, for the server to record pushes in.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }
}

impl<S: StoreStats> SyncEngine<S> {
    /// The statistics of the caller's tenant. Needs the `admin` role.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant), err(level = "debug"))]
    pub async fn stats(&self, p: &Principal, live: LiveFigures) -> Result<TenantStats> {
        if !p.is_admin() {
            return Err(SyncError::Forbidden(
                "the statistics need a token with the `admin` role".into(),
            ));
        }
        let counts = match self.activity.cached_counts(&p.tenant) {
            Some(c) => c,
            None => {
                let since = Timestamp::now().plus_millis(-3_600_000);
                let fresh = self.store.tenant_counts(&p.tenant, since).await?;
                self.activity.keep_counts(&p.tenant, &fresh);
                fresh
            }
        };
        let readable = self.readable_types(p);
        let mut types = Map::new();
        let mut conflicts_by_strategy = Map::new();
        for ty in &readable {
            let c = counts
                .types
                .iter()
                .find(|(name, _)| *name == ty.name)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            types.insert(
                ty.name.to_string(),
                json!({ "live": c.live, "tombstones": c.tombstones }),
            );
            if let Some(name) = self.strategy_name(ty.name.as_str()) {
                conflicts_by_strategy.insert(name.to_owned(), json!(0));
            }
        }
        for (strategy, n) in &counts.conflicts_by_strategy {
            conflicts_by_strategy.insert(strategy.clone(), json!(n));
        }
        let (pushes, changes, push_latency_ms) = self.activity.figures_at(&p.tenant, epoch_secs());
        Ok(TenantStats {
            types,
            open_conflicts: counts.open_conflicts,
            connections: live.connections,
            pushes,
            changes,
            conflicts_by_strategy,
            resyncs: live.resyncs,
            push_latency_ms,
        })
    }
}
