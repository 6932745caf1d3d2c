//! Conflict resolution as a table: every built-in strategy against creates, updates and deletes
//! with a fresh base, a stale base and a tombstone; then clock handling, the three-way merge in
//! detail, the strategy registry, and property-tested invariants.
//!
//! One story runs through the tables. App A and app B share a contact. At version 2 it reads
//! `{"name":"Ada","email":"ada@old.example","phone":"111"}`. B changes the phone to `"222"`
//! (version 3, edited at 10:05). A, offline since version 2, changes the email (edited at 10:07)
//! and pushes at 10:10.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Map, Value, json};
use syncd_conflict::{
    ClientWins, ConflictStrategy, Context, FieldMerge, Incoming, LastWriteWins, Manual, Merge,
    Resolution, ResultStatus, ServerState, ServerWins, resolve,
};
use syncd_model::{ChangeOp, Timestamp, Version};

/// 2024-01-01T10:00:00Z.
const T0: i64 = 1_704_103_200_000;
const MINUTE: i64 = 60_000;
const SKEW: i64 = 5 * MINUTE;

/// 10:00 plus `minutes`.
fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * MINUTE)
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios: owned inputs that borrow into a `Context`.

#[derive(Debug, Clone)]
struct Server {
    data: Map<String, Value>,
    version: i64,
    edited_at: Timestamp,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct Scenario {
    server: Option<Server>,
    base: Option<Map<String, Value>>,
    op: ChangeOp,
    data: Map<String, Value>,
    base_version: Option<i64>,
    edited_at: Option<Timestamp>,
    now: Timestamp,
    max_skew_ms: i64,
}

impl Scenario {
    fn context(&self) -> Context<'_> {
        Context {
            server: self.server.as_ref().map(|s| ServerState {
                data: &s.data,
                version: Version(s.version),
                edited_at: s.edited_at,
                deleted: s.deleted,
            }),
            base: self.base.as_ref(),
            incoming: Incoming {
                op: self.op,
                data: &self.data,
                base_version: self.base_version.map(Version),
                edited_at: self.edited_at,
            },
            now: self.now,
            max_skew_ms: self.max_skew_ms,
        }
    }

    fn resolve_with(&self, strategy: &dyn ConflictStrategy) -> Resolution {
        resolve(strategy, &self.context())
    }

    /// The client made its edit at `t` instead of 10:07.
    fn edited(mut self, t: Timestamp) -> Self {
        self.edited_at = Some(t);
        self
    }
}

/// The record the store holds after applying `resolution` (`None`: there is no record).
fn outcome(server: Option<&Server>, resolution: &Resolution) -> Option<(Map<String, Value>, bool)> {
    match resolution {
        Resolution::Write { patch, deleted, .. } => {
            let mut data = server.map(|s| s.data.clone()).unwrap_or_default();
            for (field, value) in patch {
                data.insert(field.clone(), value.clone());
            }
            Some((data, *deleted))
        }
        Resolution::Keep { .. } | Resolution::Open { .. } => {
            server.map(|s| (s.data.clone(), s.deleted))
        }
    }
}

// The story's states.

fn base_v2() -> Map<String, Value> {
    obj(json!({ "name": "Ada", "email": "ada@old.example", "phone": "111" }))
}

/// B's phone change, version 3.
fn server_v3() -> Server {
    Server {
        data: obj(json!({ "name": "Ada", "email": "ada@old.example", "phone": "222" })),
        version: 3,
        edited_at: at(5),
        deleted: false,
    }
}

/// B deleted the contact after changing the phone, version 4.
fn tombstone_v4() -> Server {
    Server {
        version: 4,
        deleted: true,
        ..server_v3()
    }
}

/// A's email change as a patch.
fn email_patch() -> Map<String, Value> {
    obj(json!({ "email": "ada@new.example" }))
}

/// A's whole record as it holds it locally (email changed, phone never saw B's change).
fn whole_record() -> Map<String, Value> {
    obj(json!({ "name": "Ada", "email": "ada@new.example", "phone": "111" }))
}

