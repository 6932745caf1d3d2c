//! The contract test suite of [`syncd_store::Store`]: every behaviour the engine relies on, as
//! cases generic over the store, so that the same suite runs against the SeaORM store (SQLite
//! and PostgreSQL) and against a store of your own.
//!
//! This crate is test code: the cases panic on the first expectation that does not hold. It
//! depends on the store contract and the model only; it must never depend on a backend (the
//! SQLite store below is a dev-dependency of its doc test, nothing more).
//!
//! # Running it against a store
//! Write a *runner*: an async function that makes a fresh, empty, ready store (its own database
//! or schema), hands it to the case and cleans up afterwards. Then either
//! - `store_contract!(runner);` in an integration test file: one `#[tokio::test]` per case,
//!   named after the case (the file needs `tokio` with the `macros` and `rt-multi-thread`
//!   features as a dev-dependency), or
//! - `store_contract!(sequentially runner).await` inside one async test or `main`: every case
//!   in turn.
//!
//! The runner's signature, for a store type `MyStore`:
//! `async fn runner<F, Fut>(case: F) where F: FnOnce(MyStore) -> Fut, Fut: Future<Output = ()>`.
//! A runner that spawns the case (to clean up even when it panics) also needs
//! `Fut: Send + 'static`; the cases' futures are `Send` for any store.
//!
//! Against the SQLite store, through its public API only:
//!
//! ```
//! use std::future::Future;
//!
//! use syncd_store_sea::{SeaStore, StoreOptions};
//!
//! /// Each case gets a migrated store on a new SQLite file, removed afterwards.
//! async fn on_sqlite<F, Fut>(case: F)
//! where
//!     F: FnOnce(SeaStore) -> Fut,
//!     Fut: Future<Output = ()>,
//! {
//!     let path = std::env::temp_dir().join(format!("contract-{}.db", uuid::Uuid::new_v4()));
//!     let url = format!("sqlite://{}?mode=rwc", path.display());
//!     let store = SeaStore::connect(&url, StoreOptions::default()).await.unwrap();
//!     store.migrate().await.unwrap();
//!     case(store.clone()).await;
//!     store.close().await.unwrap();
//!     for suffix in ["", "-wal", "-shm"] {
//!         let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     syncd_store_contract::store_contract!(sequentially on_sqlite).await;
//! }
//! ```
//!
//! # What the cases assume
//! - The store is empty and ready (migrated) when the case starts, and nothing else writes to
//!   it meanwhile. Cases name their own tenants (`acme`, `a`, `b`, …).
//! - The two [`cases::concurrency`] cases take two handles: with `store_contract!` both are the
//!   same store. A backend that runs as several instances on one database (as the SQL stores
//!   do) should also call them with a second instance, from its own tests.
//! - Field filters, pending conditions and search compare JSON values; the cases use only
//!   strings, numbers and null, where SQLite and PostgreSQL agree.
//!
//! Backend-specific cases (statement counts, migrations, closing a pool, planner statistics)
//! live with the backend; [`fixtures`] is public so they can write records the same way.

// Test code: a failed expectation is a panic, by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cases;
pub mod fixtures;

/// Runs the whole contract against a store; see the [crate documentation](crate) for the runner.
///
/// - `store_contract!(runner);` expands to one `#[tokio::test]` per case (an item position:
///   a test file or module).
/// - `store_contract!(sequentially runner)` is a future that runs every case in turn (an
///   expression: await it).
#[macro_export]
macro_rules! store_contract {
    (sequentially $run:path) => {
        $crate::__store_contract_cases!(@sequence $run)
    };
    ($run:path) => {
        $crate::__store_contract_cases!(@tests $run);
    };
}

/// The list of cases, written once for both forms of [`store_contract!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_cases {
    (
        @tests $run:path;
        one: [$($m1:ident::$c1:ident),* $(,)?];
        two: [$($m2:ident::$c2:ident),* $(,)?];
    ) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $c1() {
                $run(|store| async move { $crate::cases::$m1::$c1(&store).await }).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $c2() {
                $run(|store| async move { $crate::cases::$m2::$c2(&store, &store).await }).await;
            }
        )*
    };
    (
        @sequence $run:path;
        one: [$($m1:ident::$c1:ident),* $(,)?];
        two: [$($m2:ident::$c2:ident),* $(,)?];
    ) => {
        async {
            $(
                $run(|store| async move { $crate::cases::$m1::$c1(&store).await }).await;
            )*
            $(
                $run(|store| async move { $crate::cases::$m2::$c2(&store, &store).await }).await;
            )*
        }
    };
    (@$mode:ident $run:path) => {
        $crate::__store_contract_cases! { @$mode $run;
            one: [
                records::a_record_round_trips_every_field,
                records::seqs_increase_strictly_per_tenant_and_independently_between_tenants,
                tenancy::the_same_record_id_in_two_tenants_is_two_independent_rows,
                tenancy::no_read_path_crosses_tenants,
                changes::changes_return_the_latest_state_once_with_tombstones,
                changes::changes_can_be_limited_to_some_entity_types,
                changes::changes_page_with_has_more_and_next,
                changes::changes_since_a_timestamp_use_updated_at,
                queries::pending_matches_json_equality_and_sync_status,
                queries::list_filters_and_pages_live_records,
                queries::search_is_case_insensitive_and_sql_metacharacters_are_literal,
                queries::history_lists_the_versions_inside_the_window,
                conflicts::conflicts_are_logged_listed_and_resolved,
                conflicts::a_conflict_id_logged_twice_is_a_conflict,
                idempotency::idempotency_entries_are_stored_read_and_purged,
                idempotency::purge_keeps_each_records_current_version,
                transactions::begin_write_and_load_returns_what_begin_write_then_load_returns,
                transactions::a_write_that_fails_halfway_leaves_nothing_behind,
                transactions::a_transaction_whose_write_failed_refuses_to_commit,
                transactions::dropping_a_write_transaction_rolls_it_back,
                groups::write_all_stores_several_batches_each_with_its_writer,
                groups::idempotency_many_reads_several_keys_under_the_lock,
            ];
            two: [
                concurrency::concurrent_writers_and_cursor_readers_see_every_change_once_in_order,
                concurrency::read_modify_writes_from_two_instances_lose_no_update,
            ];
        }
    };
}
