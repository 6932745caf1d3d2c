//! Per-tenant fan-out to connections with bounded queues.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use bytes::Bytes;
use syncd_model::{
    ChangeEvent, ClientId, Cursor, EntityTypeName, Notifier, RecordChange, Seq, TenantId, Timestamp,
};
use tokio::sync::Notify;

use crate::protocol::{self, NotificationKind};
use crate::{Backplane, RecordSource};

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

/// Why a connection was not admitted (close code 1013).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the tenant has too many WebSocket connections")]
    TenantFull,
    #[error("this client has too many WebSocket connections")]
    ClientFull,
    #[error("the server is shutting down")]
    ShuttingDown,
}

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
    /// The `resync_required` count of the connection's tenant.
    tenant_resyncs: Arc<AtomicU64>,
}

struct ConnShared {
    id: u64,
    client: ClientId,
    readable: RwLock<HashSet<EntityTypeName>>,
    state: Mutex<ConnState>,
    notify: Notify,
}

impl ConnShared {
    fn lock(&self) -> MutexGuard<'_, ConnState> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
    /// data, with `cursor` as the last cursor it has seen.
    pub fn register(
        &self,
        tenant: TenantId,
        client: ClientId,
        readable: HashSet<EntityTypeName>,
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
                tenant_resyncs,
            }),
            readable: RwLock::new(readable),
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
                let cursor = Cursor::new(st.delivered);
                if self.force_resync(&mut st, cursor, 0, now) {
                    drop(st);
                    conn.notify.notify_one();
                }
            }
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

    /// Fans an event out to the tenant's connections. Events from other instances carry no
    /// records; those are read from the record source for connections that want data.
    pub fn deliver(&self, event: &ChangeEvent) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let conns: Vec<Arc<ConnShared>> = match self.read_tenants().get(&event.tenant) {
            Some(conns) => conns.clone(),
            None => return,
        };
        let now = Timestamp::now();
        // One encoding per (writer or not, selection of the event's types); a connection's
        // selection is built in a reused buffer so the common case allocates nothing.
        let mut notifications: Vec<(bool, Vec<bool>, Bytes)> = Vec::new();
        let mut selected: Vec<bool> = Vec::with_capacity(event.counts.len());
        let mut updates: Vec<Option<Bytes>> = vec![None; event.records.len()];
        let statuses: Vec<Bytes> = event
            .status_updates
            .iter()
            .map(|s| protocol::status_update(s, now))
            .collect();
        let mut wants_remote_data = false;
        for conn in &conns {
            let mut st = conn.lock();
            let origin = conn.client == event.origin_client;
            selected.clear();
            selected.extend(
                event
                    .counts
                    .iter()
                    .map(|(ty, _)| st.subscription.types.contains(ty)),
            );
            let any_selected = selected.contains(&true);
            let mut woke = false;
            if any_selected {
                let message = match notifications
                    .iter()
                    .find(|(o, s, _)| *o == origin && *s == selected)
                {
                    Some((_, _, m)) => m.clone(),
                    None => {
                        let kind = if origin {
                            NotificationKind::SyncComplete
                        } else {
                            NotificationKind::NewDataAvailable
                        };
                        let m = protocol::sync_notification(
                            kind,
                            event
                                .counts
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| selected[*i])
                                .map(|(_, (t, n))| (t, *n)),
                            event.cursor,
                            Some(&event.origin_client),
                            now,
                        );
                        notifications.push((origin, selected.clone(), m.clone()));
                        m
                    }
                };
                woke |= self.enqueue(&mut st, message, Some(event.cursor.seq()), now);
            }
            if st.subscription.include_data {
                if event.records.is_empty() && any_selected {
                    wants_remote_data = true;
                }
                for (i, record) in event.records.iter().enumerate() {
                    if !st.subscription.types.contains(&record.entity_type) {
                        continue;
                    }
                    let bytes = updates[i]
                        .get_or_insert_with(|| {
                            protocol::data_update(record, &event.origin_client, now)
                        })
                        .clone();
                    woke |= self.enqueue(&mut st, bytes, Some(record.seq), now);
                }
            }
            for (status, bytes) in event.status_updates.iter().zip(&statuses) {
                if st.subscription.types.contains(&status.entity_type) {
                    woke |= self.enqueue(&mut st, bytes.clone(), None, now);
                }
            }
            drop(st);
            if woke {
                conn.notify.notify_one();
            }
        }
        if wants_remote_data {
            self.fetch_remote_records(event);
        }
    }

    /// Reads the records of an event that came from another instance and sends them as
    /// `data_update` to the connections that asked for data.
    fn fetch_remote_records(&self, event: &ChangeEvent) {
        let (Some(source), Some(hub)) = (self.records.clone(), self.this.upgrade()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let written: u64 = event.counts.iter().map(|(_, n)| u64::from(*n)).sum();
        let upto = event.cursor.seq();
        let after = Seq(upto.0.saturating_sub(written as i64));
        let tenant = event.tenant.clone();
        let origin = event.origin_client.clone();
        let types: Vec<EntityTypeName> = event.counts.iter().map(|(t, _)| t.clone()).collect();
        runtime.spawn(async move {
            let records = source.records(&tenant, after, upto, &types).await;
            hub.deliver_data(&tenant, &origin, &records);
        });
    }

    /// Sends `data_update` for `records` to the tenant's connections that asked for data.
    pub fn deliver_data(&self, tenant: &TenantId, origin: &ClientId, records: &[RecordChange]) {
        let conns: Vec<Arc<ConnShared>> = match self.read_tenants().get(tenant) {
            Some(conns) => conns.clone(),
            None => return,
        };
        let now = Timestamp::now();
        let encoded: Vec<Bytes> = records
            .iter()
            .map(|r| protocol::data_update(r, origin, now))
            .collect();
        for conn in &conns {
            let mut st = conn.lock();
            if !st.subscription.include_data {
                continue;
            }
            let mut woke = false;
            for (record, bytes) in records.iter().zip(&encoded) {
                if st.subscription.types.contains(&record.entity_type) {
                    woke |= self.enqueue(&mut st, bytes.clone(), Some(record.seq), now);
                }
            }
            drop(st);
            if woke {
                conn.notify.notify_one();
            }
        }
    }

    /// Queues a message; on overflow replaces the queue by one `resync_required`. Returns
    /// whether the consumer should be woken.
    fn enqueue(
        &self,
        st: &mut ConnState,
        message: Bytes,
        cursor: Option<Seq>,
        now: Timestamp,
    ) -> bool {
        if st.resync_pending {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if st.queue.len() >= self.config.queue_capacity {
            let cursor = Cursor::new(st.delivered);
            // The message that did not fit is lost too.
            return self.force_resync(st, cursor, 1, now);
        }
        st.queue.push_back((Outgoing::Message(message), cursor));
        self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Replaces the queue by one `resync_required`; `lost` messages beyond the queued ones were
    /// dropped on the way in.
    fn force_resync(&self, st: &mut ConnState, cursor: Cursor, lost: u64, now: Timestamp) -> bool {
        if st.resync_pending {
            return false;
        }
        let dropped = st
            .queue
            .iter()
            .filter(|(o, _)| matches!(o, Outgoing::Message(_)))
            .count() as u64;
        let going_away = st.queue.iter().any(|(o, _)| *o == Outgoing::GoingAway);
        st.queue.clear();
        self.counters
            .dropped
            .fetch_add(dropped + lost, Ordering::Relaxed);
        self.counters.resyncs.fetch_add(1, Ordering::Relaxed);
        st.tenant_resyncs.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("syncd_ws_resyncs_total").increment(1);
        st.queue.push_back((
            Outgoing::Message(protocol::resync_required(cursor, now)),
            None,
        ));
        if going_away {
            st.queue.push_back((Outgoing::GoingAway, None));
        }
        st.resync_pending = true;
        true
    }
}

impl Notifier for Hub {
    fn publish(&self, event: Arc<ChangeEvent>) {
        self.deliver(&event);
        if let Some(backplane) = &self.backplane {
            backplane.forward(&event);
        }
    }
}

/// A registered connection, owned by its WebSocket task. Dropping it unregisters it.
pub struct Connection {
    shared: Arc<ConnShared>,
    tenant: TenantId,
    hub: Weak<Hub>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("tenant", &self.tenant)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub fn client(&self) -> &ClientId {
        &self.shared.client
    }

    /// Waits until something is queued, then takes everything queued, oldest first.
    pub async fn next_batch(&self) -> Vec<Outgoing> {
        loop {
            let notified = self.shared.notify.notified();
            {
                let mut st = self.shared.lock();
                if !st.queue.is_empty() {
                    st.resync_pending = false;
                    let mut out = Vec::with_capacity(st.queue.len());
                    let mut delivered = st.delivered;
                    for (item, cursor) in st.queue.drain(..) {
                        if let Some(c) = cursor {
                            delivered = delivered.max(c);
                        }
                        out.push(item);
                    }
                    st.delivered = delivered;
                    return out;
                }
            }
            notified.await;
        }
    }

    /// Replaces the subscription. `None` = every readable type. A type the token may not read
    /// leaves the subscription unchanged.
    pub fn subscribe(
        &self,
        types: Option<Vec<EntityTypeName>>,
        include_data: bool,
    ) -> Result<Subscription, NotReadable> {
        let readable = self
            .shared
            .readable
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let types = match types {
            None => readable.clone(),
            Some(types) => {
                if let Some(t) = types.iter().find(|t| !readable.contains(*t)) {
                    return Err(NotReadable(t.to_string()));
                }
                types.into_iter().collect()
            }
        };
        let mut st = self.shared.lock();
        st.subscription = Subscription {
            types,
            include_data,
        };
        Ok(st.subscription.clone())
    }

    /// Removes types from the subscription.
    pub fn unsubscribe(&self, types: &[EntityTypeName]) -> Subscription {
        let mut st = self.shared.lock();
        for t in types {
            st.subscription.types.remove(t);
        }
        st.subscription.clone()
    }

    pub fn subscription(&self) -> Subscription {
        self.shared.lock().subscription.clone()
    }

    /// The types the token may read changed (a fresh token was presented): the subscription
    /// keeps only what is still readable.
    pub fn set_readable(&self, readable: HashSet<EntityTypeName>) {
        let mut st = self.shared.lock();
        st.subscription.types.retain(|t| readable.contains(t));
        drop(st);
        *self
            .shared
            .readable
            .write()
            .unwrap_or_else(|e| e.into_inner()) = readable;
    }

    /// Messages waiting in this connection's queue.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.unregister(&self.tenant, self.shared.id);
        }
    }
}
