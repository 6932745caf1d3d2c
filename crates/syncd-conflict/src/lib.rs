//! Conflict resolution: what happens when a change reaches a record that someone else wrote
//! since the client last saw it (SPEC §5).
//!
//! Pure functions over model types; no IO, no async, no storage. A [`ConflictStrategy`] decides
//! stale changes; [`resolve`] handles everything that is not a conflict (creates, fresh bases,
//! no-op changes) the same way for every strategy.

mod lookup;
mod strategies;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use syncd_model::{ChangeOp, Timestamp, Version};

use crate::lookup::FieldCursor;
pub use strategies::{ClientWins, FieldMerge, LastWriteWins, Manual, Merge, ServerWins};

/// The record as the server holds it now.
#[derive(Debug, Clone, Copy)]
pub struct ServerState<'a> {
    pub data: &'a Map<String, Value>,
    pub version: Version,
    /// Edit time of the current state (the editor's clock, clamped when it was written).
    pub edited_at: Timestamp,
    pub deleted: bool,
}

/// The change a client sent.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub op: ChangeOp,
    /// The fields the client sent: a patch or a whole record, both work.
    pub data: &'a Map<String, Value>,
    /// The version the client last saw; `None` counts as 0.
    pub base_version: Option<Version>,
    /// When the client made the edit, by its own clock.
    pub edited_at: Option<Timestamp>,
}

/// Everything a strategy may look at.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `None`: no record with this id exists in the tenant.
    pub server: Option<ServerState<'a>>,
    /// The record's data at the client's base version, when the history still holds it.
    pub base: Option<&'a Map<String, Value>>,
    pub incoming: Incoming<'a>,
    /// The server clock.
    pub now: Timestamp,
    /// Client edit times later than `now + max_skew_ms` are clamped to `now`.
    pub max_skew_ms: i64,
}

impl Context<'_> {
    /// The client's edit time, clamped: a missing time is the server's receive time, and a
    /// time too far in the future is the server's time too.
    pub fn client_time(&self) -> Timestamp {
        match self.incoming.edited_at {
            Some(t) if t <= self.now.plus_millis(self.max_skew_ms) => t,
            _ => self.now,
        }
    }

    /// The fields the client sent whose values differ from the server's.
    pub fn differing_fields(&self) -> Vec<String> {
        let Some(server) = &self.server else {
            return Vec::new();
        };
        let mut on_server = FieldCursor::new(server.data);
        self.incoming
            .data
            .iter()
            .filter(|(k, v)| on_server.get(k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The `status` of a push result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultStatus {
    Created,
    Updated,
    Deleted,
    Unchanged,
    ConflictResolved,
    Conflict,
}

impl ResultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Created => "created",
            ResultStatus::Updated => "updated",
            ResultStatus::Deleted => "deleted",
            ResultStatus::Unchanged => "unchanged",
            ResultStatus::ConflictResolved => "conflict_resolved",
            ResultStatus::Conflict => "conflict",
        }
    }
}

/// What to do with a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Write a new state: the server's data with `patch` on top (for a create, the server data
    /// is empty). The version goes up by one.
    Write {
        patch: Map<String, Value>,
        deleted: bool,
        /// Edit time of the new state.
        edited_at: Timestamp,
        status: ResultStatus,
        conflicting_fields: Vec<String>,
    },
    /// Keep the server state as it is; nothing is written.
    Keep {
        status: ResultStatus,
        conflicting_fields: Vec<String>,
    },
    /// Keep the server state and record an open conflict for a person to resolve.
    Open { conflicting_fields: Vec<String> },
}

impl Resolution {
    pub fn status(&self) -> ResultStatus {
        match self {
            Resolution::Write { status, .. } | Resolution::Keep { status, .. } => *status,
            Resolution::Open { .. } => ResultStatus::Conflict,
        }
    }

    pub fn conflicting_fields(&self) -> &[String] {
        match self {
            Resolution::Write {
                conflicting_fields, ..
            }
            | Resolution::Keep {
                conflicting_fields, ..
            }
            | Resolution::Open { conflicting_fields } => conflicting_fields,
        }
    }
}

/// Decides stale changes for an entity type. Implement it to plug in your own rule.
pub trait ConflictStrategy: Send + Sync {
    /// The name configuration refers to it by.
    fn name(&self) -> &str;

    /// Called only for a conflict: the record exists, the client's base version is older than
    /// the server's, and applying the change would alter the record.
    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution;
}

/// Resolves one change. Non-conflicts are decided here, the same for every strategy:
/// a new id is created; a delete of a missing or deleted record and a change that alters
/// nothing are `unchanged`; a change based on the current version is applied. Only real
/// conflicts reach the strategy.
///
/// In order: no record + upsert → `Write` `created` (patch = the data as sent); no record +
/// delete → `Keep` `unchanged`; delete of a tombstone → `unchanged`; upsert onto a live record
/// whose every sent field already has that value → `unchanged`; base version (missing = 0) ≥
/// server version → `Write` `updated` / `deleted` (an upsert onto a tombstone revives it);
/// otherwise the strategy decides. docs/conflict-resolution.md has the full rules.
pub fn resolve(strategy: &dyn ConflictStrategy, ctx: &Context<'_>) -> Resolution {
    let Some(server) = &ctx.server else {
        return match ctx.incoming.op {
            ChangeOp::Upsert => Resolution::Write {
                patch: ctx.incoming.data.clone(),
                deleted: false,
                edited_at: ctx.client_time(),
                status: ResultStatus::Created,
                conflicting_fields: Vec::new(),
            },
            ChangeOp::Delete => unchanged(),
        };
    };
    match ctx.incoming.op {
        ChangeOp::Delete if server.deleted => return unchanged(),
        ChangeOp::Upsert if !server.deleted && is_noop(server.data, ctx.incoming.data) => {
            return unchanged();
        }
        _ => {}
    }
    let base = ctx.incoming.base_version.unwrap_or_default();
    if base >= server.version {
        return take_client(ctx, fresh_status(ctx.incoming.op), Vec::new());
    }
    strategy.resolve_conflict(ctx)
}

