//! `tenant_clocks.epoch` and `tenant_clocks.horizon`: the tenant's sync epoch (a cursor of
//! another epoch is refused, SPEC §10) and the highest seq maintenance dropped for good (a cursor
//! below it could miss a delete). Existing tenants start at epoch 0 with horizon 0, which is what
//! every cursor handed out before this migration carries, so those cursors keep working.
//!
//! The row of the empty tenant id (never a valid tenant) holds the epoch floor of
//! `reset-sync --all`: a tenant created later starts at it, so that a cursor from before a
//! restored backup is refused even for a tenant the backup did not know.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one column at a time.
        for column in [TenantClocks::Epoch, TenantClocks::Horizon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TenantClocks::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [TenantClocks::Horizon, TenantClocks::Epoch] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TenantClocks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum TenantClocks {
    Table,
    Epoch,
    Horizon,
}
