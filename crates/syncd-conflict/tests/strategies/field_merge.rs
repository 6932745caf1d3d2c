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
