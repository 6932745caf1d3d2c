//! REST CRUD over every registered type (SPEC §4.5): the same write path as push, with REST
//! expectations (POST creates, PUT needs a live record, a stale version is refused).

use std::sync::Arc;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use syncd_model::{
    ChangeError, ChangeOp, Cursor, EntityType, FieldType, RawChange, Record, RecordId, Seq,
    Timestamp, Version,
};
use syncd_store::{ListQuery, RecordKey, Store};

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;
use crate::write::{CrudMode, Origin, PlannedChange};

/// Query parameters of `GET /api/{type}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// `?field=value` on declared fields.
    pub filters: Vec<(String, String)>,
    /// `?search=text` over the type's search fields.
    pub search: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub include_deleted: bool,
}

/// A page of a list; serialises as `{data, cursor, hasMore}` (the answer's fields beside
/// `success`, see [`crate::Envelope::flat`]).
#[derive(Debug, Clone)]
pub struct ListResponse {
    pub entity_type: Arc<EntityType>,
    pub records: Vec<Record>,
    pub cursor: Cursor,
    pub has_more: bool,
}

impl Serialize for ListResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let views: Vec<_> = self
            .records
            .iter()
            .map(|r| r.view(&self.entity_type))
            .collect();
        let mut st = s.serialize_struct("ListResponse", 3)?;
        st.serialize_field("data", &views)?;
        st.serialize_field("cursor", &self.cursor)?;
        st.serialize_field("hasMore", &self.has_more)?;
        st.end()
    }
}

/// What a CRUD write returns as `data`: one record for an object body, a list for an array.
/// Serialises as that `data`.
#[derive(Debug, Clone)]
pub struct CrudWrite {
    /// The records as stored, in request order.
    pub records: Vec<Arc<RawValue>>,
    /// The request body was an array.
    pub many: bool,
}

impl Serialize for CrudWrite {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.many, self.records.first()) {
            (false, Some(one)) => one.serialize(s),
            _ => self.records.serialize(s),
        }
    }
}

impl<S: Store> SyncEngine<S> {
    /// A registered type for a REST route; unregistered names are 404 there.
    fn route_type(&self, name: &str) -> Result<Arc<EntityType>> {
        self.registry
            .get(name)
            .cloned()
            .ok_or_else(|| SyncError::NotFound(format!("no entity type `{name}`")))
    }

    fn route_type_readable(&self, p: &Principal, name: &str) -> Result<Arc<EntityType>> {
        let ty = self.route_type(name)?;
        if !p.scopes.can_read(name) {
            return Err(SyncError::Forbidden(format!(
                "the token may not read `{name}`"
            )));
        }
        Ok(ty)
    }

    fn route_type_writable(&self, p: &Principal, name: &str) -> Result<Arc<EntityType>> {
        let ty = self.route_type(name)?;
        if !p.scopes.can_write(name) {
            return Err(SyncError::Forbidden(format!(
                "the token may not write `{name}`"
            )));
        }
        Ok(ty)
    }

