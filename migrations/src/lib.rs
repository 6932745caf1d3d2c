//! The database schema of syncd as sea-orm-migration migrations. The same migrations serve
//! SQLite and PostgreSQL; the storage crate (`syncd-store-sea`) runs them through [`Migrator`].
//! This crate depends on SeaORM's migration layer only, never on the rest of syncd.
//!
//! Conventions shared by every table:
//! - every table's primary key starts with `tenant_id` (except the tenant clock, whose key *is*
//!   the tenant), so no row can be addressed without naming its tenant;
//! - times are `BIGINT` Unix milliseconds (UTC), which sort and compare identically on both
//!   databases;
//! - JSON columns are `jsonb` on PostgreSQL and JSON text on SQLite (`json_binary()`);
//! - UUIDs are `uuid` on PostgreSQL and 16-byte blobs on SQLite (how sqlx binds them).
//!
//! One migration per file: `DeriveMigrationName` names a migration after its source file.

use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261122_000001_create_records;
mod m20261122_000002_create_record_versions;
mod m20261122_000003_create_tenant_clocks;
mod m20261122_000004_create_idempotency_keys;
mod m20261122_000005_create_conflicts;
mod m20261122_000006_create_push_audit;
mod m20261204_000007_add_sync_epochs;
mod m20261204_000008_add_maintenance;

/// Runs the migrations of syncd in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_records::Migration),
            Box::new(m20261122_000002_create_record_versions::Migration),
            Box::new(m20261122_000003_create_tenant_clocks::Migration),
            Box::new(m20261122_000004_create_idempotency_keys::Migration),
            Box::new(m20261122_000005_create_conflicts::Migration),
            Box::new(m20261122_000006_create_push_audit::Migration),
            Box::new(m20261204_000007_add_sync_epochs::Migration),
            Box::new(m20261204_000008_add_maintenance::Migration),
        ]
    }
}
