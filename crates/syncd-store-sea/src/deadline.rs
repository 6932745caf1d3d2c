//! Every wait for the database a request makes is bounded, so that a database that does not
//! answer at all (stopped with SIGSTOP, behind a network partition) turns into `Unavailable`
//! (503) in seconds instead of hanging the request for as long as TCP takes to give up.
//!
//! The bounds are client-side timers around each store call: `acquire_timeout` for a pooled
//! connection (the pool's own timer) plus `statement_timeout` for each step once connected (a
//! read, BEGIN with the tenant's clock row, a write, COMMIT). PostgreSQL also gets
//! `lock_timeout` = `statement_timeout`, so a step waiting for another instance's row lock is
//! cancelled in the database too, and its connection comes back to the pool.
//!
//! What a timed-out step means: before COMMIT was sent, the transaction never commits (its
//! connection is dropped, the database rolls it back). A timeout while waiting for COMMIT's
//! answer is ambiguous: the database may have committed. The idempotency entry is written in
//! the same transaction as the records, so a push retried with its `Idempotency-Key` either
//! replays the committed answer or applies once.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use syncd_model::{ClientId, Seq, Version};
use syncd_store::{IdempotencyEntry, Loaded, RecordKey, Result, StoreError, WriteBatch, WriteTx};

/// A database step that did not finish in time.
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer {what} within {} ms", .limit.as_millis())]
pub struct TimedOut {
    pub what: &'static str,
    pub limit: Duration,
}

/// The store's bounds, copied from its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// Waiting for a pooled connection (and, for writes, for the in-process write queue).
    pub acquire: Duration,
    /// One step once connected.
    pub statement: Duration,
}

impl Bounds {
    /// A call that takes a connection from the pool and runs one step on it.
    pub(crate) fn call(&self) -> Duration {
        self.acquire + self.statement
    }

    /// BEGIN of a write: the in-process write queue, a connection, BEGIN, the tenant's clock row
    /// (and on PostgreSQL possibly the load in the same statement).
    pub(crate) fn begin(&self, write_queue: Duration) -> Duration {
        write_queue + self.acquire + self.statement * 2
    }
}

/// `fut`, or `Unavailable` once `limit` has passed.
pub(crate) async fn bounded<T>(
    limit: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut { what, limit }))),
    }
}

/// A write transaction whose every step is bounded by the statement timeout. After a step timed
/// out the transaction is dropped (its rollback queued) and every later step fails.
pub(crate) struct BoundedTx {
    inner: Option<Box<dyn WriteTx>>,
    head: Seq,
    limit: Duration,
}

impl BoundedTx {
    pub(crate) fn new(inner: Box<dyn WriteTx>, limit: Duration) -> Self {
        Self {
            head: inner.head(),
            inner: Some(inner),
            limit,
        }
    }

    fn live(&mut self) -> Result<&mut Box<dyn WriteTx>> {
        self.inner.as_mut().ok_or_else(|| {
            StoreError::unavailable("a step of this write transaction timed out earlier")
        })
    }

    /// Drops the transaction when `result` is a timeout.
    fn settle<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(StoreError::Unavailable(cause)) = &result
            && cause.is::<TimedOut>()
        {
            self.inner = None;
        }
        result
    }
}

#[async_trait]
impl WriteTx for BoundedTx {
    fn head(&self) -> Seq {
        self.inner.as_ref().map_or(self.head, |tx| tx.head())
    }

    fn epoch(&self) -> syncd_model::Epoch {
        self.inner
            .as_ref()
            .map_or_else(Default::default, |tx| tx.epoch())
    }

    fn next_seq(&mut self) -> Seq {
        match self.inner.as_mut() {
            Some(tx) => tx.next_seq(),
            None => {
                self.head = self.head.next();
                self.head
            }
        }
    }

