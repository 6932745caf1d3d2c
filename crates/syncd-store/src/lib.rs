//! The storage contract of syncd: the async [`Store`] trait, its write transaction and the types
//! they exchange. Implementations live elsewhere (`syncd-store-sea`); this crate must not depend on
//! an ORM or a database driver.
//!
//! Every operation is scoped by tenant in its signature: there is no way to ask for a record
//! without naming the tenant it belongs to.

use std::fmt;

use async_trait::async_trait;
use serde_json::{Map, Value};
pub use syncd_model::FieldIn;
use syncd_model::{
    ClientId, EntityTypeName, Epoch, PendingCondition, Record, RecordId, Seq, SubjectId, TenantId,
    Timestamp, Version,
};
use uuid::Uuid;

mod error;
mod lifecycle;
mod loaded;
mod stats;
pub use error::{Cause, Result, StoreError};
pub use lifecycle::{
    BatchOutcome, ERASED_ANSWER, LifecycleStore, LiveVersions, ResetScope, SyncState, Thinning,
};
pub use loaded::{Loaded, LoadedMaps};
pub use stats::{StoreStats, TenantCounts, TypeCounts};

/// A record's address inside a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
}

impl RecordKey {
    pub fn new(entity_type: EntityTypeName, id: RecordId) -> Self {
        Self { entity_type, id }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.entity_type, self.id)
    }
}

/// What a write did to a record, as the history shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Update => "update",
            WriteKind::Delete => "delete",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "create" => Some(WriteKind::Create),
            "update" => Some(WriteKind::Update),
            "delete" => Some(WriteKind::Delete),
            _ => None,
        }
    }
}

/// One record's new state, written in a transaction. `record.seq` comes from
/// [`WriteTx::next_seq`]; `record.version` is the previous version + 1 (1 on create).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    pub record: Record,
    pub kind: WriteKind,
    /// Fields whose value differs from the previous state (all fields on create).
    pub changed_fields: Vec<String>,
}

/// One past (or the current) version of a record: the base of three-way merges and the
/// audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionEntry {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub version: Version,
    pub seq: Seq,
    pub kind: WriteKind,
    pub data: Map<String, Value>,
    pub deleted: bool,
    pub changed_fields: Vec<String>,
    pub client_id: ClientId,
    pub subject: SubjectId,
    pub at: Timestamp,
}

/// Where a conflict stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictStatus {
    /// A `manual` conflict waiting for a person.
    Open,
    /// A `manual` conflict someone resolved.
    Resolved,
    /// Decided by a strategy when it happened; kept for the conflict log.
    AutoResolved,
}

impl ConflictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictStatus::Open => "open",
            ConflictStatus::Resolved => "resolved",
            ConflictStatus::AutoResolved => "auto_resolved",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(ConflictStatus::Open),
            "resolved" => Some(ConflictStatus::Resolved),
            "auto_resolved" => Some(ConflictStatus::AutoResolved),
            _ => None,
        }
    }
}

/// One entry of the conflict log.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictEntry {
    pub id: Uuid,
    pub entity_type: EntityTypeName,
    pub record_id: RecordId,
    pub strategy: String,
    pub status: ConflictStatus,
    /// The server version the client's change met.
    pub server_version: Version,
    /// The server's record as clients see it.
    pub server_data: Value,
    /// The fields the client sent.
    pub client_data: Value,
    pub fields: Vec<String>,
    pub client_id: ClientId,
    pub subject: SubjectId,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// A stored push response, replayed when the same key comes again from the same client.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyEntry {
    pub client_id: ClientId,
    pub key: String,
    /// A digest of the request body; the same key with another body is refused.
    pub request_hash: String,
    /// The response body as it was sent, byte for byte.
    pub response: String,
    pub created_at: Timestamp,
}

/// One row of the push audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAudit {
    pub client_id: ClientId,
    pub subject: SubjectId,
    /// How many changes the push carried, and what became of them.
    pub changes: u32,
    pub created: u32,
    pub updated: u32,
    pub deleted: u32,
    pub unchanged: u32,
    pub conflicts: u32,
    /// The seqs the push took, if it wrote anything: `(first, last)`.
    pub seq_range: Option<(Seq, Seq)>,
    pub at: Timestamp,
}

