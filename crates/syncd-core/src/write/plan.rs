//! Deciding each change of a write under the tenant's lock: the checks only the stored records
//! can answer, the type's conflict strategy, and the record's next state with a new version and
//! a new seq. Nothing is stored here; the result is a [`Plan`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::state::{client_time, next_state};
use super::{Origin, Outcome, Plan, PlannedChange, checks, events};
use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;
use serde_json::{Map, Value};
use syncd_conflict::{Context, Incoming, Resolution, ResultStatus, ServerState, resolve};
use syncd_model::{
    ChangeError, ChangeOp, ClientId, Record, StatusUpdate, SyncStatus, Timestamp, Version,
};
use syncd_store::{
    ConflictStatus, Loaded, RecordKey, RecordWrite, Store, WriteBatch, WriteKind, WriteTx,
};

mod outcomes;

/// What [`Planner::apply`] did with a change.
enum Applied {
    /// The server's copy stays as it is.
    Kept,
    /// A new state was written; kept when a later change of the write needs it.
    Written(Option<Record>),
}

/// What a strategy decided to write.
struct WriteDecision {
    patch: Map<String, Value>,
    deleted: bool,
    edited_at: Timestamp,
    status: ResultStatus,
    conflicting_fields: Vec<String>,
}

/// The state of a write being planned, change after change.
pub(crate) struct Planner<'a, S> {
    engine: &'a SyncEngine<S>,
    p: &'a Principal,
    client: &'a ClientId,
    origin: Origin,
    now: Timestamp,
    status_after: SyncStatus,
    /// Current states by key: loaded, or written earlier in this write.
    current: HashMap<RecordKey, Record>,
    bases: HashMap<(RecordKey, Version), Map<String, Value>>,
    /// Keys a later change touches again or references: only their new states are kept.
    reused: HashSet<RecordKey>,
    /// Version of each record before this write touched it: a client's successive edits of one
    /// record inside one push are not conflicts with each other.
    before_write: HashMap<RecordKey, Version>,
    batch: WriteBatch,
    errors: Vec<ChangeError>,
    outcomes: Vec<Outcome>,
    written_outcomes: Vec<usize>,
    rule_fields_before: Vec<Option<Map<String, Value>>>,
    status_updates: Vec<StatusUpdate>,
}

impl<'a, S: Store> Planner<'a, S> {
    pub(crate) fn new(
        engine: &'a SyncEngine<S>,
        p: &'a Principal,
        client: &'a ClientId,
        origin: Origin,
        loaded: Loaded,
        reused: HashSet<RecordKey>,
    ) -> Self {
        let now = Timestamp::now();
        let (current, bases) = loaded.into_maps();
        Self {
            engine,
            p,
            client,
            origin,
            now,
            status_after: match origin {
                Origin::Push | Origin::Resolve(_) => SyncStatus::Synced,
                Origin::Crud(_) => SyncStatus::Pending,
            },
            current,
            bases,
            reused,
            before_write: HashMap::new(),
            batch: WriteBatch::new(client.clone(), p.subject.clone(), now),
            errors: Vec::new(),
            outcomes: Vec::new(),
            written_outcomes: Vec::new(),
            rule_fields_before: Vec::new(),
            status_updates: Vec::new(),
        }
    }

