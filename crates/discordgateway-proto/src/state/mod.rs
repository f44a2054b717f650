//! The sans-IO session state machine, [`GatewayState`] (GATEWAY.md §3–§5).
//!
//! Submodules: `phase` (connections and reconnects), `inbound` (server messages,
//! sequencing, filtering), `heartbeat` (interval, jitter, ACKs, zombies), `reconnect`
//! (backoff), `session` (the exportable [`Session`]).

mod heartbeat;
mod inbound;
mod phase;
mod reconnect;
mod rng;
mod session;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::debug;

use self::heartbeat::Heartbeat;
pub use self::phase::Phase;
use self::phase::{Ending, Target};
use self::rng::Rng;
pub use self::session::Session;
use crate::close_code::ClientClose;
use crate::config::Config;
use crate::event::{DeliveryArena, DisconnectCause, Event};
use crate::event_type::EventSet;
use crate::inflate::{Inflater, ZlibInflater, ZstdInflater};
use crate::payload::{Command, CommandError, Outgoing};
use crate::ratelimit::{Priority, RateLimiter};
use crate::shard::ShardId;
use crate::timer::{Timer, TimerTable};
use crate::url::{Compression, GatewayUrl};

/// A WebSocket message from the server, as the driver received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text message (uncompressed JSON).
    Text(&'a str),
    /// A binary message (transport-compressed data, or JSON in a binary frame).
    Binary(&'a [u8]),
}

/// A WebSocket close frame, received or to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code.
    pub code: u16,
    /// The reason text (may be empty).
    pub reason: String,
}

/// Socket work for the driver, in the order it must be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Open a WebSocket to this URL (it carries `v`, `encoding` and `compress`), then call
    /// [`GatewayState::handle_connected`], or [`GatewayState::handle_disconnected`] on failure.
    Connect {
        /// Where to connect.
        url: GatewayUrl,
    },
    /// Send this text frame.
    Text(Bytes),
    /// Close the socket with this frame and drop it; do not report its end back.
    Close(CloseFrame),
}

/// Why a [`GatewayState::send`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The command breaks a gateway rule; fix the command.
    #[error("invalid command: {0}")]
    Invalid(#[from] CommandError),
    /// The outgoing queue is full: wait for commands to leave (the rate limit lets about
    /// two per second through) or raise `Limits::queue_capacity`.
    #[error(
        "the outgoing queue is full ({capacity} commands): send slower or raise `queue_capacity`"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The state machine is stopped; create a new one (or call `identify`) to send again.
    #[error("the gateway session is stopped: reconnect before sending")]
    Stopped,
}

/// Why a manual `resume` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// There is no session to resume: call `identify` instead.
    #[error("there is no session to resume: call `identify` to start a new one")]
    NoSession,
}