fn unchanged() -> Resolution {
    Resolution::Keep {
        status: ResultStatus::Unchanged,
        conflicting_fields: Vec::new(),
    }
}

fn fresh_status(op: ChangeOp) -> ResultStatus {
    match op {
        ChangeOp::Upsert => ResultStatus::Updated,
        ChangeOp::Delete => ResultStatus::Deleted,
    }
}

/// Every field the client sent already has that value on the server.
fn is_noop(server: &Map<String, Value>, patch: &Map<String, Value>) -> bool {
    let mut on_server = FieldCursor::new(server);
    patch.iter().all(|(k, v)| on_server.get(k) == Some(v))
}

/// Applies the client's change as sent: its fields over the server's, its delete, its revival
/// of a tombstone.
pub fn take_client(
    ctx: &Context<'_>,
    status: ResultStatus,
    conflicting_fields: Vec<String>,
) -> Resolution {
    Resolution::Write {
        patch: client_patch(ctx),
        deleted: ctx.incoming.op == ChangeOp::Delete,
        edited_at: ctx.client_time(),
        status,
        conflicting_fields,
    }
}

/// [`take_client`] as `conflict_resolved`, listing the fields the client overwrote: the
/// fields it sent that differ from the server's (what [`Context::differing_fields`] returns),
/// which are the patch's own fields, so nothing is looked up twice.
pub(crate) fn take_client_over_server(ctx: &Context<'_>) -> Resolution {
    let patch = client_patch(ctx);
    let conflicting_fields = if ctx.server.is_some() {
        patch.keys().cloned().collect()
    } else {
        Vec::new()
    };
    Resolution::Write {
        patch,
        deleted: ctx.incoming.op == ChangeOp::Delete,
        edited_at: ctx.client_time(),
        status: ResultStatus::ConflictResolved,
        conflicting_fields,
    }
}

/// The fields the client sent that differ from the server's (all of them for a create).
fn client_patch(ctx: &Context<'_>) -> Map<String, Value> {
    let Some(server) = &ctx.server else {
        return ctx.incoming.data.clone();
    };
    let mut on_server = FieldCursor::new(server.data);
    // Sized for every sent field: one allocation instead of growing step by step.
    let mut patch = Map::with_capacity(ctx.incoming.data.len());
    for (field, value) in ctx.incoming.data {
        if on_server.get(field) != Some(value) {
            patch.insert(field.clone(), value.clone());
        }
    }
    patch
}

/// Keeps the server's state, reporting what the client disagreed on.
pub fn keep_server(ctx: &Context<'_>) -> Resolution {
    Resolution::Keep {
        status: ResultStatus::ConflictResolved,
        conflicting_fields: ctx.differing_fields(),
    }
}

/// An unknown strategy name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown conflict strategy `{name}`; known: {known}")]
pub struct UnknownStrategy {
    pub name: String,
    pub known: String,
}

/// Strategies by name: the built-ins plus whatever embedding code registers.
#[derive(Clone)]
pub struct StrategyRegistry {
    by_name: HashMap<String, Arc<dyn ConflictStrategy>>,
}

impl std::fmt::Debug for StrategyRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.by_name.keys().collect();
        names.sort();
        f.debug_struct("StrategyRegistry")
            .field("strategies", &names)
            .finish()
    }
}

impl Default for StrategyRegistry {
    fn default() -> Self {
        Self::with_builtins()
    }
}

impl StrategyRegistry {
    /// `server-wins`, `client-wins`, `last-write-wins`, `merge`, `field-merge`, `manual`.
    pub fn with_builtins() -> Self {
        let mut registry = Self {
            by_name: HashMap::new(),
        };
        registry.register(Arc::new(ServerWins));
        registry.register(Arc::new(ClientWins));
        registry.register(Arc::new(LastWriteWins));
        registry.register(Arc::new(Merge));
        registry.register(Arc::new(FieldMerge));
        registry.register(Arc::new(Manual));
        registry
    }

    /// [`StrategyRegistry::register`] for building in one expression:
    /// `StrategyRegistry::with_builtins().with(Arc::new(MyRule))`.
    pub fn with(mut self, strategy: Arc<dyn ConflictStrategy>) -> Self {
        self.register(strategy);
        self
    }

    /// Adds a strategy, replacing one of the same name.
    pub fn register(&mut self, strategy: Arc<dyn ConflictStrategy>) {
        self.by_name.insert(strategy.name().to_owned(), strategy);
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn ConflictStrategy>, UnknownStrategy> {
        self.by_name.get(name).cloned().ok_or_else(|| {
            let mut known: Vec<_> = self.by_name.keys().map(String::as_str).collect();
            known.sort_unstable();
            UnknownStrategy {
                name: name.to_owned(),
                known: known.join(", "),
            }
        })
    }
}
