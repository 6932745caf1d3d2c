//! Checks of a write that need the stored records: REST expectations, required fields of
//! creates, references; and which records a write must load to make them.

use std::collections::HashSet;

use serde_json::{Map, Value};
use syncd_model::{ChangeError, EntityType, Record, RecordId, Version};
use syncd_store::RecordKey;

use super::{CrudMode, Origin, PlannedChange};
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// Required fields missing from a record about to be created.
pub(crate) fn required(
    index: usize,
    ty: &EntityType,
    data: &Map<String, Value>,
    errors: &mut Vec<ChangeError>,
) {
    for e in ty.check_required(data) {
        errors.push(ChangeError::invalid(
            index,
            ty.name.as_str(),
            Some(&e.field),
            e.message,
        ));
    }
}

/// The records the changes touch and name by reference, and the base versions they cite.
/// Also returns the keys that a later change touches again or references: only those need
/// their new state kept during the request.
pub(super) fn keys_to_load(
    changes: &[PlannedChange],
    origin: Origin,
) -> (
    Vec<RecordKey>,
    Vec<(RecordKey, Version)>,
    HashSet<RecordKey>,
) {
    let mut keys = HashSet::with_capacity(changes.len());
    let mut versions = HashSet::new();
    let mut reused = HashSet::new();
    for change in changes {
        let key = RecordKey::new(change.entity_type.name.clone(), change.id);
        if origin == Origin::Push
            && let Some(base) = change.base_version
            && base.0 > 0
        {
            versions.insert((key.clone(), base));
        }
        if !keys.insert(key.clone()) {
            reused.insert(key);
        }
        for (field, target) in change.entity_type.references() {
            if let Some(id) = change
                .data
                .get(field)
                .and_then(Value::as_str)
                .and_then(|s| RecordId::parse(s).ok())
            {
                let target = RecordKey::new(target.clone(), id);
                reused.insert(target.clone());
                keys.insert(target);
            }
        }
    }
    (
        keys.into_iter().collect(),
        versions.into_iter().collect(),
        reused,
    )
}

/// A reference must name a live record of its type in this tenant: loaded, or written earlier
/// in this same request.
pub(crate) fn check_references(
    index: usize,
    ty: &EntityType,
    data: &Map<String, Value>,
    errors: &mut Vec<ChangeError>,
    is_live: impl Fn(&RecordKey) -> bool,
) {
    for (field, target) in ty.references() {
        let Some(Value::String(value)) = data.get(field) else {
            continue;
        };
        let found = RecordId::parse(value)
            .ok()
            .is_some_and(|id| is_live(&RecordKey::new(target.clone(), id)));
        if !found {
            errors.push(ChangeError::invalid(
                index,
                ty.name.as_str(),
                Some(field),
                format!("references no existing {target} of this tenant"),
            ));
        }
    }
}

/// What a REST write expects of the record it names.
pub(super) fn crud_expectation(
    mode: CrudMode,
    ty: &EntityType,
    change: &PlannedChange,
    server: Option<&Record>,
) -> Result<()> {
    let live = server.filter(|s| !s.deleted);
    match mode {
        CrudMode::Create => {
            if live.is_some() {
                return Err(SyncError::VersionConflict(format!(
                    "{} {} already exists; use PUT to change it",
                    ty.name, change.id
                )));
            }
        }
        CrudMode::Update | CrudMode::Delete => {
            let Some(record) = live else {
                return Err(SyncError::NotFound(format!(
                    "{} {} not found",
                    ty.name, change.id
                )));
            };
            if let Some(expected) = change.base_version
                && expected != record.version
            {
                return Err(SyncError::VersionConflict(format!(
                    "{} {} is at version {}, not {}",
                    ty.name, change.id, record.version, expected
                )));
            }
        }
    }
    Ok(())
}

/// Whether a stored record is the thin tombstone an erasure left (SPEC §10).
pub(crate) fn is_erased(record: &Record) -> bool {
    record.deleted && record.data.get(crate::lifecycle::ERASED) == Some(&Value::Bool(true))
}

/// A write naming an erased record is refused, whatever it does: an erased id is never revived.
/// Returns whether it was refused.
pub(crate) fn refuse_erased(
    index: usize,
    ty: &EntityType,
    server: Option<&Record>,
    errors: &mut Vec<ChangeError>,
) -> bool {
    if !server.is_some_and(is_erased) {
        return false;
    }
    errors.push(ChangeError::invalid(
        index,
        ty.name.as_str(),
        None,
        "the record was erased",
    ));
    true
}

/// A write may only touch an existing record its writer can see (SPEC §11). What the change
/// makes of the record is not checked: a write may hand a record to someone else. A push names
/// the change (403); a REST write answers as if the record were absent (404).
pub(super) fn writer_sees(
    origin: Origin,
    p: &Principal,
    change: &PlannedChange,
    server: Option<&Record>,
) -> Result<()> {
    let ty = &change.entity_type;
    let Some(server) = server else {
        return Ok(());
    };
    if p.access(ty).allows(&server.data) {
        return Ok(());
    }
    match origin {
        Origin::Crud(_) | Origin::Resolve(_) => Err(SyncError::NotFound(format!(
            "{} {} not found",
            ty.name, change.id
        ))),
        Origin::Push => Err(SyncError::ForbiddenChanges {
            message: format!(
                "change {} addresses a record this token cannot see; nothing was applied",
                change.index
            ),
            details: vec![ChangeError::invalid(
                change.index,
                ty.name.as_str(),
                None,
                "the record is not visible to this token",
            )],
        }),
    }
}