    /// `GET /api/{type}`: live records (tombstones on request), filtered, searched, paged in
    /// order of last change.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn list(
        &self,
        p: &Principal,
        entity_type: &str,
        params: &ListParams,
    ) -> Result<ListResponse> {
        let ty = self.route_type_readable(p, entity_type)?;
        let mut filters = Vec::with_capacity(params.filters.len());
        for (field, raw) in &params.filters {
            let Some(schema) = ty.field(field) else {
                return Err(SyncError::bad_request(format!(
                    "`{field}` is not a field of `{entity_type}`; filters work on declared fields"
                )));
            };
            let value = filter_value(field, schema.ty, raw)?;
            if syncd_model::text::find_nul(&value).is_some() {
                return Err(SyncError::bad_request(format!(
                    "filter `{field}`: the value {}",
                    syncd_model::text::NUL_MESSAGE
                )));
            }
            filters.push((field.clone(), value));
        }
        let search = match params.search.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(_) if ty.search.is_empty() => {
                return Err(SyncError::bad_request(format!(
                    "`{entity_type}` declares no search fields"
                )));
            }
            Some(text) if syncd_model::text::has_nul(text) => {
                return Err(SyncError::bad_request(format!(
                    "`search` {}",
                    syncd_model::text::NUL_MESSAGE
                )));
            }
            Some(text) => Some((ty.search.clone(), text.to_owned())),
        };
        let after = match params.cursor.as_deref() {
            None | Some("") => Seq::ZERO,
            Some(c) => Cursor::decode(c)
                .map_err(|e| SyncError::bad_request(e.to_string()))?
                .seq(),
        };
        let limit = match params.limit {
            None => 100,
            Some(n) => n.clamp(1, self.config.max_pull_limit as i64) as usize,
        };
        let page = self
            .store
            .list(
                &p.tenant,
                &ListQuery {
                    entity_type: ty.name.clone(),
                    filters,
                    search,
                    include_deleted: params.include_deleted,
                    after,
                    limit,
                    visibility: match p.access(&ty) {
                        syncd_model::Access::All => None,
                        syncd_model::Access::Only(matches) => Some(matches),
                    },
                },
            )
            .await?;
        Ok(ListResponse {
            entity_type: ty,
            records: page.records,
            cursor: Cursor::new(page.next.max(after)),
            has_more: page.has_more,
        })
    }

    /// `GET /api/{type}/{id}`: a live record of the caller's tenant.
    pub async fn get(&self, p: &Principal, entity_type: &str, id: &str) -> Result<Value> {
        let ty = self.route_type_readable(p, entity_type)?;
        let record = self.live_record(p, &ty, id).await?;
        Ok(record.to_json(&ty))
    }

    async fn live_record(&self, p: &Principal, ty: &EntityType, id: &str) -> Result<Record> {
        let not_found = || SyncError::NotFound(format!("{} {id} not found", ty.name));
        let id = RecordId::parse(id).map_err(|_| not_found())?;
        let record = self
            .store
            .get(&p.tenant, &RecordKey::new(ty.name.clone(), id))
            .await?
            .filter(|r| !r.deleted);
        self.visible_or_not_found(p, ty, record, not_found)
    }

    /// `POST /api/{type}`: creates one record (object body) or many (array body, atomic).
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn create(&self, p: &Principal, entity_type: &str, body: Value) -> Result<CrudWrite> {
        let ty = self.route_type_writable(p, entity_type)?;
        let (items, many) = items(body)?;
        let planned = self.plan_crud(&ty, items, CrudMode::Create)?;
        self.crud_write(p, CrudMode::Create, planned, many).await
    }

    /// `PUT /api/{type}`: patches records named by `id` (object or array); a `version` that is
    /// not current is refused with a version conflict.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn update(&self, p: &Principal, entity_type: &str, body: Value) -> Result<CrudWrite> {
        let ty = self.route_type_writable(p, entity_type)?;
        let (items, many) = items(body)?;
        let planned = self.plan_crud(&ty, items, CrudMode::Update)?;
        self.crud_write(p, CrudMode::Update, planned, many).await
    }

    /// `DELETE /api/{type}/{id}`: makes a tombstone and applies the type's deletion rule.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn delete(&self, p: &Principal, entity_type: &str, id: &str) -> Result<Value> {
        let ty = self.route_type_writable(p, entity_type)?;
        let record_id = RecordId::parse(id)
            .map_err(|_| SyncError::NotFound(format!("{} {id} not found", ty.name)))?;
        let planned = vec![PlannedChange {
            index: 0,
            entity_type: Arc::clone(&ty),
            op: ChangeOp::Delete,
            id: record_id,
            base_version: None,
            client_edit_time: None,
            data: Map::new(),
        }];
        self.crud_write(p, CrudMode::Delete, planned, false).await?;
        Ok(json!({ "id": record_id, "deleted": true }))
    }

    /// `GET /api/{type}/{id}/history`: the record's versions inside the history window, oldest
    /// first: who changed what, when.
    pub async fn history(&self, p: &Principal, entity_type: &str, id: &str) -> Result<Value> {
        let ty = self.route_type_readable(p, entity_type)?;
        let not_found = || SyncError::NotFound(format!("{} {id} not found", ty.name));
        let record_id = RecordId::parse(id).map_err(|_| not_found())?;
        let key = RecordKey::new(ty.name.clone(), record_id);
        let record = self.store.get(&p.tenant, &key).await?;
        self.visible_or_not_found(p, &ty, record, not_found)?;
        let since = Timestamp::now().plus_millis(-self.config.history_window_ms());
        let versions = self.store.history(&p.tenant, &key, since).await?;
        Ok(Value::Array(
            versions
                .into_iter()
                .map(|v| {
                    json!({
                        "version": v.version,
                        "action": v.kind.as_str(),
                        "data": v.data,
                        "deleted": v.deleted,
                        "changedFields": v.changed_fields,
                        "clientId": v.client_id,
                        "subject": v.subject,
                        "at": v.at,
                    })
                })
                .collect(),
        ))
    }

    fn plan_crud(
        &self,
        ty: &Arc<EntityType>,
        items: Vec<Value>,
        mode: CrudMode,
    ) -> Result<Vec<PlannedChange>> {
        if items.len() > self.config.max_changes_per_push {
            return Err(SyncError::PayloadTooLarge(format!(
                "{} records in one request; at most {} allowed",
                items.len(),
                self.config.max_changes_per_push
            )));
        }
        let mut errors: Vec<ChangeError> = Vec::new();
        let mut raws = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            if let Some(raw) = raw_change(ty, index, item, mode, &mut errors)? {
                raws.push(raw);
            }
        }
        let prepared = self.registry.prepare_each(raws, &self.config.limits);
        errors.extend(prepared.errors);
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.index);
            return Err(SyncError::invalid(errors));
        }
        Ok(prepared
            .changes
            .into_iter()
            .map(|c| PlannedChange {
                index: c.index,
                id: c.id.unwrap_or_else(RecordId::new_v7),
                entity_type: c.entity_type,
                // REST deletes go through DELETE; a body is always a write of its fields.
                op: ChangeOp::Upsert,
                base_version: if mode == CrudMode::Update {
                    c.base_version
                } else {
                    None
                },
                client_edit_time: None,
                data: c.data,
            })
            .collect())
    }

    async fn crud_write(
        &self,
        p: &Principal,
        mode: CrudMode,
        planned: Vec<PlannedChange>,
        many: bool,
    ) -> Result<CrudWrite> {
        let written = self.write(p, Origin::Crud(mode), planned).await?;
        Ok(CrudWrite {
            records: written
                .outcomes
                .into_iter()
                .filter_map(|o| o.data)
                .collect(),
            many,
        })
    }
}

