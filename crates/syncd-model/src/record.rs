//! Stored records and the JSON a client sees of them.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ids::{EntityTypeName, RecordId, Seq, Version};
use crate::managed::is_server_managed;
use crate::schema::EntityType;
pub use crate::status::SyncStatus;
use crate::timestamp::Timestamp;

/// A record as the server keeps it: the client's fields plus server-managed metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub version: Version,
    /// The seq of the write that produced this state.
    pub seq: Seq,
    /// Declared (and, where allowed, additional) fields only; never server-managed ones.
    pub data: Map<String, Value>,
    pub deleted: bool,
    pub sync_status: SyncStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the current state was edited, by the editor's clock (clamped): what
    /// last-write-wins compares.
    pub edited_at: Timestamp,
}

impl Record {
    /// The JSON a client sees, as a serialisable view (nothing is copied).
    pub fn view<'a>(&'a self, ty: &'a EntityType) -> RecordView<'a> {
        RecordView {
            record: self,
            ty,
            status_override: None,
        }
    }

    /// Like [`Record::view`], showing another sync status (the kept copy of a manual conflict).
    pub fn view_with_status<'a>(
        &'a self,
        ty: &'a EntityType,
        status: SyncStatus,
    ) -> RecordView<'a> {
        RecordView {
            record: self,
            ty,
            status_override: Some(status),
        }
    }

    /// The client view as JSON text, rendered once and shared (responses, events, replays).
    pub fn to_raw(&self, ty: &EntityType) -> Arc<RawValue> {
        raw(&self.view(ty))
    }

    /// The client view as a JSON value.
    pub fn to_json(&self, ty: &EntityType) -> Value {
        // Serialising a map of strings and JSON values into a Value cannot fail.
        serde_json::to_value(self.view(ty)).unwrap_or(Value::Null)
    }
}

/// A record as a client sees it: `id`, its fields, then `version`, `sync_status`,
/// (`server_synced`, `last_updated` for seed tables), `createdAt`, `updatedAt`, `deleted`.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    record: &'a Record,
    ty: &'a EntityType,
    status_override: Option<SyncStatus>,
}

impl Serialize for RecordView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let status = self.status_override.unwrap_or(r.sync_status);
        let extra = if self.ty.legacy_sync_fields { 2 } else { 0 };
        // Stored data should never hold server-managed keys, but if one slipped in (a legacy
        // row, a store bug) it must neither leak (`tenant_id`) nor duplicate a metadata key.
        let shown = || r.data.iter().filter(|(k, _)| !is_server_managed(k));
        let mut map = s.serialize_map(Some(shown().count() + 6 + extra))?;
        map.serialize_entry("id", &r.id)?;
        for (k, v) in shown() {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("version", &r.version)?;
        map.serialize_entry("sync_status", &status)?;
        if self.ty.legacy_sync_fields {
            map.serialize_entry("server_synced", &i32::from(status == SyncStatus::Synced))?;
            map.serialize_entry("last_updated", &r.updated_at)?;
        }
        map.serialize_entry("createdAt", &r.created_at)?;
        map.serialize_entry("updatedAt", &r.updated_at)?;
        map.serialize_entry("deleted", &r.deleted)?;
        map.end()
    }
}

/// Serialises plain data (strings, numbers, maps) into shared raw JSON. That cannot fail; if it
/// ever did, `null` stands in.
pub fn raw<T: Serialize + ?Sized>(value: &T) -> Arc<RawValue> {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => Arc::from(raw),
        Err(_) => Arc::from(RawValue::NULL.to_owned()),
    }
}
