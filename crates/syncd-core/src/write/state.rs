//! A record's next state: the patch on the server's data, the type's deletion rule, and the
//! client view of a record that was not written.

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use syncd_model::{
    DeletionRule, EntityType, Record, RecordId, SyncStatus, Timestamp, Version, raw,
};

pub(super) struct NextState {
    pub(super) data: Map<String, Value>,
    pub(super) changed: Vec<String>,
}

/// The record's data after a write: the server's data with the patch on top and the type's
/// deletion rule applied (set on delete, reset on revival).
pub(super) fn next_state(
    ty: &EntityType,
    server: Option<&Record>,
    patch: Map<String, Value>,
    deleted: bool,
) -> NextState {
    let Some(server) = server else {
        let mut data = patch;
        apply_deletion_rule(ty, &mut data, deleted, false);
        let changed = data.keys().cloned().collect();
        return NextState { data, changed };
    };
    let mut data = server.data.clone();
    for (k, v) in patch {
        data.insert(k, v);
    }
    apply_deletion_rule(ty, &mut data, deleted, server.deleted);
    let mut changed: Vec<String> = data
        .iter()
        .filter(|(k, v)| server.data.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    changed.extend(
        server
            .data
            .keys()
            .filter(|k| !data.contains_key(k.as_str()))
            .cloned(),
    );
    NextState { data, changed }
}

fn apply_deletion_rule(
    ty: &EntityType,
    data: &mut Map<String, Value>,
    deleted: bool,
    was_deleted: bool,
) {
    let DeletionRule::SetField { field, value, .. } = &ty.deletion else {
        return;
    };
    if deleted {
        data.insert(field.clone(), value.clone());
    } else if was_deleted && data.get(field) == Some(value) {
        // Revived without saying what the field should be: back to its default.
        match ty.field(field).and_then(|f| f.default.clone()) {
            Some(default) => data.insert(field.clone(), default),
            None => data.remove(field),
        };
    }
}

/// The version and client view of a record that was not written.
pub(super) fn kept(
    server: Option<&Record>,
    ty: &EntityType,
    id: RecordId,
    shown_status: Option<SyncStatus>,
) -> (Version, Arc<RawValue>) {
    match server {
        Some(s) => {
            let view = match shown_status {
                Some(status) => raw(&s.view_with_status(ty, status)),
                None => s.to_raw(ty),
            };
            (s.version, view)
        }
        None => (Version(0), raw(&json!({ "id": id, "deleted": true }))),
    }
}

/// The client's edit time, clamped as the conflict strategies clamp it: a missing time is the
/// server's receive time, one too far in the future is the server's time.
pub(super) fn client_time(
    edited_at: Option<Timestamp>,
    now: Timestamp,
    max_skew_ms: i64,
) -> Timestamp {
    match edited_at {
        Some(t) if t <= now.plus_millis(max_skew_ms) => t,
        _ => now,
    }
}
