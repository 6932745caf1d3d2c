//! Erasure, the right to be forgotten (SPEC §10): a record becomes a thin tombstone with
//! `erased: true` (a new version and seq, so every app deletes its copy), then its past
//! versions, conflicts and the idempotency entries holding it are removed. A whole tenant can
//! be erased too.

use std::sync::Arc;

use serde_json::{Map, Value};
use syncd_model::{
    ChangeEvent, Cursor, DeletionRule, EntityType, Epoch, Record, RecordAction, RecordChange,
    RecordId, SyncStatus, TenantId, Timestamp,
};
use syncd_store::{LifecycleStore, RecordKey, RecordWrite, WriteBatch, WriteKind};

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;
use crate::write::is_erased;

/// The data key marking an erased record's thin tombstone.
pub const ERASED: &str = "erased";

/// What a thin tombstone keeps of a record's `data`: the fields the type's visibility rules
/// name (so that it still reaches exactly the readers who may see the record, SPEC §10/§11), the
/// type's deletion marker (`is_deleted: 1` for `end_user`, `status: "cancelled"` for
/// `interactions`) and, when erased, `erased: true`. No other client field.
pub fn thin_data(ty: &EntityType, data: &Map<String, Value>, erased: bool) -> Map<String, Value> {
    let mut data = ty.visibility.fields_of(data);
    if let DeletionRule::SetField { field, value, .. } = &ty.deletion {
        data.insert(field.clone(), value.clone());
    }
    if erased {
        data.insert(ERASED.to_owned(), Value::Bool(true));
    }
    data
}

/// The refusal of a replayed idempotency key whose stored answer held a record erased since:
/// the push is answered as it would be now, 422 `the record was erased`.
pub(crate) fn erased_answer(entry: &syncd_store::IdempotencyEntry) -> Option<SyncError> {
    let named = entry.response.strip_prefix(syncd_store::ERASED_ANSWER)?;
    let entity_type = named.split(':').next().unwrap_or_default();
    Some(SyncError::invalid(vec![syncd_model::ChangeError::invalid(
        0,
        entity_type,
        None,
        "the record was erased",
    )]))
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub id: RecordId,
    /// False when the record had been erased before (the call only removed leftovers).
    pub now: bool,
    /// Rows of history, conflicts and idempotency entries removed beside the record.
    pub traces: u64,
}

impl<S: LifecycleStore> SyncEngine<S> {
    /// Erases one record of the caller's tenant (`DELETE /api/admin/records/{type}/{id}`,
    /// `syncd erase --type --id`). Needs the `admin` role. Again for an erased id: nothing new is
    /// written, leftovers are removed. An id absent from the tenant → not found.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, entity_type, %id), err(level = "debug"))]
    pub async fn erase_record(
        &self,
        p: &Principal,
        entity_type: &str,
        id: RecordId,
    ) -> Result<Erased> {
        if !p.is_admin() {
            return Err(SyncError::Forbidden(
                "erasure needs a token with the `admin` role".into(),
            ));
        }
        let ty = Arc::clone(
            self.registry
                .get(entity_type)
                .ok_or_else(|| SyncError::NotFound(format!("no entity type `{entity_type}`")))?,
        );
        let key = RecordKey::new(ty.name.clone(), id);
        let (mut tx, loaded) = self
            .store
            .begin_write_and_load(&p.tenant, &[key], &[])
            .await?;
        let Some(current) = loaded.records.into_iter().next() else {
            tx.rollback().await?;
            return Err(SyncError::NotFound(format!("{entity_type} {id} not found")));
        };
        let erased_before = is_erased(&current);
        let version = if erased_before {
            tx.rollback().await?;
            current.version
        } else {
            let now = Timestamp::now();
            let seq = tx.next_seq();
            let data = thin_data(&ty, &current.data, true);
            // The rule fields stay as they were; everything else goes, and `erased` comes.
            let mut changed_fields: Vec<String> = current
                .data
                .iter()
                .filter(|(k, v)| data.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .collect();
            changed_fields.push(ERASED.to_owned());
            let record = Record {
                version: current.version.next(),
                seq,
                data,
                deleted: true,
                sync_status: SyncStatus::Synced,
                updated_at: now,
                edited_at: now,
                ..current
            };
            let mut batch = WriteBatch::new(p.client.clone(), p.subject.clone(), now);
            batch.records.push(RecordWrite {
                record,
                kind: WriteKind::Delete,
                changed_fields,
            });
            tx.write(&batch).await?;
            let cursor = Cursor::at(seq, tx.epoch(), 0);
            tx.commit().await?;
            let version = batch.records[0].record.version;
            self.announce(p, &ty, &batch.records[0].record, cursor);
            version
        };
        let traces = self
            .store
            .erase_traces(&p.tenant, &ty.name, id, version)
            .await?;
        metrics::counter!("syncd_erased_records_total").increment(u64::from(!erased_before));
        tracing::info!(traces, again = erased_before, "record erased");
        Ok(Erased {
            id,
            now: !erased_before,
            traces,
        })
    }

    /// Tells the tenant's apps of the erasing write: `data_update` action `delete`.
    fn announce(&self, p: &Principal, ty: &EntityType, record: &Record, cursor: Cursor) {
        let change = RecordChange {
            entity_type: ty.name.clone(),
            id: record.id,
            rule_fields: ty.visibility.fields_of(&record.data),
            rule_fields_before: None,
            action: RecordAction::Delete,
            seq: record.seq,
            record: record.to_raw(ty),
        };
        self.notifier.publish(Arc::new(ChangeEvent {
            tenant: p.tenant.clone(),
            origin_client: p.client.clone(),
            cursor,
            counts: vec![(ty.name.clone(), 1)],
            records: vec![change],
            status_updates: Vec::new(),
        }));
    }

    /// Erases a whole tenant (`syncd erase --tenant T`): every row, thin tombstones included,
    /// and a new sync epoch, so its apps' next pull with a cursor is answered 410 and a pull
    /// without one starts the tenant afresh.
    pub async fn erase_tenant(&self, tenant: &TenantId) -> Result<Epoch> {
        let epoch = self.store.erase_tenant(tenant, Timestamp::now()).await?;
        tracing::info!(%tenant, epoch = epoch.0, "tenant erased");
        Ok(epoch)
    }
}
