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
