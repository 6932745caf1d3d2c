//! `conflicts`: the conflict log. `manual` conflicts stay `open` until someone resolves them;
//! conflicts a strategy decided are kept as `auto_resolved`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conflicts::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Conflicts::TenantId).text().not_null())
                    .col(ColumnDef::new(Conflicts::Id).uuid().not_null())
                    .col(ColumnDef::new(Conflicts::EntityType).text().not_null())
                    .col(ColumnDef::new(Conflicts::RecordId).uuid().not_null())
                    .col(ColumnDef::new(Conflicts::Strategy).text().not_null())
                    .col(ColumnDef::new(Conflicts::Status).text().not_null())
                    .col(
                        ColumnDef::new(Conflicts::ServerVersion)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Conflicts::ServerData)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Conflicts::ClientData)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Conflicts::Fields).json_binary().not_null())
                    .col(ColumnDef::new(Conflicts::ClientId).text().not_null())
                    .col(ColumnDef::new(Conflicts::Subject).text().not_null())
                    .col(
                        ColumnDef::new(Conflicts::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Conflicts::ResolvedAt).big_integer().null())
                    .primary_key(Index::create().col(Conflicts::TenantId).col(Conflicts::Id))
                    .to_owned(),
            )
            .await?;
        // The open-conflicts list, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("conflicts_tenant_status_created_at")
                    .table(Conflicts::Table)
                    .col(Conflicts::TenantId)
                    .col(Conflicts::Status)
                    .col(Conflicts::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Conflicts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Conflicts {
    Table,
    TenantId,
    Id,
    EntityType,
    RecordId,
    Strategy,
    Status,
    ServerVersion,
    ServerData,
    ClientData,
    Fields,
    ClientId,
    Subject,
    CreatedAt,
    ResolvedAt,
}
