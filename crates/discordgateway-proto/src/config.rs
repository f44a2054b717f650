//! Configuration of one gateway session.

use std::time::Duration;

/// What the core does after a connection ends.
///
/// The default is [`ReconnectPolicy::Automatic`] with a 1 s base and a 60 s cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectPolicy {
    /// Reconnect by itself: the first attempt after a disconnect goes immediately, each
    /// further consecutive attempt waits a random delay in `[0, min(cap, base × 2^(n-1)))`
    /// ("exponential backoff with full jitter"), drawn from the state's seed. A READY or
    /// RESUMED resets the attempt count.
    Automatic {
        /// Backoff of the second attempt; doubles with each further attempt.
        base: Duration,
        /// Largest backoff.
        cap: Duration,
    },
    /// Report every disconnect (code, reason, whether the session can resume) and stay idle
    /// until the application calls `reconnect`, `resume` or `identify`.
    Manual,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self::Automatic {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}
