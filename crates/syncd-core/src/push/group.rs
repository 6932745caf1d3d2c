//! One group commit: the transaction that applies every push of a group, and their answers.
//!
//! One BEGIN with the tenant's lock and one load of everything any push touches, references or
//! cites; one read of every idempotency key. Then each push is planned in order against the
//! states the earlier ones left. A push whose planning fails (a missing reference, a required
//! field of a create) gives back the seqs it took and gets its own error; nothing of it was
//! staged, so the others go on: that is the savepoint of each push, kept in memory. Then one
//! `write_all` stores the batches of the pushes that stand, one COMMIT, and each push gets its
//! own answer and event, in commit (= seq) order. If the transaction itself fails (the database),
//! every push of the group gets that failure.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use syncd_model::{ClientId, Record, Version};
use syncd_store::{IdempotencyEntry, Loaded, RecordKey, Store, StoreError, WriteBatch, WriteTx};

use super::answer::replay;
use super::job::{Idempotency, PushJob, PushOutcome};
use super::queue::{Member, Reply};
use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::write::{Plan, PushKeys, push_keys};

/// What became of one push of the group while planning.
enum Slot {
    /// Decided without writing: a replay of a stored answer, or the push's own error.
    Answered(Result<PushOutcome>),
    /// Planned; `body` is its answer when it has an idempotency key (stored with it).
    Planned {
        plan: Box<Plan>,
        body: Option<String>,
    },
    /// The same key and body as the earlier push at this index of the group: its answer.
    SameAs(usize),
}

/// The records as the group's transaction sees them, push after push.
#[derive(Default)]
struct GroupState {
    current: HashMap<RecordKey, Record>,
    bases: HashMap<(RecordKey, Version), Map<String, Value>>,
    /// Base versions some push cites: kept when an earlier push of the group writes them.
    cited: HashSet<(RecordKey, Version)>,
}

impl GroupState {
    /// What one push of the group would have loaded on its own.
    fn loaded_for(&self, keys: &PushKeys) -> Loaded {
        Loaded {
            records: keys
                .keys
                .iter()
                .filter_map(|k| self.current.get(k).cloned())
                .collect(),
            versions: keys
                .versions
                .iter()
                .filter_map(|v| self.bases.get(v).map(|d| (v.0.clone(), v.1, d.clone())))
                .collect(),
        }
    }

    /// All of it, for a group of one push: what it loaded, moved rather than copied.
    fn into_loaded(self) -> Loaded {
        Loaded {
            records: self.current.into_values().collect(),
            versions: self
                .bases
                .into_iter()
                .map(|((k, v), d)| (k, v, d))
                .collect(),
        }
    }

    /// A planned push's writes become what the later pushes see.
    fn advance(&mut self, batch: &WriteBatch) {
        for w in &batch.records {
            let key = RecordKey::new(w.record.entity_type.clone(), w.record.id);
            let cited = (key, w.record.version);
            if self.cited.contains(&cited) {
                self.bases.insert(cited.clone(), w.record.data.clone());
            }
            self.current.insert(cited.0, w.record.clone());
        }
    }
}

impl<S: Store> SyncEngine<S> {
    /// Runs one group and answers every waiter of it; returns the leader's own answer.
    pub(super) async fn run_group(&self, members: Vec<Member>) -> Result<PushOutcome> {
        let (jobs, replies): (Vec<PushJob>, Vec<_>) =
            members.into_iter().map(|m| (m.job, m.reply)).unzip();
        let count = jobs.len();
        let results = match self.group_transaction(jobs).await {
            Ok(results) => results,
            Err(e) => {
                let mut results: Vec<Result<PushOutcome>> =
                    (1..count).map(|_| Err(shared_failure(&e))).collect();
                results.insert(0, Err(e));
                results
            }
        };
        let mut own = None;
        for (result, reply) in results.into_iter().zip(replies) {
            match reply {
                None => own = Some(result),
                // A waiter that went away does not need its answer.
                Some(reply) => drop(reply.send(Reply::Done(result))),
            }
        }
        own.unwrap_or_else(|| Err(SyncError::internal("a group commit lost its leader's push")))
    }

