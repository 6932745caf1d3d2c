//! The payloads on the channel: events (counts, cursor, status updates, the visibility facts of
//! their records) and reset notices, encoded to fit PostgreSQL's NOTIFY limit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use syncd_model::{
    ChangeEvent, ClientId, Cursor, EntityTypeName, Epoch, RecordAction, RecordChange, RecordId,
    Seq, StatusUpdate, SyncStatus, TenantId, raw,
};
use uuid::Uuid;

use crate::RemoteFacts;

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7900;

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The sending instance; an instance ignores its own events (it delivered them locally).
    i: Uuid,
    t: String,
    o: String,
    c: i64,
    /// The tenant's sync epoch of the cursor; absent (0) from instances that predate epochs.
    #[serde(default, skip_serializing_if = "is_zero")]
    e: u32,
    n: Vec<(String, u32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<(String, String, String)>,
    /// The rule fields of each status update of `s`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sv: Vec<Map<String, Value>>,
    /// The written records that have rule fields (SPEC §11), for connections that see only
    /// part of a type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    v: Vec<Fact>,
    /// Some of those records did not fit in the payload and were left out of `v`.
    #[serde(default, skip_serializing_if = "is_false")]
    x: bool,
}

/// A written record's visibility: (index of its type in `n`, id, seq, rule fields after the
/// write, before it when known).
type Fact = (
    u16,
    String,
    i64,
    Map<String, Value>,
    Option<Map<String, Value>>,
);

/// A notice of new sync epochs (`syncd reset-sync`, a whole-tenant erase): (tenant, epoch,
/// head) each; every instance tells the tenants' connections to start again.
#[derive(Serialize, Deserialize)]
struct ResetWire {
    i: Uuid,
    /// Always `reset`: what sets the notice apart from an event.
    k: String,
    r: Vec<(String, u32, i64)>,
}

const RESET: &str = "reset";

#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Reset(ResetWire),
    Event(Wire),
}

