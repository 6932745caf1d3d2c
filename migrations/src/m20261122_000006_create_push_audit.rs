//! `push_audit`: one row per applied push: who pushed, how many changes, what became of them
//! and which seqs they took.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushAudit::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(PushAudit::TenantId).text().not_null())
                    // A UUID v7 made by the writer: time ordered, and the same on both databases
                    // (no autoincrement dialects).
                    .col(ColumnDef::new(PushAudit::Id).uuid().not_null())
                    .col(ColumnDef::new(PushAudit::ClientId).text().not_null())
                    .col(ColumnDef::new(PushAudit::Subject).text().not_null())
                    .col(ColumnDef::new(PushAudit::Changes).integer().not_null())
                    .col(ColumnDef::new(PushAudit::Created).integer().not_null())
                    .col(ColumnDef::new(PushAudit::Updated).integer().not_null())
                    .col(ColumnDef::new(PushAudit::Deleted).integer().not_null())
                    .col(ColumnDef::new(PushAudit::Unchanged).integer().not_null())
                    .col(ColumnDef::new(PushAudit::Conflicts).integer().not_null())
                    .col(ColumnDef::new(PushAudit::SeqFirst).big_integer().null())
                    .col(ColumnDef::new(PushAudit::SeqLast).big_integer().null())
                    .col(ColumnDef::new(PushAudit::At).big_integer().not_null())
                    .primary_key(Index::create().col(PushAudit::TenantId).col(PushAudit::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("push_audit_tenant_at")
                    .table(PushAudit::Table)
                    .col(PushAudit::TenantId)
                    .col(PushAudit::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PushAudit::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PushAudit {
    Table,
    TenantId,
    Id,
    ClientId,
    Subject,
    Changes,
    Created,
    Updated,
    Deleted,
    Unchanged,
    Conflicts,
    SeqFirst,
    SeqLast,
    At,
}
