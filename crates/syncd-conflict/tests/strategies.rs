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

mod server_wins {
    use super::*;

    non_conflict_rows!(ServerWins);

    table! {
        keeps_the_server_record_when_a_create_reuses_an_existing_id:
            ServerWins, create_over_live()
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(b_record());
        keeps_the_tombstone_when_a_create_reuses_a_deleted_id:
            ServerWins, create_over_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving tombstone(b_record());
        keeps_the_server_record_against_a_stale_update:
            ServerWins, update_stale()
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving live(b_record());
        keeps_the_server_record_against_a_stale_update_made_later:
            ServerWins, update_stale().edited(at(9))
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving live(b_record());
        keeps_the_tombstone_against_a_stale_update:
            ServerWins, update_stale_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving tombstone(b_record());
        keeps_the_record_alive_against_a_stale_delete:
            ServerWins, delete_stale()
            => keep(ResultStatus::ConflictResolved, &[]),
            leaving live(b_record());
    }
}

mod client_wins {
    use super::*;

    non_conflict_rows!(ClientWins);

    table! {
        takes_the_client_fields_when_a_create_reuses_an_existing_id:
            ClientWins, create_over_live()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        revives_the_tombstone_when_a_create_reuses_a_deleted_id:
            ClientWins, create_over_tombstone()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        puts_the_client_fields_over_the_server_record_on_a_stale_update:
            ClientWins, update_stale()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        ignores_edit_times_on_a_stale_update:
            ClientWins, update_stale().edited(at(2))
            => write(json!({ "email": "ada@new.example" }), false, at(2),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        revives_a_tombstone_with_a_stale_update:
            ClientWins, update_stale_tombstone()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        deletes_the_record_on_a_stale_delete:
            ClientWins, delete_stale()
            => write(json!({}), true, at(7), ResultStatus::ConflictResolved, &[]),
            leaving tombstone(b_record());
        deletes_the_record_on_a_stale_delete_made_earlier:
            ClientWins, delete_stale().edited(at(2))
            => write(json!({}), true, at(2), ResultStatus::ConflictResolved, &[]),
            leaving tombstone(b_record());
    }
}

mod last_write_wins {
    use super::*;

    non_conflict_rows!(LastWriteWins);

    table! {
        takes_a_later_create_over_an_existing_id:
            LastWriteWins, create_over_live()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        keeps_the_server_record_against_an_earlier_create_over_an_existing_id:
            LastWriteWins, create_over_live().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(b_record());
        revives_the_tombstone_with_a_later_create_over_a_deleted_id:
            LastWriteWins, create_over_tombstone()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        keeps_the_tombstone_against_an_earlier_create_over_a_deleted_id:
            LastWriteWins, create_over_tombstone().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving tombstone(b_record());
        takes_a_stale_update_made_after_the_server_edit:
            LastWriteWins, update_stale()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        keeps_the_server_record_against_a_stale_update_made_before_the_server_edit:
            LastWriteWins, update_stale().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving live(b_record());
        revives_a_tombstone_with_a_stale_update_made_after_the_delete:
            LastWriteWins, update_stale_tombstone()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        keeps_the_tombstone_against_a_stale_update_made_before_the_delete:
            LastWriteWins, update_stale_tombstone().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving tombstone(b_record());
        deletes_on_a_stale_delete_made_after_the_server_edit:
            LastWriteWins, delete_stale()
            => write(json!({}), true, at(7), ResultStatus::ConflictResolved, &[]),
            leaving tombstone(b_record());
        keeps_the_record_alive_against_a_stale_delete_made_before_the_server_edit:
            LastWriteWins, delete_stale().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &[]),
            leaving live(b_record());
    }
}

mod merge {
    use super::*;

    non_conflict_rows!(Merge);

    table! {
        puts_the_client_fields_over_the_server_record_when_a_create_reuses_an_existing_id:
            Merge, create_over_live()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        never_revives_a_tombstone_when_a_create_reuses_a_deleted_id:
            Merge, create_over_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving tombstone(b_record());
        puts_the_client_fields_over_the_server_record_on_a_stale_update:
            Merge, update_stale()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        ignores_edit_times_on_a_stale_update:
            Merge, update_stale().edited(at(2))
            => write(json!({ "email": "ada@new.example" }), false, at(2),
                     ResultStatus::ConflictResolved, &["email"]),
            leaving live(both_edits());
        never_revives_a_tombstone_with_a_stale_update:
            Merge, update_stale_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving tombstone(b_record());
        deletes_the_record_on_a_stale_delete:
            Merge, delete_stale()
            => write(json!({}), true, at(7), ResultStatus::ConflictResolved, &[]),
            leaving tombstone(b_record());
    }
}

mod field_merge_table {
    use super::*;

    non_conflict_rows!(FieldMerge);