/// Everything one write transaction stores, handed over in one call so the implementation can
/// use one statement per table.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBatch {
    /// Who writes: recorded in each version row.
    pub client_id: ClientId,
    pub subject: SubjectId,
    /// New record states, in seq order. Each also becomes a version row.
    pub records: Vec<RecordWrite>,
    /// New conflict log entries.
    pub conflicts: Vec<ConflictEntry>,
    /// Open conflicts to mark resolved.
    pub resolved_conflicts: Vec<Uuid>,
    pub idempotency: Option<IdempotencyEntry>,
    pub audit: Option<PushAudit>,
    pub at: Timestamp,
}

impl WriteBatch {
    pub fn new(client_id: ClientId, subject: SubjectId, at: Timestamp) -> Self {
        Self {
            client_id,
            subject,
            records: Vec::new(),
            conflicts: Vec::new(),
            resolved_conflicts: Vec::new(),
            idempotency: None,
            audit: None,
            at,
        }
    }
}

/// A write transaction of one tenant. It holds the tenant's write lock from
/// [`Store::begin_write`] until commit or rollback, so seqs are allocated in commit order and
/// what [`WriteTx::load`] returns cannot change underneath it. Dropping it rolls back.
#[async_trait]
pub trait WriteTx: Send {
    /// The tenant's head: the last seq allocated, committed or (in this transaction) not.
    fn head(&self) -> Seq;

    /// Allocates the next seq of the tenant. It becomes visible to readers only with the commit.
    fn next_seq(&mut self) -> Seq;

    /// The tenant's sync epoch, read under the lock: the epoch of the cursor a write answers.
    fn epoch(&self) -> Epoch {
        Epoch::default()
    }

    /// An idempotency entry of this tenant, read under the lock.
    async fn idempotency(
        &mut self,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>>;

    /// The current states of `keys` and the data of `versions`, in at most two queries.
    async fn load(
        &mut self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded>;

    /// Several idempotency entries of this tenant at once, read under the lock: one per asked
    /// `(client, key)` that exists, in no particular order. A store may answer in one query; the
    /// default asks one by one.
    async fn idempotency_many(
        &mut self,
        keys: &[(ClientId, String)],
    ) -> Result<Vec<IdempotencyEntry>> {
        let mut found = Vec::new();
        for (client, key) in keys {
            if let Some(entry) = self.idempotency(client, key).await? {
                found.push(entry);
            }
        }
        Ok(found)
    }

    /// Gives back the seqs allocated after `head` that no batch stored yet: a group of pushes
    /// planned in one transaction drops a push that failed while planning, and the next push
    /// must take its seqs so that the tenant's seqs stay contiguous. `head` must lie between the
    /// head of the last stored batch (or the transaction's start) and [`WriteTx::head`].
    fn rewind(&mut self, head: Seq) -> Result<()>;

    /// Stores the batch: records (insert or update), version rows, conflicts, resolved
    /// conflicts, the idempotency entry, the audit row and the new head. The batch is lent, not
    /// given: the caller still needs the records after the commit (to answer and to notify).
    async fn write(&mut self, batch: &WriteBatch) -> Result<()>;

    /// Stores several batches (the pushes of one group commit), in order, as [`WriteTx::write`]
    /// of each would. A store may put rows of several batches into one statement; the default
    /// writes them one by one.
    async fn write_all(&mut self, batches: &[&WriteBatch]) -> Result<()> {
        for batch in batches {
            self.write(batch).await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()>;

    async fn rollback(self: Box<Self>) -> Result<()>;
}

/// Where a changes read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// After this seq (a cursor).
    Seq(Seq),
    /// Records whose `updated_at` is later than this (the seeds' weaker legacy mode).
    UpdatedAfter(Timestamp),
}

/// The records of one type a reader may see (SPEC §11): those matching any of `matches`; none
/// = no record of the type. A type a query names without a `TypeAccess` is fully visible.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeAccess {
    pub entity_type: EntityTypeName,
    pub matches: Vec<FieldIn>,
}

/// A read of what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangesQuery {
    pub since: Since,
    /// Empty = every type; with `visibility`, the types are always listed.
    pub entity_types: Vec<EntityTypeName>,
    pub limit: usize,
    /// The restricted types among those read. With a cursor (`Since::Seq` above 0), a record
    /// of such a type changed after it that the reader cannot see now but could at the cursor
    /// (or whose state at the cursor the history no longer holds) comes back as a removal.
    pub visibility: Vec<TypeAccess>,
}

/// A record the reader could see at its cursor and no longer sees: its app drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub entity_type: EntityTypeName,
    pub id: RecordId,
    pub seq: Seq,
}

