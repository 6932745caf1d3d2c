//! `records`: the latest state of every record, tombstones included.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Records::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Records::TenantId).text().not_null())
                    .col(ColumnDef::new(Records::EntityType).text().not_null())
                    .col(ColumnDef::new(Records::Id).uuid().not_null())
                    .col(ColumnDef::new(Records::Version).big_integer().not_null())
                    .col(ColumnDef::new(Records::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Records::Data).json_binary().not_null())
                    .col(ColumnDef::new(Records::Deleted).boolean().not_null())
                    .col(ColumnDef::new(Records::SyncStatus).text().not_null())
                    .col(ColumnDef::new(Records::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Records::UpdatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Records::EditedAt).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(Records::TenantId)
                            .col(Records::EntityType)
                            .col(Records::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Pull by cursor over every type: one seq is one write of one tenant.
        manager
            .create_index(
                Index::create()
                    .name("records_tenant_seq")
                    .table(Records::Table)
                    .col(Records::TenantId)
                    .col(Records::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Pull by cursor of some types, REST lists and pull-pending (seq order within a type).
        manager
            .create_index(
                Index::create()
                    .name("records_tenant_type_seq")
                    .table(Records::Table)
                    .col(Records::TenantId)
                    .col(Records::EntityType)
                    .col(Records::Seq)
                    .to_owned(),
            )
            .await?;
        // The seeds' legacy `updatedAt > ts` pull.
        manager
            .create_index(
                Index::create()
                    .name("records_tenant_updated_at")
                    .table(Records::Table)
                    .col(Records::TenantId)
                    .col(Records::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Records::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Records {
    Table,
    TenantId,
    EntityType,
    Id,
    Version,
    Seq,
    Data,
    Deleted,
    SyncStatus,
    CreatedAt,
    UpdatedAt,
    EditedAt,
}
