//! The group commit queue: per tenant, the pushes waiting while a transaction of the tenant is
//! in flight.
//!
//! The first push of a tenant leads: it runs the transaction. Pushes that arrive meanwhile
//! queue here, already validated, each with a oneshot to be answered on. When the leader is
//! done (or its request is dropped: the hand-off runs on drop, so a queue never wedges), the
//! first waiter becomes the leader and its transaction takes the pushes queued up to then, up
//! to a bound of changes. A tenant with nobody in flight has no entry.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use syncd_model::TenantId;
use tokio::sync::oneshot;

use super::job::{PushJob, PushOutcome};
use crate::error::{Result, SyncError};

/// At most this many pushes in one group, whatever their size: the group's audit rows and
/// idempotency entries share statements, and their parameters are bounded.
const MAX_GROUP_PUSHES: usize = 256;

/// What a waiting push is told.
pub(super) enum Reply {
    /// Its answer: the group that took it committed (or failed).
    Done(Result<PushOutcome>),
    /// It leads now: its push comes back to it, to run with the ones queued behind it.
    Lead(Box<PushJob>),
}

/// The outcome of joining the queue.
pub(super) enum Joined {
    /// Nobody is in flight: run the push now.
    Lead(Box<PushJob>),
    /// Wait for the answer (or for leadership).
    Wait(oneshot::Receiver<Reply>),
}

/// A push of a group: the leader's own (answered by returning), or a waiter's.
pub(super) struct Member {
    pub(super) job: PushJob,
    pub(super) reply: Option<oneshot::Sender<Reply>>,
}

impl Member {
    pub(super) fn leader(job: PushJob) -> Self {
        Self { job, reply: None }
    }
}

struct Waiting {
    job: PushJob,
    reply: oneshot::Sender<Reply>,
}

/// How group commit went since the engine started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Transactions that applied more than one push.
    pub groups: u64,
    /// Pushes applied by those transactions.
    pub grouped_pushes: u64,
}

#[derive(Default)]
pub(crate) struct GroupQueue {
    /// A tenant is present while one of its transactions is in flight.
    tenants: Mutex<HashMap<TenantId, VecDeque<Waiting>>>,
    groups: AtomicU64,
    grouped_pushes: AtomicU64,
}

impl GroupQueue {
    fn tenants(&self) -> MutexGuard<'_, HashMap<TenantId, VecDeque<Waiting>>> {
        // Nothing panics while holding the lock; a poisoned map is still consistent.
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn join(&self, job: PushJob) -> Joined {
        let mut tenants = self.tenants();
        match tenants.get_mut(&job.p.tenant) {
            None => {
                tenants.insert(job.p.tenant.clone(), VecDeque::new());
                Joined::Lead(Box::new(job))
            }
            Some(waiting) => {
                let (reply, answer) = oneshot::channel();
                waiting.push_back(Waiting { job, reply });
                Joined::Wait(answer)
            }
        }
    }

    /// The leader's group: its own push, then waiters in arrival order while the group stays
    /// within `bound` changes. A waiter whose request was dropped is left out (nobody waits
    /// for its answer, and nothing of it was applied).
    fn take(&self, tenant: &TenantId, own: PushJob, bound: usize) -> Vec<Member> {
        let mut changes = own.planned.len();
        let mut members = vec![Member::leader(own)];
        let mut tenants = self.tenants();
        let Some(waiting) = tenants.get_mut(tenant) else {
            return members;
        };
        while let Some(next) = waiting.front() {
            if next.reply.is_closed() {
                waiting.pop_front();
                continue;
            }
            let size = next.job.planned.len();
            if members.len() >= MAX_GROUP_PUSHES || changes + size > bound {
                break;
            }
            let Some(next) = waiting.pop_front() else {
                break;
            };
            changes += size;
            members.push(Member {
                job: next.job,
                reply: Some(next.reply),
            });
        }
        drop(tenants);
        if members.len() > 1 {
            self.groups.fetch_add(1, Ordering::Relaxed);
            self.grouped_pushes
                .fetch_add(members.len() as u64, Ordering::Relaxed);
            metrics::counter!("syncd_push_groups_total").increment(1);
            metrics::counter!("syncd_pushes_grouped_total").increment(members.len() as u64);
        }
        members
    }