/// A page of changed records: each record once, in its latest state, in seq order,
/// tombstones included. Records and removals together are at most the query's limit.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    pub records: Vec<Record>,
    /// In seq order; only with a visibility-restricted query.
    pub removals: Vec<Removal>,
    pub has_more: bool,
    /// Where the next read starts: the last record's seq when `has_more`, otherwise the
    /// tenant's head as of this read.
    pub next: Seq,
}

/// A REST list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub entity_type: EntityTypeName,
    /// Declared field = JSON value (JSON equality).
    pub filters: Vec<(String, Value)>,
    /// Case-insensitive substring search over these fields.
    pub search: Option<(Vec<String>, String)>,
    pub include_deleted: bool,
    /// Records after this seq (paging).
    pub after: Seq,
    pub limit: usize,
    /// `None` = every record; else only those matching one of these (SPEC §11).
    pub visibility: Option<Vec<FieldIn>>,
}

/// A page of a list, in seq order.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<Record>,
    pub has_more: bool,
    /// The last record's seq: the next page starts after it.
    pub next: Seq,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeStats {
    pub idempotency_entries: u64,
    pub versions: u64,
}

/// The storage of syncd.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a write transaction holding `tenant`'s write lock.
    async fn begin_write(&self, tenant: &TenantId) -> Result<Box<dyn WriteTx>>;

    /// [`Store::begin_write`] followed by [`WriteTx::load`], which a store may do in fewer round
    /// trips. What it returns must be exactly what the two calls would return.
    async fn begin_write_and_load(
        &self,
        tenant: &TenantId,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<(Box<dyn WriteTx>, Loaded)> {
        let mut tx = self.begin_write(tenant).await?;
        let loaded = tx.load(keys, versions).await?;
        Ok((tx, loaded))
    }

    /// Changed records after a point, in seq order.
    async fn changes(&self, tenant: &TenantId, query: &ChangesQuery) -> Result<ChangePage>;

    /// The tenant's last committed seq (0 for a new tenant).
    async fn head(&self, tenant: &TenantId) -> Result<Seq>;

    /// The tenant's head, epoch and retention horizon, read together. A store without epochs
    /// stays at epoch 0 with no horizon, which every cursor of such a store carries.
    async fn sync_state(&self, tenant: &TenantId) -> Result<SyncState> {
        Ok(SyncState {
            head: self.head(tenant).await?,
            ..SyncState::default()
        })
    }

    /// One record, tombstones included.
    async fn get(&self, tenant: &TenantId, key: &RecordKey) -> Result<Option<Record>>;

    /// Several records in one query, tombstones included; absent keys are left out.
    async fn get_many(&self, tenant: &TenantId, keys: &[RecordKey]) -> Result<Vec<Record>>;

    /// A REST list page.
    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage>;

    /// Live records of a type matching every condition and visible (`None` = no visibility
    /// restriction), in seq order, at most `limit + 1` (so the caller can tell there is more).
    async fn pending(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        conditions: &[PendingCondition],
        visible: Option<&[FieldIn]>,
        limit: usize,
    ) -> Result<Vec<Record>>;

    /// A record's versions written at or after `since`, oldest first.
    async fn history(
        &self,
        tenant: &TenantId,
        key: &RecordKey,
        since: Timestamp,
    ) -> Result<Vec<VersionEntry>>;

    /// Open conflicts, oldest first, leaving out those whose record is of a type in
    /// `visibility` and does not match it.
    async fn open_conflicts(
        &self,
        tenant: &TenantId,
        entity_type: Option<&EntityTypeName>,
        visibility: &[TypeAccess],
        limit: usize,
    ) -> Result<Vec<ConflictEntry>>;

    /// One conflict log entry of the tenant.
    async fn conflict(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ConflictEntry>>;

    /// An idempotency entry, read without the write lock (the fast path of a replay).
    async fn idempotency(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>>;

    /// Deletes idempotency entries created before `idempotency_before` and versions written
    /// before `versions_before` (a record's current version is always kept).
    async fn purge(
        &self,
        idempotency_before: Timestamp,
        versions_before: Timestamp,
    ) -> Result<PurgeStats>;

    /// Fails when the database is unreachable or not migrated.
    async fn ping(&self) -> Result<()>;

    /// Makes reads filtered on these `(type, field)` pairs of visibility rules index-driven
    /// (expression indexes, created if missing). A store without such indexes may do nothing.
    async fn index_visibility_fields(&self, fields: &[(EntityTypeName, String)]) -> Result<()> {
        let _ = fields;
        Ok(())
    }
}
