//! [`Shard`]: one gateway session over a real WebSocket, driven inside the caller's `.await`.
//!
//! A shard spawns nothing. [`Shard::next_event`] does all the work — connecting, reading,
//! heartbeating, identifying through the queue, reconnecting — while the caller awaits it, and
//! returns at the next event. Between calls nothing happens, so a caller that leaves more than
//! half a heartbeat interval between calls starves heartbeats; the shard logs a `warn!` when
//! that happens. The socket work itself is in `driver.rs`.
//!
//! Other tasks send commands through a [`ShardSender`]: a bounded channel that the shard drains
//! into the core while it runs and the session is live.

use std::hash::BuildHasher;
use std::time::Duration;

use discordgateway_proto::close_code::ClientClose;
use discordgateway_proto::event::Event;
use discordgateway_proto::payload::{Command, Outgoing};
use discordgateway_proto::state::{GatewayState, Phase, ResumeError, Session};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{info_span, warn};

use crate::config::ShardConfig;
use crate::driver::Driver;
use crate::error::{SendError, SendErrorKind, ShardError};

/// How [`Shard::close`] ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// Close with a non-1000 code (4900): the session stays resumable, e.g. to save
    /// [`Shard::session`] and resume after a restart. The shard stays idle afterwards.
    Resumable,
    /// Close with 1000: the session ends and the bot appears offline. The shard is done.
    Final,
}

/// Counters readable at any time with [`Shard::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStats {
    /// Dispatches returned by `next_event`.
    pub events_delivered: u64,
    /// Dispatches received but not delivered: undeclared (dropped unparsed) or duplicates.
    pub events_dropped: u64,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Sessions resumed (RESUMED received).
    pub resumes: u64,
    /// Identify payloads sent.
    pub identifies: u64,
}

/// Heartbeat round trips, from [`Shard::latency`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// The last ACKed heartbeat's round trip.
    pub last: Option<Duration>,
    /// The mean over every heartbeat ACKed since the shard was created.
    pub average: Option<Duration>,
}

/// A command on its way from a [`ShardSender`] to the shard, with the channel for the answer.
#[derive(Debug)]
pub(crate) struct Request {
    /// The validated command.
    pub(crate) command: Command,
    /// Where the core's answer goes.
    pub(crate) reply: oneshot::Sender<Result<(), SendError>>,
}

/// A cloneable handle that sends commands to a [`Shard`] from any task.
#[derive(Debug, Clone)]
pub struct ShardSender {
    /// The shard's command channel.
    tx: mpsc::Sender<Request>,
    /// Its capacity, for the error message.
    capacity: usize,
    /// `true` while the shard is stopped (fatal close, final close): nobody drains the
    /// channel then, so a send must not wait for an answer.
    stopped: watch::Receiver<bool>,
}

impl ShardSender {
    /// Validates `command`, queues it, and waits until the shard has handed it to the core
    /// (which sends it as soon as the rate limit allows).
    ///
    /// While the shard is not connected the command simply waits in the queue: that is a
    /// wait, not an error. Dropping the returned future does not withdraw a queued command.
    ///
    /// # Errors
    ///
    /// [`SendErrorKind::Invalid`] at once for a command that breaks a gateway rule (the
    /// source names it); [`SendErrorKind::QueueFull`] when the channel holds
    /// `command_queue_capacity` commands; [`SendErrorKind::ShardGone`] when the shard was
    /// dropped or stopped (also for a command that was waiting when it stopped).
    pub async fn send(&self, command: impl Into<Command>) -> Result<(), SendError> {
        let command = command.into();
        command
            .validate()
            .map_err(|e| SendError::with_source(SendErrorKind::Invalid, e))?;
        let gone = || SendError::new(SendErrorKind::ShardGone);
        let mut stopped = self.stopped.clone();
        if *stopped.borrow_and_update() {
            return Err(gone());
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Request { command, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::new(SendErrorKind::QueueFull {
                    capacity: self.capacity,
                }),
                mpsc::error::TrySendError::Closed(_) => SendError::new(SendErrorKind::ShardGone),
            })?;
        tokio::select! {
            answer = answer => answer.unwrap_or_else(|_| Err(gone())),
            // The shard stopped while the command waited: it will not be sent.
            _ = stopped.wait_for(|stopped| *stopped) => Err(gone()),
        }
    }
}

