//! [`Store`] for [`SeaStore`]: each method hands over to the module that does the work, within
//! the store's time bounds (see `deadline`).

use async_trait::async_trait;
use syncd_model::{
    ClientId, EntityTypeName, FieldIn, PendingCondition, Record, Seq, TenantId, Timestamp, Version,
};
use syncd_store::{
    ChangePage, ChangesQuery, ConflictEntry, IdempotencyEntry, ListPage, ListQuery, Loaded,
    PurgeStats, RecordKey, Result, Store, SyncState, TypeAccess, VersionEntry, WriteTx,
};
use uuid::Uuid;

use crate::connect::SeaStore;
use crate::deadline::{BoundedTx, bounded};
use crate::tx::SeaWriteTx;

#[async_trait]
impl Store for SeaStore {
    async fn begin_write(&self, tenant: &TenantId) -> Result<Box<dyn WriteTx>> {
        let bounds = self.inner.bounds;
        let limit = bounds.begin(self.inner.write_lock_timeout);
        let tx = bounded(
            limit,
            "BEGIN",
            SeaWriteTx::begin(self.inner.clone(), tenant),
        )
        .await?;
        Ok(Box::new(BoundedTx::new(Box::new(tx), bounds.statement)))
    }

    async fn begin_write_and_load(
        &self,
        tenant: &TenantId,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<(Box<dyn WriteTx>, Loaded)> {
        let bounds = self.inner.bounds;
        let limit = bounds.begin(self.inner.write_lock_timeout) + bounds.statement;
        let begun = SeaWriteTx::begin_and_load(self.inner.clone(), tenant, keys, versions);
        let (tx, loaded) = bounded(limit, "BEGIN and load", begun).await?;
        Ok((
            Box::new(BoundedTx::new(Box::new(tx), bounds.statement)),
            loaded,
        ))
    }

    async fn changes(&self, tenant: &TenantId, query: &ChangesQuery) -> Result<ChangePage> {
        bounded(
            self.inner.bounds.call(),
            "a changes read",
            self.inner.changes(tenant, query),
        )
        .await
    }

    async fn head(&self, tenant: &TenantId) -> Result<Seq> {
        bounded(
            self.inner.bounds.call(),
            "a head read",
            self.inner.head_of(&self.inner.db, tenant),
        )
        .await
    }

    async fn sync_state(&self, tenant: &TenantId) -> Result<SyncState> {
        bounded(
            self.inner.bounds.call(),
            "a sync state read",
            self.inner.sync_state(&self.inner.db, tenant),
        )
        .await
    }

    async fn get(&self, tenant: &TenantId, key: &RecordKey) -> Result<Option<Record>> {
        bounded(
            self.inner.bounds.call(),
            "a record read",
            self.inner.get(tenant, key),
        )
        .await
    }

    async fn get_many(&self, tenant: &TenantId, keys: &[RecordKey]) -> Result<Vec<Record>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        bounded(
            self.inner.bounds.call(),
            "a records read",
            self.inner.records_by_keys(&self.inner.db, tenant, keys),
        )
        .await
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage> {
        bounded(
            self.inner.bounds.call(),
            "a list read",
            self.inner.list(tenant, query),
        )
        .await
    }

    async fn pending(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        conditions: &[PendingCondition],
        visible: Option<&[FieldIn]>,
        limit: usize,
    ) -> Result<Vec<Record>> {
        bounded(
            self.inner.bounds.call(),
            "a pending read",
            self.inner
                .pending(tenant, entity_type, conditions, visible, limit),
        )
        .await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        key: &RecordKey,
        since: Timestamp,
    ) -> Result<Vec<VersionEntry>> {
        bounded(
            self.inner.bounds.call(),
            "a history read",
            self.inner.history(tenant, key, since),
        )
        .await
    }

    async fn open_conflicts(
        &self,
        tenant: &TenantId,
        entity_type: Option<&EntityTypeName>,
        visibility: &[TypeAccess],
        limit: usize,
    ) -> Result<Vec<ConflictEntry>> {
        bounded(
            self.inner.bounds.call(),
            "a conflicts read",
            self.inner
                .open_conflicts(tenant, entity_type, visibility, limit),
        )
        .await
    }

    async fn conflict(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ConflictEntry>> {
        bounded(
            self.inner.bounds.call(),
            "a conflict read",
            self.inner.conflict(tenant, id),
        )
        .await
    }

    async fn idempotency(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        bounded(
            self.inner.bounds.call(),
            "an idempotency read",
            self.inner
                .idempotency_entry(&self.inner.db, tenant, client, key),
        )
        .await
    }

    async fn purge(
        &self,
        idempotency_before: Timestamp,
        versions_before: Timestamp,
    ) -> Result<PurgeStats> {
        // Background maintenance, not a request: a large backlog may take longer than any
        // request bound, and nobody waits for it.
        self.inner.purge(idempotency_before, versions_before).await
    }

    async fn index_visibility_fields(&self, fields: &[(EntityTypeName, String)]) -> Result<()> {
        // Start-up work: building an index over a large table takes what it takes.
        self.inner.index_visibility_fields(fields).await
    }

    async fn ping(&self) -> Result<()> {
        bounded(
            self.inner.bounds.call(),
            "the readiness check",
            SeaStore::ping(self),
        )
        .await
    }
}
