//! The core's timers: a fixed table of optional deadlines; the next wake-up is their minimum.
//!
//! [`GatewayState`](crate::state::GatewayState) never sleeps. Each pending deadline sits in a
//! [`TimerTable`] slot named by a [`Timer`]; `poll_timeout()` answers the earliest one and
//! `timeout_reason()` says which rule asked for it. Rules from `shared/protocol/GATEWAY.md`
//! §3 (lifecycle) and §5 (rate limits).

use std::time::Instant;

/// Why the core wants to be woken up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Send the next heartbeat: the first after `interval × jitter`, then every `interval`;
    /// if the previous beat is still un-ACKed when it fires, the connection is a zombie
    /// (GATEWAY.md §3.3).
    Heartbeat,
    /// Discord sends Hello first on every connection (§3.2); without it within this deadline
    /// the connection is treated as dead and closed resumably.
    HelloDeadline,
    /// The next queued user command may leave: a slot in the 120 per 60 s window opens (§5).
    Ratelimit,
    /// Reconnect after a backoff, or after the short random delay that follows op 9 (§3.8).
    Backoff,
}

impl Timer {
    /// Every timer, in slot order.
    pub const ALL: [Timer; 4] = [
        Timer::Heartbeat,
        Timer::HelloDeadline,
        Timer::Ratelimit,
        Timer::Backoff,
    ];

    /// The slot of this timer in a [`TimerTable`].
    const fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerTable {
    /// Deadlines indexed by [`Timer::index`].
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any previous deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }

    /// The deadline of `timer`, if armed.
    #[must_use]
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer.index()]
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.slots = [None; Timer::ALL.len()];
    }

    /// The earliest deadline and its timer (the first in slot order on a tie).
    #[must_use]
    pub fn next(&self) -> Option<(Timer, Instant)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .min_by_key(|&(t, at)| (at, t.index()))
    }

    /// Disarms and returns the earliest timer that is due at `now`, if any.
    pub fn expire(&mut self, now: Instant) -> Option<Timer> {
        let (timer, at) = self.next()?;
        if at <= now {
            self.stop(timer);
            Some(timer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn next_is_the_minimum_and_expire_fires_in_order() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Backoff, t0 + Duration::from_secs(3));
        table.set(Timer::Heartbeat, t0 + Duration::from_secs(1));
        table.set(Timer::Ratelimit, t0 + Duration::from_secs(2));
        assert_eq!(
            table.next(),
            Some((Timer::Heartbeat, t0 + Duration::from_secs(1)))
        );
        let now = t0 + Duration::from_secs(2);
        assert_eq!(table.expire(now), Some(Timer::Heartbeat));
        assert_eq!(table.expire(now), Some(Timer::Ratelimit));
        assert_eq!(table.expire(now), None, "backoff is not due yet");
        assert_eq!(
            table.next(),
            Some((Timer::Backoff, t0 + Duration::from_secs(3)))
        );
        table.stop_all();
        assert_eq!(table.next(), None);
    }

    #[test]
    fn ties_break_by_slot_order() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Backoff, t0);
        table.set(Timer::HelloDeadline, t0);
        assert_eq!(table.next(), Some((Timer::HelloDeadline, t0)));
    }
}
