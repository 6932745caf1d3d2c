//! The sync engine of syncd: push, pull, pull-pending, REST CRUD and manual conflicts, composed
//! from the entity registry, the conflict strategies, a [`syncd_store::Store`] and a
//! [`syncd_model::Notifier`].
//!
//! Embedding services use this crate directly. It knows nothing about HTTP or tokens: callers
//! pass an authenticated [`Principal`]. It must not depend on actix, an ORM or a database driver.

mod answer;
mod config;
mod conflicts;
mod crud;
mod engine;
mod envelope;
mod error;
mod lifecycle;
mod principal;
mod pull;
mod push;
mod stats;
mod visibility;
mod write;

pub use answer::Answer;
pub use config::{EngineConfig, StrategyConfigError, days_to_ms};
pub use crud::{CrudWrite, ListParams, ListResponse};
pub use engine::{StartError, SyncEngine};
pub use envelope::{Data, Envelope};
pub use error::{ErrorEnvelope, ErrorKind, InvalidKind, Result, SyncError};
pub use lifecycle::{ERASED, Erased, MaintenanceReport, VerifyResponse, record_hash, thin_data};
pub use principal::{Principal, Scopes};
pub use pull::{PullFrom, PullRequest, PullResponse, entity_types};
pub use push::{GroupCommitStats, PushOutcome};
pub use stats::{Activity, COUNTS_TTL, Latency, LiveFigures, TenantStats, Window};
pub use visibility::RemovalView;
