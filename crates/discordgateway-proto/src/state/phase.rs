//! Connection phases and the transitions between connections: connect, disconnect,
//! reconnect with backoff, resume vs new session, and stop (GATEWAY.md §3.6–3.10, §4).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{info, warn};

use super::reconnect::{INVALID_SESSION_MAX, INVALID_SESSION_MIN, backoff};
use super::{CloseFrame, GatewayState, Transmit};
use crate::close_code::{ClientClose, CloseAction, CloseCode};
use crate::config::ReconnectPolicy;
use crate::event::{Disconnect, DisconnectCause, Event, Notice, StopReason};
use crate::timer::Timer;
use crate::url::GatewayUrl;

/// Where the state machine is in the life of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// A `Connect` transmit is out; waiting for [`GatewayState::handle_connected`].
    Connecting,
    /// Connected; waiting for Hello (op 10).
    AwaitingHello,
    /// Hello received, no session: waiting for the identify grant, then for READY.
    Identifying,
    /// Resume sent; replayed dispatches arrive until RESUMED.
    Resuming,
    /// READY or RESUMED received: live, user commands flow.
    Active,
    /// Disconnected; waiting for the backoff timer to reconnect.
    Backoff,
    /// Disconnected in manual mode (or closed resumably): waiting for the application.
    Idle,
    /// Stopped for good: a fatal close code or a final close.
    Stopped,
}

impl Phase {
    /// Whether a socket is (or is about to be) open.
    #[must_use]
    pub const fn is_connected(self) -> bool {
        matches!(
            self,
            Self::AwaitingHello | Self::Identifying | Self::Resuming | Self::Active
        )
    }
}

/// What the next connection will do after Hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Send Resume on the session's resume URL.
    Resume,
    /// Identify a new session on the default URL.
    Identify,
}

/// How a connection ended, before the reconnect decision is added.
pub(crate) struct Ending {
    /// Close code, if any.
    pub(crate) code: Option<u16>,
    /// Close reason.
    pub(crate) reason: String,
    /// The cause.
    pub(crate) cause: DisconnectCause,
    /// Whether the next connection resumes.
    pub(crate) target: Target,
    /// A minimum random pause `[low, high)` before reconnecting (op 9).
    pub(crate) pause: Option<(Duration, Duration)>,
}

impl Ending {
    /// An ending with no close code, no reason and no pause.
    pub(crate) fn new(cause: DisconnectCause, target: Target) -> Self {
        Self {
            code: None,
            reason: String::new(),
            cause,
            target,
            pause: None,
        }
    }
}

impl GatewayState {
    /// Opens a new connection for the current target: resume URL or default URL.
    pub(super) fn connect(&mut self, _now: Instant) {
        self.end_connection();
        self.epoch = self.epoch.wrapping_add(1);
        let url = self.next_url();
        let resume = self.target == Target::Resume;
        info!(resume, attempt = self.attempt, "connecting");
        self.phase = super::Phase::Connecting;
        self.transmits.push_back(Transmit::Connect { url });
        self.events.push_back(Event::Notice(Notice::Connecting {
            resume,
            attempt: self.attempt,
        }));
    }

    /// The URL of the next connection, with our query parameters.
    fn next_url(&self) -> GatewayUrl {
        let params = self.config.params();
        match (&self.session, self.target) {
            (Some(session), Target::Resume) => GatewayUrl::parse(&session.resume_url)
                .map(|url| url.with_params(params))
                .unwrap_or_else(|_| self.config.default_url().clone()),
            _ => self.config.default_url().clone(),
        }
    }

    /// Forgets everything tied to the current socket.
    fn end_connection(&mut self) {
        self.heartbeat.stop();
        self.ratelimit.reset();
        for timer in [
            Timer::Heartbeat,
            Timer::HelloDeadline,
            Timer::Ratelimit,
            Timer::Backoff,
        ] {
            self.timers.stop(timer);
        }
        self.identify_sent = false;
        self.wants_identify = false;
        self.reset_inflater = true;
    }

    /// The socket went down (or a connect failed); decides between resume, new session and
    /// stop by the close code's class.
    pub(super) fn on_disconnected(&mut self, now: Instant, close: Option<CloseFrame>) {
        let (code, reason) = close.map_or((None, String::new()), |c| (Some(c.code), c.reason));
        if self.phase == Phase::Connecting {
            // GATEWAY.md §3.6: a failed connect to the resume URL falls back to the default
            // URL and a fresh Identify.
            warn!(resume = self.target == Target::Resume, "connect failed");
            self.forget_session_if(self.target == Target::Resume);
            let mut ending = Ending::new(DisconnectCause::ConnectFailed, Target::Identify);
            ending.code = code;
            ending.reason = reason;
            return self.schedule_reconnect(now, ending);
        }
        if !self.phase.is_connected() {
            return; // Spurious: this socket was already given up.
        }
        let close_code = code.map(CloseCode::from);
        let action = CloseAction::after(close_code);
        info!(code, ?action, "disconnected");
        let target = match action {
            CloseAction::Resume if self.session.is_some() => Target::Resume,
            CloseAction::Resume | CloseAction::Reidentify => {
                self.forget_session_if(true);
                Target::Identify
            }
            CloseAction::Stop => {
                let code = close_code.unwrap_or(CloseCode::from(0));
                let remedy = code.remedy().unwrap_or("reconnecting will not help");
                let ending = Ending {
                    code: Some(code.code()),
                    reason,
                    ..Ending::new(DisconnectCause::Remote, Target::Identify)
                };
                return self.stop(ending, StopReason::Fatal { code, remedy });
            }
        };
        let ending = Ending {
            code,
            reason,
            ..Ending::new(DisconnectCause::Remote, target)
        };
        self.schedule_reconnect(now, ending);
    }

