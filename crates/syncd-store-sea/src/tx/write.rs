//! Storing a [`WriteBatch`]: records and their versions, then the conflict log, resolved
//! conflicts, the idempotency entry, the audit row and the new head, each in one multi-row
//! statement per statement budget.

use std::collections::HashMap;

use syncd_store::{Result, StoreError, WriteBatch};
use uuid::Uuid;

use super::SeaWriteTx;
use super::records::RowsText;
use crate::sql::Dialect;

impl SeaWriteTx {
    pub(super) async fn write_inner(&self, batch: &WriteBatch) -> Result<()> {
        let txn = self.txn()?;
        self.check_seqs(batch)?;
        let data = batch
            .records
            .iter()
            .map(|w| json_text(&w.record.data))
            .collect::<Result<Vec<String>>>()?;
        let changed = batch
            .records
            .iter()
            .map(|w| json_text(&w.changed_fields))
            .collect::<Result<Vec<String>>>()?;
        let is_latest = latest_writes(batch);
        let rows = RowsText {
            data: &data,
            changed: &changed,
            is_latest: &is_latest,
        };
        // On PostgreSQL the audit row and the new head ride along with the last records
        // statement: fewer round trips while the tenant's clock row is locked.
        let folded = self.inner.dialect == Dialect::Postgres && !batch.records.is_empty();
        if folded {
            self.write_records_postgres(txn, batch, &rows).await?;
        } else {
            self.write_records_sqlite(txn, batch, &rows).await?;
        }
        self.write_conflicts(txn, batch).await?;
        self.resolve_conflicts(txn, batch).await?;
        self.write_idempotency(txn, batch).await?;
        if !folded {
            self.write_audit_and_head(txn, batch).await?;
        }
        Ok(())
    }

    /// Every record carries a seq this transaction allocated.
    fn check_seqs(&self, batch: &WriteBatch) -> Result<()> {
        for write in &batch.records {
            let seq = write.record.seq;
            if seq <= self.base || seq > self.head {
                return Err(StoreError::internal(format!(
                    "record {} carries seq {seq}, which this transaction did not allocate",
                    write.record.id
                )));
            }
        }
        Ok(())
    }
}

/// For each write of the batch, whether it is the batch's last write of its record: only those
/// go into `records` (a batch may write a record more than once, and one statement cannot upsert
/// the same row twice on PostgreSQL).
fn latest_writes(batch: &WriteBatch) -> Vec<bool> {
    let mut last: HashMap<(&str, Uuid), usize> = HashMap::with_capacity(batch.records.len());
    for (i, w) in batch.records.iter().enumerate() {
        last.insert((w.record.entity_type.as_str(), w.record.id.as_uuid()), i);
    }
    let mut is_latest = vec![false; batch.records.len()];
    for &i in last.values() {
        is_latest[i] = true;
    }
    is_latest
}

pub(super) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(Box::new(e)))
}