    table! {
        resolves_a_create_over_an_existing_id_against_an_empty_base_and_a_later_client_wins:
            FieldMerge, create_over_live()
            => write(json!({ "email": "ada@new.example", "phone": "111" }), false, at(7),
                     ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(a_record());
        resolves_a_create_over_an_existing_id_against_an_empty_base_and_a_later_server_wins:
            FieldMerge, create_over_live().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving live(b_record());
        keeps_the_tombstone_when_a_create_reuses_a_deleted_id:
            FieldMerge, create_over_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email", "phone"]),
            leaving tombstone(b_record());
        keeps_both_disjoint_edits_on_a_stale_update:
            FieldMerge, update_stale()
            => write(json!({ "email": "ada@new.example" }), false, at(7),
                     ResultStatus::ConflictResolved, &[]),
            leaving live(both_edits());
        keeps_both_disjoint_edits_on_a_stale_update_made_before_the_server_edit:
            FieldMerge, update_stale().edited(at(2))
            => write(json!({ "email": "ada@new.example" }), false, at(5),
                     ResultStatus::ConflictResolved, &[]),
            leaving live(both_edits());
        keeps_the_tombstone_against_a_stale_update:
            FieldMerge, update_stale_tombstone()
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving tombstone(b_record());
        keeps_the_tombstone_against_a_stale_update_made_after_the_delete:
            FieldMerge, update_stale_tombstone().edited(at(9))
            => keep(ResultStatus::ConflictResolved, &["email"]),
            leaving tombstone(b_record());
        deletes_on_a_stale_delete_made_after_the_server_edit:
            FieldMerge, delete_stale()
            => write(json!({}), true, at(7), ResultStatus::ConflictResolved, &[]),
            leaving tombstone(b_record());
        keeps_the_record_alive_against_a_stale_delete_made_before_the_server_edit:
            FieldMerge, delete_stale().edited(at(2))
            => keep(ResultStatus::ConflictResolved, &[]),
            leaving live(b_record());
        keeps_the_record_alive_against_a_stale_delete_made_at_the_same_time_as_the_server_edit:
            FieldMerge, delete_stale().edited(at(5))
            => keep(ResultStatus::ConflictResolved, &[]),
            leaving live(b_record());
    }
}

mod manual {
    use super::*;

    non_conflict_rows!(Manual);

    table! {
        opens_a_conflict_when_a_create_reuses_an_existing_id:
            Manual, create_over_live()
            => open(&["email", "phone"]),
            leaving live(b_record());
        opens_a_conflict_when_a_create_reuses_a_deleted_id:
            Manual, create_over_tombstone()
            => open(&["email", "phone"]),
            leaving tombstone(b_record());
        opens_a_conflict_on_a_stale_update:
            Manual, update_stale()
            => open(&["email"]),
            leaving live(b_record());
        opens_a_conflict_on_a_stale_update_of_a_tombstone:
            Manual, update_stale_tombstone()
            => open(&["email"]),
            leaving tombstone(b_record());
        opens_a_conflict_on_a_stale_delete:
            Manual, delete_stale()
            => open(&[]),
            leaving live(b_record());
    }
}

// ---------------------------------------------------------------------------------------------

mod statuses {
    use super::*;

    #[test]
    fn result_statuses_render_as_the_push_result_strings() {
        let rendered: Vec<_> = [
            ResultStatus::Created,
            ResultStatus::Updated,
            ResultStatus::Deleted,
            ResultStatus::Unchanged,
            ResultStatus::ConflictResolved,
            ResultStatus::Conflict,
        ]
        .into_iter()
        .map(ResultStatus::as_str)
        .collect();
        assert_eq!(
            rendered,
            [
                "created",
                "updated",
                "deleted",
                "unchanged",
                "conflict_resolved",
                "conflict"
            ]
        );
    }

    #[test]
    fn a_resolution_reports_its_status_and_conflicting_fields() {
        let written = write(json!({}), true, at(0), ResultStatus::Deleted, &["a"]);
        assert_eq!(written.status(), ResultStatus::Deleted);
        assert_eq!(written.conflicting_fields(), ["a"]);
        let kept = keep(ResultStatus::ConflictResolved, &["b"]);
        assert_eq!(kept.status(), ResultStatus::ConflictResolved);
        assert_eq!(kept.conflicting_fields(), ["b"]);
        let opened = open(&["c", "d"]);
        assert_eq!(opened.status(), ResultStatus::Conflict);
        assert_eq!(opened.conflicting_fields(), ["c", "d"]);
    }

    #[test]
    fn a_missing_base_version_counts_as_zero_so_a_change_to_an_existing_record_is_stale() {
        let mut s = update_stale();
        s.base_version = None;
        assert_eq!(
            s.resolve_with(&ServerWins),
            keep(ResultStatus::ConflictResolved, &["email"])
        );
    }

    #[test]
    fn a_base_version_newer_than_the_server_version_is_applied_as_fresh() {
        let mut s = update_stale();
        s.base_version = Some(9);
        assert_eq!(
            s.resolve_with(&ServerWins),
            write(
                json!({ "email": "ada@new.example" }),
                false,
                at(7),
                ResultStatus::Updated,
                &[]
            )
        );
    }

