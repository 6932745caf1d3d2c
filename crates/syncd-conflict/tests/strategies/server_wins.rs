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
