//! The engine behind [`Shard::next_event`](crate::Shard::next_event): one hand-written `poll`
//! function that drives the sans-IO core over a socket, in the order the core's calling
//! contract asks (STYLE.md §2, `GatewayState` docs):
//!
//! 1. do every pending transmit (start a connect, queue a text frame, close a socket);
//! 2. return the next core event, if any (the driver acts on notices on the way out);
//! 3. otherwise poll every input once — the old socket's close flush, the connect attempt, the
//!    outbox flush, one inbound message, the identify queue, the command channel, the timer —
//!    and loop while any of them made progress; `Pending` only when none did, with every
//!    source's waker registered.
//!
//! **Cancel safety.** The connect attempt and the identify request are boxed futures stored in
//! the [`Driver`]; the socket is polled through [`Connection`]; the sleep is a stored `Sleep`.
//! So dropping `next_event` at any `Pending` leaves all progress here for the next call.
//!
//! **Timeouts.** Connect attempts are bounded inside `connect`. The Hello bound is the core's
//! own `HelloDeadline` timer, set from [`ShardConfig`]'s `hello_timeout` when the driver is
//! built, so one deadline governs and its expiry is reported as `DisconnectCause::HelloTimeout`.
//! READY/RESUMED is bounded here (the "handshake" deadline, which the core does not have):
//! when it expires the socket is dropped and the core is told the connection ended without a
//! close frame, so its reconnect policy decides.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use discordgateway_proto::close_code::ClientClose;
use discordgateway_proto::config::ReconnectPolicy;
use discordgateway_proto::event::{Event, Notice, StopReason};
use discordgateway_proto::state::{CloseFrame, Frame, GatewayState, Phase, Transmit};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};
use tracing::{Span, debug, info, warn};

use crate::config::ShardConfig;
use crate::connect::{ConnectOptions, WsStream, connect};
use crate::error::{
    ConnectError, IdentifyQueueError, SendError, SendErrorKind, ShardError, ShardErrorKind,
};
use crate::queue::{IdentifyPermit, IdentifyQueue};
use crate::shard::{Latency, Request, ShardStats, now};
use crate::transport::{Connection, Inbound};

/// A connect attempt in flight.
type ConnectFuture = Pin<Box<dyn Future<Output = Result<WsStream, ConnectError>> + Send>>;
/// An identify request in flight.
type PermitFuture =
    Pin<Box<dyn Future<Output = Result<IdentifyPermit, IdentifyQueueError>> + Send>>;

/// The shard's engine: the core plus every piece of in-progress socket work.
pub(crate) struct Driver {
    /// The sans-IO core.
    state: GatewayState,
    /// Connect options.
    connect: ConnectOptions,
    /// READY/RESUMED deadline length.
    ready_timeout: Duration,
    /// The core's command queue capacity: commands beyond it wait in the channel.
    core_capacity: usize,
    /// Whether disconnects are returned as errors (manual reconnect policy).
    manual: bool,
    /// Who grants Identify.
    queue: Arc<dyn IdentifyQueue>,
    /// The live socket.
    conn: Option<Connection>,
    /// A socket being closed: its close frame is still being written.
    closing: Option<Connection>,
    /// The connect attempt in flight.
    connecting: Option<ConnectFuture>,
    /// The identify request in flight.
    acquiring: Option<PermitFuture>,
    /// The permit held from Identify until READY or failure.
    permit: Option<IdentifyPermit>,
    /// The one timer: the earliest of the core's deadline and the handshake deadline.
    sleep: Pin<Box<Sleep>>,
    /// The READY/RESUMED deadline.
    handshake: Option<Instant>,
    /// The phase seen last, to arm the handshake deadline on changes.
    last_phase: Phase,
    /// Commands from [`ShardSender`](crate::ShardSender)s.
    commands: mpsc::Receiver<Request>,
    /// Tells senders the shard is stopped, so they stop waiting for an answer.
    stop_signal: watch::Sender<bool>,
    /// Counters.
    stats: ShardStats,
    /// Sum and count of latency samples, one per heartbeat ACK.
    latency_sum: (Duration, u32),
    /// The core's ACK count when the last sample was taken.
    acks_seen: u64,
    /// Set once the core stopped for good; returned again on every poll.
    stopped: Option<ShardErrorKind>,
    /// Whether a connection was ever started (for counting reconnects).
    started: bool,
    /// `shard{id,total}`.
    span: Span,
    /// Messages read in a row on the socket-only fast path of [`Driver::poll_inputs`].
    socket_streak: u32,
    /// An event the core produced during [`poll_keepalive`](Self::poll_keepalive), returned
    /// by the next `next_event`.
    held: Option<Event>,
}