fn scenario(
    server: Option<Server>,
    base: Option<Map<String, Value>>,
    op: ChangeOp,
    data: Map<String, Value>,
    base_version: Option<i64>,
) -> Scenario {
    Scenario {
        server,
        base,
        op,
        data,
        base_version,
        edited_at: Some(at(7)),
        now: at(10),
        max_skew_ms: SKEW,
    }
}

/// A new record, pushed without a version.
fn create_new() -> Scenario {
    scenario(None, None, ChangeOp::Upsert, whole_record(), None)
}

/// A create (no version) with an id that exists: base version 0, always stale.
fn create_over_live() -> Scenario {
    scenario(
        Some(server_v3()),
        None,
        ChangeOp::Upsert,
        whole_record(),
        None,
    )
}

/// A create (no version) with the id of a tombstone.
fn create_over_tombstone() -> Scenario {
    scenario(
        Some(tombstone_v4()),
        None,
        ChangeOp::Upsert,
        whole_record(),
        None,
    )
}

fn update_fresh() -> Scenario {
    let server = server_v3();
    let base = server.data.clone();
    scenario(
        Some(server),
        Some(base),
        ChangeOp::Upsert,
        email_patch(),
        Some(3),
    )
}

fn update_stale() -> Scenario {
    scenario(
        Some(server_v3()),
        Some(base_v2()),
        ChangeOp::Upsert,
        email_patch(),
        Some(2),
    )
}

/// An update based on the tombstone's own version: the client saw the delete.
fn update_fresh_tombstone() -> Scenario {
    let server = tombstone_v4();
    let base = server.data.clone();
    scenario(
        Some(server),
        Some(base),
        ChangeOp::Upsert,
        email_patch(),
        Some(4),
    )
}

/// An update of a record deleted since the client last saw it.
fn update_stale_tombstone() -> Scenario {
    scenario(
        Some(tombstone_v4()),
        Some(server_v3().data),
        ChangeOp::Upsert,
        email_patch(),
        Some(3),
    )
}

/// An update that sends only values the server already has, with a stale base.
fn update_noop_stale() -> Scenario {
    scenario(
        Some(server_v3()),
        Some(base_v2()),
        ChangeOp::Upsert,
        obj(json!({ "phone": "222" })),
        Some(2),
    )
}

fn delete_fresh() -> Scenario {
    scenario(
        Some(server_v3()),
        None,
        ChangeOp::Delete,
        Map::new(),
        Some(3),
    )
}

fn delete_stale() -> Scenario {
    scenario(
        Some(server_v3()),
        Some(base_v2()),
        ChangeOp::Delete,
        Map::new(),
        Some(2),
    )
}

fn delete_fresh_tombstone() -> Scenario {
    scenario(
        Some(tombstone_v4()),
        None,
        ChangeOp::Delete,
        Map::new(),
        Some(4),
    )
}

fn delete_stale_tombstone() -> Scenario {
    scenario(
        Some(tombstone_v4()),
        None,
        ChangeOp::Delete,
        Map::new(),
        Some(3),
    )
}

fn delete_missing() -> Scenario {
    scenario(None, None, ChangeOp::Delete, Map::new(), Some(3))
}

// Expected resolutions and records.

fn write(
    patch: Value,
    deleted: bool,
    edited_at: Timestamp,
    status: ResultStatus,
    fields: &[&str],
) -> Resolution {
    Resolution::Write {
        patch: obj(patch),
        deleted,
        edited_at,
        status,
        conflicting_fields: strings(fields),
    }
}

fn keep(status: ResultStatus, fields: &[&str]) -> Resolution {
    Resolution::Keep {
        status,
        conflicting_fields: strings(fields),
    }
}

fn open(fields: &[&str]) -> Resolution {
    Resolution::Open {
        conflicting_fields: strings(fields),
    }
}

