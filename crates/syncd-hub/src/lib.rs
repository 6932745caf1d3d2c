//! The notification hub of syncd: per-tenant fan-out of committed changes to WebSocket
//! connections, subscriptions filtered by entity type and by what the token may read, bounded
//! per-connection queues (a slow client gets `resync_required`, never unbounded memory), and a
//! [`Backplane`] so that several server instances notify each other's clients.
//!
//! Transport-agnostic: it produces encoded text frames and knows nothing of HTTP or actix.
//! It must not depend on the engine or the ORM.

mod admit;
mod hub;
#[cfg(feature = "postgres")]
mod pg;
pub mod protocol;

use async_trait::async_trait;
use syncd_model::{ChangeEvent, EntityTypeName, RecordChange, Seq, TenantId};

pub use hub::{
    Connection, Hub, HubConfig, HubStats, NotReadable, Outgoing, RegisterError, RemoteFacts,
    Subscription,
};
#[cfg(feature = "postgres")]
pub use pg::{PgBackplane, PgListening, PgPublisher};

/// Carries events to the other instances that share the database.
pub trait Backplane: Send + Sync + 'static {
    /// Sends a committed local event; must not block.
    fn forward(&self, event: &ChangeEvent);
}

/// Reads the records of an event that came from another instance (for `data_update`).
#[async_trait]
pub trait RecordSource: Send + Sync + 'static {
    /// Records of `types` whose latest seq is in `(after, upto]`, rendered for clients.
    async fn records(
        &self,
        tenant: &TenantId,
        after: Seq,
        upto: Seq,
        types: &[EntityTypeName],
    ) -> Vec<RecordChange>;
}
