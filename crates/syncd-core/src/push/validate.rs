//! Everything a push is checked for before it queues for the tenant's write: size, shapes,
//! scopes, each change against its type; and, only to complete the report of a push that
//! already fails, the checks the write makes under the lock.

use std::collections::HashMap;

use serde_json::{Map, Value};
use syncd_model::{Change, ChangeError, ChangeErrorKind, ChangeOp, PushBody, RecordId, worst_kind};
use syncd_store::{RecordKey, Store};

use crate::engine::SyncEngine;
use crate::error::{InvalidKind, Result, SyncError};
use crate::principal::Principal;
use crate::write::{PlannedChange, check_references};

impl<S: Store> SyncEngine<S> {
    /// Every check that needs no lock: size, shapes, scopes, each change against its type, and
    /// (only to complete the report of a push that already fails) the checks the write makes
    /// under the lock.
    pub(super) async fn validate_push(
        &self,
        p: &Principal,
        parsed: PushBody,
    ) -> Result<Vec<PlannedChange>> {
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
