//! The server-to-client messages of the WebSocket protocol (SPEC §6). Every message is
//! `{"type": …, "data": {…}, "timestamp": …}`, encoded once and shared by every recipient.

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use syncd_model::{ClientId, Cursor, EntityTypeName, RecordChange, StatusUpdate, Timestamp};

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: T,
    timestamp: Timestamp,
}

/// Encodes any message. Serialising plain data into a buffer cannot fail; if it ever did, an
/// `error` message is sent instead of nothing.
pub fn envelope<T: Serialize>(kind: &str, data: T, timestamp: Timestamp) -> Bytes {
    match serde_json::to_vec(&Envelope {
        kind,
        data,
        timestamp,
    }) {
        Ok(bytes) => Bytes::from(bytes),
        Err(_) => Bytes::from_static(
            br#"{"type":"error","data":{"code":"internal","message":"could not encode a message"}}"#,
        ),
    }
}

/// `sync_complete` goes to the writing client's connections, `new_data_available` to the
/// others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    SyncComplete,
    NewDataAvailable,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::SyncComplete => "sync_complete",
            NotificationKind::NewDataAvailable => "new_data_available",
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncNotification<'a> {
    event: &'static str,
    entity_types: Vec<&'a str>,
    count: u64,
    cursor: Cursor,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin_client_id: Option<&'a ClientId>,
    message: String,
}

/// A `sync_notification` naming `types` (with their record counts).
pub fn sync_notification<'a>(
    kind: NotificationKind,
    types: impl Iterator<Item = (&'a EntityTypeName, u32)>,
    cursor: Cursor,
    origin: Option<&ClientId>,
    timestamp: Timestamp,
) -> Bytes {
    let mut entity_types = Vec::new();
    let mut count = 0u64;
    for (ty, n) in types {
        entity_types.push(ty.as_str());
        count += u64::from(n);
    }
    let names = entity_types.join(", ");
    let message = match kind {
        NotificationKind::SyncComplete => format!("{names} sync completed successfully"),
        NotificationKind::NewDataAvailable => format!("new {names} data available"),
    };
    envelope(
        "sync_notification",
        SyncNotification {
            event: kind.as_str(),
            entity_types,
            count,
            cursor,
            origin_client_id: origin,
            message,
        },
        timestamp,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataUpdate<'a> {
    #[serde(rename = "type")]
    entity_type: &'a str,
    action: &'static str,
    data: &'a RawValue,
    cursor: Cursor,
    origin_client_id: &'a ClientId,
}

/// A `data_update` carrying one changed record. `cursor` is the record's seq in the tenant's
/// epoch with the receiving connection's visibility fingerprint, so that a client may pull
/// from it.
pub fn data_update(
    change: &RecordChange,
    origin: &ClientId,
    cursor: Cursor,
    timestamp: Timestamp,
) -> Bytes {
    envelope(
        "data_update",
        DataUpdate {
            entity_type: change.entity_type.as_str(),
            action: change.action.as_str(),
            data: &change.record,
            cursor,
            origin_client_id: origin,
        },
        timestamp,
    )
}

#[derive(Serialize)]
struct Removed {
    id: String,
    deleted: bool,
    removed: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RemovalUpdate<'a> {
    #[serde(rename = "type")]
    entity_type: &'a str,
    action: &'static str,
    data: Removed,
    cursor: Cursor,
    origin_client_id: &'a ClientId,
}

/// A `data_update` with action `remove`: the record left what the connection may see (SPEC
/// §11); it carries the id and nothing else. `cursor` as for [`data_update`].
pub fn data_removal(
    change: &RecordChange,
    origin: &ClientId,
    cursor: Cursor,
    timestamp: Timestamp,
) -> Bytes {
    envelope(
        "data_update",
        RemovalUpdate {
            entity_type: change.entity_type.as_str(),
            action: syncd_model::RecordAction::Remove.as_str(),
            data: Removed {
                id: change.id.to_string(),
                deleted: true,
                removed: true,
            },
            cursor,
            origin_client_id: origin,
        },
        timestamp,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusUpdateData<'a> {
    entity_type: &'a str,
    id: String,
    status: &'static str,
}

/// A `sync_status_update`: a status the server set (a conflict recorded or resolved).
pub fn status_update(update: &StatusUpdate, timestamp: Timestamp) -> Bytes {
    envelope(
        "sync_status_update",
        StatusUpdateData {
            entity_type: update.entity_type.as_str(),
            id: update.id.to_string(),
            status: update.status.as_str(),
        },
        timestamp,
    )
}

#[derive(Serialize)]
struct ResyncData {
    cursor: Cursor,
    message: &'static str,
}

/// A `resync_required`: events were dropped; pull from your own cursor.
pub fn resync_required(cursor: Cursor, timestamp: Timestamp) -> Bytes {
    envelope(
        "resync_required",
        ResyncData {
            cursor,
            message: "events were dropped because this connection fell behind; pull from your cursor to catch up",
        },
        timestamp,
    )
}

#[derive(Serialize)]
struct ResetData {
    cursor: Cursor,
    reset: bool,
    message: &'static str,
}

/// A `resync_required` with `reset: true`: the client's cursor cannot be continued (another sync
/// epoch, ahead of the head, behind the horizon). It drops its local copy of the records (never
/// its unsent changes) and pulls from the start; `cursor` is the tenant's head.
pub fn resync_reset(cursor: Cursor, timestamp: Timestamp) -> Bytes {
    envelope(
        "resync_required",
        ResetData {
            cursor,
            reset: true,
            message: "the server's data was reset or restored: drop the local records (keep unsent changes) and pull from the start",
        },
        timestamp,
    )
}
