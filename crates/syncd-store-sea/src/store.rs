//! [`Store`] for [`SeaStore`]: each method hands over to the module that does the work.

use async_trait::async_trait;
use syncd_model::{
    ClientId, EntityTypeName, PendingCondition, Record, Seq, TenantId, Timestamp, Version,
};
use syncd_store::{
    ChangePage, ChangesQuery, ConflictEntry, IdempotencyEntry, ListPage, ListQuery, Loaded,
    PurgeStats, RecordKey, Result, Store, VersionEntry, WriteTx,
};
use uuid::Uuid;

use crate::connect::SeaStore;
use crate::tx::SeaWriteTx;

#[async_trait]
impl Store for SeaStore {
    async fn begin_write(&self, tenant: &TenantId) -> Result<Box<dyn WriteTx>> {
        Ok(Box::new(
            SeaWriteTx::begin(self.inner.clone(), tenant).await?,
        ))
    }

    async fn begin_write_and_load(
        &self,
        tenant: &TenantId,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<(Box<dyn WriteTx>, Loaded)> {
        let (tx, loaded) =
            SeaWriteTx::begin_and_load(self.inner.clone(), tenant, keys, versions).await?;
        Ok((Box::new(tx), loaded))
    }

    async fn changes(&self, tenant: &TenantId, query: &ChangesQuery) -> Result<ChangePage> {
        self.inner.changes(tenant, query).await
    }

    async fn head(&self, tenant: &TenantId) -> Result<Seq> {
        self.inner.head_of(&self.inner.db, tenant).await
    }

    async fn get(&self, tenant: &TenantId, key: &RecordKey) -> Result<Option<Record>> {
        self.inner.get(tenant, key).await
    }

    async fn get_many(&self, tenant: &TenantId, keys: &[RecordKey]) -> Result<Vec<Record>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .records_by_keys(&self.inner.db, tenant, keys)
            .await
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage> {
        self.inner.list(tenant, query).await
    }

    async fn pending(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        conditions: &[PendingCondition],
        limit: usize,
    ) -> Result<Vec<Record>> {
        self.inner
            .pending(tenant, entity_type, conditions, limit)
            .await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        key: &RecordKey,
        since: Timestamp,
    ) -> Result<Vec<VersionEntry>> {
        self.inner.history(tenant, key, since).await
    }

    async fn open_conflicts(
        &self,
        tenant: &TenantId,
        entity_type: Option<&EntityTypeName>,
        limit: usize,
    ) -> Result<Vec<ConflictEntry>> {
        self.inner.open_conflicts(tenant, entity_type, limit).await
    }

    async fn conflict(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ConflictEntry>> {
        self.inner.conflict(tenant, id).await
    }

    async fn idempotency(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        self.inner
            .idempotency_entry(&self.inner.db, tenant, client, key)
            .await
    }

    async fn purge(
        &self,
        idempotency_before: Timestamp,
        versions_before: Timestamp,
    ) -> Result<PurgeStats> {
        self.inner.purge(idempotency_before, versions_before).await
    }

    async fn ping(&self) -> Result<()> {
        SeaStore::ping(self).await
    }
}
