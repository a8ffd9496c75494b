//! The real world for the pure `asl` crate: the system clock and OS-seeded randomness.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use asl::entropy::SplitMix64;
use asl::runner::Clock;
use asl::timestamp::EpochMillis;

/// The current wall-clock time in milliseconds since the epoch.
pub(crate) fn now_millis() -> EpochMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as EpochMillis)
        .unwrap_or(0)
}

/// The system clock; `sleep_until` really sleeps.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> EpochMillis {
        now_millis()
    }

    fn sleep_until(&mut self, deadline: EpochMillis) {
        loop {
            let now = now_millis();
            if now >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis((deadline - now) as u64));
        }
    }
}

/// A generator seeded from the process's random hashing keys and the time.
pub(crate) fn os_entropy() -> SplitMix64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    SplitMix64(h.finish())
}
