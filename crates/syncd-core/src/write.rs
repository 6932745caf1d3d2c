//! The one write path behind push, REST CRUD and conflict resolution: one store transaction,
//! a fixed number of statements, notifications after commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use syncd_conflict::{Context, Incoming, Resolution, ResultStatus, ServerState, resolve};
use syncd_model::{
    ChangeError, ChangeEvent, ChangeOp, ClientId, Cursor, DeletionRule, EntityType, EntityTypeName,
    Record, RecordAction, RecordChange, RecordId, StatusUpdate, SyncStatus, Timestamp, Version,
    raw,
};
use syncd_store::{
    ConflictEntry, ConflictStatus, IdempotencyEntry, PushAudit, RecordKey, RecordWrite, WriteBatch,
    WriteKind,
};
use uuid::Uuid;

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// Where a write comes from; it decides conflict handling and the stored sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An app's push: stale bases go to the type's strategy; records become `synced`.
    Push,
    /// A REST write: records become `pending` for apps to take in.
    Crud(CrudMode),
    /// A person's answer to a manual conflict: applied as a fresh write.
    Resolve(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrudMode {
    /// POST: the id must not name a live record.
    Create,
    /// PUT: the record must exist and be live; a given version must be current.
    Update,
    /// DELETE: the record must exist and be live.
    Delete,
}

/// One change to write, with its id decided.
pub(crate) struct PlannedChange {
    pub index: usize,
    pub entity_type: Arc<EntityType>,
    pub op: ChangeOp,
    pub id: RecordId,
    pub base_version: Option<Version>,
    pub client_edit_time: Option<Timestamp>,
    pub data: Map<String, Value>,
}

/// What became of one change.
pub(crate) struct Outcome {
    pub index: usize,
    pub entity_type: Arc<EntityType>,
    pub id: RecordId,
    pub status: ResultStatus,
    pub version: Version,
    pub conflicting_fields: Vec<String>,
    /// The server's copy after the change, as clients see it (rendered once). Written records
    /// are rendered after the commit unless the response must be stored under an idempotency
    /// key: rendering is work better done outside the tenant's write lock.
    pub data: Option<Arc<RawValue>>,
}

pub(crate) struct Written {
    pub outcomes: Vec<Outcome>,
    pub cursor: Cursor,
    pub at: Timestamp,
    /// The response a push stored with its idempotency key.
    pub body: Option<String>,
}

pub(crate) enum WriteResult {
    Written(Written),
    /// The idempotency key was seen before with the same body: its stored response.
    Replayed(String),
}

pub(crate) struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// Builds the stored/returned body of a push from its outcomes, under the lock, so the
/// idempotency entry holds exactly the bytes the client gets.
pub(crate) type BodyBuilder<'a> = &'a (dyn Fn(&[Outcome], Cursor, Timestamp) -> String + Sync);

impl<S: syncd_store::Store> SyncEngine<S> {
    /// Applies `changes` in one transaction. Every problem found under the lock (required
    /// fields of creates, references) is collected; if there is any, nothing is applied.
    pub(crate) async fn write(
        &self,
        p: &Principal,
        client: &ClientId,
        origin: Origin,
        changes: Vec<PlannedChange>,
        idempotency: Option<&Idempotency>,
        build_body: Option<BodyBuilder<'_>>,
    ) -> Result<WriteResult> {
        let now = Timestamp::now();
        let (keys, versions, reused) = keys_to_load(&changes, origin);
        let (mut tx, loaded) = match idempotency {
            // The key is checked again under the lock, before anything is loaded.
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
                let loaded = tx.load(&keys, &versions).await?;
                (tx, loaded)
            }
            None => {
                self.store
                    .begin_write_and_load(&p.tenant, &keys, &versions)
                    .await?
            }
        };
        let mut current: HashMap<RecordKey, Record> = loaded
            .records
            .into_iter()
            .map(|r| (RecordKey::new(r.entity_type.clone(), r.id), r))
            .collect();
        let bases: HashMap<(RecordKey, Version), Map<String, Value>> = loaded
            .versions
            .into_iter()
            .map(|(k, v, data)| ((k, v), data))
            .collect();

        let status_after = match origin {
            Origin::Push | Origin::Resolve(_) => SyncStatus::Synced,
            Origin::Crud(_) => SyncStatus::Pending,
        };
        let mut batch = WriteBatch::new(client.clone(), p.subject.clone(), now);
        let mut errors: Vec<ChangeError> = Vec::new();
        let mut outcomes = Vec::with_capacity(changes.len());
        // For each written record (by index in `batch.records`), the outcome that shows it.
        let mut written_outcomes: Vec<usize> = Vec::with_capacity(changes.len());
        let mut status_updates = Vec::new();
        // Version of each record before this write touched it: a client's successive edits of
        // one record inside one push are not conflicts with each other.
        let mut before_write: HashMap<RecordKey, Version> = HashMap::new();

        for change in changes {
            let ty = Arc::clone(&change.entity_type);
            let key = RecordKey::new(ty.name.clone(), change.id);
            let server = current.get(&key);
            if let Origin::Crud(mode) = origin {
                check_crud_expectation(mode, &ty, &change, server)?;
            }

            let creating = server.is_none() && change.op == ChangeOp::Upsert;
            let mut incoming = change.data;
            if creating {
                ty.apply_defaults(&mut incoming);
                for e in ty.check_required(&incoming) {
                    errors.push(ChangeError::invalid(
                        change.index,
                        ty.name.as_str(),
                        Some(&e.field),
                        e.message,
                    ));
                }
            }
            check_references(change.index, &ty, &incoming, &mut errors, |k| {
                current.get(k).is_some_and(|r| !r.deleted)
            });
            if !errors.is_empty() {
                // Keep collecting problems; nothing will be applied.
                continue;
            }

            let base_version = match origin {
                Origin::Push => match (before_write.get(&key), server) {
                    (Some(before), Some(s))
                        if change.base_version.unwrap_or_default() >= *before =>
                    {
                        Some(s.version)
                    }
                    _ => change.base_version,
                },
                Origin::Crud(_) | Origin::Resolve(_) => server.map(|s| s.version),
            };
            let strategy = self.strategy(&ty)?;
            let mut resolution = if creating {
                // A new id is created the same way whatever the strategy; taking the data
                // instead of copying it keeps the common case cheap.
                Resolution::Write {
                    patch: std::mem::take(&mut incoming),
                    deleted: false,
                    edited_at: client_time(
                        change.client_edit_time,
                        now,
                        self.config.max_clock_skew_ms,
                    ),
                    status: ResultStatus::Created,
                    conflicting_fields: Vec::new(),
                }
            } else {
                let ctx = Context {
                    server: server.map(|s| ServerState {
                        data: &s.data,
                        version: s.version,
                        edited_at: s.edited_at,
                        deleted: s.deleted,
                    }),
                    base: base_version.and_then(|b| bases.get(&(key.clone(), b))),
                    incoming: Incoming {
                        op: change.op,
                        data: &incoming,
                        base_version,
                        edited_at: change.client_edit_time,
                    },
                    now,
                    max_skew_ms: self.config.max_clock_skew_ms,
                };
                resolve(strategy.as_ref(), &ctx)
            };
            // An app acknowledges a pending record (written through REST) by pushing it back:
            // even identical data then stores `synced` as a new version.
            if origin == Origin::Push
                && change.op == ChangeOp::Upsert
                && let (
                    Some(s),
                    Resolution::Keep {
                        status: ResultStatus::Unchanged,
                        ..
                    },
                ) = (server, &resolution)
                && !s.deleted
                && s.sync_status != status_after
            {
                resolution = Resolution::Write {
                    patch: Map::new(),
                    deleted: false,
                    edited_at: s.edited_at,
                    status: ResultStatus::Updated,
                    conflicting_fields: Vec::new(),
                };
            }

            let conflict_log = |status: ConflictStatus, fields: &[String]| ConflictEntry {
                id: Uuid::now_v7(),
                entity_type: ty.name.clone(),
                record_id: change.id,
                strategy: strategy.name().to_owned(),
                status,
                server_version: server.map_or(Version(0), |s| s.version),
                server_data: server.map_or(Value::Null, |s| s.to_json(&ty)),
                client_data: Value::Object(incoming.clone()),
                fields: fields.to_vec(),
                client_id: client.clone(),
                subject: p.subject.clone(),
                created_at: now,
                resolved_at: None,
            };

            let (status, conflicting_fields) = match resolution {
                Resolution::Write {
                    patch,
                    deleted,
                    edited_at,
                    status,
                    conflicting_fields,
                } => {
                    let next = next_state(&ty, server, patch, deleted);
                    let unchanged = server.is_some_and(|s| {
                        next.changed.is_empty()
                            && s.deleted == deleted
                            && s.sync_status == status_after
                    });
                    if unchanged {
                        let status = match status {
                            ResultStatus::Updated | ResultStatus::Deleted => {
                                ResultStatus::Unchanged
                            }
                            other => other,
                        };
                        if status == ResultStatus::ConflictResolved {
                            batch.conflicts.push(conflict_log(
                                ConflictStatus::AutoResolved,
                                &conflicting_fields,
                            ));
                        }
                        let (version, data) = kept(server, &ty, change.id, None);
                        outcomes.push(Outcome {
                            index: change.index,
                            entity_type: Arc::clone(&ty),
                            id: change.id,
                            status,
                            version,
                            conflicting_fields,
                            data: Some(data),
                        });
                        continue;
                    }
                    if status == ResultStatus::ConflictResolved {
                        batch.conflicts.push(conflict_log(
                            ConflictStatus::AutoResolved,
                            &conflicting_fields,
                        ));
                    }
                    let kind = match server {
                        None => WriteKind::Create,
                        Some(s) if deleted && !s.deleted => WriteKind::Delete,
                        Some(_) => WriteKind::Update,
                    };
                    if reused.contains(&key) {
                        before_write
                            .entry(key.clone())
                            .or_insert(server.map_or(Version(0), |s| s.version));
                    }
                    let record = Record {
                        entity_type: ty.name.clone(),
                        id: change.id,
                        version: server.map_or(Version::INITIAL, |s| s.version.next()),
                        seq: tx.next_seq(),
                        data: next.data,
                        deleted,
                        sync_status: status_after,
                        created_at: server.map_or(now, |s| s.created_at),
                        updated_at: now,
                        edited_at,
                    };
                    written_outcomes.push(outcomes.len());
                    outcomes.push(Outcome {
                        index: change.index,
                        entity_type: Arc::clone(&ty),
                        id: change.id,
                        status,
                        version: record.version,
                        conflicting_fields,
                        data: None,
                    });
                    // Only a record that a later change of this request touches or references
                    // needs to be kept at hand.
                    if reused.contains(&key) {
                        current.insert(key, record.clone());
                    }
                    batch.records.push(RecordWrite {
                        record,
                        kind,
                        changed_fields: next.changed,
                    });
                    continue;
                }
                Resolution::Keep {
                    status,
                    conflicting_fields,
                } => {
                    if status == ResultStatus::ConflictResolved {
                        batch.conflicts.push(conflict_log(
                            ConflictStatus::AutoResolved,
                            &conflicting_fields,
                        ));
                    }
                    (status, conflicting_fields)
                }
                Resolution::Open { conflicting_fields } => {
                    batch
                        .conflicts
                        .push(conflict_log(ConflictStatus::Open, &conflicting_fields));
                    status_updates.push(StatusUpdate {
                        entity_type: ty.name.clone(),
                        id: change.id,
                        status: SyncStatus::Conflict,
                    });
                    (ResultStatus::Conflict, conflicting_fields)
                }
            };
            let shown = (status == ResultStatus::Conflict).then_some(SyncStatus::Conflict);
            let (version, data) = kept(server, &ty, change.id, shown);
            outcomes.push(Outcome {
                index: change.index,
                entity_type: ty,
                id: change.id,
                status,
                version,
                conflicting_fields,
                data: Some(data),
            });
        }

        if !errors.is_empty() {
            tx.rollback().await?;
            errors.sort_by_key(|e| e.index);
            return Err(SyncError::invalid(errors));
        }

        if let Origin::Resolve(conflict_id) = origin {
            batch.resolved_conflicts.push(conflict_id);
            if let Some(o) = outcomes.first() {
                status_updates.push(StatusUpdate {
                    entity_type: o.entity_type.name.clone(),
                    id: o.id,
                    status: SyncStatus::Synced,
                });
            }
        }
        let cursor = Cursor::new(tx.head());
        // A response stored under an idempotency key must exist before the commit; any other is
        // built after it, outside the lock.
        let mut body = None;
        if idempotency.is_some() {
            render(&mut outcomes, &batch.records, &written_outcomes);
            body = build_body.map(|build| build(&outcomes, cursor, now));
        }
        if let (Some(idem), Some(body)) = (idempotency, &body) {
            batch.idempotency = Some(IdempotencyEntry {
                client_id: client.clone(),
                key: idem.key.clone(),
                request_hash: idem.request_hash.clone(),
                response: body.clone(),
                created_at: now,
            });
        }
        if origin == Origin::Push {
            batch.audit = Some(audit(client, p, &outcomes, &batch, now));
        }
        let wrote = !batch.records.is_empty();
        if wrote
            || !batch.conflicts.is_empty()
            || batch.idempotency.is_some()
            || batch.audit.is_some()
            || !batch.resolved_conflicts.is_empty()
        {
            tx.write(&batch).await?;
        }
        tx.commit().await?;

        render(&mut outcomes, &batch.records, &written_outcomes);
        if body.is_none() {
            body = build_body.map(|build| build(&outcomes, cursor, now));
        }
        let events: Vec<RecordChange> = batch
            .records
            .iter()
            .zip(&written_outcomes)
            .map(|(w, &o)| RecordChange {
                entity_type: w.record.entity_type.clone(),
                action: match w.kind {
                    WriteKind::Create => RecordAction::Create,
                    WriteKind::Update => RecordAction::Update,
                    WriteKind::Delete => RecordAction::Delete,
                },
                seq: w.record.seq,
                record: outcomes[o]
                    .data
                    .clone()
                    .unwrap_or_else(|| raw(&Value::Null)),
            })
            .collect();
        if !events.is_empty() || !status_updates.is_empty() {
            self.notifier.publish(Arc::new(ChangeEvent {
                tenant: p.tenant.clone(),
                origin_client: client.clone(),
                cursor,
                counts: counts(&events),
                records: events,
                status_updates,
            }));
        }
        Ok(WriteResult::Written(Written {
            outcomes,
            cursor,
            at: now,
            body,
        }))
    }
}