    /// Plans every change in order. Problems are collected over all changes; if there is any,
    /// the whole write is refused.
    pub(crate) fn run(mut self, changes: Vec<PlannedChange>, tx: &mut dyn WriteTx) -> Result<Plan> {
        self.outcomes.reserve(changes.len());
        for change in changes {
            self.change(change, tx)?;
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| e.index);
            return Err(SyncError::invalid(self.errors));
        }
        if let Origin::Resolve(conflict_id) = self.origin {
            self.batch.resolved_conflicts.push(conflict_id);
            if let Some(o) = self.outcomes.first() {
                // The resolved record as written, else as it is: whose connections may hear.
                let written = self.batch.records.iter().find(|w| w.record.id == o.id);
                let rule_fields = match written {
                    Some(w) => o.entity_type.visibility.fields_of(&w.record.data),
                    None => Map::new(),
                };
                self.status_updates.push(StatusUpdate {
                    entity_type: o.entity_type.name.clone(),
                    id: o.id,
                    status: SyncStatus::Synced,
                    rule_fields,
                });
            }
        }
        let cursor = self.engine.cursor_for(self.p, tx.epoch(), tx.head());
        if self.origin == Origin::Push {
            self.batch.audit = Some(events::audit(
                self.client,
                self.p,
                &self.outcomes,
                &self.batch,
                self.now,
            ));
        }
        Ok(Plan {
            outcomes: self.outcomes,
            batch: self.batch,
            written_outcomes: self.written_outcomes,
            rule_fields_before: self.rule_fields_before,
            status_updates: self.status_updates,
            cursor,
            at: self.now,
        })
    }

    fn change(&mut self, mut change: PlannedChange, tx: &mut dyn WriteTx) -> Result<()> {
        let key = RecordKey::new(change.entity_type.name.clone(), change.id);
        let server = self.current.remove(&key);
        let creating = server.is_none() && change.op == ChangeOp::Upsert;
        self.check(&mut change, server.as_ref(), creating)?;
        if !self.errors.is_empty() {
            // Keep collecting problems; nothing will be applied.
            if let Some(s) = server {
                self.current.insert(key, s);
            }
            return Ok(());
        }
        let base_version = self.base_version(&change, &key, server.as_ref());
        let resolution = self.resolve(&mut change, server.as_ref(), base_version, creating)?;
        match self.apply(change, &key, server.as_ref(), resolution, tx)? {
            Applied::Written(Some(record)) => {
                self.current.insert(key, record);
            }
            // No later change touches or references the record.
            Applied::Written(None) => {}
            Applied::Kept => {
                if let Some(s) = server {
                    self.current.insert(key, s);
                }
            }
        }
        Ok(())
    }

    /// CRUD expectations, defaults and required fields of creates, references.
    fn check(
        &mut self,
        change: &mut PlannedChange,
        server: Option<&Record>,
        creating: bool,
    ) -> Result<()> {
        if checks::refuse_erased(change.index, &change.entity_type, server, &mut self.errors) {
            return Ok(());
        }
        checks::writer_sees(self.origin, self.p, change, server)?;
        if let Origin::Crud(mode) = self.origin {
            checks::crud_expectation(mode, &change.entity_type, change, server)?;
        }
        let ty = Arc::clone(&change.entity_type);
        if creating {
            ty.apply_defaults(&mut change.data);
            checks::required(change.index, &ty, &change.data, &mut self.errors);
        }
        let current = &self.current;
        checks::check_references(change.index, &ty, &change.data, &mut self.errors, |k| {
            current.get(k).is_some_and(|r| !r.deleted)
        });
        Ok(())
    }

    /// The base the strategy compares with. A push's later edit of a record it already wrote
    /// builds on that write, not on the version the client saw before it.
    fn base_version(
        &self,
        change: &PlannedChange,
        key: &RecordKey,
        server: Option<&Record>,
    ) -> Option<Version> {
        match self.origin {
            Origin::Push => match (self.before_write.get(key), server) {
                (Some(before), Some(s)) if change.base_version.unwrap_or_default() >= *before => {
                    Some(s.version)
                }
                _ => change.base_version,
            },
            Origin::Crud(_) | Origin::Resolve(_) => server.map(|s| s.version),
        }
    }

    fn resolve(
        &self,
        change: &mut PlannedChange,
        server: Option<&Record>,
        base_version: Option<Version>,
        creating: bool,
    ) -> Result<Resolution> {
        let key = RecordKey::new(change.entity_type.name.clone(), change.id);
        if creating {
            // A new id is created the same way whatever the strategy; taking the data instead
            // of copying it keeps the common case cheap.
            return Ok(Resolution::Write {
                patch: std::mem::take(&mut change.data),
                deleted: false,
                edited_at: client_time(
                    change.client_edit_time,
                    self.now,
                    self.engine.config.max_clock_skew_ms,
                ),
                status: ResultStatus::Created,
                conflicting_fields: Vec::new(),
            });
        }
        let strategy = self.engine.strategy(&change.entity_type)?;
        let ctx = Context {
            server: server.map(|s| ServerState {
                data: &s.data,
                version: s.version,
                edited_at: s.edited_at,
                deleted: s.deleted,
            }),
            base: base_version.and_then(|b| self.bases.get(&(key, b))),
            incoming: Incoming {
                op: change.op,
                data: &change.data,
                base_version,
                edited_at: change.client_edit_time,
            },
            now: self.now,
            max_skew_ms: self.engine.config.max_clock_skew_ms,
        };
        let resolution = resolve(strategy.as_ref(), &ctx);
        Ok(self.acknowledge_pending(change, server, resolution))
    }

    /// An app acknowledges a pending record (written through REST) by pushing it back: even
    /// identical data then stores `synced` as a new version.
    fn acknowledge_pending(
        &self,
        change: &PlannedChange,
        server: Option<&Record>,
        resolution: Resolution,
    ) -> Resolution {
        let unchanged = matches!(
            resolution,
            Resolution::Keep {
                status: ResultStatus::Unchanged,
                ..
            }
        );
        match server {
            Some(s)
                if unchanged
                    && self.origin == Origin::Push
                    && change.op == ChangeOp::Upsert
                    && !s.deleted
                    && s.sync_status != self.status_after =>
            {
                Resolution::Write {
                    patch: Map::new(),
                    deleted: false,
                    edited_at: s.edited_at,
                    status: ResultStatus::Updated,
                    conflicting_fields: Vec::new(),
                }
            }
            _ => resolution,
        }
    }

    /// Turns a resolution into outcomes, conflict log entries and record writes.
    fn apply(
        &mut self,
        change: PlannedChange,
        key: &RecordKey,
        server: Option<&Record>,
        resolution: Resolution,
        tx: &mut dyn WriteTx,
    ) -> Result<Applied> {
        let (status, fields) = match resolution {
            Resolution::Write {
                patch,
                deleted,
                edited_at,
                status,
                conflicting_fields,
            } => {
                let decision = WriteDecision {
                    patch,
                    deleted,
                    edited_at,
                    status,
                    conflicting_fields,
                };
                return self.write_record(&change, key, server, decision, tx);
            }
            Resolution::Keep {
                status,
                conflicting_fields,
            } => {
                if status == ResultStatus::ConflictResolved {
                    self.log_conflict(
                        &change,
                        server,
                        ConflictStatus::AutoResolved,
                        &conflicting_fields,
                    )?;
                }
                (status, conflicting_fields)
            }
            Resolution::Open { conflicting_fields } => {
                self.log_conflict(&change, server, ConflictStatus::Open, &conflicting_fields)?;
                self.status_updates.push(StatusUpdate {
                    entity_type: change.entity_type.name.clone(),
                    id: change.id,
                    status: SyncStatus::Conflict,
                    rule_fields: server
                        .map(|s| change.entity_type.visibility.fields_of(&s.data))
                        .unwrap_or_default(),
                });
                (ResultStatus::Conflict, conflicting_fields)
            }
        };
        let shown = (status == ResultStatus::Conflict).then_some(SyncStatus::Conflict);
        self.keep(&change, server, status, fields, shown);
        Ok(Applied::Kept)
    }

    /// A new state of the record with a new version and seq, unless it changes nothing.
    fn write_record(
        &mut self,
        change: &PlannedChange,
        key: &RecordKey,
        server: Option<&Record>,
        decision: WriteDecision,
        tx: &mut dyn WriteTx,
    ) -> Result<Applied> {
        let WriteDecision {
            patch,
            deleted,
            edited_at,
            status,
            conflicting_fields,
        } = decision;
        let ty = &change.entity_type;
        if status == ResultStatus::ConflictResolved {
            self.log_conflict(
                change,
                server,
                ConflictStatus::AutoResolved,
                &conflicting_fields,
            )?;
        }
        let next = next_state(ty, server, patch, deleted);
        let unchanged = server.is_some_and(|s| {
            next.changed.is_empty() && s.deleted == deleted && s.sync_status == self.status_after
        });
        if unchanged {
            let status = match status {
                ResultStatus::Updated | ResultStatus::Deleted => ResultStatus::Unchanged,
                other => other,
            };
            self.keep(change, server, status, conflicting_fields, None);
            return Ok(Applied::Kept);
        }
        let kind = match server {
            None => WriteKind::Create,
            Some(s) if deleted && !s.deleted => WriteKind::Delete,
            Some(_) => WriteKind::Update,
        };
        if self.reused.contains(key) {
            self.before_write
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
            sync_status: self.status_after,
            created_at: server.map_or(self.now, |s| s.created_at),
            updated_at: self.now,
            edited_at,
        };
        self.note_written(change, server, &record, status, conflicting_fields);
        // Only a record that a later change of this request touches or references needs to be
        // kept at hand.
        let kept_state = self.reused.contains(key).then(|| record.clone());
        self.batch.records.push(RecordWrite {
            record,
            kind,
            changed_fields: next.changed,
        });
        Ok(Applied::Written(kept_state))
    }
}
