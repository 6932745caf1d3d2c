//! Per-tenant fan-out to connections with bounded queues: the hub and its registry of
//! connections here, the fan-out of events in `deliver` (of other instances' events in
//! `remote`), a connection's side in `connection`.

mod connection;
mod deliver;
mod fanout;
mod remote;
mod visible;

pub use connection::Connection;
pub use remote::RemoteFacts;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use bytes::Bytes;
use syncd_model::{Access, ClientId, Cursor, EntityTypeName, Epoch, Seq, TenantId, Timestamp};
use tokio::sync::Notify;

use crate::{Backplane, RecordSource, protocol};

/// Limits of the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Messages a connection may have waiting; beyond, its queue is replaced by one
    /// `resync_required`.
    pub queue_capacity: usize,
    pub max_connections_per_tenant: usize,
    pub max_connections_per_client: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            max_connections_per_tenant: 10_000,
            max_connections_per_client: 10,
        }
    }
}

/// Why a connection was not admitted (close code 1013); defined beside
/// [`syncd_model::Listener`] so that the engine's side can answer it too.
pub use syncd_model::RegisterError;

/// A subscription type the token may not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token may not read `{0}`")]
pub struct NotReadable(pub String);

/// What a connection receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Entity types whose changes are announced; always a subset of the readable types.
    pub types: HashSet<EntityTypeName>,
    /// Also send `data_update` with each changed record.
    pub include_data: bool,
}

/// One item of a connection's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A text frame.
    Message(Bytes),
    /// Close the connection: the server is shutting down (1001).
    GoingAway,
}

/// Counters of the hub, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    pub connections: u64,
    pub events: u64,
    /// Messages put in queues.
    pub enqueued: u64,
    /// Messages dropped because a queue was full (or a resync was already waiting).
    pub dropped: u64,
    /// `resync_required` messages queued.
    pub resyncs: u64,
    /// Messages waiting in all queues right now.
    pub queued: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    enqueued: AtomicU64,
    dropped: AtomicU64,
    resyncs: AtomicU64,
}

struct ConnState {
    subscription: Subscription,
    queue: VecDeque<(Outgoing, Option<Seq>)>,
    /// A `resync_required` is waiting: later events are covered by it and dropped.
    resync_pending: bool,
    /// The highest cursor the connection has taken from its queue.
    delivered: Seq,
    /// The tenant's sync epoch as last heard (registration, events, reset notices): every
    /// cursor handed to the connection carries it.
    epoch: Epoch,
    /// The `resync_required` count of the connection's tenant.
    tenant_resyncs: Arc<AtomicU64>,
}

struct ConnShared {
    id: u64,
    client: ClientId,
    readable: RwLock<HashSet<EntityTypeName>>,
    /// What the token sees of each restricted type (SPEC §11); types not here are fully
    /// visible.
    access: RwLock<HashMap<EntityTypeName, Access>>,
    /// The visibility fingerprint of the connection's token (SPEC §11): every cursor handed to
    /// the connection carries it, so that a pull from it is not refused for another one.
    fingerprint: AtomicU32,
    state: Mutex<ConnState>,
    notify: Notify,
}

impl ConnShared {
    fn lock(&self) -> MutexGuard<'_, ConnState> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A cursor at `seq` for this connection: the tenant's epoch and the token's fingerprint.
    fn cursor(&self, st: &ConnState, seq: Seq) -> Cursor {
        Cursor::at(seq, st.epoch, self.fingerprint.load(Ordering::Relaxed))
    }
}

/// The notification hub: one per server process.
pub struct Hub {
    config: HubConfig,
    tenants: RwLock<HashMap<TenantId, Vec<Arc<ConnShared>>>>,
    next_id: AtomicU64,
    counters: Counters,
    shutting_down: AtomicBool,
    /// Where local events go to reach the other instances.
    backplane: Option<Arc<dyn Backplane>>,
    /// Where the records of events from other instances are read, for `data_update`.
    records: Option<Arc<dyn RecordSource>>,
    /// `resync_required` messages per tenant since start (kept for tenants without
    /// connections too: one counter per tenant ever connected).
    tenant_resyncs: RwLock<HashMap<TenantId, Arc<AtomicU64>>>,
    this: Weak<Hub>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub for one process: events reach the connections of this instance only.
    pub fn new(config: HubConfig) -> Arc<Self> {
        Self::build(config, None, |_| None)
    }

    /// A hub of one instance among several: local events also go to `backplane` (made from a
    /// weak handle to the hub, through which it delivers the others' events), and the records
    /// of the others' events are read from `records` for connections that want their data.
    pub fn connected(
        config: HubConfig,
        records: Arc<dyn RecordSource>,
        backplane: impl FnOnce(Weak<Hub>) -> Arc<dyn Backplane>,
    ) -> Arc<Self> {
        Self::build(config, Some(records), |hub| Some(backplane(hub)))
    }