/// Renders the written records of the outcomes that do not have their JSON yet.
fn render(outcomes: &mut [Outcome], records: &[RecordWrite], written_outcomes: &[usize]) {
    for (write, &o) in records.iter().zip(written_outcomes) {
        let outcome = &mut outcomes[o];
        if outcome.data.is_none() {
            outcome.data = Some(write.record.to_raw(&outcome.entity_type));
        }
    }
}

fn replay(entry: IdempotencyEntry, idem: &Idempotency) -> Result<WriteResult> {
    if entry.request_hash == idem.request_hash {
        Ok(WriteResult::Replayed(entry.response))
    } else {
        Err(SyncError::IdempotencyKeyReused)
    }
}

/// The records the changes touch and name by reference, and the base versions they cite.
/// Also returns the keys that a later change touches again or references: only those need
/// their new state kept during the request.
fn keys_to_load(
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

fn check_crud_expectation(
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

struct NextState {
    data: Map<String, Value>,
    changed: Vec<String>,
}

/// The record's data after a write: the server's data with the patch on top and the type's
/// deletion rule applied (set on delete, reset on revival).
fn next_state(
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
fn kept(
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
fn client_time(edited_at: Option<Timestamp>, now: Timestamp, max_skew_ms: i64) -> Timestamp {
    match edited_at {
        Some(t) if t <= now.plus_millis(max_skew_ms) => t,
        _ => now,
    }
}

fn audit(
    client: &ClientId,
    p: &Principal,
    outcomes: &[Outcome],
    batch: &WriteBatch,
    at: Timestamp,
) -> PushAudit {
    let count =
        |status: ResultStatus| outcomes.iter().filter(|o| o.status == status).count() as u32;
    PushAudit {
        client_id: client.clone(),
        subject: p.subject.clone(),
        changes: outcomes.len() as u32,
        created: count(ResultStatus::Created),
        updated: count(ResultStatus::Updated) + count(ResultStatus::ConflictResolved),
        deleted: count(ResultStatus::Deleted),
        unchanged: count(ResultStatus::Unchanged),
        conflicts: count(ResultStatus::Conflict),
        seq_range: batch
            .records
            .first()
            .zip(batch.records.last())
            .map(|(a, b)| (a.record.seq, b.record.seq)),
        at,
    }
}

/// Written records per type, in order of first appearance.
fn counts(events: &[RecordChange]) -> Vec<(EntityTypeName, u32)> {
    let mut counts: Vec<(EntityTypeName, u32)> = Vec::new();
    for e in events {
        match counts.iter_mut().find(|(t, _)| *t == e.entity_type) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.entity_type.clone(), 1)),
        }
    }
    counts
}
