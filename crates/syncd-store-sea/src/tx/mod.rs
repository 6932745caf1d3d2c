//! The write transaction: the tenant's lock, seq allocation, batched loads and batched writes.
//! `begin` takes the lock, `load` reads what the changes touch, `write` stores a batch, each in
//! a fixed number of statements.

mod begin;
mod load;
mod logs;
mod records;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseTransaction;
use syncd_model::{ClientId, Epoch, Seq, TenantId, Version};
use syncd_store::{IdempotencyEntry, Loaded, RecordKey, Result, StoreError, WriteBatch, WriteTx};
use tokio::sync::OwnedMutexGuard;

use crate::error;
use crate::inner::Inner;

pub(crate) struct SeaWriteTx {
    // Field order matters: the transaction is dropped (its rollback queued) before the
    // in-process write lock is released.
    txn: Option<DatabaseTransaction>,
    _write_lock: Option<OwnedMutexGuard<()>>,
    inner: Arc<Inner>,
    tenant: TenantId,
    /// The last seq allocated.
    head: Seq,
    /// The tenant's sync epoch, read with the lock.
    epoch: Epoch,
    /// The head as stored in `tenant_clocks` by this transaction.
    /// The head as stored in `tenant_clocks` by this transaction (the committed head until its
    /// first write): seqs up to here are stored and can no longer be given back.
    stored_head: Seq,
    /// A statement failed: the transaction may only be rolled back.
    failed: bool,
    /// Record rows written so far.
    written: u64,
}

impl SeaWriteTx {
    fn started(
        inner: Arc<Inner>,
        tenant: &TenantId,
        write_lock: Option<OwnedMutexGuard<()>>,
        txn: DatabaseTransaction,
        (head, epoch): (Seq, Epoch),
    ) -> Self {
        Self {
            txn: Some(txn),
            _write_lock: write_lock,
            inner,
            tenant: tenant.clone(),
            head,
            epoch,
            stored_head: head,
            failed: false,
            written: 0,
        }
    }

    fn txn(&self) -> Result<&DatabaseTransaction> {
        if self.failed {
            return Err(StoreError::internal(
                "the write transaction failed earlier and can only be rolled back",
            ));
        }
        self.txn
            .as_ref()
            .ok_or_else(|| StoreError::internal("the write transaction is closed"))
    }

    /// Marks the transaction failed when `result` is an error.
    fn track<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

#[async_trait]
impl WriteTx for SeaWriteTx {
    fn head(&self) -> Seq {
        self.head
    }

    fn next_seq(&mut self) -> Seq {
        self.head = self.head.next();
        self.head
    }

    fn epoch(&self) -> Epoch {
        self.epoch
    }

    async fn idempotency(
        &mut self,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        let result = match self.txn() {
            Ok(txn) => {
                self.inner
                    .idempotency_entry(txn, &self.tenant, client, key)
                    .await
            }
            Err(e) => Err(e),
        };
        self.track(result)
    }

    async fn load(
        &mut self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded> {
        let result = self.load_inner(keys, versions).await;
        self.track(result)
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(ClientId, String)],
    ) -> Result<Vec<IdempotencyEntry>> {
        let result = match self.txn() {
            Ok(txn) => {
                self.inner
                    .idempotency_entries(txn, &self.tenant, keys)
                    .await
            }
            Err(e) => Err(e),
        };
        self.track(result)
    }

    fn rewind(&mut self, head: Seq) -> Result<()> {
        if head < self.stored_head || head > self.head {
            return Err(StoreError::internal(format!(
                "cannot rewind to seq {head}: stored up to {}, allocated up to {}",
                self.stored_head, self.head
            )));
        }
        self.head = head;
        Ok(())
    }

    async fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        self.write_all(&[batch]).await
    }

    async fn write_all(&mut self, batches: &[&WriteBatch]) -> Result<()> {
        let result = self.write_inner(batches).await;
        if result.is_ok() {
            self.stored_head = self.head;
            self.written += batches.iter().map(|b| b.records.len() as u64).sum::<u64>();
        }
        self.track(result)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(txn) = self.txn.take() else {
            return Err(StoreError::internal("the write transaction is closed"));
        };
        self.inner.count_statement();
        if self.failed {
            txn.rollback().await.map_err(error::db)?;
            return Err(StoreError::internal(
                "a statement of the write transaction failed; it was rolled back",
            ));
        }
        txn.commit().await.map_err(error::db)?;
        self.inner.note_written(&self.tenant, self.written);
        Ok(())
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        let Some(txn) = self.txn.take() else {
            return Ok(());
        };
        self.inner.count_statement();
        txn.rollback().await.map_err(error::db)
    }
}
