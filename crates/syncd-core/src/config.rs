//! The engine's settings.

use std::collections::HashMap;

use std::sync::Arc;

use syncd_conflict::{ConflictStrategy, StrategyRegistry, UnknownStrategy};
use syncd_model::{Limits, Registry};

/// How the engine behaves; every value has the SPEC §7 default.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Strategy for types that name none.
    pub default_strategy: String,
    /// Per entity type strategy, overriding both the default and the type's own.
    pub strategy_overrides: HashMap<String, String>,
    /// How long past versions are kept (the base of three-way merges and the audit trail).
    pub history_days: u32,
    pub max_changes_per_push: usize,
    pub default_pull_limit: usize,
    pub max_pull_limit: usize,
    pub limits: Limits,
    /// Client edit times further in the future than this are clamped to server time.
    pub max_clock_skew_ms: i64,
    /// How long a push's idempotency key is remembered.
    pub idempotency_ttl_ms: i64,
    /// How long a tombstone keeps its data before maintenance thins it (`sync.tombstone_days`).
    pub tombstone_ms: i64,
    /// How long thin tombstones are kept; 0 = forever (`sync.tombstone_retention_days`).
    pub tombstone_retention_ms: i64,
    /// Rows per maintenance batch: the most a batch holds locks for.
    pub maintenance_batch: usize,
    /// Group commit: at most this many changes in one transaction of pushes that queued while
    /// their tenant's previous transaction ran (a push larger than that still runs, alone).
    /// 0 disables grouping: every push is a transaction of its own. The default is small on
    /// purpose: an edit waits for the transaction in flight, so that bound sets its tail latency
    /// (docs/benchmarks.md); grouping large pushes saved nothing measurable.
    pub group_commit_changes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_strategy: "field-merge".into(),
            strategy_overrides: HashMap::new(),
            history_days: 30,
            max_changes_per_push: 1000,
            default_pull_limit: 1000,
            max_pull_limit: 10_000,
            limits: Limits::default(),
            max_clock_skew_ms: 5 * 60 * 1000,
            idempotency_ttl_ms: 24 * 60 * 60 * 1000,
            tombstone_ms: 90 * DAY_MS,
            tombstone_retention_ms: 0,
            maintenance_batch: 1000,
            group_commit_changes: 100,
        }
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A number of days (fractions allowed) in milliseconds; negative counts as 0.
pub fn days_to_ms(days: f64) -> i64 {
    if days.is_nan() || days <= 0.0 {
        return 0;
    }
    // `as` saturates at the bounds of i64, which is what a huge number of days means.
    (days * DAY_MS as f64) as i64
}

impl EngineConfig {
    pub(crate) fn history_window_ms(&self) -> i64 {
        i64::from(self.history_days) * 24 * 60 * 60 * 1000
    }
}

/// A strategy named in configuration that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("entity type `{entity_type}`: {source}")]
pub struct StrategyConfigError {
    pub entity_type: String,
    #[source]
    pub source: UnknownStrategy,
}

impl EngineConfig {
    /// The conflict strategy of every registered type, by type name: the configured override,
    /// else the type's own, else the default. Fails on a name no strategy has.
    pub fn strategy_per_type(
        &self,
        registry: &Registry,
        strategies: &StrategyRegistry,
    ) -> Result<HashMap<String, Arc<dyn ConflictStrategy>>, StrategyConfigError> {
        let mut by_type = HashMap::new();
        for ty in registry.iter() {
            let name = self
                .strategy_overrides
                .get(ty.name.as_str())
                .or(ty.strategy.as_ref())
                .unwrap_or(&self.default_strategy);
            let strategy = strategies.get(name).map_err(|source| StrategyConfigError {
                entity_type: ty.name.to_string(),
                source,
            })?;
            by_type.insert(ty.name.to_string(), strategy);
        }
        Ok(by_type)
    }
}
