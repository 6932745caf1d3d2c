//! What the engine tells the notification hub after a write commits.

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ids::{ClientId, Cursor, EntityTypeName, RecordId, Seq, TenantId};
use crate::record::SyncStatus;

/// What happened to one record, for `data_update` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordAction {
    Create,
    Update,
    Delete,
    /// The record left what a connection may see (SPEC §11): it drops its copy.
    Remove,
}

impl RecordAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordAction::Create => "create",
            RecordAction::Update => "update",
            RecordAction::Delete => "delete",
            RecordAction::Remove => "remove",
        }
    }
}

/// One written record of a committed write.
#[derive(Debug, Clone)]
pub struct RecordChange {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub action: RecordAction,
    pub seq: Seq,
    /// The record as clients see it, rendered once.
    pub record: Arc<RawValue>,
    /// The fields the type's visibility rules read, after the write; empty for a type without
    /// rules. The hub decides with them which connections see the record.
    pub rule_fields: Map<String, Value>,
    /// The same fields before the write: `None` for a new record, or where the previous state
    /// is not known (an event read back from the store). A connection that saw the record
    /// before and does not now gets a removal.
    pub rule_fields_before: Option<Map<String, Value>>,
}

impl PartialEq for RecordChange {
    fn eq(&self, other: &Self) -> bool {
        self.entity_type == other.entity_type
            && self.id == other.id
            && self.action == other.action
            && self.rule_fields == other.rule_fields
            && self.rule_fields_before == other.rule_fields_before
            && self.seq == other.seq
            && self.record.get() == other.record.get()
    }
}

/// A status the server set on a record without a client writing it (manual conflicts).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub status: SyncStatus,
    /// The record's fields that its type's visibility rules read (empty for a type without
    /// rules): the hub sends the update only to connections that may see the record.
    pub rule_fields: Map<String, Value>,
}

/// One committed push or CRUD write of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub tenant: TenantId,
    pub origin_client: ClientId,
    /// The tenant's head after the write.
    pub cursor: Cursor,
    /// Written records per entity type, in order of first appearance.
    pub counts: Vec<(EntityTypeName, u32)>,
    /// The written records, in seq order. May be empty when the event crossed instances and
    /// the receiver must read them from the store.
    pub records: Vec<RecordChange>,
    pub status_updates: Vec<StatusUpdate>,
}

/// Receives events after commit. Implementations must not block: fan-out happens elsewhere.
pub trait Notifier: Send + Sync + 'static {
    fn publish(&self, event: Arc<ChangeEvent>);
}

/// Drops every event; for engines without real-time clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopNotifier;

impl Notifier for NoopNotifier {
    fn publish(&self, _event: Arc<ChangeEvent>) {}
}
