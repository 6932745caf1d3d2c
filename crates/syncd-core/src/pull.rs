//! Pull and pull-pending: apps take in what changed (SPEC §4.2, §4.3).

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde_json::Value;
use syncd_model::{Cursor, EntityType, EntityTypeName, Record, RecordId, Seq, Timestamp};
use syncd_store::{ChangesQuery, Since, Store};

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;
use crate::visibility::RemovalView;

/// Where a pull starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFrom {
    /// Everything.
    Start,
    /// After a cursor handed out earlier.
    Cursor(Cursor),
    /// Records updated after a time: the seeds' legacy mode. Weaker than a cursor: two writes in
    /// the same millisecond, or clocks that differ, can hide a change.
    UpdatedAfter(Timestamp),
}

/// A pull request.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub from: PullFrom,
    /// `None` = every type the token may read.
    pub entity_types: Option<Vec<String>>,
    /// Clamped to the configured maximum; `None` = the default (1000).
    pub limit: Option<i64>,
}

impl PullRequest {
    /// Reads any of the accepted pull bodies: `{cursor, entityTypes, limit}`,
    /// `{lastSyncTimestamp}` and `{table, lastSync}`.
    pub fn from_json(body: &Value) -> Result<Self> {
        let Value::Object(body) = body else {
            return Err(SyncError::bad_request("the body must be a JSON object"));
        };
        let string = |key: &str| -> Result<Option<&str>> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(SyncError::bad_request(format!("`{key}` must be a string"))),
            }
        };
        let timestamp = |key: &str| -> Result<Option<Timestamp>> {
            string(key)?
                .map(|s| {
                    Timestamp::parse_rfc3339(s)
                        .map_err(|e| SyncError::bad_request(format!("`{key}`: {e}")))
                })
                .transpose()
        };
        let from = if let Some(cursor) = string("cursor")? {
            PullFrom::Cursor(
                Cursor::decode(cursor).map_err(|e| SyncError::bad_request(e.to_string()))?,
            )
        } else if let Some(ts) = timestamp("lastSyncTimestamp")? {
            PullFrom::UpdatedAfter(ts)
        } else if let Some(ts) = timestamp("lastSync")? {
            PullFrom::UpdatedAfter(ts)
        } else {
            PullFrom::Start
        };
        let mut entity_types = entity_types(body.get("entityTypes"))?;
        if let Some(table) = string("table")? {
            entity_types
                .get_or_insert_with(Vec::new)
                .push(table.to_owned());
        }
        let limit = match body.get("limit") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .ok_or_else(|| SyncError::bad_request("`limit` must be an integer"))?,
            ),
            Some(_) => return Err(SyncError::bad_request("`limit` must be an integer")),
        };
        Ok(Self {
            from,
            entity_types,
            limit,
        })
    }
}

/// Reads `entityTypes`: absent or null = every readable type.
pub fn entity_types(value: Option<&Value>) -> Result<Option<Vec<String>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    SyncError::bad_request("`entityTypes` must be an array of strings")
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(SyncError::bad_request(
            "`entityTypes` must be an array of strings",
        )),
    }
}

/// Records grouped by type, plus paging state. Serialises as the pull answer's fields beside
/// `success` (see [`crate::Envelope::flat`]).
#[derive(Debug, Clone)]
pub struct PullResponse {
    /// Every asked-for type, in the order asked, with its records in seq order.
    pub data: Vec<(Arc<EntityType>, Vec<Record>)>,
    /// Records of those types the caller could see at its cursor and no longer sees (SPEC §11),
    /// shown under their type after its records.
    pub removals: Vec<(EntityTypeName, RecordId)>,
    /// `None` for pull-pending, which has no cursor.
    pub cursor: Option<Cursor>,
    pub has_more: bool,
    pub sync_timestamp: Timestamp,
}

impl PullResponse {
    /// Records and removals.
    pub fn record_count(&self) -> usize {
        self.data.iter().map(|(_, r)| r.len()).sum::<usize>() + self.removals.len()
    }
}

struct Grouped<'a>(&'a PullResponse);

/// One type's records, then its removals.
struct OfType<'a> {
    ty: &'a EntityType,
    records: &'a [Record],
    removals: &'a [(EntityTypeName, RecordId)],
}

impl Serialize for OfType<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let removed = || self.removals.iter().filter(|(t, _)| *t == self.ty.name);
        let mut seq = s.serialize_seq(Some(self.records.len() + removed().count()))?;
        for r in self.records {
            seq.serialize_element(&r.view(self.ty))?;
        }
        for (_, id) in removed() {
            seq.serialize_element(&RemovalView(*id))?;
        }
        seq.end()
    }
}

impl Serialize for Grouped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.data.len()))?;
        for (ty, records) in &self.0.data {
            let of_type = OfType {
                ty,
                records,
                removals: &self.0.removals,
            };
            map.serialize_entry(ty.name.as_str(), &of_type)?;
        }
        map.end()
    }
}

