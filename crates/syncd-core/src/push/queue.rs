//! The group commit queue: per tenant, the pushes waiting while a transaction of the tenant is
//! in flight.
//!
//! The first push of a tenant leads: it runs the transaction. Pushes that arrive meanwhile
//! queue here, already validated, each with a oneshot to be answered on. When the leader is
//! done (or its request is dropped: the hand-off runs on drop, so a queue never wedges), the
//! next waiter becomes the leader and its transaction takes the pushes queued up to then, up
//! to a bound of changes. A tenant with nobody in flight has no entry.
//!
//! Small pushes go first: one edit on a phone should not wait for the bulk uploads of the
//! tenant's other devices queued before it. So the next leader is the first small push waiting
//! (if any), and a small leader's group takes only small pushes, so that its transaction stays
//! short. A push passed over this way `MAX_OVERTAKEN` times leads at the next hand-off, so a
//! stream of small pushes cannot starve a large one.

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

/// A push of at most this many changes is small: what an app sends for a user's edit.
const SMALL_PUSH: usize = 16;

/// How many times a waiting push can be overtaken by small pushes before it leads.
const MAX_OVERTAKEN: u32 = 4;

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
    /// How many small pushes led before this one although they arrived after it.
    overtaken: u32,
}

impl Waiting {
    fn is_small(&self) -> bool {
        is_small(&self.job)
    }
}

fn is_small(job: &PushJob) -> bool {
    job.planned.len() <= SMALL_PUSH
}

