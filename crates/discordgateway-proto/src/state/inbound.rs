//! Messages from the server: the envelope decides, the opcode dispatches
//! (GATEWAY.md §2 and §3), and dispatches are sequenced and filtered.
//!
//! # Sequence numbers
//!
//! The last `s` is kept (it goes into heartbeats and Resume). A dispatch whose `s` is not
//! above it (a duplicate, or an old one replayed again) is dropped without being delivered
//! and without changing the stored `s`. A dispatch whose `s` skips ahead is delivered, and a
//! [`Notice::SequenceGap`] with the missing range comes right before it. READY starts a new
//! session and resets the count to its own `s`. A dispatch without `s` is malformed
//! (Discord always numbers them) and dropped.

use std::time::Instant;

use tracing::{debug, info, trace};

use super::phase::{Ending, Target};
use super::{GatewayState, Phase};
use crate::close_code::ClientClose;
use crate::envelope::{Envelope, scan, scan_head, scan_rest};
use crate::event::{DisconnectCause, Dispatch, Event, Notice};
use crate::event_type::EventType;
use crate::payload::{Hello, InvalidSession, Outgoing, Ready, Resume};
use crate::ratelimit::Priority;
use crate::state::Session;
use crate::timer::Timer;

/// How long a new connection may wait for Hello before it is given up.
pub(crate) const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Wire name of the READY dispatch.
const READY: &str = "READY";
/// Wire name of the RESUMED dispatch.
const RESUMED: &str = "RESUMED";

impl GatewayState {
    /// Handles one complete (decompressed) message.
    ///
    /// An undeclared dispatch whose `op`, `s` and `t` precede `d` (Discord's key order) is
    /// sequenced and dropped after [`scan_head`], without reading `d`: dropping is the
    /// common case for a bot that declares few events, and `d` is most of the message.
    /// The price, documented on `scan_head`, is that a malformed `d` of a dropped dispatch
    /// goes unnoticed; everything delivered or used (READY, hello, …) is checked in full,
    /// by [`scan_rest`] from `d` on when the head was already read, else by [`scan`].
    pub(super) fn on_message(&mut self, now: Instant, msg: &[u8]) {
        let head = scan_head(msg);
        if let Some(head) = &head
            && head.op == 0
            && head.event_name != READY
            && !self.is_declared(head.event_name)
        {
            return self.on_dispatch(now, &head.envelope(), &[]);
        }
        let scanned = match &head {
            Some(head) => scan_rest(msg, head),
            None => scan(msg),
        };
        let envelope = match scanned {
            Ok(envelope) => envelope,
            Err(error) => {
                debug!(%error, "malformed frame ignored");
                self.events.push_back(Event::Notice(Notice::Malformed));
                return;
            }
        };
        let data = envelope.data_in(msg).unwrap_or_default();
        match envelope.op {
            0 => self.on_dispatch(now, &envelope, data),
            1 => self.send_heartbeat(now, true),
            7 => self.on_reconnect_requested(now),
            9 => self.on_invalid_session(now, InvalidSession::from_data(data).resumable),
            10 => self.on_hello(now, data),
            11 => self.heartbeat.acked(now),
            op => debug!(op, "unexpected opcode ignored"),
        }
    }

    /// Op 10: start heartbeating, then Resume or ask for an identify grant.
    fn on_hello(&mut self, now: Instant, data: &[u8]) {
        if self.phase != Phase::AwaitingHello {
            return debug!("duplicate hello ignored");
        }
        let Ok(hello) = serde_json::from_slice::<Hello>(data) else {
            self.events.push_back(Event::Notice(Notice::Malformed));
            return;
        };
        let interval = hello.interval();
        debug!(interval_ms = hello.heartbeat_interval, "hello");
        self.timers.stop(Timer::HelloDeadline);
        let first = self.heartbeat.start(now, interval, &mut self.rng);
        self.timers.set(Timer::Heartbeat, first);
        self.ratelimit.set_heartbeat_interval(interval);
        match (&self.session, self.target) {
            (Some(session), Target::Resume) => {
                let seq = self.sequence.unwrap_or(session.sequence);
                let resume = Resume::new(self.config.token().clone(), session.id.clone(), seq);
                if self.send_control(now, &resume) {
                    self.phase = Phase::Resuming;
                    self.replayed = 0;
                }
            }
            _ => {
                self.forget_session_if(true);
                self.phase = Phase::Identifying;
                self.wants_identify = true;
                self.events.push_back(Event::Notice(Notice::WantsIdentify));
            }
        }
    }

    /// Sends Identify after the driver's grant; see [`GatewayState::grant_identify`].
    pub(super) fn identify_now(&mut self, now: Instant) -> bool {
        if !self.wants_identify() {
            return false;
        }
        let identify = self.config.identify().clone();
        if !self.send_control(now, &identify) {
            return false;
        }
        info!("identifying");
        self.identify_sent = true;
        self.wants_identify = false;
        true
    }

    /// Encodes and sends a control payload (heartbeat, Identify, Resume) if the rate limit
    /// allows; returns whether it went.
    pub(super) fn send_control<T: Outgoing>(&mut self, now: Instant, payload: &T) -> bool {
        let mut buf = std::mem::take(&mut self.scratch);
        let ok =
            payload.encode(&mut buf).is_ok() && self.ratelimit.try_acquire(now, Priority::Control);
        if ok {
            self.push_text(&buf);
        }
        self.scratch = buf;
        ok
    }

