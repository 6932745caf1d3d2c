//! Push: apps send their local changes (SPEC §4.1).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use syncd_model::{
    Change, ChangeError, ChangeErrorKind, ChangeOp, ClientId, Cursor, RecordId, Timestamp, Version,
    parse_push_body, worst_kind,
};
use syncd_store::{RecordKey, Store};

use crate::engine::SyncEngine;
use crate::error::{InvalidKind, Result, SyncError};
use crate::principal::Principal;
use crate::write::{Idempotency, Origin, Outcome, PlannedChange, WriteResult, check_references};

/// What a push answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PushOutcome {
    /// The response body as JSON text: `success`, `data`, `results`, `cursor`,
    /// `syncTimestamp`. A replay returns the first response byte for byte.
    pub body: String,
    /// True when the idempotency key had been seen: nothing was applied this time.
    pub replayed: bool,
}

/// One entry of a push response's `results`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PushResult<'a> {
    index: usize,
    entity_type: &'a str,
    id: RecordId,
    status: &'static str,
    version: Version,
    strategy: &'a str,
    conflicting_fields: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushBodyView<'a> {
    success: bool,
    data: Vec<&'a RawValue>,
    results: Vec<PushResult<'a>>,
    cursor: Cursor,
    sync_timestamp: Timestamp,
}

