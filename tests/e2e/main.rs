//! syncd end to end: a real server on port 0, real HTTP, SQLite always and PostgreSQL when
//! `SYNCD_TEST_DATABASE_URL` is set. One module per feature; every test body runs on both
//! backends (`<test>::on_sqlite`, `<test>::on_postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod atomicity;
mod auth;
mod bad_input;
mod config_types;
mod conflicts;
mod console;
mod crud;
mod fault_process;
mod faults;
mod idempotency;
mod isolation;
mod ops;
mod pending;
mod process;
mod pull;
mod push;
mod round_trips;
mod ws;
mod ws_auth;
mod ws_instances;
mod ws_limits;
mod ws_slow_consumer;
mod ws_subscriptions;
