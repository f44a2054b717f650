//! Reconnect timing: exponential backoff with full jitter, and the pause after op 9.

use std::time::Duration;

use super::rng::Rng;

/// Shortest pause before re-identifying after Invalid Session `false`.
pub(crate) const INVALID_SESSION_MIN: Duration = Duration::from_secs(1);
/// Longest pause before re-identifying after Invalid Session `false`.
///
/// The current docs name no delay (GATEWAY.md §3.8, UNCLEAR); older docs asked for a random
/// 1–5 s, which also spreads out shards that were refused together. We keep that.
pub(crate) const INVALID_SESSION_MAX: Duration = Duration::from_secs(5);

/// The delay before reconnect attempt number `attempt` (0 = first after a disconnect).
///
/// Attempt 0 goes at once; attempt `n ≥ 1` waits a uniform random time in
/// `[0, min(cap, base × 2^(n-1)))`.
pub(crate) fn backoff(base: Duration, cap: Duration, attempt: u32, rng: &mut Rng) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
    rng.below(base.saturating_mul(factor).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_attempt_is_immediate_then_jittered_below_a_growing_cap() {
        const CASES: &[(&str, u32, u64)] = &[
            ("first attempt", 0, 0),
            ("second attempt below base", 1, 1_000),
            ("third below 2 base", 2, 2_000),
            ("fifth below 8 base", 4, 8_000),
            ("large attempt capped", 40, 60_000),
        ];
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(60));
        let mut rng = Rng::new(9);
        for &(name, attempt, bound_ms) in CASES {
            for _ in 0..100 {
                let d = backoff(base, cap, attempt, &mut rng);
                let bound = Duration::from_millis(bound_ms);
                assert!(d <= bound, "{name}: {d:?} > {bound:?}");
                if bound_ms > 0 {
                    assert!(d < bound, "{name}: full jitter is below the bound");
                }
            }
        }
    }
}
