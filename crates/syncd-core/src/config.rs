//! The engine's settings.

use std::collections::HashMap;

use syncd_model::Limits;

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
    /// Group commit: at most this many changes in one transaction of pushes that queued while
    /// their tenant's previous transaction ran (a push larger than that still runs, alone).
    /// 0 disables grouping: every push is a transaction of its own.
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
            group_commit_changes: 2000,
        }
    }
}

impl EngineConfig {
    pub(crate) fn history_window_ms(&self) -> i64 {
        i64::from(self.history_days) * 24 * 60 * 60 * 1000
    }
}
