//! Push bodies: the three shapes of SPEC §4.1 parsed into one ordered list of changes, then
//! checked against the registry.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::{RecordId, Version};
use crate::schema::EntityType;
use crate::text::json_kind;
use crate::timestamp::Timestamp;

/// What a change asks for. `create` and `update` both mean upsert: the server decides from
/// whether the id exists in the caller's tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    Upsert,
    Delete,
}

/// A change as the body stated it, before its entity type is looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct RawChange {
    /// Position in application order.
    pub index: usize,
    pub entity_type: String,
    pub op: ChangeOp,
    /// `None` when the body carried no id or one that is not a UUID: a new record.
    pub id: Option<RecordId>,
    pub base_version: Option<Version>,
    pub client_edit_time: Option<Timestamp>,
    /// The record as sent (server-managed fields still in it).
    pub data: Map<String, Value>,
}

/// A change ready for the engine: its type is registered and its data is clean.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub index: usize,
    pub entity_type: Arc<EntityType>,
    pub op: ChangeOp,
    pub id: Option<RecordId>,
    pub base_version: Option<Version>,
    pub client_edit_time: Option<Timestamp>,
    pub data: Map<String, Value>,
}

/// How bad a problem with one change is; it decides the HTTP status at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeErrorKind {
    /// The change is not of a shape the API accepts (400).
    BadShape,
    /// The entity type is not registered (422 `unknown_entity_type`).
    UnknownEntityType,
    /// A field is invalid (422 `validation_failed`).
    Invalid,
}

/// One problem with one change of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeError {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    #[serde(skip)]
    pub kind: ChangeErrorKind,
}

impl ChangeError {
    fn shape(index: usize, entity_type: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            index,
            entity_type: entity_type.map(str::to_owned),
            field: None,
            message: message.into(),
            kind: ChangeErrorKind::BadShape,
        }
    }

    pub fn invalid(
        index: usize,
        entity_type: &str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            index,
            entity_type: Some(entity_type.to_owned()),
            field: field.map(str::to_owned),
            message: message.into(),
            kind: ChangeErrorKind::Invalid,
        }
    }
}

/// A body that is not a push at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PushBodyError(pub String);

/// A parsed push body. `errors` holds per-change problems found while parsing; the changes
/// they concern are left out of `changes`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PushBody {
    pub client_id: Option<String>,
    pub push_id: Option<String>,
    pub changes: Vec<RawChange>,
    pub errors: Vec<ChangeError>,
}

/// Parses any of the three push shapes:
/// the map form `{changes: {type: [record…]}}`, the single-operation form
/// `{table, operation, data}` and the list form `{changes: [{entityType, op, …}]}`.
pub fn parse_push_body(body: Value) -> Result<PushBody, PushBodyError> {
    let Value::Object(mut body) = body else {
        return Err(PushBodyError("the body must be a JSON object".into()));
    };
    let client_id = optional_string(&body, "clientId")?;
    let push_id = optional_string(&body, "pushId")?;
    let mut out = PushBody {
        client_id,
        push_id,
        ..PushBody::default()
    };
    if let Some(changes) = body.remove("changes") {
        match changes {
            Value::Object(map) => parse_map_form(map, &mut out),
            Value::Array(items) => parse_list_form(items, &mut out),
            _ => {
                return Err(PushBodyError(
                    "`changes` must be an object of entity types (map form) or an array of changes (list form)"
                        .into(),
                ));
            }
        }
    } else if body.contains_key("table") {
        parse_single_form(body, &mut out)?;
    } else {
        return Err(PushBodyError(
            "the body needs `changes` (map or list form) or `table` and `operation` (single-operation form)"
                .into(),
        ));
    }
    Ok(out)
}

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>, PushBodyError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if crate::text::has_nul(s) => Err(PushBodyError(format!(
            "`{key}` {}",
            crate::text::NUL_MESSAGE
        ))),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PushBodyError(format!("`{key}` must be a string"))),
    }
}

fn parse_map_form(map: Map<String, Value>, out: &mut PushBody) {
    let mut index = 0;
    for (entity_type, records) in map {
        let Value::Array(records) = records else {
            out.errors.push(ChangeError::shape(
                index,
                Some(&entity_type),
                format!("`changes.{entity_type}` must be an array of records"),
            ));
            index += 1;
            continue;
        };
        for record in records {
            match record {
                Value::Object(record) => {
                    if let Some(change) = record_change(index, &entity_type, None, record, out) {
                        out.changes.push(change);
                    }
                }
                other => out.errors.push(ChangeError::shape(
                    index,
                    Some(&entity_type),
                    format!("a record must be a JSON object, got {}", json_kind(&other)),
                )),
            }
            index += 1;
        }
    }
}

