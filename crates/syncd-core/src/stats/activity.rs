//! The in-memory windows behind the admin statistics: pushes, changes and push latency per
//! tenant, counted as the engine answers pushes and publishes events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use syncd_model::{ChangeEvent, Notifier, TenantId};
use syncd_store::TenantCounts;

/// How long a tenant's counts are reused before the queries run again.
pub const COUNTS_TTL: Duration = Duration::from_secs(2);

/// Push latencies are kept for this many minutes.
const LATENCY_MINUTES: u64 = 5;

/// Latency histogram bins: bin `i` holds latencies up to `10 µs × 2^(i/4)`, so a percentile is
/// known within a factor of 2^(1/8) (±9 %); the last bin holds everything above ~2.8 minutes.
const LATENCY_BINS: usize = 96;

/// Pushes and changes in the last minute and the last hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub last_minute: u64,
    pub last_hour: u64,
}

/// Push latency percentiles over the last five minutes, in milliseconds; `None` without pushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The second (or minute) since the epoch this bucket counts; older contents are stale.
    slot: u64,
    pushes: u64,
    changes: u64,
}

#[derive(Debug, Clone)]
struct LatencyMinute {
    minute: u64,
    bins: [u32; LATENCY_BINS],
}

#[derive(Debug, Clone)]
struct TenantWindows {
    seconds: [Bucket; 60],
    minutes: [Bucket; 60],
    latency: [LatencyMinute; LATENCY_MINUTES as usize],
    last_seen: u64,
}

impl TenantWindows {
    fn new() -> Self {
        Self {
            seconds: [Bucket::default(); 60],
            minutes: [Bucket::default(); 60],
            latency: std::array::from_fn(|_| LatencyMinute {
                minute: 0,
                bins: [0; LATENCY_BINS],
            }),
            last_seen: 0,
        }
    }

    fn bucket(buckets: &mut [Bucket; 60], slot: u64) -> &mut Bucket {
        let b = &mut buckets[(slot % 60) as usize];
        if b.slot != slot {
            *b = Bucket {
                slot,
                ..Bucket::default()
            };
        }
        b
    }

    fn add(&mut self, now_secs: u64, pushes: u64, changes: u64) {
        self.last_seen = now_secs;
        for b in [
            Self::bucket(&mut self.seconds, now_secs),
            Self::bucket(&mut self.minutes, now_secs / 60),
        ] {
            b.pushes += pushes;
            b.changes += changes;
        }
    }

    fn latency(&mut self, now_secs: u64, latency: Duration) {
        let minute = now_secs / 60;
        let m = &mut self.latency[(minute % LATENCY_MINUTES) as usize];
        if m.minute != minute {
            m.minute = minute;
            m.bins = [0; LATENCY_BINS];
        }
        let bin = latency_bin(latency);
        m.bins[bin] = m.bins[bin].saturating_add(1);
    }

    /// (pushes, changes) of the last 60 seconds and of the last 60 minutes (the current minute
    /// included).
    fn windows(&self, now_secs: u64) -> (Window, Window) {
        let sum = |buckets: &[Bucket; 60], now: u64| {
            buckets
                .iter()
                .filter(|b| b.slot <= now && now - b.slot < 60)
                .fold((0, 0), |(p, c), b| (p + b.pushes, c + b.changes))
        };
        let (pm, cm) = sum(&self.seconds, now_secs);
        let (ph, ch) = sum(&self.minutes, now_secs / 60);
        (
            Window {
                last_minute: pm,
                last_hour: ph,
            },
            Window {
                last_minute: cm,
                last_hour: ch,
            },
        )
    }