    #[test]
    fn a_fresh_update_writes_only_the_fields_that_differ_from_the_server() {
        let mut s = update_fresh();
        s.data = whole_record();
        assert_eq!(
            s.resolve_with(&FieldMerge),
            write(
                json!({ "email": "ada@new.example", "phone": "111" }),
                false,
                at(7),
                ResultStatus::Updated,
                &[]
            )
        );
    }
}

// ---------------------------------------------------------------------------------------------

mod clock {
    use super::*;

    /// A stale update of the email by A at `client`, against B's edit at `server_edit`, the
    /// server clock at 10:10.
    fn race(client: Option<Timestamp>, server_edit: Timestamp) -> Scenario {
        let mut s = update_stale();
        s.edited_at = client;
        if let Some(server) = &mut s.server {
            server.edited_at = server_edit;
        }
        s
    }

    fn client_won(resolution: &Resolution, edited: Timestamp) {
        assert_eq!(
            resolution,
            &write(
                json!({ "email": "ada@new.example" }),
                false,
                edited,
                ResultStatus::ConflictResolved,
                &["email"]
            )
        );
    }

    fn server_won(resolution: &Resolution) {
        assert_eq!(
            resolution,
            &keep(ResultStatus::ConflictResolved, &["email"])
        );
    }

    #[test]
    fn an_edit_at_the_same_millisecond_as_the_server_edit_is_a_tie_and_the_server_wins() {
        server_won(&race(Some(at(5)), at(5)).resolve_with(&LastWriteWins));
    }

    #[test]
    fn an_edit_one_millisecond_after_the_server_edit_wins() {
        let later = at(5).plus_millis(1);
        client_won(
            &race(Some(later), at(5)).resolve_with(&LastWriteWins),
            later,
        );
    }

    #[test]
    fn a_future_time_within_the_skew_is_taken_as_sent() {
        // B's clock ran 3 minutes ahead when it wrote; A's runs 4 minutes ahead.
        let s = race(Some(at(14)), at(13));
        assert_eq!(s.context().client_time(), at(14));
        client_won(&s.resolve_with(&LastWriteWins), at(14));
    }

    #[test]
    fn a_time_exactly_at_the_skew_bound_is_taken_as_sent() {
        let s = race(Some(at(15)), at(13));
        assert_eq!(s.context().client_time(), at(15));
        client_won(&s.resolve_with(&LastWriteWins), at(15));
    }

    #[test]
    fn a_future_time_beyond_the_skew_is_clamped_to_the_server_time() {
        // 6 minutes ahead is beyond the 5 minute skew: the edit counts as made at 10:10, which
        // is before B's (skewed but accepted) 10:13.
        let s = race(Some(at(16)), at(13));
        assert_eq!(s.context().client_time(), at(10));
        server_won(&s.resolve_with(&LastWriteWins));
    }

    #[test]
    fn a_clamped_time_that_equals_the_server_edit_time_loses_the_tie() {
        let s = race(Some(Timestamp::from_millis(4_102_444_800_000)), at(10));
        server_won(&s.resolve_with(&LastWriteWins));
    }

    #[test]
    fn a_clamped_time_still_beats_an_older_server_edit_and_is_stored_clamped() {
        let s = race(Some(Timestamp::from_millis(4_102_444_800_000)), at(5));
        client_won(&s.resolve_with(&LastWriteWins), at(10));
    }

    #[test]
    fn a_missing_edit_time_counts_as_the_server_receive_time() {
        let s = race(None, at(5));
        assert_eq!(s.context().client_time(), at(10));
        client_won(&s.resolve_with(&LastWriteWins), at(10));
        server_won(&race(None, at(10)).resolve_with(&LastWriteWins));
    }

    #[test]
    fn a_create_without_an_edit_time_is_stamped_with_the_server_time() {
        let mut s = create_new();
        s.edited_at = None;
        assert_eq!(
            s.resolve_with(&LastWriteWins),
            write(a_record(), false, at(10), ResultStatus::Created, &[])
        );
    }

    #[test]
    fn a_past_edit_time_is_never_clamped() {
        let s = race(Some(at(-600)), at(-700));
        assert_eq!(s.context().client_time(), at(-600));
        client_won(&s.resolve_with(&LastWriteWins), at(-600));
    }

    #[test]
    fn field_merge_decides_both_changed_fields_with_the_clamped_time_too() {
        // Both changed the email; A's far-future clock is clamped to 10:10, before B's 10:12.
        let mut s = race(Some(at(60)), at(12));
        if let Some(server) = &mut s.server {
            server.data.insert("email".into(), json!("ada@b.example"));
        }
        assert_eq!(
            s.resolve_with(&FieldMerge),
            keep(ResultStatus::ConflictResolved, &["email"])
        );
    }
}

// ---------------------------------------------------------------------------------------------

mod field_merge {
    use super::*;

    /// Base v2 → B's server v3 with `server` on top, edited at 10:05; A pushes `data` based
    /// on v2, edited at `client`.
    fn three_way(server: Value, data: Value, client: Timestamp) -> Scenario {
        let base = base_v2();
        let mut server_data = base.clone();
        server_data.extend(obj(server));
        Scenario {
            server: Some(Server {
                data: server_data,
                version: 3,
                edited_at: at(5),
                deleted: false,
            }),
            base: Some(base),
            op: ChangeOp::Upsert,
            data: obj(data),
            base_version: Some(2),
            edited_at: Some(client),
            now: at(10),
            max_skew_ms: SKEW,
        }
    }

