//! The core's only source of randomness: a SplitMix64 generator seeded by the caller.
//!
//! Seeding makes every run replayable: the same seed, inputs and times give the same
//! heartbeat jitter and backoff delays. SplitMix64 (Steele, Lea and Flood, 2014) is small,
//! fast and good enough for jitter; it is not cryptographic and needs not be.

use std::time::Duration;

/// A seeded SplitMix64 pseudo-random generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    /// The generator's state; advanced by the golden-ratio increment on every draw.
    state: u64,
}

impl Rng {
    /// A generator that replays the same sequence for the same `seed`.
    pub(crate) const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniformly random duration in `[0, max)` (zero when `max` is zero), at nanosecond
    /// resolution.
    pub(crate) fn below(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        // Multiply-shift maps 64 random bits onto [0, nanos) without a modulo bias worth noting.
        let scaled = (u128::from(self.next_u64()) * u128::from(nanos)) >> 64;
        Duration::from_nanos(u64::try_from(scaled).unwrap_or(0))
    }

    /// A uniformly random duration in `[low, high)`.
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        low + self.below(high.saturating_sub(low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let max = Duration::from_millis(41_250);
        for _ in 0..1000 {
            let x = a.below(max);
            assert_eq!(x, b.below(max));
            assert!(x < max);
        }
        assert_eq!(Rng::new(1).below(Duration::ZERO), Duration::ZERO);
        let low = Duration::from_secs(1);
        let y = a.between(low, Duration::from_secs(5));
        assert!(y >= low && y < Duration::from_secs(5));
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
