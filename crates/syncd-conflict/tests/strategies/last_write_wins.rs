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
