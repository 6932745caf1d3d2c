//! The messages of one event for every connection that gets it, each encoded once per
//! visibility fingerprint and shared; connections that see part of a type get their own counts,
//! removals and status updates (SPEC §11).

use std::collections::HashMap;

use bytes::Bytes;
use syncd_model::{ChangeEvent, Cursor, RecordChange, Seq, Timestamp};

use super::Subscription;
use super::visible::{Seen, Verdict};
use crate::protocol::{self, NotificationKind};

/// The messages of one event, each encoded once per visibility fingerprint (the cursors they
/// carry differ) and shared by every connection that gets it.
pub(super) struct Fanout<'e> {
    pub(super) event: &'e ChangeEvent,
    /// What is known of each written record: the records of a local event, the visibility
    /// facts the backplane carried for a remote one.
    pub(super) facts: &'e [RecordChange],
    /// The event came from another instance: its records are read back for data subscribers.
    pub(super) remote: bool,
    pub(super) now: Timestamp,
    /// Notifications of connections that see part of the event, by (writer or not,
    /// fingerprint, count per type of the event).
    pub(super) partial: HashMap<(bool, u32, Vec<u32>), Bytes>,
    /// `data_update` with action `remove`, by (record index, fingerprint).
    pub(super) removals: HashMap<(usize, u32), Bytes>,
    /// One notification per (writer or not, fingerprint, selection of the event's types).
    notifications: HashMap<(bool, u32, Vec<bool>), Bytes>,
    /// `data_update` of a record, by (record index, fingerprint).
    pub(super) updates: HashMap<(usize, u32), Bytes>,
    statuses: Vec<Bytes>,
}

impl<'e> Fanout<'e> {
    pub(super) fn new(
        event: &'e ChangeEvent,
        facts: &'e [RecordChange],
        remote: bool,
        now: Timestamp,
    ) -> Self {
        Self {
            event,
            facts,
            remote,
            now,
            notifications: HashMap::new(),
            partial: HashMap::new(),
            removals: HashMap::new(),
            updates: HashMap::new(),
            statuses: event
                .status_updates
                .iter()
                .map(|s| protocol::status_update(s, now))
                .collect(),
        }
    }

    /// A cursor at `seq` of the event's epoch for a connection with `fingerprint`.
    pub(super) fn cursor(&self, seq: Seq, fingerprint: u32) -> Cursor {
        Cursor::at(seq, self.event.cursor.epoch(), fingerprint)
    }

    /// The `sync_notification` for a connection with this subscription, or `None` when the
    /// event touches none of its types.
    pub(super) fn notification(
        &mut self,
        subscription: &Subscription,
        origin: bool,
        fingerprint: u32,
    ) -> Option<Bytes> {
        let event = self.event;
        let selected: Vec<bool> = event
            .counts
            .iter()
            .map(|(ty, _)| subscription.types.contains(ty))
            .collect();
        if !selected.contains(&true) {
            return None;
        }
        let cursor = self.cursor(event.cursor.seq(), fingerprint);
        let now = self.now;
        let m = self
            .notifications
            .entry((origin, fingerprint, selected))
            .or_insert_with_key(|(_, _, selected)| {
                protocol::sync_notification(
                    kind(origin),
                    event
                        .counts
                        .iter()
                        .zip(selected)
                        .filter(|(_, s)| **s)
                        .map(|((t, n), _)| (t, *n)),
                    cursor,
                    Some(&event.origin_client),
                    now,
                )
            });
        Some(m.clone())
    }

    /// `data_update` of each of the event's records of the subscribed types, with its seq.
    pub(super) fn data_updates(
        &mut self,
        subscription: &Subscription,
        fingerprint: u32,
    ) -> Vec<(Bytes, Seq)> {
        let event = self.event;
        let now = self.now;
        let mut out = Vec::new();
        for (i, record) in event.records.iter().enumerate() {
            if !subscription.types.contains(&record.entity_type) {
                continue;
            }
            let cursor = self.cursor(record.seq, fingerprint);
            let bytes = self
                .updates
                .entry((i, fingerprint))
                .or_insert_with(|| protocol::data_update(record, &event.origin_client, cursor, now))
                .clone();
            out.push((bytes, record.seq));
        }
        out
    }

