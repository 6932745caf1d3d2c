//! Push: apps send their local changes (SPEC §4.1).
//!
//! A push is parsed and validated first, without any lock (`validate`). It then joins its
//! tenant's group commit queue (`queue`): while a transaction of the tenant is in flight, the
//! pushes that arrive wait, and the next transaction applies all of them (`group`), each
//! planned on its own so that one push that fails under the lock is refused alone. Each push
//! keeps its own answer (`answer`), results, idempotency entry, audit row and event.

mod answer;
mod group;
mod job;
pub(crate) mod queue;
mod validate;

use serde_json::Value;
use syncd_model::{ClientId, parse_push_body};
use syncd_store::Store;

pub use self::job::PushOutcome;
use self::job::{Idempotency, PushJob};
pub use self::queue::GroupCommitStats;
use self::queue::{Joined, Leadership, Reply};
use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// What a push's idempotency key says before the push is applied.
enum KeyCheck {
    /// Not seen (or expired): apply the push and store its answer under the key.
    Fresh(Idempotency),
    /// Seen with the same body: its stored answer.
    Seen(PushOutcome),
}

impl<S: Store> SyncEngine<S> {
    /// Applies a push body of any of the three shapes. `idempotency_key` (the header) wins over
    /// the body's `pushId`. Validation happens before any lock is taken; every problem of every
    /// change is reported and nothing is applied if there is one.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn push(
        &self,
        p: &Principal,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Result<PushOutcome> {
        let request_hash = answer::hash(&body)?;
        let parsed = parse_push_body(body).map_err(|e| SyncError::bad_request(e.0))?;
        let client = match (&parsed.client_id, p.client_explicit) {
            (Some(id), false) => ClientId::parse(id.as_str())
                .map_err(|e| SyncError::bad_request(format!("clientId: {e}")))?,
            _ => p.client.clone(),
        };
        let key = idempotency_key
            .map(str::to_owned)
            .or_else(|| parsed.push_id.clone());
        let idempotency = match key {
            None => None,
            Some(key) => match self.check_key(p, &client, key, request_hash).await? {
                KeyCheck::Fresh(idem) => Some(idem),
                KeyCheck::Seen(replayed) => return Ok(replayed),
            },
        };
        let planned = self.validate_push(p, parsed).await?;
        let job = PushJob {
            p: p.clone(),
            client,
            planned,
            idempotency,
        };
        self.submit(job).await
    }

    /// How many group commits ran with more than one push, and how many pushes they applied.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        self.groups.stats()
    }

    /// Runs the push in its tenant's next transaction: at once when none is in flight (this
    /// push then leads: its transaction also takes the pushes queued meanwhile), otherwise
    /// after waiting for the leader that takes it along, or hands leadership to it.
    async fn submit(&self, job: PushJob) -> Result<PushOutcome> {
        let bound = self.config.group_commit_changes;
        if bound == 0 {
            return self.run_group(vec![queue::Member::leader(job)]).await;
        }
        let tenant = job.p.tenant.clone();
        let job = match self.groups.join(job) {
            Joined::Lead(job) => *job,
            Joined::Wait(reply) => match reply.await {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead(job)) => *job,
                // The leader's request was dropped while its transaction ran; whether it
                // committed is unknown, as after a timed-out COMMIT.
                Err(_) => return Err(queue::interrupted()),
            },
        };
        // Whatever happens below, a drop included, the next waiter leads.
        let leadership = Leadership::new(&self.groups, tenant);
        let members = leadership.take(job, bound);
        let result = self.run_group(members).await;
        drop(leadership);
        result
    }

    /// A well-formed key not seen before, or the stored answer of the push it was first used
    /// with (read without the lock: the fast path of a replay).
    async fn check_key(
        &self,
        p: &Principal,
        client: &ClientId,
        key: String,
        request_hash: String,
    ) -> Result<KeyCheck> {
        if key.is_empty() || key.len() > 255 {
            return Err(SyncError::bad_request(
                "the idempotency key must be 1 to 255 characters",
            ));
        }
        let idem = Idempotency { key, request_hash };
        match self.store.idempotency(&p.tenant, client, &idem.key).await? {
            Some(entry) if self.idempotency_live(&entry) => {
                answer::replay(entry, &idem).map(KeyCheck::Seen)
            }
            _ => Ok(KeyCheck::Fresh(idem)),
        }
    }
}
