//! What scheduled maintenance (SPEC §10) needs: `records.thinned_version` (the version a
//! tombstone was thinned at: a later write makes it a candidate again), an index of tombstones
//! by time (thinning and retention scan across tenants), and `maintenance_lease`, the one row
//! that makes a run exclusive across instances on both databases.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Records::Table)
                    .add_column(ColumnDef::new(Records::ThinnedVersion).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("records_deleted_updated_at")
                    .table(Records::Table)
                    .col(Records::Deleted)
                    .col(Records::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MaintenanceLease::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MaintenanceLease::Name)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MaintenanceLease::Holder).text().not_null())
                    .col(
                        ColumnDef::new(MaintenanceLease::Until)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MaintenanceLease::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("records_deleted_updated_at")
                    .table(Records::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Records::Table)
                    .drop_column(Records::ThinnedVersion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Records {
    Table,
    ThinnedVersion,
    Deleted,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MaintenanceLease {
    Table,
    Name,
    Holder,
    Until,
}
