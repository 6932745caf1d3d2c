//! Fan-out to connections that see only part of some types (SPEC §11): each record of an event
//! is shown, told as a removal (the connection saw it before the write and does not now), or
//! left out; the notification counts what is shown or removed, and names nothing else.

use std::collections::HashMap;

use bytes::Bytes;
use syncd_model::{Access, ChangeEvent, EntityTypeName, RecordChange, Seq};

use super::Subscription;
use super::deliver::Fanout;
use crate::protocol::{self, NotificationKind};

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

/// The verdict on each record of the event, or `None` when the connection sees all of it (the
/// shared fast path). An event from another instance carries no records: its counts go out as
/// they are, and its records are filtered when they are read back.
pub(super) fn verdicts(
    event: &ChangeEvent,
    access: &HashMap<EntityTypeName, Access>,
) -> Option<Vec<Verdict>> {
    if access.is_empty()
        || event.records.is_empty()
        || !event.counts.iter().any(|(t, _)| access.contains_key(t))
    {
        return None;
    }
    Some(event.records.iter().map(|r| verdict(r, access)).collect())
}

impl Fanout<'_> {
    /// The `sync_notification` of a connection that sees part of the event: subscribed types
    /// with at least one shown or removed record, with those counts.
    pub(super) fn restricted_notification(
        &mut self,
        subscription: &Subscription,
        origin: bool,
        verdicts: &[Verdict],
    ) -> Option<Bytes> {
        let event = self.event;
        let counts: Vec<u32> = event
            .counts
            .iter()
            .map(|(ty, _)| {
                if !subscription.types.contains(ty) {
                    return 0;
                }
                event
                    .records
                    .iter()
                    .zip(verdicts)
                    .filter(|(r, v)| &r.entity_type == ty && **v != Verdict::Hidden)
                    .count() as u32
            })
            .collect();
        if counts.iter().all(|&n| n == 0) {
            return None;
        }
        if let Some((_, _, m)) = self
            .partial
            .iter()
            .find(|(o, c, _)| *o == origin && *c == counts)
        {
            return Some(m.clone());
        }
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
                .zip(&counts)
                .filter(|(_, n)| **n > 0)
                .map(|((t, _), n)| (t, *n)),
            event.cursor,
            Some(&event.origin_client),
            self.now,
        );
        self.partial.push((origin, counts, m.clone()));
        Some(m)
    }

    /// `data_update` of the shown records and removals of the subscribed types, with seqs.
    pub(super) fn restricted_data_updates(
        &mut self,
        subscription: &Subscription,
        verdicts: &[Verdict],
    ) -> Vec<(Bytes, Seq)> {
        let event = self.event;
        let now = self.now;
        let mut out = Vec::new();
        for (i, (record, verdict)) in event.records.iter().zip(verdicts).enumerate() {
            if !subscription.types.contains(&record.entity_type) {
                continue;
            }
            let cache = match verdict {
                Verdict::Hidden => continue,
                Verdict::Shown => &mut self.updates[i],
                Verdict::Removed => &mut self.removals[i],
            };
            let bytes = cache
                .get_or_insert_with(|| match verdict {
                    Verdict::Removed => protocol::data_removal(record, &event.origin_client, now),
                    _ => protocol::data_update(record, &event.origin_client, now),
                })
                .clone();
            out.push((bytes, record.seq));
        }
        out
    }
}