/// Messages read in a row on the socket alone before the other inputs (timer, commands,
/// identify queue, connect) are polled again. While a busy socket keeps returning messages,
/// those inputs need not be looked at after each one: a heartbeat or a command waits at most
/// this many messages (microseconds), and every `Pending` from the socket polls them all.
const SOCKET_BATCH: u32 = 32;

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("phase", &self.state.phase())
            .field("connected", &self.conn.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// An engine around `state`.
    pub(crate) fn new(
        config: ShardConfig,
        state: GatewayState,
        commands: mpsc::Receiver<Request>,
        stop_signal: watch::Sender<bool>,
        span: Span,
    ) -> Self {
        let mut state = state;
        state.set_hello_timeout(config.hello_timeout);
        Self {
            manual: config.core.reconnect() == ReconnectPolicy::Manual,
            core_capacity: config.core.limits().queue_capacity,
            last_phase: state.phase(),
            state,
            connect: config.connect,
            ready_timeout: config.ready_timeout,
            queue: config.queue,
            conn: None,
            closing: None,
            connecting: None,
            acquiring: None,
            permit: None,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            handshake: None,
            commands,
            stop_signal,
            stats: ShardStats::default(),
            latency_sum: (Duration::ZERO, 0),
            acks_seen: 0,
            stopped: None,
            started: false,
            span,
            socket_streak: 0,
            held: None,
        }
    }

    /// The core, for getters.
    pub(crate) fn state(&self) -> &GatewayState {
        &self.state
    }

    /// The shard's span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The current heartbeat interval.
    pub(crate) fn heartbeat_interval(&self) -> Option<Duration> {
        self.state.heartbeat_interval()
    }

    /// Counters, with the core's dropped-dispatch count.
    pub(crate) fn stats(&self) -> ShardStats {
        ShardStats {
            events_dropped: self.state.dropped_dispatches(),
            ..self.stats
        }
    }

    /// Last and average heartbeat round trip.
    pub(crate) fn latency(&self) -> Latency {
        let (sum, count) = self.latency_sum;
        Latency {
            last: self.state.latency(),
            average: (count > 0).then(|| sum / count),
        }
    }

    /// Runs a manual command on the core; a stopped shard becomes live again.
    pub(crate) fn with_state<T>(
        &mut self,
        f: impl FnOnce(&mut GatewayState, std::time::Instant) -> T,
    ) -> T {
        if self.stopped.take().is_some() {
            // Commands queued while stopped were already answered `ShardGone`.
            self.reject_commands();
            self.stop_signal.send_replace(false);
        }
        f(&mut self.state, now())
    }

    /// Closes through the core and writes the close frame (bounded by the connect timeout).
    pub(crate) async fn close(&mut self, close: ClientClose) {
        self.state.close(now(), close);
        if self.state.phase() == Phase::Stopped {
            self.stop_signal.send_replace(true);
            self.reject_commands();
        }
        self.do_transmits();
        let flush = std::future::poll_fn(|cx| match &mut self.closing {
            Some(conn) => conn.poll_flush_out(cx).map(|_| ()),
            None => Poll::Ready(()),
        });
        let _ = tokio::time::timeout(self.connect.timeout, flush).await;
        self.closing = None;
    }

    /// One poll of `next_event`; see the module docs for the order.
    pub(crate) fn poll_next_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Event, ShardError>> {
        let span = self.span.clone();
        let _entered = span.enter();
        self.state.set_reading_paused(now(), false);
        if let Some(event) = self.held.take()
            && let Some(result) = self.on_event(event)
        {
            return Poll::Ready(result);
        }
        loop {
            if let Some(kind) = &self.stopped {
                return Poll::Ready(Err(ShardError::new(kind.clone())));
            }
            self.do_transmits();
            if let Some(event) = self.state.poll_event() {
                if let Some(result) = self.on_event(event) {
                    return Poll::Ready(result);
                }
                continue;
            }
            match self.poll_inputs(cx) {
                Ok(true) => {}
                Ok(false) => return Poll::Pending,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// Whether [`poll_keepalive`](Self::poll_keepalive) has work to do: a live session, no
    /// held event, not stopped.
    pub(crate) fn can_keepalive(&self) -> bool {
        self.held.is_none() && self.stopped.is_none() && self.state.phase() == Phase::Active
    }

    /// Keeps a live session alive without reading from the socket: heartbeats, queued
    /// commands and the outbox go on, inbound messages wait (back-pressure reaches the
    /// server). Ready when the core produced an event (held for the next `next_event`) or the
    /// session is no longer live; see [`GatewayState::set_reading_paused`].
    pub(crate) fn poll_keepalive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let span = self.span.clone();
        let _entered = span.enter();
        if !self.can_keepalive() {
            return Poll::Ready(());
        }
        self.state.set_reading_paused(now(), true);
        loop {
            self.do_transmits();
            if let Some(event) = self.state.poll_event() {
                self.held = Some(event);
                return Poll::Ready(());
            }
            if self.state.phase() != Phase::Active {
                return Poll::Ready(());
            }
            self.poll_closing(cx);
            let mut progressed = self.poll_flush(cx);
            progressed |= self.poll_commands(cx);
            progressed |= self.poll_timer(cx);
            if !progressed {
                return Poll::Pending;
            }
        }
    }

    /// Flushes the outbox only (no read); `true` if the socket failed.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(conn) = &mut self.conn else {
            return false;
        };
        if let Poll::Ready(Err(error)) = conn.poll_flush_out(cx) {
            debug!(%error, "write failed");
            self.lose_connection();
            return true;
        }
        false
    }

    /// The socket is gone without a close frame: drop it and tell the core.
    fn lose_connection(&mut self) {
        self.conn = None;
        self.state.handle_disconnected(now(), None);
    }

    /// Does the core's socket work, in order.
    fn do_transmits(&mut self) {
        while let Some(transmit) = self.state.poll_transmit() {
            match transmit {
                Transmit::Connect { url } => {
                    // The core closed the old socket first if it wanted a close frame.
                    self.conn = None;
                    if self.started {
                        self.stats.reconnects += 1;
                    }
                    self.started = true;
                    let options = self.connect.clone();
                    self.connecting = Some(Box::pin(async move { connect(&url, &options).await }));
                }
                Transmit::Text(payload) => match &mut self.conn {
                    Some(conn) => conn.queue_text(payload),
                    None => debug!("text transmit without a socket dropped"),
                },
                Transmit::Close(CloseFrame { code, reason }) => {
                    if let Some(mut conn) = self.conn.take() {
                        conn.queue_close(code, &reason);
                        self.closing = Some(conn);
                    }
                }
            }
        }
    }

    /// Acts on a core event on its way to the caller; `None` swallows it.
    fn on_event(&mut self, event: Event) -> Option<Result<Event, ShardError>> {
        let Event::Notice(notice) = &event else {
            self.stats.events_delivered += 1;
            return Some(Ok(event));
        };
        match notice {
            Notice::Ready { .. } => {
                info!("identified: session ready");
                self.permit = None;
            }
            Notice::Resumed { replayed } => {
                info!(replayed, "resumed");
                self.stats.resumes += 1;
            }
            Notice::Disconnected(d) => {
                self.permit = None;
                self.acquiring = None;
                let backoff_ms = d.reconnect_at.map(|at| {
                    let wait = at.saturating_duration_since(now());
                    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
                });
                info!(cause = ?d.cause, code = ?d.code, reason = %d.reason, can_resume = d.can_resume, ?backoff_ms, "disconnected");
                if self.manual && d.reconnect_at.is_none() && self.state.phase() != Phase::Stopped {
                    let kind = ShardErrorKind::Disconnected {
                        code: d.code,
                        reason: d.reason.clone(),
                        resumable: d.can_resume,
                    };
                    return Some(Err(ShardError::new(kind)));
                }
            }
            Notice::Stopped(reason) => {
                self.permit = None;
                self.acquiring = None;
                let kind = match reason {
                    StopReason::Fatal { code, remedy } => ShardErrorKind::FatalClose {
                        code: u16::from(*code),
                        remedy,
                    },
                    _ => ShardErrorKind::Closed,
                };
                warn!(error = %kind, "shard stopped");
                self.stopped = Some(kind.clone());
                self.stop_signal.send_replace(true);
                self.reject_commands();
                return Some(Err(ShardError::new(kind)));
            }
            _ => {}
        }
        Some(Ok(event))
    }

    /// Answers every queued command with `ShardGone` (the shard stopped).
    fn reject_commands(&mut self) {
        while let Ok(request) = self.commands.try_recv() {
            let _ = request
                .reply
                .send(Err(SendError::new(SendErrorKind::ShardGone)));
        }
    }

    /// Polls every input once; `Ok(true)` if any made progress.
    fn poll_inputs(&mut self, cx: &mut Context<'_>) -> Result<bool, ShardError> {
        if self.socket_streak < SOCKET_BATCH && self.closing.is_none() && self.poll_socket(cx) {
            self.socket_streak += 1;
            return Ok(true);
        }
        self.socket_streak = 0;
        self.poll_closing(cx);
        let mut progressed = self.poll_connecting(cx);
        progressed |= self.poll_socket(cx);
        progressed |= self.poll_identify(cx)?;
        progressed |= self.poll_commands(cx);
        progressed |= self.poll_timer(cx);
        Ok(progressed)
    }

    /// Writes the close frame of a retired socket, then drops it.
    fn poll_closing(&mut self, cx: &mut Context<'_>) {
        if let Some(conn) = &mut self.closing
            && conn.poll_flush_out(cx).is_ready()
        {
            self.closing = None;
        }
    }

    /// Polls the connect attempt.
    fn poll_connecting(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(attempt) = &mut self.connecting else {
            return false;
        };
        let Poll::Ready(result) = attempt.as_mut().poll(cx) else {
            return false;
        };
        self.connecting = None;
        match result {
            Ok(ws) => {
                debug!("socket open");
                self.conn = Some(Connection::new(ws));
                self.state.handle_connected(now());
            }
            Err(error) => {
                warn!(%error, "connect failed");
                self.state.handle_disconnected(now(), None);
            }
        }
        true
    }

    /// Flushes the outbox and reads one message.
    fn poll_socket(&mut self, cx: &mut Context<'_>) -> bool {
        if self.poll_flush(cx) {
            return true;
        }
        let Some(conn) = &mut self.conn else {
            return false;
        };
        let Poll::Ready(inbound) = conn.poll_recv(cx) else {
            return false;
        };
        match inbound {
            Inbound::Text(bytes) => {
                match std::str::from_utf8(&bytes) {
                    Ok(text) => self.state.handle_frame(now(), Frame::Text(text)),
                    Err(_) => self.state.handle_frame(now(), Frame::Binary(&bytes)),
                }
                self.sample_latency();
            }
            Inbound::Binary(bytes) => {
                self.state.handle_frame(now(), Frame::Binary(&bytes));
                self.sample_latency();
            }
            Inbound::Closed(close) => {
                self.conn = None;
                let close = close.map(|(code, reason)| CloseFrame { code, reason });
                self.state.handle_disconnected(now(), close);
            }
            Inbound::Dropped(error) => {
                debug!(%error, "socket dropped");
                self.lose_connection();
            }
            Inbound::Ended => {
                self.lose_connection();
            }
        }
        true
    }

    /// Adds the core's latency to the average once per heartbeat ACK (a message holds at
    /// most one ACK, so checking after each message sees every one).
    fn sample_latency(&mut self) {
        let acks = self.state.heartbeat_acks();
        if acks == self.acks_seen {
            return;
        }
        self.acks_seen = acks;
        if let Some(latency) = self.state.latency() {
            self.latency_sum.0 = self.latency_sum.0.saturating_add(latency);
            self.latency_sum.1 = self.latency_sum.1.saturating_add(1);
        }
    }

    /// Asks the identify queue when the core wants to identify; grants when it answers.
    fn poll_identify(&mut self, cx: &mut Context<'_>) -> Result<bool, ShardError> {
        if !self.state.wants_identify() {
            self.acquiring = None;
            return Ok(false);
        }
        let attempt = self.acquiring.get_or_insert_with(|| {
            let queue = Arc::clone(&self.queue);
            let id = self.state.shard().number();
            debug!("asking the identify queue");
            Box::pin(async move { queue.acquire(id).await })
        });
        let Poll::Ready(result) = attempt.as_mut().poll(cx) else {
            return Ok(false);
        };
        self.acquiring = None;
        let permit =
            result.map_err(|e| ShardError::with_source(ShardErrorKind::IdentifyQueue, e))?;
        self.track_phase(); // record the Hello -> Identifying change before arming READY's deadline
        if self.state.grant_identify(now()) {
            info!("identifying");
            self.stats.identifies += 1;
            self.permit = Some(permit);
            self.handshake = Some(Instant::now() + self.ready_timeout);
        }
        Ok(true)
    }

    /// Hands queued commands to the core while the session is live and the core has room.
    fn poll_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let capacity = self.core_capacity;
        let mut progressed = false;
        while self.state.phase() == Phase::Active && self.state.queued() < capacity {
            let Poll::Ready(Some(request)) = self.commands.poll_recv(cx) else {
                break;
            };
            let answer = self
                .state
                .send(now(), &request.command)
                .map_err(|e| SendError::with_source(SendErrorKind::Invalid, e));
            let _ = request.reply.send(answer);
            progressed = true;
        }
        progressed
    }

    /// Fires due timers: the core's and the handshake deadline.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        self.track_phase();
        let core = self.state.poll_timeout().map(Instant::from_std);
        let Some(deadline) = [core, self.handshake].into_iter().flatten().min() else {
            return false;
        };
        if deadline > Instant::now() {
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
        }
        let now_tokio = Instant::now();
        if self.handshake.is_some_and(|h| h <= now_tokio) {
            self.handshake = None;
            warn!(phase = ?self.state.phase(), "handshake timed out: dropping the connection");
            self.lose_connection();
            return true;
        }
        self.state.handle_timeout(now());
        true
    }

    /// Arms or clears the handshake deadline when the phase changes.
    fn track_phase(&mut self) {
        let phase = self.state.phase();
        if phase == self.last_phase {
            return;
        }
        self.last_phase = phase;
        self.handshake = match phase {
            // AwaitingHello: the core's own Hello deadline (set from the config) governs.
            Phase::Resuming => Some(Instant::now() + self.ready_timeout),
            // Identifying: armed when Identify is actually sent (the queue wait is free).
            _ => None,
        };
    }
}
