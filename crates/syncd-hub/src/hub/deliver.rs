//! Fan-out: an event becomes messages, each encoded once per visibility fingerprint, queued for
//! every connection of the tenant that subscribed to its types; a connection whose queue
//! overflows gets one `resync_required` instead.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use syncd_model::{ChangeEvent, Notifier, RecordChange, Seq, Timestamp};

use super::fanout::Fanout;
use super::remote::RemoteFacts;
use super::visible;
use super::{ConnShared, ConnState, Hub, Outgoing};
use crate::protocol;

impl Hub {
    /// Fans an event out to the tenant's connections. An event without records came from
    /// another instance: those are read from the record source for connections that want
    /// data, and connections that see only part of its types are told to pull (nothing says
    /// which of its records they may see; [`Hub::deliver_remote`] carries that).
    pub fn deliver(&self, event: &ChangeEvent) {
        self.fan_out(event, None);
    }

    pub(super) fn fan_out(&self, event: &ChangeEvent, remote: Option<&RemoteFacts>) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let conns: Vec<Arc<ConnShared>> = match self.read_tenants().get(&event.tenant) {
            Some(conns) => conns.clone(),
            None => return,
        };
        let is_remote = remote.is_some() || event.records.is_empty();
        let facts: &[RecordChange] = remote.map_or(&event.records, |r| &r.records);
        // Whether the facts tell every record a restricted connection might see.
        let complete = match remote {
            Some(r) => r.complete,
            None => !event.records.is_empty(),
        };
        let mut fanout = Fanout::new(event, facts, is_remote, Timestamp::now());
        let mut wants_remote_data = false;
        for conn in &conns {
            wants_remote_data |= self.deliver_to(conn, &mut fanout, complete);
        }
        if wants_remote_data {
            self.fetch_remote_records(event);
        }
    }

    /// Queues one connection's share of the event; returns whether it wants the records of a
    /// remote event read back.
    fn deliver_to(&self, conn: &ConnShared, fanout: &mut Fanout<'_>, complete: bool) -> bool {
        let event = fanout.event;
        let access = conn.access.read().unwrap_or_else(|e| e.into_inner());
        let restricted = visible::restricts(event, &access);
        let verdicts =
            (restricted && complete).then(|| visible::verdicts(event, fanout.facts, &access));
        let shown_statuses = visible::statuses(&event.status_updates, &access);
        // The event's types the connection sees only part of.
        let partly: Vec<bool> = event
            .counts
            .iter()
            .map(|(t, _)| access.contains_key(t))
            .collect();
        drop(access);
        let fingerprint = conn.fingerprint.load(Ordering::Relaxed);
        let mut st = conn.lock();
        st.epoch = st.epoch.max(event.cursor.epoch());
        let unknown = !complete
            && event
                .counts
                .iter()
                .zip(&partly)
                .any(|((t, _), partly)| *partly && st.subscription.types.contains(t));
        if unknown {
            // What the connection may see of this event is not known here: it pulls instead.
            let message = protocol::resync_required(conn.cursor(&st, st.delivered), fanout.now);
            if self.force_resync(&mut st, message, 0) {
                drop(st);
                conn.notify.notify_one();
            }
            return false;
        }
        let origin = conn.client == event.origin_client;
        let mut woke = false;
        let notification = match &verdicts {
            None => fanout.notification(&st.subscription, origin, fingerprint),
            Some(v) => fanout.restricted_notification(&st.subscription, origin, fingerprint, v),
        };
        let any_selected = notification.is_some();
        if let Some(message) = notification {
            woke |= self.enqueue(conn, &mut st, message, Some(event.cursor.seq()), fanout.now);
        }
        let mut wants_remote_data = false;
        if st.subscription.include_data {
            wants_remote_data = fanout.remote && any_selected;
            let updates = match &verdicts {
                None => fanout.data_updates(&st.subscription, fingerprint),
                Some(v) => fanout.restricted_data_updates(&st.subscription, fingerprint, v),
            };
            for (bytes, seq) in updates {
                woke |= self.enqueue(conn, &mut st, bytes, Some(seq), fanout.now);
            }
        }
        for bytes in fanout.status_updates(&st.subscription, &shown_statuses) {
            woke |= self.enqueue(conn, &mut st, bytes, None, fanout.now);
        }
        drop(st);
        if woke {
            conn.notify.notify_one();
        }
        wants_remote_data
    }

    /// Queues a message; on overflow replaces the queue by one `resync_required`. Returns
    /// whether the consumer should be woken.
    pub(super) fn enqueue(
        &self,
        conn: &ConnShared,
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
            let message = protocol::resync_required(conn.cursor(st, st.delivered), now);
            // The message that did not fit is lost too.
            return self.force_resync(st, message, 1);
        }
        st.queue.push_back((Outgoing::Message(message), cursor));
        self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Replaces the queue by one `resync_required` (`message`); `lost` messages beyond the
    /// queued ones were dropped on the way in.
    pub(super) fn force_resync(&self, st: &mut ConnState, message: Bytes, lost: u64) -> bool {
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
        st.queue.push_back((Outgoing::Message(message), None));
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
