//! The per-connection send limit: 120 commands per 60 s, with slots reserved for heartbeats.
//!
//! Discord disconnects a client that sends more than **120 gateway commands per 60 s** on one
//! connection (close 4008, `shared/protocol/GATEWAY.md` §5). The docs do not say whether the
//! window is fixed or sliding, nor whether heartbeats count.
//!
//! # Algorithm: a sliding-window log
//!
//! [`RateLimiter`] keeps the send time of each of the last (at most 120) commands. A command
//! may go at `now` if fewer than the limit were sent in `(now - window, now]`. "At most 120 in
//! *every* interval of that length" implies "at most 120 in each fixed window", so this is
//! safe whichever interpretation the server uses; a fixed-window client can burst 240 commands
//! around a window edge, which a sliding-window server would punish. The window is 60 s plus
//! [`JITTER_SLACK`], because network delay can bunch up commands that left evenly spaced.
//!
//! # Heartbeat reserve (we assume heartbeats count)
//!
//! Heartbeats are mandatory and must never be starved by user commands, so
//! [`RateLimiter::set_heartbeat_interval`] reserves `ceil(window / interval)` slots for timed
//! beats, plus [`SERVER_BEAT_MARGIN`] for server-requested beats (op 1) and one for Identify
//! or Resume. [`Priority::Control`] sends (heartbeat, Identify, Resume) may use the whole
//! limit; [`Priority::User`] sends only the limit minus that reserve. With Discord's usual
//! 41.25 s interval the reserve is 5 and users get 115 commands per window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Commands allowed per window on one connection.
pub const LIMIT: usize = 120;

/// The window of the limit as Discord states it.
pub const DISCORD_WINDOW: Duration = Duration::from_secs(60);

/// Extra length added to the window to absorb network jitter.
pub const JITTER_SLACK: Duration = Duration::from_secs(1);

/// Slots kept for server-requested heartbeats (op 1) on top of the timed ones.
pub const SERVER_BEAT_MARGIN: usize = 2;

/// Reserve used before Hello tells us the heartbeat interval.
const DEFAULT_RESERVE: usize = 10;

/// Who is asking to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Heartbeat, Identify, Resume: may use the reserved slots.
    Control,
    /// A user command: never uses the reserved slots.
    User,
}