    fn percentiles(&self, now_secs: u64) -> Latency {
        let minute = now_secs / 60;
        let mut bins = [0u64; LATENCY_BINS];
        for m in &self.latency {
            if m.minute <= minute && minute - m.minute < LATENCY_MINUTES {
                for (total, n) in bins.iter_mut().zip(m.bins) {
                    *total += u64::from(n);
                }
            }
        }
        let count: u64 = bins.iter().sum();
        if count == 0 {
            return Latency::default();
        }
        let at = |q: f64| {
            // The smallest latency with at least q of the samples at or below it.
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            for (i, n) in bins.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Some(bin_value_ms(i));
                }
            }
            Some(bin_value_ms(LATENCY_BINS - 1))
        };
        Latency {
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// The bin of a latency: the first whose upper bound `10 µs × 2^(i/4)` holds it.
fn latency_bin(latency: Duration) -> usize {
    let units = latency.as_secs_f64() / 10e-6;
    if units <= 1.0 {
        return 0;
    }
    let bin = (units.log2() * 4.0).ceil();
    (bin as usize).min(LATENCY_BINS - 1)
}

/// A bin's representative latency in milliseconds: the geometric middle of its bounds,
/// rounded to a hundredth of a millisecond.
fn bin_value_ms(bin: usize) -> f64 {
    let upper = 10e-3 * 2f64.powf(bin as f64 / 4.0);
    let middle = if bin == 0 {
        upper
    } else {
        upper / 2f64.powf(1.0 / 8.0)
    };
    (middle * 100.0).round() / 100.0
}

pub(crate) fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The engine's in-memory activity windows, per tenant.
#[derive(Debug, Default)]
pub struct Activity {
    tenants: Mutex<HashMap<TenantId, TenantWindows>>,
    counts: Mutex<HashMap<TenantId, (Instant, TenantCounts)>>,
}

impl Activity {
    fn lock(&self) -> MutexGuard<'_, HashMap<TenantId, TenantWindows>> {
        // Plain counters: a panic elsewhere leaves nothing half-written worth refusing.
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_tenant(&self, tenant: &TenantId, now_secs: u64, f: impl FnOnce(&mut TenantWindows)) {
        let mut tenants = self.lock();
        if let Some(w) = tenants.get_mut(tenant) {
            f(w);
            return;
        }
        // A new tenant: forget those idle for an hour first, so the map stays as small as the
        // set of active tenants.
        tenants.retain(|_, w| now_secs.saturating_sub(w.last_seen) < 3600);
        let w = tenants
            .entry(tenant.clone())
            .or_insert_with(TenantWindows::new);
        f(w);
    }

    /// Counts one applied push (not a replay) and the time the engine took for it.
    pub fn record_push(&self, tenant: &TenantId, latency: Duration) {
        self.record_push_at(tenant, latency, epoch_secs());
    }

    fn record_push_at(&self, tenant: &TenantId, latency: Duration, now_secs: u64) {
        self.with_tenant(tenant, now_secs, |w| {
            w.add(now_secs, 1, 0);
            w.latency(now_secs, latency);
        });
    }

    /// Counts the records of a committed write (push, REST write or conflict resolution).
    pub fn record_changes(&self, tenant: &TenantId, records: u64) {
        self.record_changes_at(tenant, records, epoch_secs());
    }

    fn record_changes_at(&self, tenant: &TenantId, records: u64, now_secs: u64) {
        if records > 0 {
            self.with_tenant(tenant, now_secs, |w| w.add(now_secs, 0, records));
        }
    }

    pub(super) fn figures_at(&self, tenant: &TenantId, now_secs: u64) -> (Window, Window, Latency) {
        match self.lock().get(tenant) {
            Some(w) => {
                let (pushes, changes) = w.windows(now_secs);
                (pushes, changes, w.percentiles(now_secs))
            }
            None => Default::default(),
        }
    }

    pub(super) fn cached_counts(&self, tenant: &TenantId) -> Option<TenantCounts> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(tenant)
            .filter(|(at, _)| at.elapsed() < COUNTS_TTL)
            .map(|(_, c)| c.clone())
    }

    pub(super) fn keep_counts(&self, tenant: &TenantId, fresh: &TenantCounts) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.retain(|_, (at, _)| at.elapsed() < COUNTS_TTL);
        counts.insert(tenant.clone(), (Instant::now(), fresh.clone()));
    }
}

/// Hands events on to the real notifier and counts their records in the activity windows.
pub(crate) struct CountingNotifier {
    pub(crate) inner: Arc<dyn Notifier>,
    pub(crate) activity: Arc<Activity>,
}

impl Notifier for CountingNotifier {
    fn publish(&self, event: Arc<ChangeEvent>) {
        let records: u64 = event.counts.iter().map(|(_, n)| u64::from(*n)).sum();
        self.activity.record_changes(&event.tenant, records);
        self.inner.publish(event);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tenant(name: &str) -> TenantId {
        TenantId::parse(name).unwrap()
    }

    #[test]
    fn pushes_and_changes_count_in_the_minute_and_the_hour_they_happened() {
        let a = Activity::default();
        let t = tenant("acme");
        let start = 1_000_000 * 60;
        a.record_push_at(&t, Duration::from_millis(3), start);
        a.record_changes_at(&t, 5, start);
        a.record_push_at(&t, Duration::from_millis(3), start + 30);
        a.record_changes_at(&t, 2, start + 30);
        let (p, c, _) = a.figures_at(&t, start + 30);
        assert_eq!((p.last_minute, p.last_hour), (2, 2));
        assert_eq!((c.last_minute, c.last_hour), (7, 7));
        // Two minutes later: out of the last minute, still in the last hour.
        let (p, c, _) = a.figures_at(&t, start + 150);
        assert_eq!((p.last_minute, p.last_hour), (0, 2));
        assert_eq!((c.last_minute, c.last_hour), (0, 7));
        // Over an hour later: gone.
        let (p, _, l) = a.figures_at(&t, start + 3700);
        assert_eq!((p.last_minute, p.last_hour), (0, 0));
        assert_eq!(l, Latency::default());
    }

    #[test]
    fn a_tenant_sees_only_its_own_activity() {
        let a = Activity::default();
        a.record_push_at(&tenant("acme"), Duration::from_millis(1), 600);
        let (p, _, l) = a.figures_at(&tenant("globex"), 600);
        assert_eq!(p, Window::default());
        assert_eq!(l.p50, None);
    }

    #[test]
    fn latency_percentiles_are_within_a_bin_of_the_truth() {
        let a = Activity::default();
        let t = tenant("acme");
        for i in 0..99 {
            a.record_push_at(&t, Duration::from_micros(2_000 + i), 6_000);
        }
        a.record_push_at(&t, Duration::from_millis(400), 6_000);
        let (_, _, l) = a.figures_at(&t, 6_010);
        let p50 = l.p50.unwrap();
        assert!((1.8..=2.2).contains(&p50), "{p50}");
        let p99 = l.p99.unwrap();
        assert!((1.8..=2.2).contains(&p99), "{p99}");
        for _ in 0..10 {
            a.record_push_at(&t, Duration::from_millis(400), 6_020);
        }
        let (_, _, l) = a.figures_at(&t, 6_030);
        let p99 = l.p99.unwrap();
        assert!((360.0..=440.0).contains(&p99), "{p99}");
        // Six minutes later the samples are out of the window.
        let (_, _, l) = a.figures_at(&t, 6_030 + 360);
        assert_eq!(l.p99, None);
    }

    #[test]
    fn idle_tenants_are_forgotten_when_a_new_one_arrives() {
        let a = Activity::default();
        a.record_changes_at(&tenant("old"), 1, 100);
        a.record_changes_at(&tenant("new"), 1, 100 + 7200);
        assert_eq!(a.lock().len(), 1);
    }
}
