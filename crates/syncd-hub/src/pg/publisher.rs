//! The sending side of the backplane alone, for the commands that run beside live servers.

use std::sync::Arc;

use sqlx::PgPool;
use syncd_model::{ChangeEvent, Epoch, Notifier, Seq, TenantId};
use uuid::Uuid;

use super::CHANNEL;
use super::wire::{encode, encode_resets};

/// The sending side alone, for commands that run beside live servers: what they publish is
/// queued and sent by [`PgPublisher::flush`] before the command exits.
pub struct PgPublisher {
    pool: PgPool,
    instance: Uuid,
    pending: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for PgPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPublisher")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl PgPublisher {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            instance: Uuid::new_v4(),
            pending: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn queue(&self, payloads: impl IntoIterator<Item = String>) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(payloads);
    }

    /// Queues the notice that these tenants started a new sync epoch (at `head`).
    pub fn reset(&self, resets: &[(TenantId, Epoch, Seq)]) {
        self.queue(encode_resets(self.instance, resets));
    }

    /// Sends everything queued, in order; returns how many notices went out.
    pub async fn flush(&self) -> Result<usize, sqlx::Error> {
        let payloads = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for payload in &payloads {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&self.pool)
                .await?;
        }
        Ok(payloads.len())
    }
}

impl Notifier for PgPublisher {
    fn publish(&self, event: Arc<ChangeEvent>) {
        match encode(self.instance, &event) {
            Some(payload) => self.queue([payload]),
            None => tracing::warn!("backplane: event too large to forward"),
        }
    }
}
