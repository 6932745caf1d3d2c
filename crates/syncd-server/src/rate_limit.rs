//! The per-subject request rate limit (SPEC §7).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Requests per (tenant, subject).
pub struct Limiter {
    inner: DefaultKeyedRateLimiter<(String, String)>,
}

impl Limiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        }
    }

    /// Ok, or how many seconds to wait.
    pub fn check(&self, tenant: &str, subject: &str) -> Result<(), u64> {
        self.inner
            .check_key(&(tenant.to_owned(), subject.to_owned()))
            .map_err(|not_until| {
                let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
                // Rounded up, and at least 1: the wait may have passed by the time it is read,
                // and `Retry-After: 0` invites a retry loop.
                (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
            })
    }

    /// Forgets keys that have been quiet, so the table does not grow forever.
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limited_caller_is_never_told_to_retry_after_0_seconds() {
        // A replenish interval of a microsecond: by the time the wait is read it has passed.
        let limiter = Limiter::new(1_000_000, 1);
        let mut refusals = 0;
        for _ in 0..10_000 {
            if let Err(wait) = limiter.check("t", "s") {
                refusals += 1;
                assert!(wait >= 1, "Retry-After: {wait}");
            }
        }
        assert!(refusals > 0, "the limiter refused nothing");
    }
}
