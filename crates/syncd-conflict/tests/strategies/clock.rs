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
