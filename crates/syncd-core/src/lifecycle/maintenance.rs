//! Scheduled maintenance (SPEC §10): idempotency purge, history purge, tombstone thinning after
//! `sync.tombstone_days`, and (when `sync.tombstone_retention_days` > 0) dropping old thin
//! tombstones, which raises the tenant's horizon. One run at a time across instances: a run
//! holds the lease row of the database, renewed after every batch, and gives it back at the end.
//! Every step works in batches of `maintenance_batch` rows, so a run never holds a lock for
//! long: writers of a tenant wait for one batch at most.

use std::collections::BTreeMap;

use syncd_model::{TenantId, Timestamp};
use syncd_store::{BatchOutcome, LifecycleStore, Thinning};

use crate::engine::SyncEngine;
use crate::error::Result;
use crate::lifecycle::thin_data;
use crate::write::is_erased;

/// How long a run's lease lasts without renewal: a run that dies frees it after this.
const LEASE_MS: i64 = 60_000;

/// What one maintenance run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReport {
    pub idempotency_entries: u64,
    pub versions: u64,
    pub thinned_tombstones: u64,
    pub dropped_tombstones: u64,
    /// Batches (statements or short transactions) the run took.
    pub batches: u64,
    pub millis: u64,
}

impl<S: LifecycleStore> SyncEngine<S> {
    /// One maintenance run as `holder` (an instance id). `None` when another holder's run is in
    /// progress: its work is not done twice.
    pub async fn maintenance(&self, holder: &str) -> Result<Option<MaintenanceReport>> {
        let started = std::time::Instant::now();
        if !self.renew_lease(holder).await? {
            return Ok(None);
        }
        let result = self.maintenance_steps(holder).await;
        if let Err(e) = self.store.release_lease(holder).await {
            tracing::warn!(error = %e, "could not give the maintenance lease back; it expires by itself");
        }
        let mut report = result?;
        report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        metrics::counter!("syncd_maintenance_runs_total").increment(1);
        metrics::counter!("syncd_maintenance_idempotency_purged_total")
            .increment(report.idempotency_entries);
        metrics::counter!("syncd_maintenance_versions_purged_total").increment(report.versions);
        metrics::counter!("syncd_maintenance_tombstones_thinned_total")
            .increment(report.thinned_tombstones);
        metrics::counter!("syncd_maintenance_tombstones_dropped_total")
            .increment(report.dropped_tombstones);
        tracing::info!(
            idempotency_entries = report.idempotency_entries,
            versions = report.versions,
            thinned_tombstones = report.thinned_tombstones,
            dropped_tombstones = report.dropped_tombstones,
            batches = report.batches,
            millis = report.millis,
            "maintenance run"
        );
        Ok(Some(report))
    }

    async fn renew_lease(&self, holder: &str) -> Result<bool> {
        let now = Timestamp::now();
        Ok(self
            .store
            .take_lease(holder, now, now.plus_millis(LEASE_MS))
            .await?)
    }

    async fn maintenance_steps(&self, holder: &str) -> Result<MaintenanceReport> {
        let now = Timestamp::now();
        let batch = self.config.maintenance_batch.max(1);
        let mut report = MaintenanceReport::default();
        let idempotency_before = now.plus_millis(-self.config.idempotency_ttl_ms);
        let versions_before = now.plus_millis(-self.config.history_window_ms());
        loop {
            let done = self
                .store
                .purge_idempotency(idempotency_before, batch)
                .await?;
            report.idempotency_entries += done.rows;
            if !self.next_batch(holder, &mut report, done).await? {
                break;
            }
        }
        loop {
            let done = self.store.purge_versions(versions_before, batch).await?;
            report.versions += done.rows;
            if !self.next_batch(holder, &mut report, done).await? {
                break;
            }
        }
        report.thinned_tombstones = self.thin_tombstones(holder, now, &mut report).await?;
        if self.config.tombstone_retention_ms > 0 {
            let before = now.plus_millis(-self.config.tombstone_retention_ms);
            loop {
                let done = self.store.drop_thin_tombstones(before, batch).await?;
                report.dropped_tombstones += done.rows;
                if !self.next_batch(holder, &mut report, done).await? {
                    break;
                }
            }
        }
        Ok(report)
    }

    /// Counts a batch; whether to go on (more to do, and the lease is still ours).
    async fn next_batch(
        &self,
        holder: &str,
        report: &mut MaintenanceReport,
        done: BatchOutcome,
    ) -> Result<bool> {
        report.batches += 1;
        Ok(done.more && self.renew_lease(holder).await?)
    }

    /// Strips tombstones older than `tombstone_days` to thin tombstones, oldest first.
    async fn thin_tombstones(
        &self,
        holder: &str,
        now: Timestamp,
        report: &mut MaintenanceReport,
    ) -> Result<u64> {
        let batch = self.config.maintenance_batch.max(1);
        let before = now.plus_millis(-self.config.tombstone_ms);
        let mut from = Timestamp::from_millis(i64::MIN);
        let mut thinned = 0;
        loop {
            let page = self.store.fat_tombstones(from, before, batch).await?;
            let Some(last) = page.last() else {
                break;
            };
            from = last.1.updated_at;
            let full = page.len() >= batch;
            let mut by_tenant: BTreeMap<TenantId, Vec<Thinning>> = BTreeMap::new();
            for (tenant, record) in page {
                let data = match self.registry.get(record.entity_type.as_str()) {
                    Some(ty) => thin_data(ty, &record.data, is_erased(&record)),
                    // A type no longer registered: nothing of it can be shown anyway.
                    None => serde_json::Map::new(),
                };
                by_tenant.entry(tenant).or_default().push(Thinning {
                    entity_type: record.entity_type,
                    id: record.id,
                    version: record.version,
                    data,
                });
            }
            let mut done = 0;
            for (tenant, items) in &by_tenant {
                done += self.store.thin(tenant, items).await?;
            }
            thinned += done;
            let outcome = BatchOutcome {
                rows: done,
                more: full && done > 0,
            };
            if !self.next_batch(holder, report, outcome).await? {
                break;
            }
        }
        Ok(thinned)
    }
}