    /// The group's transaction; one answer per push, in the group's order.
    async fn group_transaction(&self, mut jobs: Vec<PushJob>) -> Result<Vec<Result<PushOutcome>>> {
        let Some(first) = jobs.first() else {
            return Ok(Vec::new());
        };
        let tenant = first.p.tenant.clone();
        let keys: Vec<PushKeys> = jobs.iter().map(|j| push_keys(&j.planned)).collect();
        let mut all_keys: HashSet<&RecordKey> = HashSet::new();
        let mut cited = HashSet::new();
        for k in &keys {
            all_keys.extend(&k.keys);
            cited.extend(k.versions.iter().cloned());
        }
        let all_keys: Vec<RecordKey> = all_keys.into_iter().cloned().collect();
        let all_versions: Vec<(RecordKey, Version)> = cited.iter().cloned().collect();
        let (mut tx, loaded) = self
            .store
            .begin_write_and_load(&tenant, &all_keys, &all_versions)
            .await?;
        let asked: Vec<(ClientId, String)> = jobs
            .iter()
            .filter_map(|j| {
                j.idempotency
                    .as_ref()
                    .map(|i| (j.client.clone(), i.key.clone()))
            })
            .collect();
        let seen = if asked.is_empty() {
            Vec::new()
        } else {
            tx.idempotency_many(&asked).await?
        };
        let (current, bases) = loaded.into_maps();
        let mut state = GroupState {
            current,
            bases,
            cited,
        };
        let slots = self.plan_group(&mut jobs, keys, &mut state, seen, tx.as_mut())?;
        self.finish_group(jobs, slots, tx).await
    }

    /// Plans every push in order; a push that fails gives its seqs back and is answered alone.
    fn plan_group(
        &self,
        jobs: &mut [PushJob],
        keys: Vec<PushKeys>,
        state: &mut GroupState,
        seen: Vec<IdempotencyEntry>,
        tx: &mut dyn WriteTx,
    ) -> Result<Vec<Slot>> {
        let seen: HashMap<(ClientId, String), IdempotencyEntry> = seen
            .into_iter()
            .filter(|e| self.idempotency_live(e))
            .map(|e| ((e.client_id.clone(), e.key.clone()), e))
            .collect();
        // Keys claimed by an earlier push of this group that stands: its index and body digest.
        let mut claimed: HashMap<(ClientId, String), (usize, String)> = HashMap::new();
        let single = jobs.len() == 1;
        let mut slots = Vec::with_capacity(jobs.len());
        for (i, (job, keys)) in jobs.iter_mut().zip(keys).enumerate() {
            let id = job
                .idempotency
                .as_ref()
                .map(|idem| (job.client.clone(), idem.key.clone()));
            if let (Some(id), Some(idem)) = (&id, &job.idempotency) {
                // Several pushes of the group may retry the same stored key.
                if let Some(entry) = seen.get(id) {
                    slots.push(Slot::Answered(replay(entry.clone(), idem)));
                    continue;
                }
                if let Some((earlier, hash)) = claimed.get(id) {
                    slots.push(if *hash == idem.request_hash {
                        Slot::SameAs(*earlier)
                    } else {
                        Slot::Answered(Err(SyncError::IdempotencyKeyReused))
                    });
                    continue;
                }
            }
            let loaded = if single {
                std::mem::take(state).into_loaded()
            } else {
                state.loaded_for(&keys)
            };
            let before = tx.head();
            let planned = std::mem::take(&mut job.planned);
            let plan = self.plan_push(&job.p, &job.client, planned, loaded, keys.reused, tx);
            let stamped = plan.and_then(|mut plan| match &job.idempotency {
                Some(idem) => self
                    .stamp(&mut plan, &job.client, idem)
                    .map(|body| (plan, Some(body))),
                None => Ok((plan, None)),
            });
            let (plan, body) = match stamped {
                Ok(planned) => planned,
                Err(e) => {
                    tx.rewind(before)?;
                    slots.push(Slot::Answered(Err(e)));
                    continue;
                }
            };
            if !single {
                state.advance(&plan.batch);
            }
            if let (Some(id), Some(idem)) = (id, &job.idempotency) {
                claimed.insert(id, (i, idem.request_hash.clone()));
            }
            slots.push(Slot::Planned {
                plan: Box::new(plan),
                body,
            });
        }
        Ok(slots)
    }

