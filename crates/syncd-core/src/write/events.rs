//! What a committed write tells the rest of the system: the change event for the hub and the
//! audit row of a push.

use serde_json::Value;
use syncd_conflict::ResultStatus;
use syncd_model::{
    ChangeEvent, ClientId, EntityTypeName, RecordAction, RecordChange, Timestamp, raw,
};
use syncd_store::{PushAudit, WriteBatch, WriteKind};

use super::{Outcome, Plan};
use crate::principal::Principal;

/// The event of a committed plan: its written records (rendered) and status updates; `None`
/// when it wrote nothing anyone needs to hear about.
pub(super) fn change_event(p: &Principal, client: &ClientId, plan: &Plan) -> Option<ChangeEvent> {
    let records: Vec<RecordChange> = plan
        .batch
        .records
        .iter()
        .zip(&plan.written_outcomes)
        .zip(&plan.rule_fields_before)
        .map(|((w, &o), before)| RecordChange {
            entity_type: w.record.entity_type.clone(),
            id: w.record.id,
            rule_fields: plan.outcomes[o]
                .entity_type
                .visibility
                .fields_of(&w.record.data),
            rule_fields_before: before.clone(),
            action: match w.kind {
                WriteKind::Create => RecordAction::Create,
                WriteKind::Update => RecordAction::Update,
                WriteKind::Delete => RecordAction::Delete,
            },
            seq: w.record.seq,
            record: match &plan.outcomes[o] {
                // The writer's answer shows a removal; everyone else gets the record.
                outcome if outcome.hidden_from_writer => w.record.to_raw(&outcome.entity_type),
                outcome => outcome.data.clone().unwrap_or_else(|| raw(&Value::Null)),
            },
        })
        .collect();
    if records.is_empty() && plan.status_updates.is_empty() {
        return None;
    }
    Some(ChangeEvent {
        tenant: p.tenant.clone(),
        origin_client: client.clone(),
        cursor: plan.cursor,
        counts: counts(&records),
        records,
        status_updates: plan.status_updates.clone(),
    })
}

/// The audit row of a push.
pub(super) fn audit(
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