    /// The record after merging.
    fn merged(s: &Scenario) -> (Resolution, Value) {
        let resolution = s.resolve_with(&FieldMerge);
        let (data, deleted) = outcome(s.server.as_ref(), &resolution).unwrap();
        assert!(!deleted);
        (resolution, Value::Object(data))
    }

    #[test]
    fn a_patch_and_a_whole_record_carrying_the_same_edit_merge_to_the_same_record() {
        let patch = three_way(
            json!({ "phone": "222" }),
            json!({ "email": "ada@new.example" }),
            at(7),
        );
        let whole = three_way(
            json!({ "phone": "222" }),
            json!({ "name": "Ada", "email": "ada@new.example", "phone": "111" }),
            at(7),
        );
        let (patch_resolution, patch_record) = merged(&patch);
        let (whole_resolution, whole_record) = merged(&whole);
        assert_eq!(patch_resolution, whole_resolution);
        assert_eq!(patch_record, whole_record);
        assert_eq!(patch_record, both_edits());
        assert_eq!(
            whole_resolution,
            write(
                json!({ "email": "ada@new.example" }),
                false,
                at(7),
                ResultStatus::ConflictResolved,
                &[]
            )
        );
    }

    #[test]
    fn disjoint_concurrent_edits_both_survive_whoever_edited_last() {
        for client in [at(2), at(5), at(7)] {
            let s = three_way(
                json!({ "phone": "222", "name": "Ada L." }),
                json!({ "name": "Ada", "email": "ada@new.example", "phone": "111", "note": "vip" }),
                client,
            );
            let (resolution, record) = merged(&s);
            assert_eq!(
                record,
                json!({ "name": "Ada L.", "email": "ada@new.example", "phone": "222", "note": "vip" })
            );
            assert_eq!(resolution.status(), ResultStatus::ConflictResolved);
            assert!(resolution.conflicting_fields().is_empty());
        }
    }

    #[test]
    fn a_stale_field_in_a_whole_record_push_never_overwrites_a_newer_server_value() {
        // A's edit is the latest, yet its phone is the one it read at v2: B's value stays.
        let s = three_way(
            json!({ "phone": "222" }),
            json!({ "name": "Ada", "email": "ada@new.example", "phone": "111" }),
            at(9),
        );
        let (resolution, record) = merged(&s);
        assert_eq!(record["phone"], json!("222"));
        assert!(resolution.conflicting_fields().is_empty());
    }

    #[test]
    fn a_whole_record_push_without_client_edits_against_a_newer_server_is_unchanged() {
        let s = three_way(json!({ "phone": "222" }), Value::Object(base_v2()), at(9));
        assert_eq!(
            s.resolve_with(&FieldMerge),
            keep(ResultStatus::Unchanged, &[])
        );
    }

    #[test]
    fn a_field_both_sides_changed_goes_to_the_later_edit_and_is_listed() {
        let s = three_way(
            json!({ "email": "ada@b.example", "phone": "222" }),
            json!({ "email": "ada@a.example", "name": "Ada A." }),
            at(7),
        );
        let (resolution, record) = merged(&s);
        assert_eq!(
            resolution,
            write(
                json!({ "email": "ada@a.example", "name": "Ada A." }),
                false,
                at(7),
                ResultStatus::ConflictResolved,
                &["email"]
            )
        );
        assert_eq!(
            record,
            json!({ "name": "Ada A.", "email": "ada@a.example", "phone": "222" })
        );
    }

    #[test]
    fn a_field_both_sides_changed_stays_with_the_server_when_its_edit_is_later() {
        let s = three_way(
            json!({ "email": "ada@b.example", "phone": "222" }),
            json!({ "email": "ada@a.example", "name": "Ada A." }),
            at(2),
        );
        let (resolution, record) = merged(&s);
        assert_eq!(
            resolution,
            write(
                json!({ "name": "Ada A." }),
                false,
                at(5),
                ResultStatus::ConflictResolved,
                &["email"]
            )
        );
        assert_eq!(
            record,
            json!({ "name": "Ada A.", "email": "ada@b.example", "phone": "222" })
        );
    }

    #[test]
    fn a_field_both_sides_changed_stays_with_the_server_on_a_tie() {
        let s = three_way(
            json!({ "email": "ada@b.example" }),
            json!({ "email": "ada@a.example" }),
            at(5),
        );
        assert_eq!(
            s.resolve_with(&FieldMerge),
            keep(ResultStatus::ConflictResolved, &["email"])
        );
    }

    #[test]
    fn every_field_both_sides_changed_is_listed_in_the_order_sent() {
        let s = three_way(
            json!({ "email": "ada@b.example", "phone": "222", "name": "B" }),
            json!({ "phone": "333", "name": "A", "email": "ada@a.example" }),
            at(7),
        );
        let (resolution, _) = merged(&s);
        assert_eq!(resolution.conflicting_fields(), ["phone", "name", "email"]);
    }

