//! Push: apps send their local changes (SPEC §4.1).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use syncd_model::{
    Change, ChangeError, ChangeErrorKind, ChangeOp, ClientId, Cursor, PushBody, RecordId,
    Timestamp, Version, parse_push_body, worst_kind,
};
use syncd_store::{IdempotencyEntry, RecordKey, Store};

use crate::engine::SyncEngine;
use crate::envelope::Envelope;
use crate::error::{InvalidKind, Result, SyncError};
use crate::principal::Principal;
use crate::write::{Origin, Outcome, PlannedChange, check_references};

/// What a push answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PushOutcome {
    /// The response body as JSON text: `success`, `data`, `results`, `cursor`,
    /// `syncTimestamp`. A replay returns the first response byte for byte.
    pub body: String,
    /// True when the idempotency key had been seen: nothing was applied this time.
    pub replayed: bool,
}

/// A push's idempotency key and the digest of its body.
struct Idempotency {
    key: String,
    request_hash: String,
}

/// What a push's idempotency key says before the push is applied.
enum KeyCheck {
    /// Not seen (or expired): apply the push and store its answer under the key.
    Fresh(Idempotency),
    /// Seen with the same body: its stored answer.
    Seen(PushOutcome),
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
        let request_hash = hash(&body)?;
        let parsed = parse_push_body(body).map_err(|e| SyncError::bad_request(e.0))?;
        let client = match (&parsed.client_id, p.client_explicit) {
            (Some(id), false) => ClientId::parse(id.as_str())
                .map_err(|e| SyncError::bad_request(format!("clientId: {e}")))?,
            _ => p.client.clone(),
        };
        let key = idempotency_key
            .map(str::to_owned)
            .or_else(|| parsed.push_id.clone());
        let idempotency = match key {
            None => None,
            Some(key) => match self.check_key(p, &client, key, request_hash).await? {
                KeyCheck::Fresh(idem) => Some(idem),
                KeyCheck::Seen(replayed) => return Ok(replayed),
            },
        };
        let planned = self.validate_push(p, parsed).await?;
        self.apply_push(p, &client, planned, idempotency).await
    }

    /// A well-formed key not seen before, or the stored answer of the push it was first used
    /// with (read without the lock: the fast path of a replay).
    async fn check_key(
        &self,
        p: &Principal,
        client: &ClientId,
        key: String,
        request_hash: String,
    ) -> Result<KeyCheck> {
        if key.is_empty() || key.len() > 255 {
            return Err(SyncError::bad_request(
                "the idempotency key must be 1 to 255 characters",
            ));
        }
        let idem = Idempotency { key, request_hash };
        match self.store.idempotency(&p.tenant, client, &idem.key).await? {
            Some(entry) if self.idempotency_live(&entry) => {
                replay(entry, &idem).map(KeyCheck::Seen)
            }
            _ => Ok(KeyCheck::Fresh(idem)),
        }
    }

    /// Every check that needs no lock: size, shapes, scopes, each change against its type, and
    /// (only to complete the report of a push that already fails) the checks the write makes
    /// under the lock.
    async fn validate_push(&self, p: &Principal, parsed: PushBody) -> Result<Vec<PlannedChange>> {
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
        let prepared = self
            .registry
            .prepare_each(parsed.changes, &self.config.limits);
        let mut errors = parsed.errors;
        errors.extend(prepared.errors);
        if !errors.is_empty() {
            return Err(self.invalid_push(p, errors, &prepared.changes).await);
        }
        Ok(prepared.changes.into_iter().map(planned).collect())
    }

    /// The 422 of a push with invalid changes, completed with what the valid ones would meet
    /// under the lock.
    async fn invalid_push(
        &self,
        p: &Principal,
        mut errors: Vec<ChangeError>,
        valid: &[Change],
    ) -> SyncError {
        let kind = match worst_kind(&errors) {
            Some(ChangeErrorKind::UnknownEntityType) => InvalidKind::UnknownEntityType,
            _ => InvalidKind::Failed,
        };
        match self.lockless_checks(p, valid).await {
            Ok(more) => errors.extend(more),
            Err(e) => return e,
        }
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
        SyncError::Invalid {
            kind,
            message,
            details: errors,
        }
    }

    /// The write of a push. With an idempotency key the key is checked again under the lock,
    /// and the response is rendered before the commit so the entry holds exactly the bytes the
    /// client gets; without one, the response is rendered after the commit, outside the lock.
    async fn apply_push(
        &self,
        p: &Principal,
        client: &ClientId,
        planned: Vec<PlannedChange>,
        idempotency: Option<Idempotency>,
    ) -> Result<PushOutcome> {
        let count = planned.len();
        let begun = match &idempotency {
            Some(idem) => {
                let mut tx = self.store.begin_write(&p.tenant).await?;
                if let Some(entry) = tx
                    .idempotency(client, &idem.key)
                    .await?
                    .filter(|e| self.idempotency_live(e))
                {
                    // Nothing was written; dropping the transaction releases the lock.
                    drop(tx);
                    return replay(entry, idem);
                }
                Some(tx)
            }
            None => None,
        };
        let open = self.open_write(p, Origin::Push, &planned, begun).await?;
        let (tx, mut plan) = self
            .plan_write(p, client, Origin::Push, planned, open)
            .await?;
        let stored = match idempotency {
            Some(idem) => {
                plan.render();
                let body = self.push_body(&plan.outcomes, plan.cursor, plan.at)?;
                plan.batch.idempotency = Some(IdempotencyEntry {
                    client_id: client.clone(),
                    key: idem.key,
                    request_hash: idem.request_hash,
                    response: body.clone(),
                    created_at: plan.at,
                });
                Some(body)
            }
            None => None,
        };
        let written = self.commit_write(p, client, tx, plan).await?;
        metrics::counter!("syncd_push_total").increment(1);
        metrics::counter!("syncd_push_changes_total").increment(count as u64);
        let body = match stored {
            Some(body) => body,
            None => self.push_body(&written.outcomes, written.cursor, written.at)?,
        };
        Ok(PushOutcome {
            body,
            replayed: false,
        })
    }

    fn push_body(&self, outcomes: &[Outcome], cursor: Cursor, at: Timestamp) -> Result<String> {
        let view = PushBodyView {
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
        serde_json::to_string(&Envelope::flat(view)).map_err(|e| SyncError::Internal(Box::new(e)))
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

/// A change that passed validation, with its id decided.
fn planned(c: Change) -> PlannedChange {
    PlannedChange {
        index: c.index,
        id: c.id.unwrap_or_else(RecordId::new_v7),
        entity_type: c.entity_type,
        op: c.op,
        base_version: c.base_version,
        client_edit_time: c.client_edit_time,
        data: c.data,
    }
}

/// The stored answer of a key seen before with the same body; the same key with another body
/// is refused.
fn replay(entry: IdempotencyEntry, idem: &Idempotency) -> Result<PushOutcome> {
    if entry.request_hash != idem.request_hash {
        return Err(SyncError::IdempotencyKeyReused);
    }
    metrics::counter!("syncd_push_replays_total").increment(1);
    Ok(PushOutcome {
        body: entry.response,
        replayed: true,
    })
}

/// A digest of the request body, to tell a retried push from another push reusing its key.
fn hash(body: &Value) -> Result<String> {
    let bytes = serde_json::to_vec(body).map_err(|e| SyncError::Internal(Box::new(e)))?;
    let digest = Sha256::digest(&bytes);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}
