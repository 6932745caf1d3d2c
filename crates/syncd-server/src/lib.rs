//! The syncd HTTP server: configuration, JWT authentication, the sync and CRUD routes, the JSON
//! error body, metrics, and `build(settings) -> Application` with `port()` and
//! `run_until_stopped()`.
//!
//! This is the only crate that knows about HTTP. The engine it serves is `syncd-core`.

pub mod auth;
pub mod commands;
pub mod config;
pub mod console;
pub mod dev;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod lifecycle;
pub mod limits;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod visibility;
pub mod ws;

pub use config::Settings;
pub use startup::{Application, StartupError, build, check, configure, load_registry, open_store};