/// One gateway session: connect, identify or resume, heartbeat and reconnect, all inside
/// [`next_event`](Self::next_event).
///
/// **Heartbeats need polling.** A shard spawns nothing: its socket is read, its heartbeats
/// sent and its reconnects made only while a `next_event` future is being polled. Poll it in
/// a loop from its own task and keep the work between calls short (hand long work to another
/// task). Leaving more than half a heartbeat interval between calls logs a `warn!`; leaving
/// much longer lets Discord close the connection as a zombie (it then resumes).
///
/// **Cancel safety.** `next_event` is cancel-safe: every piece of in-progress work (a connect
/// attempt, a half-read message, a queued outgoing frame, an identify-queue request) lives
/// in the `Shard`, not in the future. Racing it in `tokio::select!` or under
/// `tokio::time::timeout` and dropping it loses no event and sends nothing twice.
///
/// **Share the identify queue.** Each shard asks its [`IdentifyQueue`](crate::IdentifyQueue)
/// before every Identify. The default queue is private to the shard, which is right for a
/// bot with one shard and one process. With several shards, build one
/// [`LocalIdentifyQueue`](crate::LocalIdentifyQueue) from `/gateway/bot`
/// ([`fetch_gateway_info`](crate::fetch_gateway_info)) and pass the same `Arc` to every
/// shard with [`ShardConfigBuilder::identify_queue`](crate::ShardConfigBuilder::identify_queue);
/// separate queues identify too fast and Discord answers with Invalid Session.
///
/// # Examples
///
/// ```no_run
/// use discordgateway::proto::config::Config;
/// use discordgateway::proto::event::Event;
/// use discordgateway::proto::{EventSet, EventType, GatewayUrl, Token};
/// use discordgateway::{Shard, ShardConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let core = Config::builder(Token::new(std::env::var("DISCORD_TOKEN")?)?)
///     .guild_events(EventSet::from_slice(&[EventType::from_wire("MESSAGE_CREATE")]))
///     .default_url(GatewayUrl::parse("wss://gateway.discord.gg")?)
///     .build()?;
/// let mut shard = Shard::new(ShardConfig::builder(core).build()?);
/// loop {
///     match shard.next_event().await? {
///         Event::Dispatch(d) => println!("{} #{}", d.kind().name(), d.sequence()),
///         Event::Notice(n) => println!("{n:?}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Shard {
    /// The socket engine and the core it drives.
    driver: Driver,
    /// The sending half handed out by [`sender`](Self::sender).
    sender: ShardSender,
    /// When `next_event` last returned, for the heartbeat-starvation warning.
    last_return: Option<Instant>,
}

impl Shard {
    /// A shard that identifies a new session; it connects on the first `next_event`.
    #[must_use]
    pub fn new(config: ShardConfig) -> Self {
        let seed = seed(&config);
        let state = GatewayState::new(config.core.clone(), now(), seed);
        Self::with_state(config, state)
    }

    /// A shard that resumes `session` directly (no Identify, no identify queue). If the
    /// resume fails (op 9, 4007, 4009 or an expired session), it falls back to a fresh
    /// Identify through the queue.
    #[must_use]
    pub fn from_session(config: ShardConfig, session: Session) -> Self {
        let seed = seed(&config);
        let state = GatewayState::from_session(config.core.clone(), session, now(), seed);
        Self::with_state(config, state)
    }

    /// Wraps a core state.
    fn with_state(config: ShardConfig, state: GatewayState) -> Self {
        let shard = state.shard();
        let span = info_span!("shard", id = shard.number(), total = shard.total());
        let (tx, rx) = mpsc::channel(config.command_queue_capacity);
        let (stop_tx, stopped) = watch::channel(false);
        let sender = ShardSender {
            tx,
            capacity: config.command_queue_capacity,
            stopped,
        };
        Self {
            driver: Driver::new(config, state, rx, stop_tx, span),
            sender,
            last_return: None,
        }
    }

    /// Waits for the next event, doing all the socket and timer work meanwhile.
    ///
    /// **Cancel-safe**: every bit of in-progress state lives in the `Shard`, so dropping this
    /// future (in `tokio::select!`, under a timeout) loses nothing; the next call continues.
    ///
    /// # Errors
    ///
    /// - [`ShardErrorKind::FatalClose`](crate::ShardErrorKind::FatalClose): Discord closed
    ///   with a code after which reconnecting cannot help; the message names the fix. The
    ///   shard is stopped (every later call returns the same error).
    /// - [`ShardErrorKind::Closed`](crate::ShardErrorKind::Closed) after `close(Final)`.
    /// - [`ShardErrorKind::Disconnected`](crate::ShardErrorKind::Disconnected) in manual
    ///   mode, for every disconnect; call [`reconnect`](Self::reconnect),
    ///   [`resume`](Self::resume) or [`identify`](Self::identify), then poll again.
    /// - [`ShardErrorKind::IdentifyQueue`](crate::ShardErrorKind::IdentifyQueue) when the
    ///   queue failed; polling again asks again.
    pub async fn next_event(&mut self) -> Result<Event, ShardError> {
        self.warn_if_starved();
        let result = std::future::poll_fn(|cx| self.driver.poll_next_event(cx)).await;
        self.last_return = Some(Instant::now());
        result
    }