/// The sans-IO state machine of one gateway connection and its session.
///
/// It never opens sockets, spawns tasks or reads a clock: bytes and time come in as
/// arguments, socket work, deadlines and events go out through `poll_*` methods.
///
/// # Calling contract
///
/// Methods come in four kinds:
///
/// - **inputs** `handle_connected`, `handle_frame`, `handle_disconnected`, `handle_timeout`,
///   `grant_identify`: never fail; bad input becomes a state change and a [`Notice`](crate::event::Notice);
/// - **commands** `send`, `close`, `reconnect`, `resume`, `identify`: the application's
///   requests; `send` and `resume` return `Result`;
/// - **outputs** `poll_transmit`, `poll_event`, `poll_timeout`;
/// - **getters** `phase`, `session`, `latency`, `timeout_reason`, `wants_identify`.
///
/// The run loop obeys the **single-mutation invariant**: after each input or command, drain
/// the outputs in this order before the next input:
///
/// 1. `poll_transmit()` until `None`, doing each socket action in order (a `Close` is always
///    followed by the `Connect` of the next connection, if any);
/// 2. `poll_event()` until `None`;
/// 3. `poll_timeout()`: sleep until then (or until a frame or command arrives) and call
///    `handle_timeout(now)`.
///
/// `now` must never go backwards. A `handle_timeout` before the deadline is a no-op.
/// Randomness (heartbeat jitter, backoff) comes only from the `seed`, so the same inputs
/// replay exactly. Identify is sent only after `grant_identify` (the driver asks its identify
/// queue when [`Notice::WantsIdentify`](crate::event::Notice::WantsIdentify) arrives).
///
/// # Examples
///
/// A whole session with scripted frames, no network needed:
///
/// ```
/// use std::time::{Duration, Instant};
/// use discordgateway_proto::config::Config;
/// use discordgateway_proto::event::{Event, Notice};
/// use discordgateway_proto::event_type::{EventSet, EventType};
/// use discordgateway_proto::state::{Frame, GatewayState, Phase, Transmit};
/// use discordgateway_proto::token::Token;
///
/// let config = Config::builder(Token::new("MTAx.fake.token")?)
///     .guild_events(EventSet::from_slice(&[EventType::from_wire("MESSAGE_CREATE")]))
///     .build()?;
/// let mut now = Instant::now();
/// let mut gw = GatewayState::new(config, now, 42);
/// assert!(matches!(gw.poll_transmit(), Some(Transmit::Connect { .. })));
///
/// gw.handle_connected(now);
/// gw.handle_frame(now, Frame::Text(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#));
/// assert!(gw.wants_identify());
/// gw.grant_identify(now); // the identify queue said yes
/// let Some(Transmit::Text(identify)) = gw.poll_transmit() else { panic!() };
/// assert!(identify.starts_with(br#"{"op":2"#));
///
/// gw.handle_frame(now, Frame::Text(r#"{"op":0,"s":1,"t":"READY","d":{"v":10,"user":{"id":"1","username":"b"},"guilds":[],"session_id":"abc","resume_gateway_url":"wss://resume.example","application":{"id":"1","flags":0}}}"#));
/// gw.handle_frame(now, Frame::Text(r#"{"op":0,"s":2,"t":"TYPING_START","d":{}}"#)); // undeclared: dropped
/// gw.handle_frame(now, Frame::Text(r#"{"op":0,"s":3,"t":"MESSAGE_CREATE","d":{"id":"5"}}"#));
/// assert_eq!(gw.phase(), Phase::Active);
///
/// let dispatches: Vec<_> = std::iter::from_fn(|| gw.poll_event())
///     .filter_map(|e| match e { Event::Dispatch(d) => Some(d), Event::Notice(_) => None })
///     .collect();
/// assert_eq!(dispatches.len(), 1);
/// assert_eq!(dispatches[0].sequence(), 3);
/// assert_eq!(&dispatches[0].raw()[..], br#"{"id":"5"}"#);
///
/// // The first heartbeat is due within one interval (seeded jitter).
/// now = gw.poll_timeout().expect("heartbeat timer");
/// gw.handle_timeout(now);
/// let Some(Transmit::Text(beat)) = gw.poll_transmit() else { panic!() };
/// assert_eq!(&beat[..], br#"{"op":1,"d":3}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct GatewayState {
    /// The configuration.
    config: Config,
    /// Our shard.
    shard: ShardId,
    /// Events delivered to the application.
    delivered: EventSet,
    /// The seeded random source.
    rng: Rng,
    /// Where we are.
    phase: Phase,
    /// What the next/current connection does after Hello.
    target: Target,
    /// The current session, if any.
    session: Option<Session>,
    /// The last sequence number received.
    sequence: Option<u64>,
    /// Consecutive reconnect attempts since the last READY/RESUMED.
    attempt: u32,
    /// The driver has paused reading (see [`GatewayState::set_reading_paused`]).
    reading_paused: bool,
    /// Counts connections; lets `handle_frame` notice a reconnect made while it ran.
    epoch: u64,
    /// The inflater must be reset before the next frame (a new connection began).
    reset_inflater: bool,
    /// Transport decompression.
    inflater: Inflater,
    /// Heartbeat bookkeeping.
    heartbeat: Heartbeat,
    /// Send limit of the current connection.
    ratelimit: RateLimiter,
    /// Pending deadlines.
    timers: TimerTable,
    /// The timer that fired last.
    last_timeout: Option<Timer>,
    /// Socket work for the driver.
    transmits: VecDeque<Transmit>,
    /// Encoded user commands waiting for a rate-limit slot.
    queue: VecDeque<Bytes>,
    /// Events for the application.
    events: VecDeque<Event>,
    /// Where delivered payloads are copied.
    arena: DeliveryArena,
    /// Reused encode buffer.
    scratch: Vec<u8>,
    /// Identify went out on this connection.
    identify_sent: bool,
    /// Hello arrived without a session and no grant came yet.
    wants_identify: bool,
    /// Dispatches replayed since Resume.
    replayed: u64,
    /// Dispatches received but not delivered (undeclared, duplicate or old).
    dropped: u64,
    /// The latest `now` seen, to check monotonic time in debug builds.
    last_now: Instant,
    /// How long a new connection may wait for Hello (see [`set_hello_timeout`](Self::set_hello_timeout)).
    hello_timeout: Duration,
}

