//! Heartbeating: interval, seeded first-beat jitter, ACK tracking, zombie detection, latency.
//!
//! Rules from `shared/protocol/GATEWAY.md` §3.3: after Hello, the first beat waits
//! `interval × jitter` with jitter uniform in `[0, 1)`; then one beat every `interval`. Each
//! beat carries the last sequence number. The server ACKs every beat with op 11.
//!
//! **Zombie rule, as implemented.** When the heartbeat timer fires, the connection is a
//! zombie if some beat has waited for its ACK for at least one full interval. This is the
//! docs' "no ACK between two of your beats" for timed beats, and it does not misfire when a
//! server-requested beat (op 1) went out just before the timer: that one has not waited an
//! interval yet.
//!
//! **Server-requested beats** are answered at once and do **not** reset the timer (the docs
//! leave this open; resetting would let a chatty server postpone our own beats forever).

use std::time::{Duration, Instant};

use super::rng::Rng;

/// Heartbeat bookkeeping for one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heartbeat {
    /// Interval from Hello; `None` before Hello.
    interval: Option<Duration>,
    /// When the oldest un-ACKed beat was sent.
    unacked_since: Option<Instant>,
    /// When the most recent beat was sent.
    last_sent: Option<Instant>,
    /// Round trip of the last ACKed beat.
    latency: Option<Duration>,
    /// ACKs that yielded a round trip, over every connection (kept by `start` and `stop`).
    acks: u64,
}

/// What the heartbeat timer asks for when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Send a heartbeat now and re-arm for the returned instant.
    Send {
        /// When the next timed beat is due.
        next: Instant,
    },
    /// A beat has waited a full interval for its ACK: the connection is a zombie.
    Zombie {
        /// When the un-ACKed beat was sent.
        since: Instant,
    },
}

impl Heartbeat {
    /// Starts heartbeating after Hello; returns when the first (jittered) beat is due.
    pub(crate) fn start(&mut self, now: Instant, interval: Duration, rng: &mut Rng) -> Instant {
        *self = Self {
            interval: Some(interval),
            latency: self.latency,
            acks: self.acks,
            ..Self::default()
        };
        now + rng.below(interval)
    }

    /// Stops heartbeating (the connection is gone); keeps the last latency.
    pub(crate) fn stop(&mut self) {
        *self = Self {
            latency: self.latency,
            acks: self.acks,
            ..Self::default()
        };
    }

    /// The interval from Hello, if heartbeating.
    pub(crate) fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Decides what the timer firing at `now` means.
    pub(crate) fn on_timer(&self, now: Instant) -> Option<Beat> {
        let interval = self.interval?;
        match self.unacked_since {
            Some(since) if now.saturating_duration_since(since) >= interval => {
                Some(Beat::Zombie { since })
            }
            _ => Some(Beat::Send {
                next: now + interval,
            }),
        }
    }

    /// Records that a beat (timed or requested) was sent at `now`.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.last_sent = Some(now);
        self.unacked_since.get_or_insert(now);
    }

    /// Restarts the zombie clock of an outstanding beat at `now`: reading was paused, so its
    /// ACK may be waiting unread behind the backlog; it gets one full interval from here.
    pub(crate) fn grace(&mut self, now: Instant) {
        if self.unacked_since.is_some() {
            self.unacked_since = Some(now);
        }
    }

    /// Records an ACK at `now`: every outstanding beat is answered.
    pub(crate) fn acked(&mut self, now: Instant) {
        if let Some(sent) = self.last_sent {
            self.latency = Some(now.saturating_duration_since(sent));
            self.acks += 1;
        }
        self.unacked_since = None;
    }

    /// Round trip of the last ACKed beat.
    pub(crate) fn latency(&self) -> Option<Duration> {
        self.latency
    }

    /// How many ACKs produced a [`latency`](Self::latency) sample so far.
    pub(crate) fn acks(&self) -> u64 {
        self.acks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_millis(41_250);

    #[test]
    fn first_beat_is_jittered_within_one_interval() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::default();
        let first = hb.start(t0, INTERVAL, &mut Rng::new(3));
        assert!(first >= t0 && first < t0 + INTERVAL);
        assert_eq!(
            first,
            Heartbeat::default().start(t0, INTERVAL, &mut Rng::new(3)),
            "seeded"
        );
    }

    #[test]
    fn zombie_only_after_a_full_unacked_interval() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::default();
        hb.start(t0, INTERVAL, &mut Rng::new(1));
        assert_eq!(
            hb.on_timer(t0),
            Some(Beat::Send {
                next: t0 + INTERVAL
            })
        );
        hb.sent(t0);
        // A server-requested beat just before the timer does not make a zombie.
        let t1 = t0 + INTERVAL;
        hb.acked(t0 + Duration::from_millis(80));
        assert_eq!(hb.latency(), Some(Duration::from_millis(80)));
        assert_eq!(hb.acks(), 1, "one sample per ACK");
        hb.sent(t1 - Duration::from_millis(10));
        assert_eq!(
            hb.on_timer(t1),
            Some(Beat::Send {
                next: t1 + INTERVAL
            })
        );
        hb.sent(t1);
        // No ACK for either: the next timer fire is a zombie, dated from the older beat.
        let t2 = t1 + INTERVAL;
        assert_eq!(
            hb.on_timer(t2),
            Some(Beat::Zombie {
                since: t1 - Duration::from_millis(10)
            })
        );
    }

    #[test]
    fn nothing_before_hello_and_after_stop() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::default();
        assert_eq!(hb.on_timer(t0), None);
        hb.start(t0, INTERVAL, &mut Rng::new(1));
        hb.stop();
        assert_eq!(hb.on_timer(t0), None);
        assert_eq!(hb.interval(), None);
    }
}