impl<S: Store> SyncEngine<S> {
    /// Applies a push body of any of the three shapes. `idempotency_key` (the header) wins over
    /// the body's `pushId`. Validation happens before any lock is taken; every problem of every
    /// change is reported and nothing is applied if there is one.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn push(
        &self,
        p: &Principal,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Result<PushOutcome> {
        let request_hash = hash(&body);
        let parsed = parse_push_body(body).map_err(|e| SyncError::bad_request(e.0))?;
        let client = match (&parsed.client_id, p.client_explicit) {
            (Some(id), false) => ClientId::parse(id.as_str())
                .map_err(|e| SyncError::bad_request(format!("clientId: {e}")))?,
            _ => p.client.clone(),
        };
        let key = idempotency_key
            .map(str::to_owned)
            .or_else(|| parsed.push_id.clone());
        if let Some(key) = &key {
            if key.is_empty() || key.len() > 255 {
                return Err(SyncError::bad_request(
                    "the idempotency key must be 1 to 255 characters",
                ));
            }
            if let Some(entry) = self
                .store
                .idempotency(&p.tenant, &client, key)
                .await?
                .filter(|e| self.idempotency_live(e))
            {
                return if entry.request_hash == request_hash {
                    metrics::counter!("syncd_push_replays_total").increment(1);
                    Ok(PushOutcome {
                        body: entry.response,
                        replayed: true,
                    })
                } else {
                    Err(SyncError::IdempotencyKeyReused)
                };
            }
        }

        let total = parsed.changes.len() + parsed.errors.len();
        if total > self.config.max_changes_per_push {
            return Err(SyncError::PayloadTooLarge(format!(
                "{total} changes in one push; at most {} allowed",
                self.config.max_changes_per_push
            )));
        }
        if parsed
            .errors
            .iter()
            .any(|e| e.kind == ChangeErrorKind::BadShape)
        {
            let mut details = parsed.errors;
            details.retain(|e| e.kind == ChangeErrorKind::BadShape);
            return Err(SyncError::BadRequest {
                message: "some changes are not of a shape the API accepts; nothing was applied"
                    .into(),
                details,
            });
        }
        for change in &parsed.changes {
            if self.registry.get(&change.entity_type).is_some()
                && !p.scopes.can_write(&change.entity_type)
            {
                return Err(SyncError::Forbidden(format!(
                    "the token may not write `{}`",
                    change.entity_type
                )));
            }
        }
        // Each change on its own, so that the valid ones can still be checked for what only
        // the stored records tell (required fields of creates, references).
        let mut errors = parsed.errors;
        let mut changes = Vec::with_capacity(parsed.changes.len());
        for raw in parsed.changes {
            match self
                .registry
                .prepare(vec![raw], Vec::new(), &self.config.limits)
            {
                Ok(prepared) => changes.extend(prepared),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            let kind = match worst_kind(&errors) {
                Some(ChangeErrorKind::UnknownEntityType) => InvalidKind::UnknownEntityType,
                _ => InvalidKind::Failed,
            };
            errors.extend(self.lockless_checks(p, &changes).await?);
            errors.sort_by_key(|e| e.index);
            let message = match kind {
                InvalidKind::UnknownEntityType => {
                    "the push names an unknown entity type; nothing was applied".to_owned()
                }
                InvalidKind::Failed => format!(
                    "{} problem(s) in the push; nothing was applied",
                    errors.len()
                ),
            };
            return Err(SyncError::Invalid {
                kind,
                message,
                details: errors,
            });
        }
        let planned: Vec<PlannedChange> = changes
            .into_iter()
            .map(|c| PlannedChange {
                index: c.index,
                id: c.id.unwrap_or_else(RecordId::new_v7),
                entity_type: c.entity_type,
                op: c.op,
                base_version: c.base_version,
                client_edit_time: c.client_edit_time,
                data: c.data,
            })
            .collect();
        let count = planned.len();
        let idempotency = key.map(|key| Idempotency { key, request_hash });
        let build = |outcomes: &[Outcome], cursor: Cursor, at: Timestamp| {
            self.push_body(outcomes, cursor, at)
        };
        let result = self
            .write(
                p,
                &client,
                Origin::Push,
                planned,
                idempotency.as_ref(),
                Some(&build),
            )
            .await?;
        match result {
            WriteResult::Replayed(body) => Ok(PushOutcome {
                body,
                replayed: true,
            }),
            WriteResult::Written(written) => {
                metrics::counter!("syncd_push_total").increment(1);
                metrics::counter!("syncd_push_changes_total").increment(count as u64);
                let body = match written.body {
                    Some(body) => body,
                    None => self.push_body(&written.outcomes, written.cursor, written.at),
                };
                Ok(PushOutcome {
                    body,
                    replayed: false,
                })
            }
        }
    }

    fn push_body(&self, outcomes: &[Outcome], cursor: Cursor, at: Timestamp) -> String {
        let view = PushBodyView {
            success: true,
            data: outcomes
                .iter()
                .map(|o| o.data.as_deref().unwrap_or(RawValue::NULL))
                .collect(),
            results: outcomes
                .iter()
                .map(|o| PushResult {
                    index: o.index,
                    entity_type: o.entity_type.name.as_str(),
                    id: o.id,
                    status: o.status.as_str(),
                    version: o.version,
                    strategy: self
                        .strategy_name(o.entity_type.name.as_str())
                        .unwrap_or(""),
                    conflicting_fields: &o.conflicting_fields,
                })
                .collect(),
            cursor,
            sync_timestamp: at,
        };
        // Serialising strings, numbers and raw JSON into a String cannot fail.
        serde_json::to_string(&view).unwrap_or_default()
    }

    /// The checks the write path makes under the lock (required fields of creates,
    /// references), made here from a plain read: used only to complete the error report of a
    /// push that already fails.
    async fn lockless_checks(&self, p: &Principal, changes: &[Change]) -> Result<Vec<ChangeError>> {
        let mut keys = Vec::new();
        for c in changes {
            if let Some(id) = c.id {
                keys.push(RecordKey::new(c.entity_type.name.clone(), id));
            }
            for (field, target) in c.entity_type.references() {
                if let Some(id) = c
                    .data
                    .get(field)
                    .and_then(Value::as_str)
                    .and_then(|s| RecordId::parse(s).ok())
                {
                    keys.push(RecordKey::new(target.clone(), id));
                }
            }
        }
        let mut live: HashMap<RecordKey, bool> = self
            .store
            .get_many(&p.tenant, &keys)
            .await?
            .into_iter()
            .map(|r| (RecordKey::new(r.entity_type, r.id), !r.deleted))
            .collect();
        let mut errors = Vec::new();
        for c in changes {
            let key =
                c.id.map(|id| RecordKey::new(c.entity_type.name.clone(), id));
            let exists = key.as_ref().is_some_and(|k| live.contains_key(k));
            if !exists && c.op == ChangeOp::Upsert {
                let mut full = Map::new();
                c.entity_type.apply_defaults(&mut full);
                full.extend(c.data.iter().map(|(k, v)| (k.clone(), v.clone())));
                for e in c.entity_type.check_required(&full) {
                    errors.push(ChangeError::invalid(
                        c.index,
                        c.entity_type.name.as_str(),
                        Some(&e.field),
                        e.message,
                    ));
                }
            }
            check_references(c.index, &c.entity_type, &c.data, &mut errors, |k| {
                live.get(k).copied().unwrap_or(false)
            });
            if let Some(key) = key {
                live.insert(key, c.op == ChangeOp::Upsert);
            }
        }
        Ok(errors)
    }
}

/// A digest of the request body, to tell a retried push from another push reusing its key.
fn hash(body: &Value) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
