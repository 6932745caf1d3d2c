//! The one write path behind push, REST CRUD and conflict resolution: one store transaction,
//! a fixed number of statements, notifications after commit.
//!
//! A write goes through named steps: [`SyncEngine::open_write`] takes the tenant's lock and
//! loads what the changes touch, [`plan::Planner`] decides each change (checks, strategy, new state)
//! into a [`Plan`], and [`SyncEngine::commit_write`] stores the plan, commits and notifies.
//! CRUD and conflict resolution call [`SyncEngine::write`], which runs the three. Push plans
//! with [`SyncEngine::plan_push`] inside its group commit (`crate::push`), where several pushes
//! share one transaction, and publishes each with [`SyncEngine::publish`].

mod checks;
mod events;
mod plan;
pub(crate) mod planned;
mod state;

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use syncd_conflict::ResultStatus;
use syncd_model::{ClientId, Cursor, EntityType, RecordId, StatusUpdate, Timestamp, Version};
use syncd_store::{Loaded, RecordKey, Store, WriteBatch, WriteTx};
use uuid::Uuid;

pub(crate) use self::checks::{check_references, is_erased};
pub(crate) use self::planned::PlannedChange;
use crate::engine::SyncEngine;
use crate::error::Result;
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

/// What became of one change.
pub(crate) struct Outcome {
    pub index: usize,
    pub entity_type: Arc<EntityType>,
    pub id: RecordId,
    pub status: ResultStatus,
    pub version: Version,
    pub conflicting_fields: Vec<String>,
    /// The server's copy after the change, as clients see it (rendered once). Written records
    /// are rendered by [`Plan::render`], after the commit unless the caller needs them under
    /// the lock: rendering is work better done outside the tenant's write lock.
    pub data: Option<Arc<RawValue>>,
    /// A push made the record invisible to its writer (a reassignment): `data` is the removal
    /// shape, so the writer's app drops its copy (SPEC §11), while events carry the record.
    pub hidden_from_writer: bool,
}

/// A write decided under the lock, not stored yet.
pub(crate) struct Plan {
    pub outcomes: Vec<Outcome>,
    /// What the transaction will store; the caller may still add its idempotency entry.
    pub batch: WriteBatch,
    /// For each record of `batch.records`, the outcome that shows it.
    written_outcomes: Vec<usize>,
    /// For each record of `batch.records`, its rule fields before the write (for the hub).
    rule_fields_before: Vec<Option<Map<String, Value>>>,
    status_updates: Vec<StatusUpdate>,
    pub cursor: Cursor,
    pub at: Timestamp,
}

/// A committed write.
pub(crate) struct Written {
    pub outcomes: Vec<Outcome>,
    pub cursor: Cursor,
    pub at: Timestamp,
}

impl Plan {
    /// Renders the written records of the outcomes that do not have their JSON yet.
    pub(crate) fn render(&mut self) {
        for (write, &o) in self.batch.records.iter().zip(&self.written_outcomes) {
            let outcome = &mut self.outcomes[o];
            if outcome.data.is_none() {
                outcome.data = Some(write.record.to_raw(&outcome.entity_type));
            }
        }
    }

    fn stores_anything(&self) -> bool {
        let b = &self.batch;
        !b.records.is_empty()
            || !b.conflicts.is_empty()
            || !b.resolved_conflicts.is_empty()
            || b.idempotency.is_some()
            || b.audit.is_some()
    }
}

/// A write transaction holding the tenant's lock, with what the changes touch loaded.
pub(crate) struct OpenWrite {
    pub tx: Box<dyn WriteTx>,
    loaded: Loaded,
    reused: HashSet<RecordKey>,
}

impl<S: Store> SyncEngine<S> {
    /// Applies `changes` in one transaction (CRUD, conflict resolution). Every problem found
    /// under the lock (required fields of creates, references) is collected; if there is any,
    /// nothing is applied.
    pub(crate) async fn write(
        &self,
        p: &Principal,
        origin: Origin,
        changes: Vec<PlannedChange>,
    ) -> Result<Written> {
        let open = self.open_write(p, origin, &changes).await?;
        let (tx, plan) = self.plan_write(p, &p.client, origin, changes, open).await?;
        self.commit_write(p, &p.client, tx, plan).await
    }

    /// Takes the tenant's write lock and loads the records the changes touch or reference and
    /// the base versions they cite.
    pub(crate) async fn open_write(
        &self,
        p: &Principal,
        origin: Origin,
        changes: &[PlannedChange],
    ) -> Result<OpenWrite> {
        let (keys, versions, reused) = checks::keys_to_load(changes, origin);
        let (tx, loaded) = self
            .store
            .begin_write_and_load(&p.tenant, &keys, &versions)
            .await?;
        Ok(OpenWrite { tx, loaded, reused })
    }

    /// Decides every change of an open write (see [`plan::Planner`]); on failure the
    /// transaction is rolled back.
    pub(crate) async fn plan_write(
        &self,
        p: &Principal,
        client: &ClientId,
        origin: Origin,
        changes: Vec<PlannedChange>,
        open: OpenWrite,
    ) -> Result<(Box<dyn WriteTx>, Plan)> {
        let OpenWrite {
            mut tx,
            loaded,
            reused,
        } = open;
        let planner = plan::Planner::new(self, p, client, origin, loaded, reused);
        match planner.run(changes, tx.as_mut()) {
            Ok(plan) => Ok((tx, plan)),
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// Stores the plan, commits, renders what is not rendered yet and publishes the event.
    pub(crate) async fn commit_write(
        &self,
        p: &Principal,
        client: &ClientId,
        mut tx: Box<dyn WriteTx>,
        plan: Plan,
    ) -> Result<Written> {
        if plan.stores_anything() {
            tx.write(&plan.batch).await?;
        }
        tx.commit().await?;
        Ok(self.publish(p, client, plan))
    }

    /// After the commit: renders what is not rendered yet and publishes the plan's event.
    pub(crate) fn publish(&self, p: &Principal, client: &ClientId, mut plan: Plan) -> Written {
        plan.render();
        if let Some(event) = events::change_event(p, client, &plan) {
            self.notifier.publish(Arc::new(event));
        }
        Written {
            outcomes: plan.outcomes,
            cursor: plan.cursor,
            at: plan.at,
        }
    }

    /// Plans one push of a group commit inside the group's transaction, against `loaded`: the
    /// states the database held, or the group's earlier pushes wrote. Nothing is stored yet; on
    /// failure the caller gives back the seqs the push took.
    pub(crate) fn plan_push(
        &self,
        p: &Principal,
        client: &ClientId,
        changes: Vec<PlannedChange>,
        loaded: Loaded,
        reused: HashSet<RecordKey>,
        tx: &mut dyn WriteTx,
    ) -> Result<Plan> {
        plan::Planner::new(self, p, client, Origin::Push, loaded, reused).run(changes, tx)
    }
}

/// What a push must load: the records it touches or references, the base versions it cites,
/// and the keys a later change of it touches again (see [`SyncEngine::open_write`]).
pub(crate) struct PushKeys {
    pub keys: Vec<RecordKey>,
    pub versions: Vec<(RecordKey, Version)>,
    pub reused: HashSet<RecordKey>,
}

pub(crate) fn push_keys(changes: &[PlannedChange]) -> PushKeys {
    let (keys, versions, reused) = checks::keys_to_load(changes, Origin::Push);
    PushKeys {
        keys,
        versions,
        reused,
    }
}
