//! `tenant_clocks`: each tenant's last allocated change sequence number. Its row is the tenant's
//! write lock: a write transaction locks it first and stores the new head last.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantClocks::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(TenantClocks::TenantId)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TenantClocks::Head).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantClocks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TenantClocks {
    Table,
    TenantId,
    Head,
}