    async fn idempotency(
        &mut self,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>> {
        let limit = self.limit;
        let result = match self.live() {
            Ok(tx) => bounded(limit, "an idempotency read", tx.idempotency(client, key)).await,
            Err(e) => Err(e),
        };
        self.settle(result)
    }

    async fn load(
        &mut self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded> {
        let limit = self.limit;
        let result = match self.live() {
            Ok(tx) => bounded(limit, "a load", tx.load(keys, versions)).await,
            Err(e) => Err(e),
        };
        self.settle(result)
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(ClientId, String)],
    ) -> Result<Vec<IdempotencyEntry>> {
        let limit = self.limit;
        let result = match self.live() {
            Ok(tx) => bounded(limit, "an idempotency read", tx.idempotency_many(keys)).await,
            Err(e) => Err(e),
        };
        self.settle(result)
    }

    fn rewind(&mut self, head: Seq) -> Result<()> {
        match self.inner.as_mut() {
            Some(tx) => tx.rewind(head),
            None => {
                self.head = head;
                Ok(())
            }
        }
    }

    async fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        let limit = self.limit;
        let result = match self.live() {
            Ok(tx) => bounded(limit, "a write", tx.write(batch)).await,
            Err(e) => Err(e),
        };
        self.settle(result)
    }

    async fn write_all(&mut self, batches: &[&WriteBatch]) -> Result<()> {
        let limit = self.limit;
        let result = match self.live() {
            Ok(tx) => bounded(limit, "a write", tx.write_all(batches)).await,
            Err(e) => Err(e),
        };
        self.settle(result)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(tx) = self.inner.take() else {
            return Err(StoreError::unavailable(
                "a step of this write transaction timed out earlier",
            ));
        };
        bounded(
            self.limit,
            "COMMIT (the write may or may not be applied)",
            tx.commit(),
        )
        .await
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        match self.inner.take() {
            Some(tx) => bounded(self.limit, "ROLLBACK", tx.rollback()).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::future::pending;

    use super::*;

    /// A transaction whose database never answers.
    struct Frozen;

    #[async_trait]
    impl WriteTx for Frozen {
        fn head(&self) -> Seq {
            Seq(7)
        }
        fn next_seq(&mut self) -> Seq {
            Seq(8)
        }
        async fn idempotency(&mut self, _: &ClientId, _: &str) -> Result<Option<IdempotencyEntry>> {
            pending().await
        }
        async fn load(&mut self, _: &[RecordKey], _: &[(RecordKey, Version)]) -> Result<Loaded> {
            pending().await
        }
        fn rewind(&mut self, _: Seq) -> Result<()> {
            Ok(())
        }
        async fn write(&mut self, _: &WriteBatch) -> Result<()> {
            pending().await
        }
        async fn commit(self: Box<Self>) -> Result<()> {
            pending().await
        }
        async fn rollback(self: Box<Self>) -> Result<()> {
            pending().await
        }
    }

    fn timed_out(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(StoreError::Unavailable(cause)) => cause.to_string(),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_step_that_does_not_answer_is_unavailable_and_ends_the_transaction() {
        let limit = Duration::from_millis(20);
        let mut tx = BoundedTx::new(Box::new(Frozen), limit);
        assert_eq!(tx.head(), Seq(7));
        let message = timed_out(tx.load(&[], &[]).await);
        assert!(message.contains("a load"), "{message}");
        // The transaction is gone: later steps fail at once, the commit too.
        let started = std::time::Instant::now();
        assert!(
            tx.idempotency(&ClientId::parse("c").unwrap(), "k")
                .await
                .is_err()
        );
        assert!(Box::new(tx).commit().await.is_err());
        assert!(started.elapsed() < limit, "later steps waited");
    }

    #[tokio::test]
    async fn a_commit_that_does_not_answer_says_the_write_may_be_applied() {
        let tx = BoundedTx::new(Box::new(Frozen), Duration::from_millis(20));
        let message = timed_out(Box::new(tx).commit().await);
        assert!(message.contains("may or may not be applied"), "{message}");
    }
}
