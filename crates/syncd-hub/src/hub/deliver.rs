//! Fan-out: an event becomes messages, each encoded once, queued for every connection of the
//! tenant that subscribed to its types; a connection whose queue overflows gets one
//! `resync_required` instead.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use syncd_model::{
    ChangeEvent, ClientId, Cursor, EntityTypeName, Notifier, RecordChange, Seq, TenantId, Timestamp,
};

use super::visible::{self, Verdict};
use super::{ConnShared, ConnState, Hub, Outgoing, Subscription};
use crate::protocol::{self, NotificationKind};

impl Hub {
    /// Fans an event out to the tenant's connections. Events from other instances carry no
    /// records; those are read from the record source for connections that want data.
    pub fn deliver(&self, event: &ChangeEvent) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let conns: Vec<Arc<ConnShared>> = match self.read_tenants().get(&event.tenant) {
            Some(conns) => conns.clone(),
            None => return,
        };
        let mut fanout = Fanout::new(event, Timestamp::now());
        let mut wants_remote_data = false;
        for conn in &conns {
            let access = conn.access.read().unwrap_or_else(|e| e.into_inner());
            let verdicts = visible::verdicts(event, &access);
            drop(access);
            let mut st = conn.lock();
            let origin = conn.client == event.origin_client;
            let mut woke = false;
            let notification = match &verdicts {
                None => fanout.notification(&st.subscription, origin),
                Some(v) => fanout.restricted_notification(&st.subscription, origin, v),
            };
            let any_selected = match notification {
                Some(message) => {
                    woke |= self.enqueue(&mut st, message, Some(event.cursor.seq()), fanout.now);
                    true
                }
                None => false,
            };
            if st.subscription.include_data {
                wants_remote_data |= event.records.is_empty() && any_selected;
                let updates = match &verdicts {
                    None => fanout.data_updates(&st.subscription),
                    Some(v) => fanout.restricted_data_updates(&st.subscription, v),
                };
                for (bytes, seq) in updates {
                    woke |= self.enqueue(&mut st, bytes, Some(seq), fanout.now);
                }
            }
            for bytes in fanout.status_updates(&st.subscription) {
                woke |= self.enqueue(&mut st, bytes, None, fanout.now);
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
            let access = conn.access.read().unwrap_or_else(|e| e.into_inner());
            // Read back from the store: only the state after the write is known, so records
            // the connection does not see now are left out (no removal can be told).
            let shown: Vec<bool> = records
                .iter()
                .map(|r| visible::verdict(r, &access) == Verdict::Shown)
                .collect();
            drop(access);
            let mut st = conn.lock();
            if !st.subscription.include_data {
                continue;
            }
            let mut woke = false;
            for ((record, bytes), shown) in records.iter().zip(&encoded).zip(shown) {
                if shown && st.subscription.types.contains(&record.entity_type) {
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
    pub(super) fn force_resync(
        &self,
        st: &mut ConnState,
        cursor: Cursor,
        lost: u64,
        now: Timestamp,
    ) -> bool {
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

/// The messages of one event, each encoded once and shared by every connection that gets it.
pub(super) struct Fanout<'e> {
    pub(super) event: &'e ChangeEvent,
    pub(super) now: Timestamp,
    /// Notifications of connections that see part of the event: (writer or not, count per
    /// type of the event).
    pub(super) partial: Vec<(bool, Vec<u32>, Bytes)>,
    /// `data_update` with action `remove` per record, encoded when first needed.
    pub(super) removals: Vec<Option<Bytes>>,
    /// One notification per (writer or not, selection of the event's types).
    notifications: Vec<(bool, Vec<bool>, Bytes)>,
    /// A connection's selection, built in a reused buffer so the common case allocates nothing.
    selected: Vec<bool>,
    pub(super) updates: Vec<Option<Bytes>>,
    statuses: Vec<Bytes>,
}

impl<'e> Fanout<'e> {
    fn new(event: &'e ChangeEvent, now: Timestamp) -> Self {
        Self {
            event,
            now,
            notifications: Vec::new(),
            partial: Vec::new(),
            removals: vec![None; event.records.len()],
            selected: Vec::with_capacity(event.counts.len()),
            updates: vec![None; event.records.len()],
            statuses: event
                .status_updates
                .iter()
                .map(|s| protocol::status_update(s, now))
                .collect(),
        }
    }

    /// The `sync_notification` for a connection with this subscription, or `None` when the
    /// event touches none of its types.
    fn notification(&mut self, subscription: &Subscription, origin: bool) -> Option<Bytes> {
        let event = self.event;
        self.selected.clear();
        self.selected.extend(
            event
                .counts
                .iter()
                .map(|(ty, _)| subscription.types.contains(ty)),
        );
        if !self.selected.contains(&true) {
            return None;
        }
        if let Some((_, _, m)) = self
            .notifications
            .iter()
            .find(|(o, s, _)| *o == origin && *s == self.selected)
        {
            return Some(m.clone());
        }
        let kind = if origin {
            NotificationKind::SyncComplete
        } else {
            NotificationKind::NewDataAvailable
        };
        let selected = &self.selected;
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
            self.now,
        );
        self.notifications
            .push((origin, self.selected.clone(), m.clone()));
        Some(m)
    }

    /// `data_update` of each of the event's records of the subscribed types, with its seq.
    fn data_updates(&mut self, subscription: &Subscription) -> Vec<(Bytes, Seq)> {
        let event = self.event;
        let now = self.now;
        event
            .records
            .iter()
            .zip(self.updates.iter_mut())
            .filter(|(record, _)| subscription.types.contains(&record.entity_type))
            .map(|(record, cached)| {
                let bytes = cached
                    .get_or_insert_with(|| protocol::data_update(record, &event.origin_client, now))
                    .clone();
                (bytes, record.seq)
            })
            .collect()
    }

    /// The event's status updates of the subscribed types.
    fn status_updates(&self, subscription: &Subscription) -> Vec<Bytes> {
        self.event
            .status_updates
            .iter()
            .zip(&self.statuses)
            .filter(|(status, _)| subscription.types.contains(&status.entity_type))
            .map(|(_, bytes)| bytes.clone())
            .collect()
    }
}