    /// We end the connection: close it with `close`, then reconnect per the policy.
    pub(super) fn drop_connection(&mut self, now: Instant, close: ClientClose, mut ending: Ending) {
        self.send_close(close);
        ending.code = Some(close.code());
        self.schedule_reconnect(now, ending);
    }

    /// Queues a close frame for the current socket.
    pub(super) fn send_close(&mut self, close: ClientClose) {
        let reason = match close {
            ClientClose::EndSession => "shutting down",
            ClientClose::KeepSession => "reconnecting",
        };
        self.transmits.push_back(Transmit::Close(CloseFrame {
            code: close.code(),
            reason: reason.into(),
        }));
    }

    /// Reports the ending and reconnects now, after a backoff, or not at all (manual).
    fn schedule_reconnect(&mut self, now: Instant, ending: Ending) {
        self.end_connection();
        self.target = if self.session.is_some() {
            ending.target
        } else {
            Target::Identify
        };
        let can_resume = self.target == Target::Resume;
        let mut disconnect = Disconnect {
            code: ending.code,
            reason: ending.reason,
            cause: ending.cause,
            can_resume,
            reconnect_at: None,
        };
        let ReconnectPolicy::Automatic { base, cap } = self.config.reconnect() else {
            self.phase = Phase::Idle;
            self.events
                .push_back(Event::Notice(Notice::Disconnected(disconnect)));
            return;
        };
        let mut delay = backoff(base, cap, self.attempt, &mut self.rng);
        if let Some((low, high)) = ending.pause {
            delay = delay.max(self.rng.between(low, high));
        }
        self.attempt = self.attempt.saturating_add(1);
        disconnect.reconnect_at = Some(now + delay);
        self.events
            .push_back(Event::Notice(Notice::Disconnected(disconnect)));
        if delay.is_zero() {
            self.connect(now);
        } else {
            self.phase = Phase::Backoff;
            self.timers.set(Timer::Backoff, now + delay);
        }
    }

    /// Stops for good and reports why.
    fn stop(&mut self, ending: Ending, reason: StopReason) {
        warn!(code = ending.code, "stopped");
        self.end_connection();
        self.timers.stop_all();
        self.phase = Phase::Stopped;
        let disconnect = Disconnect {
            code: ending.code,
            reason: ending.reason,
            cause: ending.cause,
            can_resume: false,
            reconnect_at: None,
        };
        self.events
            .push_back(Event::Notice(Notice::Disconnected(disconnect)));
        self.events
            .push_back(Event::Notice(Notice::Stopped(reason)));
    }

    /// Drops the session (a new one must be identified) when `cond` holds.
    pub(super) fn forget_session_if(&mut self, cond: bool) {
        if cond {
            self.session = None;
            self.sequence = None;
        }
    }

    /// Op 7: close resumably and reconnect to the resume URL.
    pub(super) fn on_reconnect_requested(&mut self, now: Instant) {
        info!("server asked to reconnect");
        let ending = Ending::new(DisconnectCause::ReconnectRequested, Target::Resume);
        self.drop_connection(now, ClientClose::KeepSession, ending);
    }

    /// Op 9: resume if allowed, otherwise a new session after a short random pause.
    pub(super) fn on_invalid_session(&mut self, now: Instant, resumable: bool) {
        warn!(resumable, "invalid session");
        self.events
            .push_back(Event::Notice(Notice::InvalidSession { resumable }));
        let mut ending = Ending::new(DisconnectCause::InvalidSession, Target::Resume);
        if !resumable || self.session.is_none() {
            self.forget_session_if(true);
            ending.target = Target::Identify;
            ending.pause = Some((INVALID_SESSION_MIN, INVALID_SESSION_MAX));
        }
        let close = if resumable {
            ClientClose::KeepSession
        } else {
            ClientClose::EndSession
        };
        self.drop_connection(now, close, ending);
    }

    /// The application closes the connection; see [`GatewayState::close`].
    pub(super) fn close_now(&mut self, close: ClientClose) {
        if self.phase.is_connected() || self.phase == Phase::Connecting {
            self.send_close(close);
        }
        self.end_connection();
        self.timers.stop_all();
        if close.ends_session() {
            self.forget_session_if(true);
            let ending = Ending {
                code: Some(close.code()),
                ..Ending::new(DisconnectCause::Local, Target::Identify)
            };
            self.stop(ending, StopReason::Closed);
        } else {
            self.phase = Phase::Idle;
            let disconnect = Disconnect {
                code: Some(close.code()),
                reason: String::new(),
                cause: DisconnectCause::Local,
                can_resume: self.session.is_some(),
                reconnect_at: None,
            };
            self.events
                .push_back(Event::Notice(Notice::Disconnected(disconnect)));
        }
    }

    /// Manual reconnect to `target`, closing the current socket first if there is one.
    pub(super) fn manual_connect(&mut self, now: Instant, target: Target) {
        if self.phase.is_connected() || self.phase == Phase::Connecting {
            let close = if target == Target::Resume {
                ClientClose::KeepSession
            } else {
                ClientClose::EndSession
            };
            self.send_close(close);
        }
        self.forget_session_if(target == Target::Identify);
        self.target = target;
        self.connect(now);
    }

    /// Copies `data` into a transmit (one allocation per sent frame).
    pub(super) fn push_text(&mut self, data: &[u8]) {
        self.transmits
            .push_back(Transmit::Text(Bytes::copy_from_slice(data)));
    }
}