/// Sliding-window log of one connection's sends.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    /// Send times inside the current window, oldest first.
    log: VecDeque<Instant>,
    /// Slots only [`Priority::Control`] may use.
    reserve: usize,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// A limiter with no sends and the default reserve (10 slots until the interval is known).
    #[must_use]
    pub fn new() -> Self {
        Self {
            log: VecDeque::with_capacity(LIMIT),
            reserve: DEFAULT_RESERVE,
        }
    }

    /// The window the limiter enforces: 60 s plus jitter slack.
    #[must_use]
    pub const fn window() -> Duration {
        DISCORD_WINDOW.saturating_add(JITTER_SLACK)
    }

    /// Sizes the heartbeat reserve from Hello's interval: `ceil(window / interval)` timed
    /// beats, [`SERVER_BEAT_MARGIN`] requested beats and one Identify/Resume.
    ///
    /// The reserve is capped at `LIMIT - 1`, so a user command can always go eventually; an
    /// interval so short that heartbeats alone exceed the limit cannot be honoured anyway.
    pub fn set_heartbeat_interval(&mut self, interval: Duration) {
        let window = Self::window().as_millis();
        let interval = interval.as_millis().max(1);
        let beats = usize::try_from(window.div_ceil(interval)).unwrap_or(LIMIT);
        self.reserve = beats.saturating_add(SERVER_BEAT_MARGIN + 1).min(LIMIT - 1);
    }

    /// Slots reserved for control sends.
    #[must_use]
    pub fn reserve(&self) -> usize {
        self.reserve
    }

    /// Forgets all sends: a new connection has a fresh budget.
    pub fn reset(&mut self) {
        self.log.clear();
    }

    /// Records a send at `now` if `priority` may send now; returns whether it may.
    pub fn try_acquire(&mut self, now: Instant, priority: Priority) -> bool {
        self.prune(now);
        if self.log.len() < self.limit(priority) {
            self.log.push_back(now);
            true
        } else {
            false
        }
    }

    /// The earliest instant at which `priority` may send: `now` if it may send right away.
    #[must_use]
    pub fn next_slot(&self, now: Instant, priority: Priority) -> Instant {
        let window = Self::window();
        let expired = self
            .log
            .iter()
            .take_while(|t| now.saturating_duration_since(**t) >= window)
            .count();
        let count = self.log.len() - expired;
        let limit = self.limit(priority);
        if count < limit {
            return now;
        }
        // `count - limit + 1` live entries must expire; the last of them is at this index.
        self.log
            .get(expired + count - limit)
            .map_or(now, |t| *t + window)
    }

    /// Sends recorded in the window ending at `now`.
    #[must_use]
    pub fn in_window(&self, now: Instant) -> usize {
        let window = Self::window();
        self.log
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < window)
            .count()
    }

    /// Drops entries that left the window.
    fn prune(&mut self, now: Instant) {
        let window = Self::window();
        while self
            .log
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.log.pop_front();
        }
    }

    /// How many sends `priority` may have in one window.
    fn limit(&self, priority: Priority) -> usize {
        match priority {
            Priority::Control => LIMIT,
            Priority::User => LIMIT - self.reserve,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_follows_the_heartbeat_interval() {
        const CASES: &[(&str, u64, usize)] = &[
            ("discord's usual 41.25 s", 41_250, 2 + 3),
            ("45 s from the docs", 45_000, 2 + 3),
            ("one beat per window", 61_000, 1 + 3),
            ("fast test interval 1 s", 1_000, 61 + 3),
            ("absurd 1 ms is capped", 1, LIMIT - 1),
        ];
        for &(name, ms, want) in CASES {
            let mut rl = RateLimiter::new();
            rl.set_heartbeat_interval(Duration::from_millis(ms));
            assert_eq!(rl.reserve(), want, "{name}");
        }
    }

    #[test]
    fn users_stop_at_limit_minus_reserve_and_control_uses_the_rest() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new();
        rl.set_heartbeat_interval(Duration::from_millis(41_250));
        let user_limit = LIMIT - rl.reserve();
        for i in 0..user_limit {
            assert!(rl.try_acquire(t0, Priority::User), "user send {i}");
        }
        assert!(!rl.try_acquire(t0, Priority::User), "user over its share");
        assert_eq!(rl.next_slot(t0, Priority::User), t0 + RateLimiter::window());
        for i in 0..rl.reserve() {
            assert!(rl.try_acquire(t0, Priority::Control), "control send {i}");
        }
        assert!(!rl.try_acquire(t0, Priority::Control), "nothing over 120");
        assert_eq!(rl.in_window(t0), LIMIT);
    }

    #[test]
    fn the_window_slides() {
        let t0 = Instant::now();
        let step = Duration::from_millis(500);
        let mut rl = RateLimiter::new();
        let user_limit = LIMIT - rl.reserve();
        for i in 0..user_limit {
            assert!(rl.try_acquire(t0 + step * u32::try_from(i).expect("small"), Priority::User));
        }
        let last = t0 + step * u32::try_from(user_limit - 1).expect("small");
        // The next slot opens when the first send leaves the window, not at a window edge.
        let next = rl.next_slot(last, Priority::User);
        assert_eq!(next, t0 + RateLimiter::window());
        assert!(!rl.try_acquire(next - Duration::from_millis(1), Priority::User));
        assert!(rl.try_acquire(next, Priority::User));
        assert!(
            !rl.try_acquire(next, Priority::User),
            "only one slot opened"
        );
        assert_eq!(
            rl.next_slot(next, Priority::User),
            t0 + step + RateLimiter::window()
        );
    }

    #[test]
    fn reset_restores_the_budget() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new();
        while rl.try_acquire(t0, Priority::Control) {}
        rl.reset();
        assert!(rl.try_acquire(t0, Priority::User));
    }
}
