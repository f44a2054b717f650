//! SplitMix64: the workload's only source of randomness.
//!
//! We use a hand-written SplitMix64 (Steele, Lea and Flood, 2014) rather than `rand`'s
//! `SmallRng` because `SmallRng`'s algorithm is documented as not portable across `rand`
//! versions and platforms, and the workload promises the same bytes for the same seed forever.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A tiny, fast, deterministic pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    /// The running state; advanced by [`GAMMA`] per draw.
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fully determined by `seed`.
    pub(crate) const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for a sub-stream, e.g. one shard or one guild, independent of the others.
    pub(crate) fn derive(seed: u64, stream: u64) -> Self {
        let mut base = Self::new(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        // Mix once so neighbouring streams do not start from correlated states.
        let state = base.next_u64();
        Self::new(state)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (`0` when `n == 0`), by the multiply-shift method.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform value in `min..=max` (`min` when `max <= min`).
    pub(crate) fn range(&mut self, min: u64, max: u64) -> u64 {
        if max <= min {
            return min;
        }
        min + self.below(max - min + 1)
    }

    /// A uniform index into a slice of length `len` (`0` when empty).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `p` (clamped to `0.0..=1.0`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform float in `0.0..1.0` with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (reference values of the published algorithm).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            let v = rng.range(10, 20);
            assert!((10..=20).contains(&v), "range gave {v}");
            assert!(rng.below(3) < 3);
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u), "unit gave {u}");
        }
        assert_eq!(rng.range(5, 5), 5);
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn derived_streams_differ() {
        let a = SplitMix64::derive(1, 0).next_u64();
        let b = SplitMix64::derive(1, 1).next_u64();
        let c = SplitMix64::derive(2, 0).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
