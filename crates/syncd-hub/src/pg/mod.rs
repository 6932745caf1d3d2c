//! The PostgreSQL backplane: `NOTIFY` on commit, `LISTEN` on every instance. Payloads are small
//! (tenant, types, counts, cursor, origin client, the rule fields of the written records); an
//! instance that must send `data_update` reads the records from the database. The commands
//! that run beside live servers (`syncd erase`, `syncd reset-sync`) send on the same channel
//! through a [`PgPublisher`]: events like a server's, and reset notices.

use std::sync::{Arc, Weak};
use std::time::Duration;

mod publisher;
mod wire;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use syncd_model::ChangeEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use publisher::PgPublisher;
use wire::{Received, decode, encode};

use crate::{Backplane, Hub};

const CHANNEL: &str = "syncd_events";
/// How long one attempt to re-establish the LISTEN connection, or one NOTIFY, may take.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// LISTEN/NOTIFY between instances on one PostgreSQL database.
pub struct PgBackplane {
    instance: Uuid,
    outgoing: mpsc::Sender<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for PgBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackplane")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// A `LISTEN` connection, ready to deliver into a hub: [`PgListening::start`] makes the
/// backplane once the hub exists (see [`Hub::connected`]).
pub struct PgListening {
    pool: PgPool,
    listener: PgListener,
}

impl PgBackplane {
    /// Opens the `LISTEN` connection. Connecting first, before the hub is built, keeps the
    /// hub's construction synchronous.
    pub async fn listen(pool: PgPool) -> Result<PgListening, sqlx::Error> {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(PgListening { pool, listener })
    }
}

impl PgListening {
    /// Starts sending this instance's events and delivering the others' into `hub`.
    pub fn start(self, hub: Weak<Hub>) -> Arc<PgBackplane> {
        let instance = Uuid::new_v4();
        let (outgoing, rx) = mpsc::channel::<String>(4096);
        let sender = tokio::spawn(send(self.pool.clone(), rx));
        let receiver = tokio::spawn(receive(self.listener, self.pool.clone(), hub, instance));
        Arc::new(PgBackplane {
            instance,
            outgoing,
            tasks: vec![sender, receiver],
        })
    }
}

async fn send(pool: PgPool, mut rx: mpsc::Receiver<String>) {
    while let Some(payload) = rx.recv().await {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(&pool);
        // A database that does not answer must not hold every later event behind this one.
        let sent = match tokio::time::timeout(RECONNECT_TIMEOUT, sent).await {
            Ok(sent) => sent.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        };
        if let Err(e) = sent {
            metrics::counter!("syncd_backplane_send_errors_total").increment(1);
            tracing::warn!(error = %e, "backplane: NOTIFY failed; other instances miss one event");
        }
    }
}

async fn receive(mut listener: PgListener, pool: PgPool, hub: Weak<Hub>, instance: Uuid) {
    loop {
        let received = listener.try_recv().await;
        let Some(strong) = hub.upgrade() else {
            return;
        };
        match received {
            Ok(Some(notification)) => match decode(notification.payload()) {
                Some(Received::Event(from, event, facts)) if from != instance => {
                    strong.deliver_remote(&event, &facts)
                }
                Some(Received::Reset(from, resets)) if from != instance => {
                    for (tenant, epoch, head) in resets {
                        strong.reset_tenant(&tenant, epoch, head);
                    }
                }
                Some(_) => {}
                None => tracing::warn!("backplane: ignoring a malformed payload"),
            },
            Ok(None) => {
                // The connection dropped and sqlx re-established it at once: anything sent
                // meanwhile is lost, so every client is told to catch up.
                tracing::warn!(
                    "backplane: LISTEN connection lost and re-established; clients will resync"
                );
                strong.resync_all();
            }
            Err(e) => {
                // The connection is gone and could not be re-established (the database is down
                // or refuses connections). A fresh listener is made once the database answers
                // again; notifications sent in between are lost, so that is when every client
                // is told to catch up.
                tracing::warn!(error = %e, "backplane: LISTEN connection lost; reconnecting");
                drop(strong);
                listener = reconnect(&pool).await;
                let Some(strong) = hub.upgrade() else {
                    return;
                };
                tracing::info!("backplane: LISTEN connection re-established; clients will resync");
                strong.resync_all();
            }
        }
    }
}

/// A new `LISTEN` connection, retried every second until the database takes it. (The task is
/// aborted when the backplane is dropped.)
async fn reconnect(pool: &PgPool) -> PgListener {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let attempt = tokio::time::timeout(RECONNECT_TIMEOUT, async {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        })
        .await;
        match attempt {
            Ok(Ok(listener)) => return listener,
            Ok(Err(e)) => tracing::debug!(error = %e, "backplane: LISTEN reconnect failed"),
            Err(_) => tracing::debug!("backplane: LISTEN reconnect timed out"),
        }
    }
}

impl PgBackplane {
    pub fn instance(&self) -> Uuid {
        self.instance
    }
}

impl Backplane for PgBackplane {
    fn forward(&self, event: &ChangeEvent) {
        let Some(payload) = encode(self.instance, event) else {
            tracing::warn!("backplane: event too large to forward");
            return;
        };
        if self.outgoing.try_send(payload).is_err() {
            metrics::counter!("syncd_backplane_send_errors_total").increment(1);
            tracing::warn!("backplane: send queue full; other instances miss one event");
        }
    }
}

impl Drop for PgBackplane {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
