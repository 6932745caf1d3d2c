//! Manual conflicts: listing and resolving them (SPEC §4.4).

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Value, json};
use syncd_model::{ChangeOp, RawChange};
use syncd_store::{ConflictEntry, ConflictStatus, Store, TypeAccess};
use uuid::Uuid;

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;
use crate::write::{Origin, PlannedChange};

fn view(c: &ConflictEntry) -> Value {
    json!({
        "id": c.id,
        "entityType": c.entity_type,
        "recordId": c.record_id,
        "strategy": c.strategy,
        "serverVersion": c.server_version,
        "serverData": c.server_data,
        "clientData": c.client_data,
        "fields": c.fields,
        "clientId": c.client_id,
        "createdAt": c.created_at,
    })
}

impl<S: Store> SyncEngine<S> {
    /// Open conflicts of the tenant, oldest first, of the types the token may read.
    pub async fn conflicts(
        &self,
        p: &Principal,
        entity_type: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<Value>> {
        let ty = entity_type
            .map(|name| self.readable_type(p, name).map(|t| t.name.clone()))
            .transpose()?;
        let limit = limit.map_or(100, |n| {
            n.clamp(1, self.config.max_pull_limit as i64) as usize
        });
        // Types the caller may not read show none of their conflicts, and the store must know it
        // before its LIMIT: filtered afterwards, they would fill the page and hide the rest.
        let (readable, hidden): (Vec<_>, Vec<_>) = self
            .registry
            .iter()
            .partition(|t| p.scopes.can_read(t.name.as_str()));
        let mut visibility = self.type_access(p, readable.into_iter().map(|t| t.as_ref()));
        visibility.extend(hidden.into_iter().map(|t| TypeAccess {
            entity_type: t.name.clone(),
            matches: Vec::new(),
        }));
        let entries = self
            .store
            .open_conflicts(&p.tenant, ty.as_ref(), &visibility, limit)
            .await?;
        Ok(entries
            .iter()
            .filter(|c| p.scopes.can_read(c.entity_type.as_str()))
            .map(view)
            .collect())
    }

    /// Applies the chosen record as a normal write (new version, new seq, notifications) and
    /// closes the conflict. Returns the record as stored.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn resolve_conflict(
        &self,
        p: &Principal,
        id: &str,
        body: &Value,
    ) -> Result<Arc<RawValue>> {
        let not_found = || SyncError::NotFound(format!("no open conflict {id}"));
        let conflict_id = Uuid::try_parse(id).map_err(|_| not_found())?;
        let conflict = self
            .store
            .conflict(&p.tenant, conflict_id)
            .await?
            .filter(|c| c.status == ConflictStatus::Open)
            .ok_or_else(not_found)?;
        let name = conflict.entity_type.as_str();
        // A conflict on a record the caller cannot see is not there for it.
        let ty = self
            .registry
            .get(name)
            .ok_or_else(|| SyncError::unknown_type(name))?;
        if ty.visibility.is_restricted() {
            let key = syncd_store::RecordKey::new(ty.name.clone(), conflict.record_id);
            let record = self.store.get(&p.tenant, &key).await?;
            self.visible_or_not_found(p, ty, record, not_found)?;
        }
        if !p.scopes.can_write(name) {
            return Err(SyncError::Forbidden(format!(
                "the token may not write `{name}`"
            )));
        }
        let Some(Value::Object(data)) = body.get("data") else {
            return Err(SyncError::bad_request(
                "the body must be {\"data\": {…the chosen record…}}",
            ));
        };
        let raw = RawChange {
            index: 0,
            entity_type: name.to_owned(),
            op: ChangeOp::Upsert,
            id: Some(conflict.record_id),
            base_version: None,
            client_edit_time: None,
            data: data.clone(),
        };
        let change = self
            .registry
            .prepare(vec![raw], Vec::new(), &self.config.limits)
            .map_err(SyncError::invalid)?
            .pop()
            .ok_or_else(|| SyncError::internal("a prepared resolution has no change"))?;
        let planned = vec![PlannedChange {
            index: 0,
            entity_type: Arc::clone(&change.entity_type),
            op: ChangeOp::Upsert,
            id: conflict.record_id,
            base_version: None,
            client_edit_time: None,
            data: change.data,
        }];
        let written = self
            .write(p, Origin::Resolve(conflict.id), planned)
            .await
            .map_err(|e| {
                if e.is_store_conflict() {
                    // Someone resolved it between the read above and this write.
                    not_found()
                } else {
                    e
                }
            })?;
        written
            .outcomes
            .into_iter()
            .next()
            .and_then(|o| o.data)
            .ok_or_else(|| SyncError::internal("a resolution wrote no record"))
    }
}