impl GatewayState {
    /// A state machine for a new session; its first transmit connects to the default URL.
    ///
    /// `seed` drives heartbeat jitter and backoff; use a different one per shard.
    #[must_use]
    pub fn new(config: Config, now: Instant, seed: u64) -> Self {
        let mut state = Self::idle(config, now, seed);
        state.connect(now);
        state
    }

    /// A state machine that resumes `session` (saved by [`session`](Self::session)); its
    /// first transmit connects to the session's resume URL.
    #[must_use]
    pub fn from_session(config: Config, session: Session, now: Instant, seed: u64) -> Self {
        let mut state = Self::idle(config, now, seed);
        state.sequence = Some(session.sequence);
        state.session = Some(session);
        state.target = Target::Resume;
        state.connect(now);
        state
    }

    /// Everything at rest.
    fn idle(config: Config, now: Instant, seed: u64) -> Self {
        let max = config.limits().max_message_size;
        let inflater = match config.params().compression {
            Compression::ZlibStream => Inflater::Zlib(ZlibInflater::new(max)),
            Compression::ZstdStream => Inflater::Zstd(ZstdInflater::new(max)),
            _ => Inflater::None,
        };
        Self {
            shard: config.shard(),
            delivered: config.delivered_events(),
            config,
            rng: Rng::new(seed),
            phase: Phase::Idle,
            target: Target::Identify,
            session: None,
            sequence: None,
            attempt: 0,
            reading_paused: false,
            epoch: 0,
            reset_inflater: false,
            inflater,
            heartbeat: Heartbeat::default(),
            ratelimit: RateLimiter::new(),
            timers: TimerTable::default(),
            last_timeout: None,
            transmits: VecDeque::new(),
            queue: VecDeque::new(),
            events: VecDeque::new(),
            arena: DeliveryArena::default(),
            scratch: Vec::new(),
            identify_sent: false,
            wants_identify: false,
            replayed: 0,
            dropped: 0,
            last_now: now,
            hello_timeout: inbound::HELLO_TIMEOUT,
        }
    }

    // -- inputs --------------------------------------------------------------------------

    /// The socket of the last `Connect` is open.
    pub fn handle_connected(&mut self, now: Instant) {
        self.tick(now);
        if self.phase == Phase::Connecting {
            self.phase = Phase::AwaitingHello;
            self.timers
                .set(Timer::HelloDeadline, now + self.hello_timeout);
        }
    }

    /// A WebSocket message arrived; decompression happens here.
    pub fn handle_frame(&mut self, now: Instant, frame: Frame<'_>) {
        self.tick(now);
        if !self.phase.is_connected() {
            return;
        }
        if self.reset_inflater {
            self.inflater.reset();
            self.reset_inflater = false;
        }
        let bytes = match frame {
            Frame::Text(text) => text.as_bytes(),
            Frame::Binary(bytes) => bytes,
        };
        let max = self.config.limits().max_frame_size;
        if bytes.len() > max {
            let ending = Ending::new(
                DisconnectCause::FrameTooLarge { len: bytes.len() },
                Target::Resume,
            );
            return self.drop_connection(now, ClientClose::KeepSession, ending);
        }
        // The inflater is taken out so the message can borrow it while `self` changes.
        let mut inflater = std::mem::replace(&mut self.inflater, Inflater::None);
        let result = match frame {
            Frame::Text(_) => Ok(Some(bytes)),
            Frame::Binary(_) => inflater.feed(bytes),
        };
        match result {
            Ok(Some(msg)) => self.on_message(now, msg),
            Ok(None) => {}
            Err(error) => {
                let ending = Ending::new(DisconnectCause::Inflate(error), Target::Resume);
                self.drop_connection(now, ClientClose::KeepSession, ending);
            }
        }
        inflater.trim();
        self.inflater = inflater;
        self.flush_queue(now);
    }