    /// Stores what the group planned, commits, and answers each push in order.
    async fn finish_group(
        &self,
        jobs: Vec<PushJob>,
        slots: Vec<Slot>,
        mut tx: Box<dyn WriteTx>,
    ) -> Result<Vec<Result<PushOutcome>>> {
        let batches: Vec<&WriteBatch> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Planned { plan, .. } => Some(&plan.batch),
                Slot::Answered(_) | Slot::SameAs(_) => None,
            })
            .collect();
        if batches.is_empty() {
            // Nothing to store; dropping the transaction releases the lock.
            drop(tx);
        } else {
            tx.write_all(&batches).await?;
            tx.commit().await?;
        }
        // The bodies of the pushes with an idempotency key, for a later push of the group
        // that came with the same key and body.
        let mut bodies: Vec<Option<String>> = Vec::with_capacity(slots.len());
        let mut results = Vec::with_capacity(slots.len());
        for (job, slot) in jobs.into_iter().zip(slots) {
            let result = match slot {
                Slot::Answered(result) => result,
                Slot::SameAs(earlier) => match bodies.get(earlier).cloned().flatten() {
                    Some(body) => {
                        metrics::counter!("syncd_push_replays_total").increment(1);
                        Ok(PushOutcome {
                            body,
                            replayed: true,
                        })
                    }
                    None => Err(SyncError::internal(
                        "a push of the group repeats a key whose first push has no answer",
                    )),
                },
                Slot::Planned { plan, body } => self.answer(&job, *plan, body),
            };
            bodies.push(match (&result, &job.idempotency) {
                (Ok(outcome), Some(_)) => Some(outcome.body.clone()),
                _ => None,
            });
            results.push(result);
        }
        Ok(results)
    }

    /// A committed push's answer and event.
    fn answer(&self, job: &PushJob, plan: Plan, body: Option<String>) -> Result<PushOutcome> {
        let count = plan.outcomes.len();
        let written = self.publish(&job.p, &job.client, plan);
        metrics::counter!("syncd_push_total").increment(1);
        metrics::counter!("syncd_push_changes_total").increment(count as u64);
        let body = match body {
            Some(body) => body,
            None => self.push_body(&written.outcomes, written.cursor, written.at)?,
        };
        Ok(PushOutcome {
            body,
            replayed: false,
        })
    }

    /// Renders a push's answer under the lock and puts it into its batch under its key, so the
    /// entry holds exactly the bytes the client gets.
    fn stamp(&self, plan: &mut Plan, client: &ClientId, idem: &Idempotency) -> Result<String> {
        plan.render();
        let body = self.push_body(&plan.outcomes, plan.cursor, plan.at)?;
        plan.batch.idempotency = Some(IdempotencyEntry {
            client_id: client.clone(),
            key: idem.key.clone(),
            request_hash: idem.request_hash.clone(),
            response: body.clone(),
            created_at: plan.at,
        });
        Ok(body)
    }
}

/// A failure of the group's transaction, as told to each push of the group but the leader
/// (which gets the error itself): the same kind, its cause chain as text.
fn shared_failure(e: &SyncError) -> SyncError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    let cause = GroupFailed(chain);
    match e {
        SyncError::Unavailable(_) => {
            SyncError::Unavailable(StoreError::Unavailable(Box::new(cause)))
        }
        _ => SyncError::Internal(Box::new(cause)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the group commit this push was part of failed: {0}")]
struct GroupFailed(String);
