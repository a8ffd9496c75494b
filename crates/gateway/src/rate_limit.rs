//! Per-route rate limits: one token bucket per route with a `rate_limit`.
//!
//! Owns the bucket arithmetic and the `Retry-After` value. Time is
//! `tokio::time::Instant`, passed in by the caller, so tests pause and
//! advance it instead of sleeping. It must not know about HTTP: the handler
//! turns a refusal into 429.
//!
//! Rejected alternative: `governor` (keyed GCRA). Our limit is one bucket
//! per route, not per client, and the arithmetic is a dozen lines; a
//! dependency would add a clock abstraction we would have to bridge to
//! tokio's pausable one.

use std::sync::Mutex;

use config::RateLimit;
use tokio::time::Instant;

/// A token bucket: holds at most `burst` tokens, gains
/// `requests_per_second` per second, and a request takes one.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    /// Tokens left and when they were counted; `None` until the first
    /// request, so the bucket starts full whenever the server starts.
    state: Mutex<Option<(f64, Instant)>>,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            rate: f64::from(limit.requests_per_second.get()),
            burst: f64::from(limit.burst.get()),
            state: Mutex::new(None),
        }
    }

    /// Takes a token at `now`, or says after how many whole seconds (at
    /// least 1) the next one is there.
    pub(crate) fn take(&self, now: Instant) -> Result<(), u64> {
        // The lock is held for arithmetic only, never across an await.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = state.unwrap_or((self.burst, now));
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *state = Some((tokens - 1.0, now));
            Ok(())
        } else {
            *state = Some((tokens, now));
            let wait = ((1.0 - tokens) / self.rate).ceil();
            // `wait` is in (0, 1] for rate ≥ 1; the cast cannot truncate.
            Err((wait as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;

    fn limit(rate: u32, burst: u32) -> RateLimit {
        RateLimit {
            requests_per_second: NonZeroU32::new(rate).expect("nonzero"),
            burst: NonZeroU32::new(burst).expect("nonzero"),
        }
    }

    #[test]
    fn burst_then_refill() {
        let bucket = TokenBucket::new(limit(2, 3));
        let t0 = Instant::now();
        assert_eq!(bucket.take(t0), Ok(()));
        assert_eq!(bucket.take(t0), Ok(()));
        assert_eq!(bucket.take(t0), Ok(()));
        assert_eq!(bucket.take(t0), Err(1));
        // Half a second at 2/s is one token.
        assert_eq!(bucket.take(t0 + Duration::from_millis(500)), Ok(()));
        assert_eq!(bucket.take(t0 + Duration::from_millis(500)), Err(1));
        // Refill stops at the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(later), Ok(()));
        }
        assert_eq!(bucket.take(later), Err(1));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        let bucket = TokenBucket::new(limit(1, 1));
        let t0 = Instant::now();
        assert_eq!(bucket.take(t0), Ok(()));
        assert_eq!(bucket.take(t0), Err(1));
        assert_eq!(bucket.take(t0 + Duration::from_millis(999)), Err(1));
        assert_eq!(bucket.take(t0 + Duration::from_millis(1000)), Ok(()));
    }
}
