//! Changes checked against the registry: each change's type looked up and its data
//! normalised, every problem of every change collected.

use std::sync::Arc;

use crate::change::{Change, ChangeError, ChangeErrorKind, ChangeOp, RawChange};
use crate::registry::Registry;
use crate::schema::DeletionRule;
use crate::validate::Limits;

/// What [`Registry::prepare_each`] made of a batch of raw changes: the valid ones, and every
/// problem of the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub changes: Vec<Change>,
    /// In index order.
    pub errors: Vec<ChangeError>,
}

impl Registry {
    /// Looks up each change's type and normalises its data. Every problem of every change is
    /// returned, together with those `parse_errors` already found, in index order.
    pub fn prepare(
        &self,
        raw: Vec<RawChange>,
        parse_errors: Vec<ChangeError>,
        limits: &Limits,
    ) -> Result<Vec<Change>, Vec<ChangeError>> {
        let mut prepared = self.prepare_each(raw, limits);
        if parse_errors.is_empty() && prepared.errors.is_empty() {
            return Ok(prepared.changes);
        }
        let mut errors = parse_errors;
        errors.append(&mut prepared.errors);
        errors.sort_by_key(|e| e.index);
        Err(errors)
    }

    /// [`Registry::prepare`] that also keeps the valid changes of a batch with invalid ones, so
    /// that a caller can check them further and report every problem at once.
    pub fn prepare_each(&self, raw: Vec<RawChange>, limits: &Limits) -> Prepared {
        let mut errors = Vec::new();
        let mut changes = Vec::with_capacity(raw.len());
        for change in raw {
            match self.prepare_one(change, limits) {
                Ok(c) => changes.push(c),
                Err(e) => errors.extend(e),
            }
        }
        errors.sort_by_key(|e| e.index);
        Prepared { changes, errors }
    }

    fn prepare_one(&self, change: RawChange, limits: &Limits) -> Result<Change, Vec<ChangeError>> {
        let Some(ty) = self.get(&change.entity_type) else {
            return Err(vec![ChangeError {
                index: change.index,
                entity_type: Some(change.entity_type.clone()),
                field: None,
                message: format!("unknown entity type `{}`", change.entity_type),
                kind: ChangeErrorKind::UnknownEntityType,
            }]);
        };
        if change.op == ChangeOp::Delete && change.id.is_none() {
            return Err(vec![ChangeError::invalid(
                change.index,
                ty.name.as_str(),
                Some("id"),
                "a delete needs the UUID of the record to delete",
            )]);
        }
        let data = ty.normalize(change.data, limits).map_err(|field_errors| {
            field_errors
                .into_iter()
                .map(|e| {
                    ChangeError::invalid(change.index, ty.name.as_str(), Some(&e.field), e.message)
                })
                .collect::<Vec<_>>()
        })?;
        let op = match (&ty.deletion, change.op) {
            (
                DeletionRule::SetField {
                    field,
                    value,
                    marks_delete_on_push: true,
                },
                ChangeOp::Upsert,
            ) if data.get(field) == Some(value) => ChangeOp::Delete,
            (_, op) => op,
        };
        Ok(Change {
            index: change.index,
            entity_type: Arc::clone(ty),
            op,
            id: change.id,
            base_version: change.base_version,
            client_edit_time: change.client_edit_time,
            data,
        })
    }
}
