//! A change as the write path takes it: validated, its id decided.

use std::sync::Arc;

use serde_json::{Map, Value};
use syncd_model::{ChangeOp, EntityType, RecordId, Timestamp, Version};

/// One change to write, with its id decided.
pub(crate) struct PlannedChange {
    pub index: usize,
    pub entity_type: Arc<EntityType>,
    pub op: ChangeOp,
    pub id: RecordId,
    pub base_version: Option<Version>,
    pub client_edit_time: Option<Timestamp>,
    pub data: Map<String, Value>,
}
