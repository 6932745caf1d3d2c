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