/// One item of a REST body as a raw change; problems of its id and version are collected.
fn raw_change(
    ty: &EntityType,
    index: usize,
    item: Value,
    mode: CrudMode,
    errors: &mut Vec<ChangeError>,
) -> Result<Option<RawChange>> {
    let Value::Object(data) = item else {
        return Err(SyncError::bad_request(format!(
            "item {index} must be a JSON object"
        )));
    };
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| RecordId::parse(s).ok());
    let version = match data.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(Version(n)),
            _ => {
                errors.push(ChangeError::invalid(
                    index,
                    ty.name.as_str(),
                    Some("version"),
                    "must be a non-negative integer",
                ));
                return Ok(None);
            }
        },
    };
    if mode == CrudMode::Update && id.is_none() {
        errors.push(ChangeError::invalid(
            index,
            ty.name.as_str(),
            Some("id"),
            "is required and must be a UUID",
        ));
        return Ok(None);
    }
    Ok(Some(RawChange {
        index,
        entity_type: ty.name.to_string(),
        op: ChangeOp::Upsert,
        id,
        base_version: version,
        client_edit_time: None,
        data,
    }))
}

fn items(body: Value) -> Result<(Vec<Value>, bool)> {
    match body {
        Value::Array(items) => Ok((items, true)),
        Value::Object(_) => Ok((vec![body], false)),
        _ => Err(SyncError::bad_request(
            "the body must be a JSON object or an array of objects",
        )),
    }
}

/// A query-string value as the JSON value stored for a field of this type.
fn filter_value(field: &str, ty: FieldType, raw: &str) -> Result<Value> {
    let bad =
        |what: &str| SyncError::bad_request(format!("filter `{field}`: `{raw}` is not {what}"));
    Ok(match ty {
        FieldType::Int => Value::from(raw.parse::<i64>().map_err(|_| bad("an integer"))?),
        FieldType::Float => {
            let n: f64 = raw.parse().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        FieldType::Bool => match raw {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        FieldType::Uuid => {
            Value::String(RecordId::parse(raw).map_err(|_| bad("a UUID"))?.to_string())
        }
        FieldType::Json => {
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
        }
        FieldType::String | FieldType::Text | FieldType::Datetime | FieldType::Date => {
            Value::String(raw.to_owned())
        }
    })
}
