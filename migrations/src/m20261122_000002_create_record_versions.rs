//! `record_versions`: every version a record had inside the history window (the current one
//! included): the base of three-way merges and the audit trail.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecordVersions::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(RecordVersions::TenantId).text().not_null())
                    .col(ColumnDef::new(RecordVersions::EntityType).text().not_null())
                    .col(ColumnDef::new(RecordVersions::Id).uuid().not_null())
                    .col(
                        ColumnDef::new(RecordVersions::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RecordVersions::Seq).big_integer().not_null())
                    .col(ColumnDef::new(RecordVersions::Kind).text().not_null())
                    .col(
                        ColumnDef::new(RecordVersions::Data)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RecordVersions::Deleted).boolean().not_null())
                    .col(
                        ColumnDef::new(RecordVersions::ChangedFields)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RecordVersions::ClientId).text().not_null())
                    .col(ColumnDef::new(RecordVersions::Subject).text().not_null())
                    .col(ColumnDef::new(RecordVersions::At).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(RecordVersions::TenantId)
                            .col(RecordVersions::EntityType)
                            .col(RecordVersions::Id)
                            .col(RecordVersions::Version),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge of versions older than the history window scans by time.
        manager
            .create_index(
                Index::create()
                    .name("record_versions_at")
                    .table(RecordVersions::Table)
                    .col(RecordVersions::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecordVersions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RecordVersions {
    Table,
    TenantId,
    EntityType,
    Id,
    Version,
    Seq,
    Kind,
    Data,
    Deleted,
    ChangedFields,
    ClientId,
    Subject,
    At,
}