/// What arrived on the channel.
pub(super) enum Received {
    Event(Uuid, ChangeEvent, RemoteFacts),
    Reset(Uuid, Vec<(TenantId, Epoch, Seq)>),
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The payload of an event: counts and cursor, status updates, the visibility facts of its
/// records. What does not fit is left out in this order: status updates (a courtesy), then
/// the facts (restricted connections are then told to pull).
pub(super) fn encode(instance: Uuid, event: &ChangeEvent) -> Option<String> {
    let index = |ty: &EntityTypeName| event.counts.iter().position(|(t, _)| t == ty);
    let mut wire = Wire {
        i: instance,
        t: event.tenant.to_string(),
        o: event.origin_client.to_string(),
        c: event.cursor.seq().0,
        e: event.cursor.epoch().0,
        n: event
            .counts
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect(),
        s: event
            .status_updates
            .iter()
            .map(|s| {
                (
                    s.entity_type.to_string(),
                    s.id.to_string(),
                    s.status.as_str().to_owned(),
                )
            })
            .collect(),
        sv: event
            .status_updates
            .iter()
            .map(|s| s.rule_fields.clone())
            .collect(),
        v: event
            .records
            .iter()
            .filter(|r| {
                !r.rule_fields.is_empty()
                    || r.rule_fields_before.as_ref().is_some_and(|b| !b.is_empty())
            })
            .filter_map(|r| {
                let ty = u16::try_from(index(&r.entity_type)?).ok()?;
                Some((
                    ty,
                    r.id.to_string(),
                    r.seq.0,
                    r.rule_fields.clone(),
                    r.rule_fields_before.clone(),
                ))
            })
            .collect(),
        x: false,
    };
    if wire.sv.iter().all(Map::is_empty) {
        wire.sv.clear();
    }
    let mut payload = serde_json::to_string(&wire).ok()?;
    if payload.len() > MAX_PAYLOAD {
        wire.s.clear();
        wire.sv.clear();
        payload = serde_json::to_string(&wire).ok()?;
    }
    if payload.len() > MAX_PAYLOAD && !wire.v.is_empty() {
        wire.v.clear();
        wire.x = true;
        payload = serde_json::to_string(&wire).ok()?;
    }
    (payload.len() <= MAX_PAYLOAD).then_some(payload)
}

/// The payloads of reset notices, as many tenants in each as fit.
pub(super) fn encode_resets(instance: Uuid, resets: &[(TenantId, Epoch, Seq)]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut wire = ResetWire {
        i: instance,
        k: RESET.to_owned(),
        r: Vec::new(),
    };
    let mut size = 0usize;
    for (tenant, epoch, head) in resets {
        // A tenant id is short; 80 bytes covers its entry with the epoch, head and quotes.
        let entry = tenant.as_str().len() + 48;
        if size + entry > MAX_PAYLOAD - 80 && !wire.r.is_empty() {
            payloads.extend(serde_json::to_string(&wire).ok());
            wire.r.clear();
            size = 0;
        }
        wire.r.push((tenant.to_string(), epoch.0, head.0));
        size += entry;
    }
    if !wire.r.is_empty() {
        payloads.extend(serde_json::to_string(&wire).ok());
    }
    payloads
}

pub(super) fn decode(payload: &str) -> Option<Received> {
    let wire = match serde_json::from_str::<Payload>(payload).ok()? {
        Payload::Reset(reset) => return decode_resets(reset),
        Payload::Event(wire) => wire,
    };
    let counts = wire
        .n
        .into_iter()
        .map(|(t, n)| EntityTypeName::parse(t).ok().map(|t| (t, n)))
        .collect::<Option<Vec<_>>>()?;
    let mut rule_fields = wire.sv.into_iter();
    let status_updates = wire
        .s
        .into_iter()
        .filter_map(|(t, id, status)| {
            // Taken for every status update, kept or not, so the two lists stay aligned.
            let fields = rule_fields.next().unwrap_or_default();
            Some(StatusUpdate {
                entity_type: EntityTypeName::parse(t).ok()?,
                id: RecordId::parse(&id).ok()?,
                status: status.parse::<SyncStatus>().ok()?,
                rule_fields: fields,
            })
        })
        .collect();
    let facts = RemoteFacts {
        records: wire
            .v
            .into_iter()
            .map(|(ty, id, seq, after, before)| {
                Some(RecordChange {
                    entity_type: counts.get(usize::from(ty))?.0.clone(),
                    id: RecordId::parse(&id).ok()?,
                    action: RecordAction::Update,
                    seq: Seq(seq),
                    record: raw(&Value::Null),
                    rule_fields: after,
                    rule_fields_before: before,
                })
            })
            .collect::<Option<Vec<_>>>()?,
        complete: !wire.x,
    };
    Some(Received::Event(
        wire.i,
        ChangeEvent {
            tenant: TenantId::parse(wire.t).ok()?,
            origin_client: ClientId::parse(wire.o).ok()?,
            cursor: Cursor::at(Seq(wire.c), Epoch(wire.e), 0),
            counts,
            records: Vec::new(),
            status_updates,
        },
        facts,
    ))
}

fn decode_resets(wire: ResetWire) -> Option<Received> {
    if wire.k != RESET {
        return None;
    }
    let resets = wire
        .r
        .into_iter()
        .map(|(t, e, head)| Some((TenantId::parse(t).ok()?, Epoch(e), Seq(head))))
        .collect::<Option<Vec<_>>>()?;
    Some(Received::Reset(wire.i, resets))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn event() -> ChangeEvent {
        let deals = EntityTypeName::parse("deals").unwrap();
        let mut after = Map::new();
        after.insert("assigned_to".into(), Value::from("bob"));
        let mut before = Map::new();
        before.insert("assigned_to".into(), Value::from("alice"));
        ChangeEvent {
            tenant: TenantId::parse("acme").unwrap(),
            origin_client: ClientId::parse("app-1").unwrap(),
            cursor: Cursor::at(Seq(7), Epoch(2), 99),
            counts: vec![(deals.clone(), 1)],
            records: vec![RecordChange {
                entity_type: deals.clone(),
                id: RecordId::new_v7(),
                action: RecordAction::Update,
                seq: Seq(7),
                record: raw(&Value::Null),
                rule_fields: after.clone(),
                rule_fields_before: Some(before),
            }],
            status_updates: vec![StatusUpdate {
                entity_type: deals,
                id: RecordId::new_v7(),
                status: SyncStatus::Conflict,
                rule_fields: after,
            }],
        }
    }

    #[test]
    fn an_event_crosses_with_the_rule_fields_of_its_records_and_status_updates() {
        let sent = event();
        let instance = Uuid::new_v4();
        let Some(Received::Event(from, got, facts)) = decode(&encode(instance, &sent).unwrap())
        else {
            panic!("an event decodes as an event");
        };
        assert_eq!(from, instance);
        assert_eq!(got.cursor, Cursor::at(Seq(7), Epoch(2), 0));
        assert_eq!(got.status_updates, sent.status_updates);
        assert!(facts.complete);
        assert_eq!(facts.records.len(), 1);
        assert_eq!(facts.records[0].id, sent.records[0].id);
        assert_eq!(facts.records[0].seq, Seq(7));
        assert_eq!(facts.records[0].rule_fields, sent.records[0].rule_fields);
        assert_eq!(
            facts.records[0].rule_fields_before,
            sent.records[0].rule_fields_before
        );
    }

    #[test]
    fn facts_that_do_not_fit_are_dropped_and_said_to_be_missing() {
        let mut sent = event();
        let one = sent.records[0].clone();
        sent.records = (0..400).map(|_| one.clone()).collect();
        sent.counts[0].1 = 400;
        let payload = encode(Uuid::new_v4(), &sent).unwrap();
        assert!(payload.len() <= MAX_PAYLOAD);
        let Some(Received::Event(_, got, facts)) = decode(&payload) else {
            panic!("an event decodes as an event");
        };
        assert!(!facts.complete);
        assert!(facts.records.is_empty());
        assert!(got.status_updates.is_empty());
    }

    #[test]
    fn reset_notices_split_into_payloads_that_fit() {
        let resets: Vec<(TenantId, Epoch, Seq)> = (0..1000)
            .map(|i| {
                (
                    TenantId::parse(format!("tenant-{i}")).unwrap(),
                    Epoch(3),
                    Seq(i),
                )
            })
            .collect();
        let payloads = encode_resets(Uuid::new_v4(), &resets);
        assert!(payloads.len() > 1);
        let mut got = Vec::new();
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
            let Some(Received::Reset(_, r)) = decode(p) else {
                panic!("a reset decodes as a reset");
            };
            got.extend(r);
        }
        assert_eq!(got, resets);
    }
}