    #[test]
    fn a_field_both_sides_changed_to_the_same_value_is_not_a_conflict() {
        let s = three_way(
            json!({ "email": "ada@same.example", "phone": "222" }),
            json!({ "email": "ada@same.example", "name": "Ada A." }),
            at(2),
        );
        let (resolution, record) = merged(&s);
        assert_eq!(
            resolution,
            write(
                json!({ "name": "Ada A." }),
                false,
                at(5),
                ResultStatus::ConflictResolved,
                &[]
            )
        );
        assert_eq!(
            record,
            json!({ "name": "Ada A.", "email": "ada@same.example", "phone": "222" })
        );
    }

    #[test]
    fn a_field_the_server_removed_stays_removed_when_the_client_sends_its_base_value() {
        let mut s = three_way(json!({}), Value::Object(whole_record()), at(9));
        if let Some(server) = &mut s.server {
            server.data.remove("phone");
        }
        let (resolution, record) = merged(&s);
        assert_eq!(
            record,
            json!({ "name": "Ada", "email": "ada@new.example" }),
            "{resolution:?}"
        );
    }

    #[test]
    fn a_field_only_the_client_added_is_kept() {
        let s = three_way(json!({ "phone": "222" }), json!({ "note": "vip" }), at(2));
        let (_, record) = merged(&s);
        assert_eq!(record["note"], json!("vip"));
        assert_eq!(record["phone"], json!("222"));
    }

    #[test]
    fn a_missing_base_counts_as_an_empty_base() {
        // The base fell out of the history window: the server cannot tell which side changed
        // what, so every sent field that differs from the server is a both-sides change.
        let mut s = three_way(
            json!({ "phone": "222" }),
            json!({ "name": "Ada", "email": "ada@new.example", "phone": "111" }),
            at(7),
        );
        s.base = None;
        let (resolution, record) = merged(&s);
        assert_eq!(
            resolution,
            write(
                json!({ "email": "ada@new.example", "phone": "111" }),
                false,
                at(7),
                ResultStatus::ConflictResolved,
                &["email", "phone"]
            )
        );
        assert_eq!(record, a_record());

        s.edited_at = Some(at(2));
        assert_eq!(
            s.resolve_with(&FieldMerge),
            keep(ResultStatus::ConflictResolved, &["email", "phone"])
        );
    }

    #[test]
    fn a_missing_base_behaves_exactly_like_an_empty_base() {
        for client in [at(2), at(5), at(7)] {
            let mut missing = three_way(
                json!({ "phone": "222" }),
                json!({ "email": "ada@new.example", "phone": "111", "note": null }),
                client,
            );
            missing.base = None;
            let mut empty = missing.clone();
            empty.base = Some(Map::new());
            assert_eq!(
                missing.resolve_with(&FieldMerge),
                empty.resolve_with(&FieldMerge)
            );
        }
    }

    #[test]
    fn a_field_only_the_client_sends_as_null_is_written_as_null() {
        let s = three_way(json!({ "phone": "222" }), json!({ "email": null }), at(2));
        let (_, record) = merged(&s);
        assert_eq!(record["email"], Value::Null);
    }

    #[test]
    fn nested_json_values_are_compared_as_whole_values() {
        let mut s = three_way(
            json!({ "tags": ["b"] }),
            json!({ "address": { "city": "Paris" } }),
            at(2),
        );
        if let (Some(base), Some(server)) = (&mut s.base, &mut s.server) {
            base.insert("tags".into(), json!(["a"]));
            base.insert("address".into(), json!({ "city": "Lyon" }));
            server
                .data
                .insert("address".into(), json!({ "city": "Lyon" }));
        }
        let (resolution, record) = merged(&s);
        assert!(resolution.conflicting_fields().is_empty());
        assert_eq!(record["tags"], json!(["b"]));
        assert_eq!(record["address"], json!({ "city": "Paris" }));
    }
}

// ---------------------------------------------------------------------------------------------

mod registry {
    use std::sync::Arc;

    use syncd_conflict::{StrategyRegistry, keep_server, take_client};

    use super::*;

    const BUILT_INS: [&str; 6] = [
        "server-wins",
        "client-wins",
        "last-write-wins",
        "merge",
        "field-merge",
        "manual",
    ];

    /// What an embedding team might write: on a conflict over a stock count, the higher count
    /// wins; anything else keeps the server record.
    struct HighestCountWins;

    impl ConflictStrategy for HighestCountWins {
        fn name(&self) -> &str {
            "highest-count-wins"
        }

        fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
            let count = |data: &Map<String, Value>| data.get("count").and_then(Value::as_i64);
            match &ctx.server {
                Some(server)
                    if !server.deleted
                        && ctx.incoming.op == ChangeOp::Upsert
                        && count(ctx.incoming.data) > count(server.data) =>
                {
                    take_client(ctx, ResultStatus::ConflictResolved, vec!["count".into()])
                }
                _ => keep_server(ctx),
            }
        }
    }