impl Serialize for PullResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PullResponse", 4)?;
        st.serialize_field("data", &Grouped(self))?;
        if let Some(cursor) = &self.cursor {
            st.serialize_field("cursor", cursor)?;
        }
        st.serialize_field("hasMore", &self.has_more)?;
        st.serialize_field("syncTimestamp", &self.sync_timestamp)?;
        st.end()
    }
}

impl<S: Store> SyncEngine<S> {
    /// The asked-for types, all registered and readable; `None` = every readable type.
    pub(crate) fn pull_types(
        &self,
        p: &Principal,
        asked: Option<&[String]>,
    ) -> Result<Vec<Arc<EntityType>>> {
        match asked {
            None => Ok(self.readable_types(p)),
            Some(names) => {
                let mut types: Vec<Arc<EntityType>> = Vec::with_capacity(names.len());
                for name in names {
                    let ty = self.readable_type(p, name)?;
                    if !types.iter().any(|t| t.name == ty.name) {
                        types.push(Arc::clone(ty));
                    }
                }
                Ok(types)
            }
        }
    }

    fn clamp_limit(&self, limit: Option<i64>) -> usize {
        match limit {
            None => self.config.default_pull_limit,
            Some(n) if n < 1 => 1,
            Some(n) => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(self.config.max_pull_limit),
        }
    }

    /// What changed since the request's starting point: each record once in its latest state,
    /// in seq order, tombstones included.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn pull(&self, p: &Principal, request: &PullRequest) -> Result<PullResponse> {
        let types = self.pull_types(p, request.entity_types.as_deref())?;
        let limit = self.clamp_limit(request.limit);
        let now = Timestamp::now();
        let (since, start) = match request.from {
            PullFrom::Start => (Since::Seq(Seq::ZERO), Seq::ZERO),
            PullFrom::Cursor(c) => (Since::Seq(c.seq()), c.seq()),
            PullFrom::UpdatedAfter(t) => (Since::UpdatedAfter(t), Seq::ZERO),
        };
        let state = match request.from {
            PullFrom::Cursor(c) => self.check_cursor(p, c).await?,
            PullFrom::Start | PullFrom::UpdatedAfter(_) => self.sync_state(p).await?,
        };
        if types.is_empty() {
            return Ok(PullResponse {
                data: Vec::new(),
                removals: Vec::new(),
                cursor: Some(self.cursor_for(p, state.epoch, start)),
                has_more: false,
                sync_timestamp: now,
            });
        }
        let visibility = self.type_access(p, types.iter().map(|t| t.as_ref()));
        // Restricted reads name their types, so that the store knows which are not restricted.
        let every_type = types.len() == self.registry.len() && visibility.is_empty();
        let query = ChangesQuery {
            since,
            entity_types: if every_type {
                Vec::new()
            } else {
                types.iter().map(|t| t.name.clone()).collect()
            },
            limit,
            visibility,
        };
        let page = self.store.changes(&p.tenant, &query).await?;
        let mut data: Vec<(Arc<EntityType>, Vec<Record>)> =
            types.into_iter().map(|t| (t, Vec::new())).collect();
        for record in page.records {
            if let Some((_, records)) = data.iter_mut().find(|(t, _)| t.name == record.entity_type)
            {
                records.push(record);
            }
        }
        let response = PullResponse {
            data,
            removals: page
                .removals
                .into_iter()
                .map(|r| (r.entity_type, r.id))
                .collect(),
            cursor: Some(self.cursor_for(p, state.epoch, page.next.max(start))),
            has_more: page.has_more,
            sync_timestamp: now,
        };
        metrics::counter!("syncd_pull_total").increment(1);
        metrics::counter!("syncd_pull_records_total").increment(response.record_count() as u64);
        Ok(response)
    }

    /// A pull from any of the accepted bodies ([`PullRequest::from_json`]): what a pull route
    /// does with the JSON it received. [`crate::Answer::from`] makes the server's answer of it.
    pub async fn pull_json(&self, p: &Principal, body: &Value) -> Result<PullResponse> {
        self.pull(p, &PullRequest::from_json(body)?).await
    }

    /// Records written on the server side that apps have not taken in yet: those matching
    /// each type's pending filter.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn pull_pending(
        &self,
        p: &Principal,
        entity_types: Option<&[String]>,
        limit: Option<i64>,
    ) -> Result<PullResponse> {
        let types = self.pull_types(p, entity_types)?;
        let limit = self.clamp_limit(limit);
        let mut has_more = false;
        let mut data = Vec::with_capacity(types.len());
        for ty in types {
            let access = p.access(&ty);
            let visible = match &access {
                syncd_model::Access::All => None,
                syncd_model::Access::Only(matches) => Some(matches.as_slice()),
            };
            let mut records = self
                .store
                .pending(&p.tenant, &ty.name, &ty.pending, visible, limit)
                .await?;
            if records.len() > limit {
                records.truncate(limit);
                has_more = true;
            }
            data.push((ty, records));
        }
        Ok(PullResponse {
            data,
            removals: Vec::new(),
            cursor: None,
            has_more,
            sync_timestamp: Timestamp::now(),
        })
    }
}