    /// The event's status updates of the subscribed types that the connection may see.
    pub(super) fn status_updates(&self, subscription: &Subscription, shown: &[bool]) -> Vec<Bytes> {
        self.event
            .status_updates
            .iter()
            .zip(&self.statuses)
            .zip(shown)
            .filter(|((status, _), shown)| {
                **shown && subscription.types.contains(&status.entity_type)
            })
            .map(|((_, bytes), _)| bytes.clone())
            .collect()
    }
}

/// `sync_complete` for the writer's connections, `new_data_available` for the others.
pub(super) fn kind(origin: bool) -> NotificationKind {
    if origin {
        NotificationKind::SyncComplete
    } else {
        NotificationKind::NewDataAvailable
    }
}

/// Whether the connection gets this record's `data_update` (a removal or the record).
pub(super) fn sends(verdict: Verdict, remote: bool) -> bool {
    match verdict {
        Verdict::Hidden => false,
        Verdict::Removed => true,
        // A remote event's records are read back and sent when they arrive.
        Verdict::Shown => !remote,
    }
}

impl Fanout<'_> {
    /// The `sync_notification` of a connection that sees part of the event: subscribed types
    /// with at least one shown or removed record, with those counts.
    pub(super) fn restricted_notification(
        &mut self,
        subscription: &Subscription,
        origin: bool,
        fingerprint: u32,
        seen: &Seen,
    ) -> Option<Bytes> {
        let event = self.event;
        let facts = self.facts;
        let counts: Vec<u32> = event
            .counts
            .iter()
            .zip(&seen.restricted)
            .map(|((ty, n), restricted)| {
                if !subscription.types.contains(ty) {
                    0
                } else if !restricted {
                    *n
                } else {
                    facts
                        .iter()
                        .zip(&seen.records)
                        .filter(|(r, v)| &r.entity_type == ty && **v != Verdict::Hidden)
                        .count() as u32
                }
            })
            .collect();
        if counts.iter().all(|&n| n == 0) {
            return None;
        }
        let cursor = self.cursor(event.cursor.seq(), fingerprint);
        let now = self.now;
        let m = self
            .partial
            .entry((origin, fingerprint, counts))
            .or_insert_with_key(|(_, _, counts)| {
                protocol::sync_notification(
                    kind(origin),
                    event
                        .counts
                        .iter()
                        .zip(counts)
                        .filter(|(_, n)| **n > 0)
                        .map(|((t, _), n)| (t, *n)),
                    cursor,
                    Some(&event.origin_client),
                    now,
                )
            });
        Some(m.clone())
    }

    /// `data_update` of the shown records and removals of the subscribed types, with seqs (of
    /// a remote event the removals only: its records are read back).
    pub(super) fn restricted_data_updates(
        &mut self,
        subscription: &Subscription,
        fingerprint: u32,
        seen: &Seen,
    ) -> Vec<(Bytes, Seq)> {
        let event = self.event;
        let now = self.now;
        let facts = self.facts;
        let mut out = Vec::new();
        for (i, (record, verdict)) in facts.iter().zip(&seen.records).enumerate() {
            if !subscription.types.contains(&record.entity_type) || !sends(*verdict, self.remote) {
                continue;
            }
            let cursor = self.cursor(record.seq, fingerprint);
            let cache = match verdict {
                Verdict::Removed => &mut self.removals,
                _ => &mut self.updates,
            };
            let bytes = cache
                .entry((i, fingerprint))
                .or_insert_with(|| match verdict {
                    Verdict::Removed => {
                        protocol::data_removal(record, &event.origin_client, cursor, now)
                    }
                    _ => protocol::data_update(record, &event.origin_client, cursor, now),
                })
                .clone();
            out.push((bytes, record.seq));
        }
        out
    }
}