    fn build(
        config: HubConfig,
        records: Option<Arc<dyn RecordSource>>,
        backplane: impl FnOnce(Weak<Hub>) -> Option<Arc<dyn Backplane>>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Hub {
            config,
            tenants: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            shutting_down: AtomicBool::new(false),
            backplane: backplane(this.clone()),
            records,
            tenant_resyncs: RwLock::new(HashMap::new()),
            this: this.clone(),
        })
    }

    pub fn config(&self) -> HubConfig {
        self.config
    }

    fn read_tenants(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<TenantId, Vec<Arc<ConnShared>>>> {
        self.tenants.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_tenants(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<TenantId, Vec<Arc<ConnShared>>>> {
        self.tenants.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a connection of `tenant`. It starts subscribed to every readable type, without
    /// data, with `cursor` as the last cursor it has seen: the cursors it is handed later carry
    /// that cursor's fingerprint and the tenant's epoch.
    pub fn register(
        &self,
        tenant: TenantId,
        client: ClientId,
        readable: HashSet<EntityTypeName>,
        cursor: Cursor,
    ) -> Result<Connection, RegisterError> {
        self.register_with_access(tenant, client, readable, HashMap::new(), cursor)
    }

    /// [`Hub::register`] for a token that sees only part of some types: `access` holds what it
    /// sees of each restricted type, from the first event on.
    pub fn register_with_access(
        &self,
        tenant: TenantId,
        client: ClientId,
        readable: HashSet<EntityTypeName>,
        access: HashMap<EntityTypeName, Access>,
        cursor: Cursor,
    ) -> Result<Connection, RegisterError> {
        let mut tenants = self.write_tenants();
        // Checked under the lock that `shutdown` also takes, so no connection can slip in after
        // the close notices went out.
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(RegisterError::ShuttingDown);
        }
        let conns = tenants.entry(tenant.clone()).or_default();
        if conns.len() >= self.config.max_connections_per_tenant {
            return Err(RegisterError::TenantFull);
        }
        if conns.iter().filter(|c| c.client == client).count()
            >= self.config.max_connections_per_client
        {
            return Err(RegisterError::ClientFull);
        }
        let tenant_resyncs = Arc::clone(
            self.tenant_resyncs
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .entry(tenant.clone())
                .or_default(),
        );
        let shared = Arc::new(ConnShared {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            client,
            state: Mutex::new(ConnState {
                subscription: Subscription {
                    types: readable.clone(),
                    include_data: false,
                },
                queue: VecDeque::new(),
                resync_pending: false,
                delivered: cursor.seq(),
                epoch: cursor.epoch(),
                tenant_resyncs,
            }),
            readable: RwLock::new(readable),
            access: RwLock::new(access),
            fingerprint: AtomicU32::new(cursor.fingerprint()),
            notify: Notify::new(),
        });
        conns.push(Arc::clone(&shared));
        drop(tenants);
        metrics::gauge!("syncd_ws_connections").increment(1.0);
        Ok(Connection {
            shared,
            tenant,
            hub: self.this.clone(),
        })
    }

    fn unregister(&self, tenant: &TenantId, id: u64) {
        let mut tenants = self.write_tenants();
        if let Some(conns) = tenants.get_mut(tenant) {
            conns.retain(|c| c.id != id);
            if conns.is_empty() {
                tenants.remove(tenant);
            }
        }
        metrics::gauge!("syncd_ws_connections").decrement(1.0);
    }

    /// Tells every connection to close with 1001; new connections are refused.
    pub fn shutdown(&self) {
        let tenants = self.write_tenants();
        self.shutting_down.store(true, Ordering::Release);
        for conns in tenants.values() {
            for conn in conns {
                conn.lock().queue.push_back((Outgoing::GoingAway, None));
                conn.notify.notify_one();
            }
        }
    }

    /// Every connection of every tenant gets `resync_required` (events may have been lost, e.g.
    /// while the backplane was reconnecting).
    pub fn resync_all(&self) {
        let now = Timestamp::now();
        for conns in self.read_tenants().values() {
            for conn in conns {
                let mut st = conn.lock();
                let cursor = conn.cursor(&st, st.delivered);
                let message = protocol::resync_required(cursor, now);
                if self.force_resync(&mut st, message, 0) {
                    drop(st);
                    conn.notify.notify_one();
                }
            }
        }
    }

    /// The tenant started a new sync epoch (`syncd reset-sync`, a whole-tenant erase): its
    /// connections' queues, of the old epoch, are replaced by one `resync_required` with
    /// `reset: true` at `head` of the new epoch; they stay open and subscribed. The client drops
    /// its local records (never its unsent changes) and pulls from the start (SPEC §10).
    pub fn reset_tenant(&self, tenant: &TenantId, epoch: Epoch, head: Seq) {
        let Some(conns) = self.read_tenants().get(tenant).cloned() else {
            return;
        };
        let now = Timestamp::now();
        for conn in conns {
            let mut st = conn.lock();
            st.epoch = epoch;
            st.delivered = head;
            let message = protocol::resync_reset(conn.cursor(&st, head), now);
            // A pending resync is of the old epoch: the reset replaces it. Events after it are
            // of the new epoch and queue as usual.
            st.resync_pending = false;
            self.force_resync(&mut st, message, 0);
            st.resync_pending = false;
            drop(st);
            conn.notify.notify_one();
        }
    }

    pub fn stats(&self) -> HubStats {
        let tenants = self.read_tenants();
        let mut connections = 0u64;
        let mut queued = 0u64;
        for conns in tenants.values() {
            connections += conns.len() as u64;
            for c in conns {
                queued += c.lock().queue.len() as u64;
            }
        }
        HubStats {
            connections,
            events: self.counters.events.load(Ordering::Relaxed),
            enqueued: self.counters.enqueued.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            resyncs: self.counters.resyncs.load(Ordering::Relaxed),
            queued,
        }
    }

    /// `resync_required` messages sent to one tenant's connections since start.
    pub fn tenant_resyncs(&self, tenant: &TenantId) -> u64 {
        self.tenant_resyncs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Connections of one tenant right now.
    pub fn tenant_connections(&self, tenant: &TenantId) -> usize {
        self.read_tenants().get(tenant).map_or(0, Vec::len)
    }
}