/// The waiter to lead next: the first small one, unless the front one was overtaken enough.
fn next_leader(waiting: &VecDeque<Waiting>) -> Option<usize> {
    let front = waiting.front()?;
    if front.overtaken >= MAX_OVERTAKEN {
        return Some(0);
    }
    Some(waiting.iter().position(Waiting::is_small).unwrap_or(0))
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
                waiting.push_back(Waiting {
                    job,
                    reply,
                    overtaken: 0,
                });
                Joined::Wait(answer)
            }
        }
    }

    /// The leader's group: its own push, then waiters in arrival order while the group stays
    /// within `bound` changes; a small leader takes only small waiters. A waiter whose request
    /// was dropped is left out (nobody waits for its answer, and nothing of it was applied).
    fn take(&self, tenant: &TenantId, own: PushJob, bound: usize) -> Vec<Member> {
        let small_only = is_small(&own);
        let mut changes = own.planned.len();
        let mut members = vec![Member::leader(own)];
        let mut tenants = self.tenants();
        let Some(waiting) = tenants.get_mut(tenant) else {
            return members;
        };
        waiting.retain(|w| !w.reply.is_closed());
        let mut left = VecDeque::with_capacity(waiting.len());
        // Arrival order holds among the pushes taken: after the first wanted one that does not
        // fit, the group is full.
        let mut full = false;
        for next in waiting.drain(..) {
            let size = next.job.planned.len();
            let wanted = !full && (!small_only || next.is_small());
            let fits = members.len() < MAX_GROUP_PUSHES && changes + size <= bound;
            if !(wanted && fits) {
                full |= wanted;
                left.push_back(next);
                continue;
            }
            changes += size;
            members.push(Member {
                job: next.job,
                reply: Some(next.reply),
            });
        }
        *waiting = left;
        drop(tenants);
        self.count_group(members.len());
        members
    }

    fn count_group(&self, pushes: usize) {
        if pushes > 1 {
            self.groups.fetch_add(1, Ordering::Relaxed);
            self.grouped_pushes
                .fetch_add(pushes as u64, Ordering::Relaxed);
            metrics::counter!("syncd_push_groups_total").increment(1);
            metrics::counter!("syncd_pushes_grouped_total").increment(pushes as u64);
        }
    }

    /// The leader is done: the next waiter still waiting leads (see `next_leader`), or the
    /// tenant leaves the map.
    fn hand_off(&self, tenant: &TenantId) {
        let mut tenants = self.tenants();
        let Some(waiting) = tenants.get_mut(tenant) else {
            return;
        };
        while let Some(index) = next_leader(waiting) {
            let Some(next) = waiting.remove(index) else {
                break;
            };
            match next.reply.send(Reply::Lead(Box::new(next.job))) {
                Ok(()) => {
                    waiting
                        .iter_mut()
                        .take(index)
                        .for_each(|w| w.overtaken += 1);
                    return;
                }
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

    use std::sync::Arc;

    use serde_json::Map;
    use syncd_model::{ChangeOp, ClientId, EntityType, EntityTypeName, RecordId, SubjectId};

    use super::*;
    use crate::principal::Principal;
    use crate::write::planned::PlannedChange;

    fn sizes(members: &[Member]) -> Vec<usize> {
        members.iter().map(|m| m.job.planned.len()).collect()
    }

    fn led(rx: &mut oneshot::Receiver<Reply>) -> PushJob {
        match rx.try_recv() {
            Ok(Reply::Lead(job)) => *job,
            _ => panic!("expected to lead"),
        }
    }

    fn job(tenant: &str) -> PushJob {
        sized(tenant, 0)
    }

    /// A push of `changes` changes.
    fn sized(tenant: &str, changes: usize) -> PushJob {
        let kind = Arc::new(EntityType::builder(EntityTypeName::parse("tasks").unwrap()).build());
        let change = |index| PlannedChange {
            index,
            entity_type: kind.clone(),
            op: ChangeOp::Upsert,
            id: RecordId::new_v7(),
            base_version: None,
            client_edit_time: None,
            data: Map::new(),
        };
        PushJob {
            p: Principal::new(
                TenantId::parse(tenant).unwrap(),
                SubjectId::parse("s").unwrap(),
                ClientId::parse("c").unwrap(),
            ),
            client: ClientId::parse("c").unwrap(),
            planned: (0..changes).map(change).collect(),
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

    #[test]
    fn a_small_push_leads_before_large_ones_queued_earlier_and_takes_only_small_ones() {
        let queue = GroupQueue::default();
        let t = TenantId::parse("acme").unwrap();
        let own = leads(queue.join(sized("acme", 100)));
        let mut large = waits(queue.join(sized("acme", 100)));
        let mut small = waits(queue.join(sized("acme", 1)));
        let _large_too = waits(queue.join(sized("acme", 100)));
        let _small_too = waits(queue.join(sized("acme", 3)));
        // The first group took everybody queued so far, in order; here it ran alone.
        drop(own);
        drop(Leadership::new(&queue, t.clone()));
        let first_small = led(&mut small);
        assert!(large.try_recv().is_err(), "the large push still waits");

        let leadership = Leadership::new(&queue, t.clone());
        let members = leadership.take(first_small, 2000);
        assert_eq!(
            sizes(&members),
            [1, 3],
            "a small leader takes only small pushes"
        );
        drop(leadership);
        // Then the large ones, in arrival order.
        let first_large = led(&mut large);
        let leadership = Leadership::new(&queue, t);
        assert_eq!(sizes(&leadership.take(first_large, 2000)), [100, 100]);
    }

    #[test]
    fn a_large_push_overtaken_four_times_leads_next_whatever_waits_behind_it() {
        let queue = GroupQueue::default();
        let t = TenantId::parse("acme").unwrap();
        leads(queue.join(sized("acme", 1)));
        let mut large = waits(queue.join(sized("acme", 100)));
        for _ in 0..MAX_OVERTAKEN {
            let mut small = waits(queue.join(sized("acme", 1)));
            drop(Leadership::new(&queue, t.clone()));
            led(&mut small);
            assert!(large.try_recv().is_err());
        }
        let _small = waits(queue.join(sized("acme", 1)));
        drop(Leadership::new(&queue, t.clone()));
        let job = led(&mut large);
        // A large leader takes what waits behind it in order, small pushes included.
        let leadership = Leadership::new(&queue, t);
        assert_eq!(sizes(&leadership.take(job, 2000)), [100, 1]);
    }

    #[test]
    fn a_group_keeps_arrival_order_and_stops_at_the_first_push_that_does_not_fit() {
        let queue = GroupQueue::default();
        let t = TenantId::parse("acme").unwrap();
        let own = leads(queue.join(sized("acme", 50)));
        let _waiting: Vec<_> = [40, 30, 5]
            .into_iter()
            .map(|n| waits(queue.join(sized("acme", n))))
            .collect();
        let leadership = Leadership::new(&queue, t);
        // 50 + 40 fit in 100; 30 does not, and the 5 behind it is not taken ahead of it.
        assert_eq!(sizes(&leadership.take(own, 100)), [50, 40]);
    }
}
