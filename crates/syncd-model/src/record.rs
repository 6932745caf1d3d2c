//! Stored records and the JSON a client sees of them.

use std::fmt;
use std::str::FromStr;

use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ids::{EntityTypeName, RecordId, Seq, Version};
use crate::schema::EntityType;
use crate::timestamp::Timestamp;
use crate::validate::is_server_managed;

/// The seeds' sync status of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    /// Written on the server side (REST CRUD); apps have not taken it in yet.
    Pending,
    /// Written by a push.
    Synced,
    /// A manual conflict is open for it.
    Conflict,
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Synced => "synced",
            SyncStatus::Conflict => "conflict",
            SyncStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SyncStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(SyncStatus::Pending),
            "synced" => Ok(SyncStatus::Synced),
            "conflict" => Ok(SyncStatus::Conflict),
            "failed" => Ok(SyncStatus::Failed),
            other => Err(format!("unknown sync status `{other}`")),
        }
    }
}

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
