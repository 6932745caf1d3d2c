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
