//! Background upkeep of the database, driven by the records this store writes: ANALYZE on
//! PostgreSQL while tables and tenants are young, passive WAL checkpoints on SQLite. Neither
//! is counted in the store's statements: it is upkeep, not work done for a caller, and would
//! make the counts of the calls around it depend on timing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sea_orm::ConnectionTrait;
use syncd_model::TenantId;

use crate::inner::Inner;
use crate::sql::Dialect;

/// What the background ANALYZE reads: every column the planner estimates with, not the JSON
/// data (the costly part of an ANALYZE of these tables, and no query filters on it by plan).
const ANALYZE_SQL: &str = "ANALYZE records (tenant_id, entity_type, id, version, seq, deleted, \
     sync_status, created_at, updated_at, edited_at), \
     record_versions (tenant_id, entity_type, id, version, seq, at)";

/// Doublings of the store's own writes (from 1 000 records) that trigger an ANALYZE: up to
/// 64 000, while the whole table is young.
const ANALYZE_STORE_DOUBLINGS: u32 = 7;

/// Whether going from `before` to `before + added` records crosses one of 1 000 × 2^k for
/// k < `doublings`.
fn crosses_doubling(before: u64, added: u64, doublings: u32) -> bool {
    let after = before.saturating_add(added);
    (0..doublings.min(54)).any(|k| {
        let at = 1_000u64 << k;
        before < at && at <= after
    })
}

/// Records written between two background WAL checkpoints on SQLite.
const SQLITE_CHECKPOINT_RECORDS: u64 = 5_000;

impl Inner {
    /// Notes committed record writes. PostgreSQL plans with the table sizes of its last ANALYZE
    /// (scaled by the table's current pages) and caches the generic plans of prepared statements
    /// until the next one. Never analysed, a table is planned as nearly empty and lookups by id
    /// go through the (tenant, type, seq) index: a scan of the whole type per key. Analysed small,
    /// the `load` join is planned as a hash join over a sequential scan, which the cached plan
    /// keeps doing while the table grows, until autovacuum analyses it again (a minute or more
    /// later). Statistics also decide how one tenant is planned: a tenant that is not in the
    /// last ANALYZE's most-common values (a new tenant, when the others all are) is estimated at
    /// one row, and `load` then reads every record of the tenant to find the pushed ones, a cost
    /// that grows with the tenant (measured: a third of the push throughput lost by a tenant's
    /// 20 000th record). So the store asks for an ANALYZE itself, in the background, each time
    /// its writes since start double from 1 000 to 64 000 records, and each time one tenant's
    /// writes since start double from 1 000: a few times per tenant and process. It reads the
    /// columns the planner estimates with, not the JSON data, which made a whole-table ANALYZE
    /// cost the database more CPU than the pushes around it. Runs never overlap.
    ///
    /// On SQLite the same counter drives WAL checkpoints: every ~5 000 records one `PASSIVE`
    /// checkpoint runs in the background on a pooled connection, so the copy of WAL pages into the
    /// database happens beside the writers instead of inside the commit that crosses the
    /// auto-checkpoint threshold (which stays as a safety net).
    pub(crate) fn note_written(self: &Arc<Self>, tenant: &TenantId, records: u64) {
        if records == 0 {
            return;
        }
        if self.dialect == Dialect::Sqlite {
            let before = self.records_written.fetch_add(records, Ordering::Relaxed);
            let crossed = before / SQLITE_CHECKPOINT_RECORDS
                != before.saturating_add(records) / SQLITE_CHECKPOINT_RECORDS;
            if crossed && !self.checkpointing.swap(true, Ordering::AcqRel) {
                let inner = Arc::clone(self);
                tokio::spawn(async move {
                    // Maintenance, not counted in `statements()`; best effort.
                    let _ = inner
                        .db
                        .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                        .await;
                    inner.checkpointing.store(false, Ordering::Release);
                });
            }
            return;
        }
        let before = self.records_written.fetch_add(records, Ordering::Relaxed);
        let store_crossed = crosses_doubling(before, records, ANALYZE_STORE_DOUBLINGS);
        let tenant_crossed = {
            let mut written = self
                .tenant_written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = written.entry(tenant.clone()).or_insert(0);
            let before = *count;
            *count = before.saturating_add(records);
            crosses_doubling(before, records, u32::MAX)
        };
        if store_crossed || tenant_crossed {
            self.request_analyze();
        }
    }

    /// Runs [`ANALYZE_SQL`] in the background, one at a time: a request made while one runs is
    /// served by one more run right after it.
    fn request_analyze(self: &Arc<Self>) {
        self.analyze_requested.store(true, Ordering::Release);
        if self.analyzing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                while inner.analyze_requested.swap(false, Ordering::AcqRel) {
                    // Not counted in `statements()`: it is maintenance, not work done for a
                    // caller, and would make the counts of the calls around it depend on timing.
                    // Best effort: autovacuum analyses the tables later anyway.
                    let _ = inner.db.execute_unprepared(ANALYZE_SQL).await;
                }
                inner.analyzing.store(false, Ordering::Release);
                // A request that arrived after the last check and found `analyzing` still set
                // is served here, unless another task has taken over.
                if !inner.analyze_requested.load(Ordering::Acquire)
                    || inner.analyzing.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::crosses_doubling;

    #[test]
    fn doublings_are_crossed_once_each() {
        assert!(crosses_doubling(999, 1, 7));
        assert!(!crosses_doubling(1000, 999, 7));
        assert!(crosses_doubling(1999, 1, 7));
        assert!(!crosses_doubling(64_000, 64_000, 7));
        assert!(crosses_doubling(64_000, 64_000, u32::MAX));
    }
}
