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