    fn stock(count: i64, base_version: i64) -> Scenario {
        scenario(
            Some(Server {
                data: obj(json!({ "sku": "A-1", "count": 5 })),
                version: 3,
                edited_at: at(5),
                deleted: false,
            }),
            None,
            ChangeOp::Upsert,
            obj(json!({ "count": count })),
            Some(base_version),
        )
    }

    #[test]
    fn every_built_in_name_resolves_to_its_strategy() {
        let registry = StrategyRegistry::with_builtins();
        for name in BUILT_INS {
            assert_eq!(registry.get(name).unwrap().name(), name);
        }
    }

    #[test]
    fn the_default_registry_holds_the_built_ins() {
        let registry = StrategyRegistry::default();
        for name in BUILT_INS {
            assert!(registry.get(name).is_ok(), "{name}");
        }
        assert_eq!(
            format!("{registry:?}"),
            "StrategyRegistry { strategies: [\"client-wins\", \"field-merge\", \
             \"last-write-wins\", \"manual\", \"merge\", \"server-wins\"] }"
        );
    }

    #[test]
    fn built_in_names_resolve_to_strategies_that_behave_as_named() {
        let registry = StrategyRegistry::with_builtins();
        let s = update_stale();
        for (name, expected) in [
            ("server-wins", ServerWins.resolve_conflict(&s.context())),
            ("client-wins", ClientWins.resolve_conflict(&s.context())),
            (
                "last-write-wins",
                LastWriteWins.resolve_conflict(&s.context()),
            ),
            ("merge", Merge.resolve_conflict(&s.context())),
            ("field-merge", FieldMerge.resolve_conflict(&s.context())),
            ("manual", Manual.resolve_conflict(&s.context())),
        ] {
            let strategy = registry.get(name).unwrap();
            assert_eq!(s.resolve_with(strategy.as_ref()), expected, "{name}");
        }
    }

    #[test]
    fn an_unknown_name_is_rejected_with_a_message_listing_the_known_ones() {
        let error = StrategyRegistry::with_builtins()
            .get("newest-wins")
            .err()
            .unwrap();
        assert_eq!(error.name, "newest-wins");
        assert_eq!(
            error.to_string(),
            "unknown conflict strategy `newest-wins`; known: client-wins, field-merge, \
             last-write-wins, manual, merge, server-wins"
        );
    }

    #[test]
    fn names_are_matched_exactly() {
        let registry = StrategyRegistry::with_builtins();
        for near_miss in ["Field-Merge", "field_merge", " field-merge", ""] {
            assert!(registry.get(near_miss).is_err(), "{near_miss:?}");
        }
    }

    #[test]
    fn a_custom_strategy_registered_by_embedding_code_decides_stale_changes() {
        let mut registry = StrategyRegistry::with_builtins();
        registry.register(Arc::new(HighestCountWins));
        let strategy = registry.get("highest-count-wins").unwrap();

        assert_eq!(
            stock(7, 2).resolve_with(strategy.as_ref()),
            write(
                json!({ "count": 7 }),
                false,
                at(7),
                ResultStatus::ConflictResolved,
                &["count"]
            )
        );
        assert_eq!(
            stock(4, 2).resolve_with(strategy.as_ref()),
            keep(ResultStatus::ConflictResolved, &["count"])
        );
    }

    #[test]
    fn a_custom_strategy_sees_only_conflicts() {
        let mut registry = StrategyRegistry::with_builtins();
        registry.register(Arc::new(HighestCountWins));
        let strategy = registry.get("highest-count-wins").unwrap();
        // Fresh base: applied as sent, even though the count goes down.
        assert_eq!(
            stock(4, 3).resolve_with(strategy.as_ref()),
            write(
                json!({ "count": 4 }),
                false,
                at(7),
                ResultStatus::Updated,
                &[]
            )
        );
        // Nothing changes: unchanged, before the strategy is asked.
        assert_eq!(
            stock(5, 1).resolve_with(strategy.as_ref()),
            keep(ResultStatus::Unchanged, &[])
        );
    }

    #[test]
    fn a_custom_strategy_is_listed_among_the_known_names() {
        let mut registry = StrategyRegistry::with_builtins();
        registry.register(Arc::new(HighestCountWins));
        let error = registry.get("nope").err().unwrap();
        assert_eq!(
            error.known,
            "client-wins, field-merge, highest-count-wins, last-write-wins, manual, merge, \
             server-wins"
        );
    }

    #[test]
    fn registering_a_strategy_under_a_built_in_name_replaces_it() {
        struct StrictServerWins;
        impl ConflictStrategy for StrictServerWins {
            fn name(&self) -> &str {
                "server-wins"
            }
            fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
                Resolution::Open {
                    conflicting_fields: ctx.differing_fields(),
                }
            }
        }
        let mut registry = StrategyRegistry::with_builtins();
        registry.register(Arc::new(StrictServerWins));
        let strategy = registry.get("server-wins").unwrap();
        assert_eq!(
            update_stale().resolve_with(strategy.as_ref()),
            open(&["email"])
        );
    }

    #[test]
    fn a_registry_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        let registry = StrategyRegistry::with_builtins();
        assert_send_sync(&registry);
        assert_send_sync(&registry.get("field-merge").unwrap());
    }
}

