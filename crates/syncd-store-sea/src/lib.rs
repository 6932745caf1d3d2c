//! The SQL implementation of the syncd storage contract ([`syncd_store::Store`]), on SQLite
//! and PostgreSQL from one code base. It depends on the model and the store contract only; it
//! must never depend on the engine, the server or any HTTP type.
//!
//! # What SeaORM does here
//! SeaORM provides the connection pool, the async runtime glue, transactions and the
//! migrations (`syncd-migrations`); it is the only ORM in the workspace, hence the crate name.
//! No entity models or ORM queries are used: the statements are few, hot and written by hand
//! with the small builder of [`sql`] (text is `&'static str` only, values are always bound),
//! because they rely on things an ORM does not write: multi-row upserts through a
//! data-modifying `WITH`, `VALUES` lists joined on primary keys, and one JSON text per page on
//! SQLite.
//!
//! # Write transactions and change sequences
//! [`syncd_store::Store::begin_write`] takes the tenant's write lock before anything else and holds it until
//! commit or rollback, so a tenant's seqs are allocated and committed in the same order and no
//! reader can see seq N+1 while N is uncommitted:
//! - **PostgreSQL**: the first statement upserts the tenant's `tenant_clocks` row
//!   (`INSERT … ON CONFLICT DO UPDATE … RETURNING head`), which locks that row until the
//!   transaction ends. Writers of one tenant queue on the row (across instances too); other
//!   tenants are not blocked. [`syncd_store::Store::begin_write_and_load`] saves a round trip: one statement
//!   locks the existing row (`SELECT … FOR UPDATE`) and loads the records. That statement's
//!   snapshot may predate the commit it waited for, so it also reads the head as of its
//!   snapshot; a newer locked head means a writer committed in between, and the records are
//!   loaded again (every writer that changes a record moves the head). Inside one process,
//!   writers first queue on an async lock picked by tenant (64 stripes), so that a burst of
//!   writers for one tenant does not park every pooled connection on the row lock and starve
//!   the readers.
//! - **SQLite**: the transaction starts with `BEGIN IMMEDIATE` (the database write lock is taken
//!   at once, never upgraded later), after an in-process async mutex so that writers queue in
//!   the runtime instead of spinning on `SQLITE_BUSY`. WAL journal, `synchronous = NORMAL`
//!   (a committed write survives the process being killed; an OS crash or power loss may lose
//!   the last commits) and a busy timeout for writers in other processes.
//!
//! A transaction whose `load` or `write` failed can only be rolled back: `commit` refuses it.
//! Dropping a transaction rolls it back.
//!
//! # Statements
//! Every statement goes through one helper that counts it ([`SeaStore::statements`]); the
//! exceptions are the background `ANALYZE` and WAL checkpoints described below. A write transaction costs a fixed
//! number of statements whatever its size: `BEGIN`, the clock, one
//! `load` query for the records and one for the versions, then one multi-row statement per
//! table written and `COMMIT` (on PostgreSQL one statement writes records, versions, the audit
//! row and the head together). A statement is split only when it would bind more values than
//! the database allows (32 766 on SQLite, 65 535 on PostgreSQL), and, on a PostgreSQL connection
//! that may use TLS (any `sslmode` but `disable`/`allow`), when it would carry more than 12 KiB
//! of values: sqlx 0.9.0 sets no `TCP_NODELAY` and writes one TLS record per syscall, so a
//! longer message stalls about 40 ms on Nagle's algorithm (see `sql::PG_TLS_STATEMENT_BYTES`).
//! There a 100-record push costs about three write statements instead of one: a fixed cost per
//! 12 KiB, never per record. With `sslmode=disable` the count does not depend on the size.
//!
//! On SQLite every placeholder is an anonymous `?`: with numbered parameters sqlx resolves every
//! parameter's name, which SQLite answers by a linear scan (quadratic in the statement size).
//!
//! PostgreSQL plans with the table sizes and tenant frequencies of its last ANALYZE: on a fresh
//! or fast-growing database, or for a tenant the statistics do not know yet, the record lookups
//! of `load` read far more rows than they return until autovacuum catches up. The store runs an
//! `ANALYZE` of the planner's columns in the background each time its writes since start double
//! (1 000 to 64 000 records) and each time a tenant's writes since start double from 1 000 (see
//! `housekeeping`).
//!
//! # What is indexed
//! - `records`: primary key (tenant_id, entity_type, id) (`get`, `get_many`, `load`, upserts);
//!   unique (tenant_id, seq) (pull over every type); (tenant_id, entity_type, seq) (pull of some
//!   types, REST lists, pull-pending); (tenant_id, updated_at) (the legacy timestamp pull).
//! - `record_versions`: primary key (tenant_id, entity_type, id, version) (history, merge bases);
//!   (at) for the purge.
//! - `idempotency_keys`: primary key (tenant_id, client_id, key); (created_at) for the purge.
//! - `conflicts`: primary key (tenant_id, id); (tenant_id, status, created_at) for open conflicts.
//! - `push_audit`: primary key (tenant_id, id); (tenant_id, at).
//!
//! Field filters, pending conditions and search look into the JSON `data` of the records of one
//! tenant and type, walked in seq order through (tenant_id, entity_type, seq): they are not
//! indexed (see `filters`).
//!
//! # Values
//! Times are `BIGINT` Unix milliseconds. JSON is `jsonb` on PostgreSQL (which does not keep the
//! key order of objects) and text on SQLite. UUIDs are `uuid` on PostgreSQL and 16-byte blobs on
//! SQLite.
//!
//! # In-memory SQLite
//! `sqlite::memory:` (or `mode=memory`) works for demos and tests: the store keeps exactly one
//! connection open for its whole life (the database lives as long as it does), so reads wait
//! while a write transaction is open, and nothing is durable.

mod columns;
mod connect;
mod deadline;
mod error;
mod filters;
mod housekeeping;
mod inner;
mod lifecycle;
mod logs;
mod reads;
mod rows;
mod sql;
mod stats;
mod store;
mod tx;
mod visibility;

pub use connect::{SeaStore, StoreOptions};
pub use deadline::TimedOut;
