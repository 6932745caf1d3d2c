//! Fan-out to connections that see only part of some types (SPEC §11): each record of an event
//! is shown, told as a removal (the connection saw it before the write and does not now), or
//! left out; the notification counts what is shown or removed, and names nothing else; a status
//! update of a record the connection cannot see is left out too.

use std::collections::HashMap;

use syncd_model::{Access, ChangeEvent, EntityTypeName, RecordChange, StatusUpdate};

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
    pub(super) records: Vec<Verdict>,
    pub(super) restricted: Vec<bool>,
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