fn parse_single_form(
    mut body: Map<String, Value>,
    out: &mut PushBody,
) -> Result<(), PushBodyError> {
    let Some(Value::String(table)) = body.remove("table") else {
        return Err(PushBodyError("`table` must be a string".into()));
    };
    let op = match body.get("operation").or_else(|| body.get("op")) {
        Some(Value::String(op)) => parse_op(op).ok_or_else(|| {
            PushBodyError(format!(
                "unknown operation `{op}`; expected create, update or delete"
            ))
        })?,
        None => {
            return Err(PushBodyError(
                "`operation` is required: create, update or delete".into(),
            ));
        }
        Some(_) => return Err(PushBodyError("`operation` must be a string".into())),
    };
    let mut data = match body.remove("data") {
        Some(Value::Object(data)) => data,
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(PushBodyError(format!(
                "`data` must be a JSON object, got {}",
                json_kind(&other)
            )));
        }
    };
    // A delete often names its record at the top level.
    if !data.contains_key("id")
        && let Some(id) = body.remove("id")
    {
        data.insert("id".into(), id);
    }
    if let Some(change) = record_change(0, &table, Some(op), data, out) {
        out.changes.push(change);
    }
    Ok(())
}

/// Map-form and single-operation records: metadata travels inside the record.
fn record_change(
    index: usize,
    entity_type: &str,
    op: Option<ChangeOp>,
    data: Map<String, Value>,
    out: &mut PushBody,
) -> Option<RawChange> {
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| RecordId::parse(s).ok());
    let base_version = match parse_version(data.get("version")) {
        Ok(v) => v,
        Err(message) => {
            out.errors.push(ChangeError::invalid(
                index,
                entity_type,
                Some("version"),
                message,
            ));
            return None;
        }
    };
    // The record's own metadata fields are server-managed: a value the server cannot read as
    // an edit time (RFC 3339, or Unix milliseconds as the seeds' clients send) is ignored.
    let client_edit_time =
        ["updatedAt", "last_updated"]
            .iter()
            .find_map(|key| match data.get(*key)? {
                Value::String(s) => Timestamp::parse_rfc3339(s).ok(),
                Value::Number(n) => n.as_i64().map(Timestamp::from_millis),
                _ => None,
            });
    let marked_deleted = ["deleted", "isDeleted"]
        .iter()
        .any(|k| data.get(*k) == Some(&Value::Bool(true)));
    let op = match op {
        Some(ChangeOp::Delete) => ChangeOp::Delete,
        _ if marked_deleted => ChangeOp::Delete,
        _ => ChangeOp::Upsert,
    };
    Some(RawChange {
        index,
        entity_type: entity_type.to_owned(),
        op,
        id,
        base_version,
        client_edit_time,
        data,
    })
}

fn parse_list_form(items: Vec<Value>, out: &mut PushBody) {
    for (index, item) in items.into_iter().enumerate() {
        match list_change(index, item) {
            Ok(change) => out.changes.push(change),
            Err(e) => out.errors.push(e),
        }
    }
}

/// One change of the list form: `{entityType, op, id, baseVersion, data, clientUpdatedAt}`.
fn list_change(index: usize, item: Value) -> Result<RawChange, ChangeError> {
    let Value::Object(mut item) = item else {
        return Err(ChangeError::shape(
            index,
            None,
            format!("a change must be a JSON object, got {}", json_kind(&item)),
        ));
    };
    let Some(Value::String(entity_type)) = item.get("entityType").cloned() else {
        return Err(ChangeError::shape(
            index,
            None,
            "`entityType` is required and must be a string",
        ));
    };
    let shape = |message: String| ChangeError::shape(index, Some(&entity_type), message);
    let op = match item.get("op").or_else(|| item.get("operation")) {
        None | Some(Value::Null) => ChangeOp::Upsert,
        Some(Value::String(op)) => parse_op(op).ok_or_else(|| {
            shape(format!(
                "unknown op `{op}`; expected upsert, create, update or delete"
            ))
        })?,
        Some(_) => return Err(shape("`op` must be a string".into())),
    };
    let data = match item.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(shape(format!(
                "`data` must be a JSON object, got {}",
                json_kind(&other)
            )));
        }
    };
    let invalid = |field: &str, message: String| {
        ChangeError::invalid(index, &entity_type, Some(field), message)
    };
    if item
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(crate::text::has_nul)
    {
        return Err(invalid("id", crate::text::NUL_MESSAGE.into()));
    }
    let id = item
        .get("id")
        .or_else(|| data.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| RecordId::parse(s).ok());
    let base_version =
        parse_version(item.get("baseVersion")).map_err(|m| invalid("baseVersion", m))?;
    let client_edit_time = match item.get("clientUpdatedAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            Timestamp::parse_rfc3339(s).map_err(|e| invalid("clientUpdatedAt", e.to_string()))?,
        ),
        Some(_) => {
            return Err(invalid(
                "clientUpdatedAt",
                "must be an RFC 3339 date-time string".into(),
            ));
        }
    };
    Ok(RawChange {
        index,
        entity_type,
        op,
        id,
        base_version,
        client_edit_time,
        data,
    })
}

fn parse_op(op: &str) -> Option<ChangeOp> {
    match op {
        "upsert" | "create" | "update" => Some(ChangeOp::Upsert),
        "delete" => Some(ChangeOp::Delete),
        _ => None,
    }
}

fn parse_version(value: Option<&Value>) -> Result<Option<Version>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v >= 0 => Ok(Some(Version(v))),
            _ => Err("must be a non-negative integer".into()),
        },
        Some(_) => Err("must be a non-negative integer".into()),
    }
}

/// The status an error list maps to: the most basic problem wins.
pub fn worst_kind(errors: &[ChangeError]) -> Option<ChangeErrorKind> {
    errors.iter().map(|e| e.kind).min()
}
