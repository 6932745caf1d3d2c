//! What the planner records besides the next states: each change's outcome, and the conflict
//! log entries.

use std::sync::Arc;

use serde_json::Value;
use syncd_conflict::ResultStatus;
use syncd_model::{EntityType, Record, SyncStatus, Version};
use syncd_store::{ConflictEntry, ConflictStatus, Store};
use uuid::Uuid;

use super::super::state::kept;
use super::super::{Origin, Outcome, PlannedChange};
use super::Planner;
use crate::error::Result;

impl<S: Store> Planner<'_, S> {
    /// The outcome of a written record; a record its writer can no longer see (a reassignment)
    /// is answered with the removal shape, so the writer's app drops its copy.
    pub(super) fn note_written(
        &mut self,
        change: &PlannedChange,
        server: Option<&Record>,
        record: &Record,
        status: ResultStatus,
        conflicting_fields: Vec<String>,
    ) {
        let ty = &change.entity_type;
        let hidden_from_writer =
            self.origin == Origin::Push && !self.p.access(ty).allows(&record.data);
        self.written_outcomes.push(self.outcomes.len());
        self.rule_fields_before
            .push(server.map(|s| ty.visibility.fields_of(&s.data)));
        self.outcomes.push(Outcome {
            index: change.index,
            entity_type: Arc::clone(ty),
            id: change.id,
            status,
            version: record.version,
            conflicting_fields,
            data: hidden_from_writer
                .then(|| syncd_model::raw(&crate::visibility::RemovalView(change.id))),
            hidden_from_writer,
        });
    }

    /// An outcome that shows the server's copy, unchanged.
    pub(super) fn keep(
        &mut self,
        change: &PlannedChange,
        server: Option<&Record>,
        status: ResultStatus,
        conflicting_fields: Vec<String>,
        shown: Option<SyncStatus>,
    ) {
        let (version, data) = kept(server, &change.entity_type, change.id, shown);
        self.outcomes.push(Outcome {
            index: change.index,
            entity_type: Arc::clone(&change.entity_type),
            id: change.id,
            status,
            version,
            conflicting_fields,
            data: Some(data),
            hidden_from_writer: false,
        });
    }

    pub(super) fn log_conflict(
        &mut self,
        change: &PlannedChange,
        server: Option<&Record>,
        status: ConflictStatus,
        fields: &[String],
    ) -> Result<()> {
        let ty: &EntityType = &change.entity_type;
        let strategy = self.engine.strategy(ty)?;
        self.batch.conflicts.push(ConflictEntry {
            id: Uuid::now_v7(),
            entity_type: ty.name.clone(),
            record_id: change.id,
            strategy: strategy.name().to_owned(),
            status,
            server_version: server.map_or(Version(0), |s| s.version),
            server_data: server.map_or(Value::Null, |s| s.to_json(ty)),
            client_data: Value::Object(change.data.clone()),
            fields: fields.to_vec(),
            client_id: self.client.clone(),
            subject: self.p.subject.clone(),
            created_at: self.now,
            resolved_at: None,
        });
        Ok(())
    }
}