    /// The leader is done: the first waiter still waiting leads, or the tenant leaves the map.
    fn hand_off(&self, tenant: &TenantId) {
        let mut tenants = self.tenants();
        let Some(waiting) = tenants.get_mut(tenant) else {
            return;
        };
        while let Some(next) = waiting.pop_front() {
            match next.reply.send(Reply::Lead(Box::new(next.job))) {
                Ok(()) => return,
                // Its request was dropped: nothing of it was applied; try the next.
                Err(_) => continue,
            }
        }
        tenants.remove(tenant);
    }

    pub(super) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            groups: self.groups.load(Ordering::Relaxed),
            grouped_pushes: self.grouped_pushes.load(Ordering::Relaxed),
        }
    }
}

/// A tenant's leadership, handed to the next waiter when dropped: after the group's answers,
/// or when the leader's request is dropped midway.
pub(super) struct Leadership<'a> {
    queue: &'a GroupQueue,
    tenant: TenantId,
}

impl<'a> Leadership<'a> {
    pub(super) fn new(queue: &'a GroupQueue, tenant: TenantId) -> Self {
        Self { queue, tenant }
    }

    pub(super) fn take(&self, own: PushJob, bound: usize) -> Vec<Member> {
        self.queue.take(&self.tenant, own, bound)
    }
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        self.queue.hand_off(&self.tenant);
    }
}

/// The answer of a push whose group's leader was dropped while it ran.
pub(super) fn interrupted() -> SyncError {
    SyncError::Unavailable(syncd_store::StoreError::unavailable(
        "the transaction this push was grouped into was interrupted; it may or may not be \
         applied (retry with the same idempotency key)",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use syncd_model::{ClientId, SubjectId};

    use super::*;
    use crate::principal::Principal;

    fn job(tenant: &str) -> PushJob {
        PushJob {
            p: Principal::new(
                TenantId::parse(tenant).unwrap(),
                SubjectId::parse("s").unwrap(),
                ClientId::parse("c").unwrap(),
            ),
            client: ClientId::parse("c").unwrap(),
            planned: Vec::new(),
            idempotency: None,
        }
    }

    fn leads(joined: Joined) -> PushJob {
        match joined {
            Joined::Lead(job) => *job,
            Joined::Wait(_) => panic!("expected to lead"),
        }
    }

    fn waits(joined: Joined) -> oneshot::Receiver<Reply> {
        match joined {
            Joined::Wait(rx) => rx,
            Joined::Lead(_) => panic!("expected to wait"),
        }
    }

    #[test]
    fn a_dropped_leader_hands_leadership_to_the_next_live_waiter_and_the_queue_empties() {
        let queue = GroupQueue::default();
        let t = TenantId::parse("acme").unwrap();
        let first = leads(queue.join(job("acme")));
        // Another tenant is not queued behind this one.
        leads(queue.join(job("other")));
        let mut second = waits(queue.join(job("acme")));
        let gone = waits(queue.join(job("acme")));
        drop(gone);
        let mut third = waits(queue.join(job("acme")));

        // The leader's request is dropped before it took anyone: the first waiter leads.
        drop(first);
        drop(Leadership::new(&queue, t.clone()));
        assert!(matches!(second.try_recv(), Ok(Reply::Lead(_))));

        // The waiter that went away is skipped at the next hand-off.
        drop(Leadership::new(&queue, t.clone()));
        assert!(matches!(third.try_recv(), Ok(Reply::Lead(_))));
        drop(Leadership::new(&queue, t.clone()));
        // Nobody in flight: the next push leads at once.
        leads(queue.join(job("acme")));
        assert_eq!(queue.stats(), GroupCommitStats::default());
    }

    #[test]
    fn a_group_takes_waiters_in_order_up_to_the_bound() {
        let queue = GroupQueue::default();
        let t = TenantId::parse("acme").unwrap();
        let own = leads(queue.join(job("acme")));
        let _waiting: Vec<_> = (0..3).map(|_| waits(queue.join(job("acme")))).collect();
        let leadership = Leadership::new(&queue, t);
        let members = leadership.take(own, 10);
        assert_eq!(members.len(), 4);
        assert!(members[0].reply.is_none() && members[1..].iter().all(|m| m.reply.is_some()));
        assert_eq!(
            queue.stats(),
            GroupCommitStats {
                groups: 1,
                grouped_pushes: 4
            }
        );
    }
}