// ---------------------------------------------------------------------------------------------

mod invariants {
    use proptest::prelude::*;
    use proptest::{collection, option, sample};

    use super::*;

    const STRATEGIES: [&dyn ConflictStrategy; 6] = [
        &ServerWins,
        &ClientWins,
        &LastWriteWins,
        &Merge,
        &FieldMerge,
        &Manual,
    ];

    fn key() -> impl Strategy<Value = String> {
        sample::select(vec!["a", "b", "c", "d"]).prop_map(str::to_owned)
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..3).prop_map(Value::from),
            sample::select(vec!["", "x", "y"]).prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 2, |inner| {
            prop_oneof![
                collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                collection::vec((key(), inner), 0..3)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// A few keys in arbitrary order.
    fn map() -> impl Strategy<Value = Map<String, Value>> {
        collection::vec((key(), value()), 0..5).prop_map(|entries| entries.into_iter().collect())
    }

    fn op() -> impl Strategy<Value = ChangeOp> {
        prop_oneof![Just(ChangeOp::Upsert), Just(ChangeOp::Delete)]
    }

    /// Within a few minutes of 10:00, so ties and clamping happen often.
    fn time() -> impl Strategy<Value = Timestamp> {
        (-6i64..=6).prop_map(at)
    }

    fn server() -> impl Strategy<Value = Server> {
        (map(), 1i64..5, time(), any::<bool>()).prop_map(|(data, version, edited_at, deleted)| {
            Server {
                data,
                version,
                edited_at,
                deleted,
            }
        })
    }

    /// Plausible inputs: small versions, times around the server clock.
    fn scenario() -> impl Strategy<Value = Scenario> {
        (
            option::of(server()),
            option::of(map()),
            op(),
            map(),
            option::of(0i64..6),
            option::of(time()),
            time(),
            prop_oneof![Just(0i64), Just(SKEW), 0i64..=10 * MINUTE],
        )
            .prop_map(
                |(server, base, op, data, base_version, edited_at, now, max_skew_ms)| Scenario {
                    server,
                    base,
                    op,
                    data,
                    base_version,
                    edited_at,
                    now,
                    max_skew_ms,
                },
            )
    }

    /// Anything at all, extremes included.
    fn wild_scenario() -> impl Strategy<Value = Scenario> {
        let wild_time = any::<i64>().prop_map(Timestamp::from_millis);
        let wild_server = (map(), any::<i64>(), wild_time.clone(), any::<bool>()).prop_map(
            |(data, version, edited_at, deleted)| Server {
                data,
                version,
                edited_at,
                deleted,
            },
        );
        (
            option::of(wild_server),
            option::of(map()),
            op(),
            map(),
            option::of(any::<i64>()),
            option::of(wild_time.clone()),
            wild_time,
            any::<i64>(),
        )
            .prop_map(
                |(server, base, op, data, base_version, edited_at, now, max_skew_ms)| Scenario {
                    server,
                    base,
                    op,
                    data,
                    base_version,
                    edited_at,
                    now,
                    max_skew_ms,
                },
            )
    }

    /// The change as sent would leave the record exactly as it is.
    fn is_noop(s: &Scenario) -> bool {
        match (&s.server, s.op) {
            (None, ChangeOp::Delete) => true,
            (None, ChangeOp::Upsert) => false,
            (Some(server), ChangeOp::Delete) => server.deleted,
            (Some(server), ChangeOp::Upsert) => {
                !server.deleted
                    && s.data
                        .iter()
                        .all(|(k, v)| server.data.get(k.as_str()) == Some(v))
            }
        }
    }

    /// The stored version after the resolution: a write adds one, nothing else does.
    fn version_after(server: Option<&Server>, resolution: &Resolution) -> Option<i64> {
        match resolution {
            Resolution::Write { .. } => Some(server.map_or(1, |s| s.version.saturating_add(1))),
            Resolution::Keep { .. } | Resolution::Open { .. } => server.map(|s| s.version),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn resolution_is_deterministic(s in scenario()) {
            let copy = s.clone();
            for strategy in STRATEGIES {
                let first = s.resolve_with(strategy);
                prop_assert_eq!(&first, &s.resolve_with(strategy), "{}", strategy.name());
                prop_assert_eq!(&first, &copy.resolve_with(strategy), "{}", strategy.name());
            }
        }

        #[test]
        fn no_input_panics(s in wild_scenario()) {
            for strategy in STRATEGIES {
                let resolution = s.resolve_with(strategy);
                let _ = (resolution.status(), resolution.conflicting_fields());
                // Strategies are public: calling one directly, outside `resolve`, is fine too.
                let _ = strategy.resolve_conflict(&s.context());
                let _ = s.context().client_time();
                let _ = s.context().differing_fields();
            }
        }

        #[test]
        fn a_write_always_changes_the_record_and_a_no_op_is_always_unchanged(s in scenario()) {
            for strategy in STRATEGIES {
                let name = strategy.name();
                let resolution = s.resolve_with(strategy);
                let before = s.server.as_ref().map(|sv| (sv.data.clone(), sv.deleted));
                let after = outcome(s.server.as_ref(), &resolution);
                let version_before = s.server.as_ref().map(|sv| sv.version);
                let version_after = version_after(s.server.as_ref(), &resolution);
                prop_assert!(version_after >= version_before, "{}", name);

                if is_noop(&s) {
                    prop_assert_eq!(&resolution, &keep(ResultStatus::Unchanged, &[]), "{}", name);
                }
                match &resolution {
                    Resolution::Write { patch, status, .. } => {
                        // A new version only when the state differs.
                        prop_assert_ne!(&after, &before, "{}: {:?}", name, resolution);
                        prop_assert_eq!(version_after, version_before.map_or(Some(1), |v| Some(v + 1)));
                        prop_assert_eq!(*status == ResultStatus::Created, s.server.is_none(), "{}", name);
                        prop_assert_ne!(*status, ResultStatus::Unchanged, "{}", name);
                        prop_assert_ne!(*status, ResultStatus::Conflict, "{}", name);
                        // Only the values that change are written.
                        if let Some(server) = &s.server {
                            for (k, v) in patch {
                                prop_assert_ne!(server.data.get(k.as_str()), Some(v), "{}", name);
                            }
                        }
                    }
                    Resolution::Keep { status, conflicting_fields } => {
                        prop_assert_eq!(&after, &before);
                        prop_assert!(
                            matches!(status, ResultStatus::Unchanged | ResultStatus::ConflictResolved),
                            "{}: {:?}", name, status
                        );
                        if *status == ResultStatus::Unchanged {
                            prop_assert!(conflicting_fields.is_empty(), "{}", name);
                        }
                    }
                    Resolution::Open { .. } => {
                        prop_assert_eq!(name, "manual");
                        prop_assert_eq!(&after, &before);
                    }
                }
                // Only a delete deletes.
                if let Some((_, true)) = &after {
                    let was_deleted = s.server.as_ref().is_some_and(|sv| sv.deleted);
                    prop_assert!(was_deleted || s.op == ChangeOp::Delete, "{}", name);
                }
            }
        }

        #[test]
        fn a_change_based_on_the_current_version_is_never_a_conflict(s in scenario()) {
            let fresh = match &s.server {
                Some(server) => s.base_version.unwrap_or(0) >= server.version,
                None => true,
            };
            prop_assume!(fresh);
            for strategy in STRATEGIES {
                let resolution = s.resolve_with(strategy);
                prop_assert!(
                    !matches!(resolution.status(), ResultStatus::Conflict | ResultStatus::ConflictResolved),
                    "{}: {:?}", strategy.name(), resolution
                );
                prop_assert!(resolution.conflicting_fields().is_empty());
            }
        }

        #[test]
        fn under_field_merge_a_field_changed_by_one_side_keeps_that_sides_value(
            base in map(),
            server_changes in collection::vec((key(), option::of(value())), 0..4),
            client_changes in map(),
            whole_record in any::<bool>(),
            base_in_history in any::<bool>(),
            client_time in option::of(time()),
            server_time in time(),
            now in time(),
        ) {
            // The server moved on from the base (`None`: the field was removed).
            let mut server_data = base.clone();
            for (field, value) in server_changes {
                match value {
                    Some(value) => server_data.insert(field, value),
                    None => server_data.remove(&field),
                };
            }
            // The client sends its edits alone, or its whole local copy: base plus edits.
            let data = if whole_record {
                let mut all = base.clone();
                all.extend(client_changes.clone());
                all
            } else {
                client_changes.clone()
            };
            let s = Scenario {
                server: Some(Server { data: server_data, version: 3, edited_at: server_time, deleted: false }),
                base: base_in_history.then(|| base.clone()),
                op: ChangeOp::Upsert,
                data,
                base_version: Some(2),
                edited_at: client_time,
                now,
                max_skew_ms: SKEW,
            };
            let effective_base = if base_in_history { base } else { Map::new() };
            let server = s.server.as_ref().unwrap();
            let resolution = s.resolve_with(&FieldMerge);
            let (merged, deleted) = outcome(Some(server), &resolution).unwrap();
            prop_assert!(!deleted);

            let fields: std::collections::BTreeSet<&String> =
                server.data.keys().chain(s.data.keys()).chain(effective_base.keys()).collect();
            for field in fields {
                let base_value = effective_base.get(field);
                let sent = s.data.get(field);
                let client_changed = sent.is_some_and(|v| Some(v) != base_value);
                let server_changed = server.data.get(field) != base_value;
                if client_changed && !server_changed {
                    prop_assert_eq!(merged.get(field), sent, "client-only change of {}", field);
                }
                if server_changed && !client_changed {
                    prop_assert_eq!(
                        merged.get(field), server.data.get(field), "server-only change of {}", field
                    );
                }
                if !client_changed && !server_changed {
                    prop_assert_eq!(merged.get(field), base_value, "untouched {}", field);
                }
                let listed = resolution.conflicting_fields().contains(field);
                let both_differently = client_changed && server_changed && server.data.get(field) != sent;
                prop_assert_eq!(listed, both_differently, "conflicting_fields and {}", field);
            }
        }
    }
}