fn strings(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

fn live(data: Value) -> Option<(Map<String, Value>, bool)> {
    Some((obj(data), false))
}

fn tombstone(data: Value) -> Option<(Map<String, Value>, bool)> {
    Some((obj(data), true))
}

fn no_record() -> Option<(Map<String, Value>, bool)> {
    None
}

/// B's version 3, untouched.
fn b_record() -> Value {
    json!({ "name": "Ada", "email": "ada@old.example", "phone": "222" })
}

/// A's email over B's phone: both edits.
fn both_edits() -> Value {
    json!({ "name": "Ada", "email": "ada@new.example", "phone": "222" })
}

/// A's whole record as sent.
fn a_record() -> Value {
    json!({ "name": "Ada", "email": "ada@new.example", "phone": "111" })
}

fn check(
    strategy: &dyn ConflictStrategy,
    scenario: &Scenario,
    expected: &Resolution,
    record: &Option<(Map<String, Value>, bool)>,
) {
    let got = scenario.resolve_with(strategy);
    assert_eq!(&got, expected, "resolution under {}", strategy.name());
    assert_eq!(
        &outcome(scenario.server.as_ref(), &got),
        record,
        "stored record under {}",
        strategy.name()
    );
}

/// One `#[test]` per row: `name: strategy, scenario => resolution, leaving record;`.
macro_rules! table {
    ($($name:ident: $strategy:expr, $scenario:expr => $expected:expr, leaving $record:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check(&$strategy, &$scenario, &$expected, &$record);
            }
        )*
    };
}

/// The rows that are not conflicts: decided by `resolve` the same way under every strategy.
macro_rules! non_conflict_rows {
    ($strategy:expr) => {
        table! {
            creates_a_record_that_does_not_exist_yet:
                $strategy, create_new()
                => write(a_record(), false, at(7), ResultStatus::Created, &[]),
                leaving live(a_record());
            applies_an_update_based_on_the_current_version:
                $strategy, update_fresh()
                => write(json!({ "email": "ada@new.example" }), false, at(7), ResultStatus::Updated, &[]),
                leaving live(both_edits());
            applies_an_update_based_on_the_current_version_even_when_it_is_older_than_the_server_edit:
                $strategy, update_fresh().edited(at(2))
                => write(json!({ "email": "ada@new.example" }), false, at(2), ResultStatus::Updated, &[]),
                leaving live(both_edits());
            revives_a_tombstone_with_an_update_based_on_the_tombstone_version:
                $strategy, update_fresh_tombstone()
                => write(json!({ "email": "ada@new.example" }), false, at(7), ResultStatus::Updated, &[]),
                leaving live(both_edits());
            reports_a_stale_update_that_changes_nothing_as_unchanged:
                $strategy, update_noop_stale()
                => keep(ResultStatus::Unchanged, &[]),
                leaving live(b_record());
            applies_a_delete_based_on_the_current_version:
                $strategy, delete_fresh()
                => write(json!({}), true, at(7), ResultStatus::Deleted, &[]),
                leaving tombstone(b_record());
            reports_a_delete_of_a_tombstone_as_unchanged:
                $strategy, delete_fresh_tombstone()
                => keep(ResultStatus::Unchanged, &[]),
                leaving tombstone(b_record());
            reports_a_stale_delete_of_a_tombstone_as_unchanged:
                $strategy, delete_stale_tombstone()
                => keep(ResultStatus::Unchanged, &[]),
                leaving tombstone(b_record());
            reports_a_delete_of_a_missing_record_as_unchanged:
                $strategy, delete_missing()
                => keep(ResultStatus::Unchanged, &[]),
                leaving no_record();
        }
    };
}

// The tables: one module per built-in strategy.
mod client_wins;
mod field_merge_table;
mod last_write_wins;
mod manual;
mod merge;
mod server_wins;

// Then the rules in detail.
mod clock;
mod field_merge;
mod invariants;
mod registry;
mod statuses;
