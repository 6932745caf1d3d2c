//! syncd end to end: a real server on port 0, real HTTP, SQLite always and PostgreSQL when
//! `SYNCD_TEST_DATABASE_URL` is set. One module per feature; every test body runs on both
//! backends (`<test>::on_sqlite`, `<test>::on_postgres`).
//!
//! This is test target `e2e` of the `syncd` package, so that Cargo builds the binary the process
//! tests start (see the `syncd-e2e` crate documentation): `cargo test -p syncd --test e2e`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Only an integration test of the package that owns the binary gets this variable: compiling
// the suite anywhere else fails here, instead of at the first process test.
const _: &str = env!("CARGO_BIN_EXE_syncd");

mod admin;
mod atomicity;
mod auth;
mod bad_input;
mod config_types;
mod conflicts;
mod console;
mod crud;
mod erasure;
mod fault_process;
mod faults;
mod group_commit;
mod hub_notices;
mod idempotency;
mod isolation;
mod lifecycle;
mod maintenance;
mod ops;
mod pending;
mod process;
mod pull;
mod push;
mod round_trips;
mod visibility;
mod visibility_fuzz;
mod visibility_lifecycle;
mod ws;
mod ws_auth;
mod ws_instances;
mod ws_limits;
mod ws_slow_consumer;
mod ws_subscriptions;