    /// Sends a heartbeat; a timed one that the rate limit refuses is retried when a slot
    /// opens, a requested one is skipped (the timed beats still go).
    pub(super) fn send_heartbeat(&mut self, now: Instant, requested: bool) {
        if !self.phase.is_connected() || self.heartbeat.interval().is_none() {
            return;
        }
        let beat = crate::payload::Heartbeat { seq: self.sequence };
        if self.send_control(now, &beat) {
            debug!(requested, seq = self.sequence, "heartbeat");
            self.heartbeat.sent(now);
        } else if !requested {
            self.timers.set(
                Timer::Heartbeat,
                self.ratelimit.next_slot(now, Priority::Control),
            );
        }
    }

    /// The heartbeat timer fired: beat, or detect a zombie.
    pub(super) fn on_heartbeat_timer(&mut self, now: Instant) {
        let beat = if self.reading_paused {
            // The driver is not reading (the application is slow): an unread ACK is not a
            // zombie. Keep beating so the server sees us alive; the rule applies again once
            // reading resumes (see `GatewayState::set_reading_paused`).
            self.heartbeat
                .interval()
                .map(|interval| super::heartbeat::Beat::Send {
                    next: now + interval,
                })
        } else {
            self.heartbeat.on_timer(now)
        };
        match beat {
            Some(super::heartbeat::Beat::Send { next }) => {
                self.timers.set(Timer::Heartbeat, next);
                self.send_heartbeat(now, false);
            }
            Some(super::heartbeat::Beat::Zombie { since }) => {
                tracing::warn!("heartbeat not acknowledged: zombie connection");
                self.events
                    .push_back(Event::Notice(Notice::Zombie { since }));
                let ending = Ending::new(DisconnectCause::Zombie, Target::Resume);
                self.drop_connection(now, ClientClose::KeepSession, ending);
            }
            None => {}
        }
    }

    /// Op 0: sequence it, capture READY/RESUMED, deliver if declared.
    fn on_dispatch(&mut self, now: Instant, envelope: &Envelope<'_>, data: &[u8]) {
        let Some(seq) = envelope.seq else {
            self.events.push_back(Event::Notice(Notice::Malformed));
            return;
        };
        let name = envelope.event_name.unwrap_or_default();
        // Discord sends READY only in answer to Identify, and other dispatches only in a
        // live or resuming session. Anything else (e.g. a dispatch before Hello) cannot be
        // sequenced against a session, so it is dropped as malformed rather than delivered.
        let expected = match self.phase {
            Phase::Active => true,
            Phase::Resuming => name != READY,
            Phase::Identifying => name == READY && self.identify_sent,
            _ => false,
        };
        if !expected {
            debug!(seq, event = name, phase = ?self.phase, "dispatch outside a session dropped");
            self.events.push_back(Event::Notice(Notice::Malformed));
            return;
        }
        if name == READY {
            if !self.on_ready(data, seq) {
                return;
            }
        } else {
            if let Some(last) = self.sequence {
                if seq <= last {
                    self.dropped += 1;
                    return trace!(seq, last, "duplicate or old dispatch dropped");
                }
                if seq > last + 1 {
                    let gap = Notice::SequenceGap {
                        from: last + 1,
                        to: seq - 1,
                    };
                    self.events.push_back(Event::Notice(gap));
                }
            }
            self.sequence = Some(seq);
            if let Some(session) = &mut self.session {
                session.sequence = seq;
            }
            if self.phase == Phase::Resuming {
                if name == RESUMED {
                    self.on_resumed(now);
                } else {
                    self.replayed += 1;
                }
            }
        }
        let kind = match EventType::from_wire_bytes(name.as_bytes()) {
            Some(kind) => kind,
            None if self.config.unknown_events() => EventType::Unknown(name.into()),
            None => {
                self.dropped += 1;
                return;
            }
        };
        if kind.is_known() && !self.delivered.contains(&kind) {
            self.dropped += 1;
        } else {
            trace!(seq, event = name, "dispatch");
            let data = self.arena.deliver(data);
            self.events
                .push_back(Event::Dispatch(Dispatch::new(self.shard, kind, seq, data)));
        }
    }

    /// Whether dispatches named `name` are delivered: declared known events, and unknown
    /// events when [`Config::unknown_events`](crate::config::Config::unknown_events) is on.
    fn is_declared(&self, name: &str) -> bool {
        match EventType::from_wire_bytes(name.as_bytes()) {
            Some(kind) => self.delivered.contains(&kind),
            None => self.config.unknown_events(),
        }
    }

    /// READY: a new session; returns false if its payload is unusable.
    fn on_ready(&mut self, data: &[u8], seq: u64) -> bool {
        let Ok(ready) = serde_json::from_slice::<Ready<'_>>(data) else {
            self.events.push_back(Event::Notice(Notice::Malformed));
            return false;
        };
        info!(seq, "ready");
        let session_id = ready.session_id.into_owned();
        self.session = Some(Session {
            id: session_id.clone(),
            sequence: seq,
            resume_url: ready.resume_gateway_url.into_owned(),
            shard: self.shard,
        });
        self.sequence = Some(seq);
        self.target = Target::Resume;
        self.became_active();
        self.events
            .push_back(Event::Notice(Notice::Ready { session_id }));
        true
    }

    /// RESUMED: the replay is over.
    fn on_resumed(&mut self, _now: Instant) {
        info!(replayed = self.replayed, "resumed");
        self.became_active();
        self.events.push_back(Event::Notice(Notice::Resumed {
            replayed: self.replayed,
        }));
    }

    /// READY or RESUMED: live; reset the attempt count and let queued commands go.
    fn became_active(&mut self) {
        self.phase = Phase::Active;
        self.attempt = 0;
    }

    /// The Hello deadline passed without Hello.
    pub(super) fn on_hello_timeout(&mut self, now: Instant) {
        let ending = Ending::new(DisconnectCause::HelloTimeout, Target::Resume);
        self.drop_connection(now, ClientClose::KeepSession, ending);
    }
}
