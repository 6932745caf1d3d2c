//! Storing [`WriteBatch`]es: records and their versions, then the conflict log, resolved
//! conflicts, the idempotency entries, the audit rows and the new head, each in one multi-row
//! statement per statement budget. Several batches (the pushes of one group commit) share the
//! statements: each row carries its own batch's writer and time.

use std::collections::HashMap;

use syncd_store::{RecordWrite, Result, StoreError, WriteBatch};
use uuid::Uuid;

use super::SeaWriteTx;
use crate::sql::{Dialect, Param, Sql};

/// The record rows of the batches being written, in order, with their JSON text encoded once
/// for every statement that needs it.
pub(super) struct Rows<'a> {
    /// Each row with the index of its batch.
    pub(super) writes: Vec<(usize, &'a RecordWrite)>,
    pub(super) data: Vec<String>,
    pub(super) changed: Vec<String>,
    /// The row is the last write of its record over all batches: it goes into `records`.
    pub(super) is_latest: Vec<bool>,
}

impl SeaWriteTx {
    pub(super) async fn write_inner(&self, batches: &[&WriteBatch]) -> Result<()> {
        let txn = self.txn()?;
        let writes: Vec<(usize, &RecordWrite)> = batches
            .iter()
            .enumerate()
            .flat_map(|(b, batch)| batch.records.iter().map(move |w| (b, w)))
            .collect();
        self.check_seqs(&writes)?;
        let data = writes
            .iter()
            .map(|(_, w)| json_text(&w.record.data))
            .collect::<Result<Vec<String>>>()?;
        let changed = writes
            .iter()
            .map(|(_, w)| json_text(&w.changed_fields))
            .collect::<Result<Vec<String>>>()?;
        let is_latest = latest_writes(&writes);
        let rows = Rows {
            writes,
            data,
            changed,
            is_latest,
        };
        // On PostgreSQL the audit rows and the new head ride along with the last records
        // statement: fewer round trips while the tenant's clock row is locked.
        let folded = self.inner.dialect == Dialect::Postgres && !rows.writes.is_empty();
        if folded {
            self.write_records_postgres(txn, batches, &rows).await?;
        } else {
            self.write_records_sqlite(txn, batches, &rows).await?;
        }
        self.write_conflicts(txn, batches).await?;
        self.resolve_conflicts(txn, batches).await?;
        self.write_idempotency(txn, batches).await?;
        if !folded {
            self.write_audit_and_head(txn, batches).await?;
        }
        Ok(())
    }

    /// Every record carries a seq this transaction allocated and no stored batch used, in
    /// increasing order.
    fn check_seqs(&self, writes: &[(usize, &RecordWrite)]) -> Result<()> {
        let mut last = self.stored_head;
        for (_, write) in writes {
            let seq = write.record.seq;
            if seq <= last || seq > self.head {
                return Err(StoreError::internal(format!(
                    "record {} carries seq {seq}, which this transaction did not allocate \
                     (or not in order)",
                    write.record.id
                )));
            }
            last = seq;
        }
        Ok(())
    }
}

/// For each write, whether it is the last write of its record: only those go into `records`
/// (a batch, or a group of batches, may write a record more than once, and one statement cannot
/// upsert the same row twice on PostgreSQL).
fn latest_writes(writes: &[(usize, &RecordWrite)]) -> Vec<bool> {
    let mut last: HashMap<(&str, Uuid), usize> = HashMap::with_capacity(writes.len());
    for (i, (_, w)) in writes.iter().enumerate() {
        last.insert((w.record.entity_type.as_str(), w.record.id.as_uuid()), i);
    }
    let mut is_latest = vec![false; writes.len()];
    for &i in last.values() {
        is_latest[i] = true;
    }
    is_latest
}

/// The writer and time of each batch as parameters of one statement, bound the first time a row
/// of that batch needs them.
pub(super) struct Writers<'a> {
    batches: &'a [&'a WriteBatch],
    params: Vec<Option<[Param; 3]>>,
}

impl<'a> Writers<'a> {
    pub(super) fn new(batches: &'a [&'a WriteBatch]) -> Self {
        Self {
            batches,
            params: vec![None; batches.len()],
        }
    }

    /// Parameters bound once per statement for `n` batches at most.
    pub(super) fn shared(batches: usize) -> usize {
        3 * batches
    }

    /// `client, subject, at` of batch `b` as placeholders.
    pub(super) fn push(&mut self, q: &mut Sql, b: usize) {
        let [client, subject, at] = match self.params[b] {
            Some(p) => p,
            None => {
                let batch = self.batches[b];
                let p = [
                    q.param(batch.client_id.as_str()),
                    q.param(batch.subject.as_str()),
                    q.param(batch.at.as_millis()),
                ];
                self.params[b] = Some(p);
                p
            }
        };
        q.ph(client).push(", ").ph(subject).push(", ").ph(at);
    }
}

pub(super) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(Box::new(e)))
}
