//! Fan-out to connections that see only part of some types (SPEC §11): each record of an event
//! is shown, told as a removal (the connection saw it before the write and does not now), or
//! left out; the notification counts what is shown or removed, and names nothing else; a status
//! update of a record the connection cannot see is left out too.

use std::collections::HashMap;

use bytes::Bytes;
use syncd_model::{Access, ChangeEvent, EntityTypeName, RecordChange, Seq, StatusUpdate};

use super::Subscription;
use super::deliver::{Fanout, kind, sends};
use crate::protocol;

/// What one connection gets of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Shown,
    Removed,
    Hidden,
}

pub(super) fn verdict(change: &RecordChange, access: &HashMap<EntityTypeName, Access>) -> Verdict {
    let Some(access) = access.get(&change.entity_type) else {
        return Verdict::Shown;
    };
    if access.allows(&change.rule_fields) {
        Verdict::Shown
    } else if change
        .rule_fields_before
        .as_ref()
        .is_some_and(|before| access.allows(before))
    {
        Verdict::Removed
    } else {
        Verdict::Hidden
    }
}

/// Whether the connection sees only part of some type of the event.
pub(super) fn restricts(event: &ChangeEvent, access: &HashMap<EntityTypeName, Access>) -> bool {
    !access.is_empty() && event.counts.iter().any(|(t, _)| access.contains_key(t))
}

/// What a connection that sees only part of some types gets of an event: the verdict on each
/// known record, and which of the event's types (by position in its counts) are restricted.
pub(super) struct Seen {
    records: Vec<Verdict>,
    restricted: Vec<bool>,
}

/// The verdicts on `facts`, the records of a local event or the visibility facts of a remote
/// one (which leave out the records without rule fields: no restricted connection sees those).
pub(super) fn verdicts(
    event: &ChangeEvent,
    facts: &[RecordChange],
    access: &HashMap<EntityTypeName, Access>,
) -> Seen {
    Seen {
        records: facts.iter().map(|r| verdict(r, access)).collect(),
        restricted: event
            .counts
            .iter()
            .map(|(t, _)| access.contains_key(t))
            .collect(),
    }
}

/// Which of the status updates the connection may see: those of records its access allows
/// (a status update carries the record's rule fields).
pub(super) fn statuses(
    updates: &[StatusUpdate],
    access: &HashMap<EntityTypeName, Access>,
) -> Vec<bool> {
    updates
        .iter()
        .map(|u| {
            access
                .get(&u.entity_type)
                .is_none_or(|a| a.allows(&u.rule_fields))
        })
        .collect()
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