    /// The socket closed or failed (`None`: no close frame, e.g. a TCP drop or a failed
    /// connect). Calls after the core itself closed the socket are ignored.
    pub fn handle_disconnected(&mut self, now: Instant, close: Option<CloseFrame>) {
        self.tick(now);
        self.on_disconnected(now, close);
    }

    /// Fires every timer due at `now`; a call before any deadline is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        // Each firing re-arms only for later instants; the bound is a safety net.
        for _ in 0..Timer::ALL.len() * 2 {
            let Some(timer) = self.timers.expire(now) else {
                break;
            };
            self.last_timeout = Some(timer);
            debug!(?timer, "timeout");
            match timer {
                Timer::Heartbeat => self.on_heartbeat_timer(now),
                Timer::HelloDeadline => self.on_hello_timeout(now),
                Timer::Ratelimit => self.flush_queue(now),
                Timer::Backoff => self.connect(now),
            }
        }
        self.flush_queue(now);
    }

    /// Tells the core whether the driver has paused reading from the socket.
    ///
    /// A driver whose application is slow may stop reading (so back-pressure reaches the
    /// socket) while it keeps calling [`handle_timeout`](Self::handle_timeout) and sending
    /// what [`poll_transmit`](Self::poll_transmit) gives. Heartbeats then keep going, but their
    /// ACKs wait unread behind the backlog, so the zombie rule (GATEWAY.md §3.3) is suspended
    /// while paused; when reading resumes, an outstanding beat gets one full interval from
    /// `now` for its ACK to be read.
    pub fn set_reading_paused(&mut self, now: Instant, paused: bool) {
        if self.reading_paused && !paused {
            self.heartbeat.grace(now);
        }
        self.reading_paused = paused;
    }

    /// The identify queue allows this shard to Identify now. Returns whether Identify was
    /// sent; a grant when none is wanted (see [`wants_identify`](Self::wants_identify)) is
    /// ignored and not remembered.
    pub fn grant_identify(&mut self, now: Instant) -> bool {
        self.tick(now);
        self.identify_now(now)
    }

    // -- commands ------------------------------------------------------------------------

    /// Validates a command and queues it; it leaves when the session is live and the rate
    /// limit allows (heartbeats, Identify and Resume always go first).
    ///
    /// Queued commands survive reconnects and are sent on the next live connection.
    ///
    /// # Errors
    ///
    /// [`SendError::Invalid`] for a command that breaks a rule, [`SendError::QueueFull`] when
    /// `queue_capacity` commands are waiting, [`SendError::Stopped`] after a stop.
    pub fn send(&mut self, now: Instant, command: &Command) -> Result<(), SendError> {
        self.tick(now);
        if self.phase == Phase::Stopped {
            return Err(SendError::Stopped);
        }
        let capacity = self.config.limits().queue_capacity;
        if self.queue.len() >= capacity {
            return Err(SendError::QueueFull { capacity });
        }
        command.encode(&mut self.scratch)?;
        self.queue.push_back(Bytes::copy_from_slice(&self.scratch));
        self.flush_queue(now);
        Ok(())
    }

    /// Closes the connection. [`ClientClose::KeepSession`] (code 4900) keeps the session
    /// resumable and leaves the state [`Phase::Idle`]; [`ClientClose::EndSession`] (1000)
    /// ends it and leaves the state [`Phase::Stopped`]. Neither reconnects by itself.
    pub fn close(&mut self, now: Instant, close: ClientClose) {
        self.tick(now);
        self.close_now(close);
    }

    /// Reconnects now: resumes if a session exists, otherwise identifies.
    pub fn reconnect(&mut self, now: Instant) {
        self.tick(now);
        let target = if self.session.is_some() {
            Target::Resume
        } else {
            Target::Identify
        };
        self.manual_connect(now, target);
    }

    /// Reconnects now and resumes the session.
    ///
    /// # Errors
    ///
    /// [`ResumeError::NoSession`] when there is none.
    pub fn resume(&mut self, now: Instant) -> Result<(), ResumeError> {
        self.tick(now);
        if self.session.is_none() {
            return Err(ResumeError::NoSession);
        }
        self.manual_connect(now, Target::Resume);
        Ok(())
    }

    /// Drops the session and reconnects now to identify a new one.
    pub fn identify(&mut self, now: Instant) {
        self.tick(now);
        self.manual_connect(now, Target::Identify);
    }

    /// Sets how long a new connection may wait for Hello before it is closed resumably
    /// ([`DisconnectCause::HelloTimeout`](crate::event::DisconnectCause::HelloTimeout)).
    /// Default 20 s. Applies from the next connection. A driver with its own configurable
    /// Hello bound sets it here, so this one deadline governs (the tokio driver does).
    pub fn set_hello_timeout(&mut self, timeout: Duration) {
        self.hello_timeout = timeout;
    }

    // -- outputs -------------------------------------------------------------------------

    /// The next socket action.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }

    // -- getters -------------------------------------------------------------------------

    /// Where the state machine is.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The session to save for a later resume, with the current sequence number.
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.session.clone()
    }

    /// Round trip of the last ACKed heartbeat.
    #[must_use]
    pub fn latency(&self) -> Option<Duration> {
        self.heartbeat.latency()
    }

    /// Heartbeat ACKs received since creation that measured a round trip; when it grows,
    /// [`latency`](Self::latency) holds a new sample (for averages kept by a driver).
    #[must_use]
    pub fn heartbeat_acks(&self) -> u64 {
        self.heartbeat.acks()
    }

    /// Which timer [`poll_timeout`](Self::poll_timeout) is for.
    #[must_use]
    pub fn timeout_reason(&self) -> Option<Timer> {
        self.timers.next().map(|(timer, _)| timer)
    }

    /// The timer that fired last.
    #[must_use]
    pub fn last_timeout(&self) -> Option<Timer> {
        self.last_timeout
    }

    /// Whether the core waits for [`grant_identify`](Self::grant_identify).
    #[must_use]
    pub fn wants_identify(&self) -> bool {
        self.wants_identify && !self.identify_sent && self.phase == Phase::Identifying
    }

    /// The shard this state belongs to.
    #[must_use]
    pub fn shard(&self) -> ShardId {
        self.shard
    }

    /// The heartbeat interval from the current connection's Hello, if heartbeating.
    #[must_use]
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        self.heartbeat.interval()
    }

    /// Dispatches received but not delivered since creation: undeclared events (dropped
    /// from the envelope, unparsed) and duplicate or old sequence numbers.
    #[must_use]
    pub fn dropped_dispatches(&self) -> u64 {
        self.dropped
    }

    /// User commands waiting for a slot.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    // -- internals -----------------------------------------------------------------------

    /// Checks that time is monotonic (debug builds) and remembers it.
    fn tick(&mut self, now: Instant) {
        debug_assert!(now >= self.last_now, "`now` went backwards");
        self.last_now = self.last_now.max(now);
    }

    /// Sends queued user commands while the session is live and the limit allows; otherwise
    /// arms the rate-limit timer for the next slot.
    fn flush_queue(&mut self, now: Instant) {
        if self.phase != Phase::Active || self.queue.is_empty() {
            self.timers.stop(Timer::Ratelimit);
            return;
        }
        while !self.queue.is_empty() {
            if !self.ratelimit.try_acquire(now, Priority::User) {
                self.timers.set(
                    Timer::Ratelimit,
                    self.ratelimit.next_slot(now, Priority::User),
                );
                return;
            }
            if let Some(frame) = self.queue.pop_front() {
                self.transmits.push_back(Transmit::Text(frame));
            }
        }
        self.timers.stop(Timer::Ratelimit);
    }
}