    /// Keeps the session alive while the application is not ready for events: heartbeats,
    /// queued commands and outgoing frames go on, but nothing is read from the socket, so
    /// back-pressure reaches the server and nothing is buffered here. Completes when the shard
    /// has something for [`next_event`](Self::next_event) (an event produced meanwhile, or the
    /// session left the live state), or at once when there is nothing to keep alive.
    ///
    /// Use it where you would otherwise stop polling a shard because your consumer is full,
    /// e.g. `select!` it against your channel's `reserve()`; the shard manager does exactly
    /// that. Cancel-safe. While it runs the zombie rule is suspended (the ACKs wait unread);
    /// the next `next_event` restores it.
    pub async fn keepalive(&mut self) {
        std::future::poll_fn(|cx| self.driver.poll_keepalive(cx)).await;
        self.last_return = Some(Instant::now());
    }

    /// Whether [`keepalive`](Self::keepalive) has anything to do: a live session and no event
    /// waiting for `next_event`.
    #[must_use]
    pub fn can_keepalive(&self) -> bool {
        self.driver.can_keepalive()
    }

    /// Warns when the caller left more than half a heartbeat interval since the last return.
    fn warn_if_starved(&self) {
        let (Some(last), Some(interval)) = (self.last_return, self.driver.heartbeat_interval())
        else {
            return;
        };
        let gap = last.elapsed();
        if gap > interval / 2 {
            let _span = self.driver.span().enter();
            warn!(
                gap_ms = u64::try_from(gap.as_millis()).unwrap_or(u64::MAX),
                interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
                "next_event was not polled for over half a heartbeat interval: heartbeats starve; \
                 poll the shard from its own task or keep handlers short"
            );
        }
    }

    /// A handle to send commands from other tasks.
    #[must_use]
    pub fn sender(&self) -> ShardSender {
        self.sender.clone()
    }

    /// Closes the connection and waits (bounded by the connect timeout) until the close frame
    /// is written. See [`CloseKind`] for what each kind leaves behind.
    pub async fn close(&mut self, kind: CloseKind) {
        let close = match kind {
            CloseKind::Resumable => ClientClose::KeepSession,
            CloseKind::Final => ClientClose::EndSession,
        };
        self.driver.close(close).await;
    }

    /// Manual mode (or after a resumable close): reconnect now, resuming if a session exists.
    pub fn reconnect(&mut self) {
        self.driver.with_state(|state, now| state.reconnect(now));
    }

    /// Manual mode: reconnect now and resume the session.
    ///
    /// # Errors
    ///
    /// [`ResumeError::NoSession`] when there is no session; call [`identify`](Self::identify).
    pub fn resume(&mut self) -> Result<(), ResumeError> {
        self.driver.with_state(GatewayState::resume)
    }

    /// Manual mode: drop the session and reconnect now to identify a new one.
    pub fn identify(&mut self) {
        self.driver.with_state(|state, now| state.identify(now));
    }

    /// The session to save for [`from_session`](Self::from_session), if one exists.
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.driver.state().session()
    }

    /// Where the shard is in its connection's life.
    #[must_use]
    pub fn status(&self) -> Phase {
        self.driver.state().phase()
    }

    /// Heartbeat round trips: last and average.
    #[must_use]
    pub fn latency(&self) -> Latency {
        self.driver.latency()
    }

    /// Delivered and dropped events, reconnects, resumes and identifies so far.
    #[must_use]
    pub fn stats(&self) -> ShardStats {
        self.driver.stats()
    }

    /// The shard this is (`[id, total]`).
    #[must_use]
    pub fn id(&self) -> discordgateway_proto::shard::ShardId {
        self.driver.state().shard()
    }
}

/// Tokio's clock as a std `Instant`, so paused-time tests drive the core too.
pub(crate) fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// The configured seed, or a random one.
fn seed(config: &ShardConfig) -> u64 {
    config.seed.unwrap_or_else(|| {
        std::collections::hash_map::RandomState::new().hash_one(config.core.shard().number())
    })
}
