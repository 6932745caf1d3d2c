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
