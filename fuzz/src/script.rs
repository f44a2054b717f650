//! `core_script`: a whole [`GatewayState`] driven by an arbitrary script of driver steps.
//!
//! A [`Script`] picks the transport compression and reconnect policy, then runs steps: the
//! socket opens or closes (with any close code), text or binary frames arrive (realistic ones
//! from a small dictionary, compressed through the connection's own zlib/zstd stream, or
//! raw bytes), time advances by a bounded amount, the identify queue grants, the application
//! sends, closes or reconnects. After every step the outputs are drained as the calling
//! contract demands, and [`Checker`] asserts the invariants:
//!
//! - at most 120 text frames in any 60 s window of one connection (GATEWAY.md §5);
//! - Identify (op 2) only in answer to a `grant_identify` that returned `true`, and at most
//!   one per connection;
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use discordgateway_proto::close_code::ClientClose;
use discordgateway_proto::config::{Limits, ReconnectPolicy};
use discordgateway_proto::payload::{
    Activity, Command, RequestGuildMembers, Status, UpdatePresence, UpdateVoiceState,
};
use discordgateway_proto::state::{CloseFrame, Frame, GatewayState, Phase, Transmit};
use discordgateway_proto::testing::{Harness, ZlibCompressor, ZstdCompressor, text_op};
use discordgateway_proto::url::Compression;

/// The largest single time step: two minutes.
const MAX_STEP_MS: u32 = 120_000;
/// Discord's send limit: commands per window on one connection.
const SEND_LIMIT: usize = 120;
/// The window of that limit.
const WINDOW: Duration = Duration::from_secs(60);

/// A fuzzed session.
#[derive(Debug, Arbitrary)]
pub struct Script {
    /// Transport compression of every connection.
    pub mode: Mode,
    /// `true`: `ReconnectPolicy::Manual`.
    pub manual: bool,
    /// Seed of the state's jitter and backoff.
    pub seed: u64,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// Transport compression.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Mode {
    /// None: binary frames are plain JSON.
    Plain,
    /// zlib-stream.
    Zlib,
    /// zstd-stream.
    Zstd,
}

/// One driver step.
#[derive(Debug, Arbitrary)]
pub enum Step {
    /// The socket of the last `Connect` opened.
    Connected,
    /// A dictionary frame as a text frame.
    Text(Known),
    /// A dictionary frame as a binary frame, compressed by the connection's stream and split
    /// into two frames at `split` (modulo its length; 0: not split).
    Binary(Known, u16),
    /// Raw text.
    RawText(String),
    /// Raw binary bytes.
    RawBinary(Vec<u8>),
    /// The socket closed, with or without a close frame.
    Disconnected(Option<(u16, String)>),
    /// Time passes (milliseconds, modulo two minutes); due timers fire at the new time.
    Advance(u32),
    /// Time jumps to the next deadline, which fires.
    Timeout,
    /// The identify queue grants.
    Grant,
    /// The application sends one of a few commands.
    Send(u8),
    /// The application closes (`true`: ends the session).
    Close(bool),
    /// The application reconnects, resumes or re-identifies (by `n % 3`).
    Reconnect(u8),
}

/// A realistic server message: which one, and its sequence number.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct Known {
    /// Index into the dictionary (modulo its size).
    pub kind: u8,
    /// Sequence number for dispatches.
    pub seq: u8,
}

impl Known {
    /// The message's JSON text.
    #[must_use]
    pub fn json(self) -> String {
        let s = self.seq;
        match self.kind % 16 {
            0 => r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#.into(),
            1 => r#"{"op":10,"d":{"heartbeat_interval":1000}}"#.into(),
            2 => r#"{"op":11}"#.into(),
            3 => r#"{"op":1,"d":null}"#.into(),
            4 => discordgateway_proto::testing::ready(u64::from(s), "sess", "wss://resume.example"),
            5 => format!(r#"{{"op":0,"s":{s},"t":"RESUMED","d":{{}}}}"#),
            6 => format!(
                r#"{{"op":0,"s":{s},"t":"MESSAGE_CREATE","d":{{"id":"{s}","content":"hi"}}}}"#
            ),
            7 => format!(r#"{{"op":0,"s":{s},"t":"TYPING_START","d":{{"user_id":"1"}}}}"#),
            8 => r#"{"op":7,"d":null}"#.into(),
            9 => r#"{"op":9,"d":true}"#.into(),
            10 => r#"{"op":9,"d":false}"#.into(),
            11 => format!(r#"{{"op":0,"s":{s},"t":"SOMETHING_NEW","d":{{"x":[1,2]}}}}"#),
            12 => format!(r#"{{"op":0,"s":{s},"t":"MESSAGE_CREATE","d":7}}"#),
            13 => r#"{"op":99,"d":{"future":true}}"#.into(),
            14 => r#"{"op":10,"d":{"heartbeat_interval":0}}"#.into(),
            _ => format!(r#"{{"op":0,"s":{s},"t":"READY","d":{{"v":10}}}}"#),
        }
    }
}

/// How far a script got (the seed generator keeps scripts that get far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The phase after the last step.
    pub phase: Phase,
    /// Text frames sent.
    pub sent: usize,
    /// Events polled.
    pub events: usize,
}

/// Runs a script and checks the invariants after every step.
pub fn run(script: Script) -> Outcome {
    let limits = Limits {
        max_frame_size: 64 * 1024,
        max_message_size: 64 * 1024,
        queue_capacity: 16,
    };
    let compression = match script.mode {
        Mode::Plain => Compression::None,
        Mode::Zlib => Compression::ZlibStream,
        Mode::Zstd => Compression::ZstdStream,
    };
    let mut builder = Harness::config().compression(compression).limits(limits);
    if script.manual {
        builder = builder.reconnect(ReconnectPolicy::Manual);
    }
    let config = builder.build().expect("the fuzz config is valid");
    let now = Instant::now();
    let mut driver = Driver {
        state: GatewayState::new(config, now, script.seed),
        now,
        mode: script.mode,
        zlib: None,
        zstd: None,
        check: Checker::default(),
        sent: 0,
        events: 0,
    };
    driver.drain(0);
    for step in script.steps {
        driver.step(step);
    }
    Outcome {
        phase: driver.state.phase(),
        sent: driver.sent,
        events: driver.events,
    }
}

/// The fake driver: the state, the clock, and the server's compressors.
struct Driver {
    state: GatewayState,
    now: Instant,
    mode: Mode,
    /// The server's zlib context for this connection (created on first use: it is costly).
    zlib: Option<ZlibCompressor>,
    /// The server's zstd context for this connection (created on first use).
    zstd: Option<ZstdCompressor>,
    check: Checker,
    sent: usize,
    events: usize,
}

impl Driver {
    fn step(&mut self, step: Step) {
        let now = self.now;
        let mut granted = 0;
        match step {
            Step::Connected => self.state.handle_connected(now),
            Step::Text(known) => self.state.handle_frame(now, Frame::Text(&known.json())),
            Step::Binary(known, split) => self.binary(known, split),
            Step::RawText(text) => self.state.handle_frame(now, Frame::Text(&text)),
            Step::RawBinary(bytes) => self.state.handle_frame(now, Frame::Binary(&bytes)),
            Step::Disconnected(close) => {
                let close = close.map(|(code, reason)| CloseFrame { code, reason });
                self.state.handle_disconnected(now, close);
            }
            Step::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms % MAX_STEP_MS));
                if self.state.poll_timeout().is_some_and(|at| at <= self.now) {
                    self.timeout();
                }
            }
            Step::Timeout => {
                if let Some(at) = self.state.poll_timeout() {
                    self.now = self.now.max(at);
                    self.timeout();
                }
            }
            Step::Grant => granted = usize::from(self.state.grant_identify(now)),
            Step::Send(n) => {
                let _ = self.state.send(now, &command(n));
            }
            Step::Close(end) => {
                let close = if end {
                    ClientClose::EndSession
                } else {
                    ClientClose::KeepSession
                };
                self.state.close(now, close);
            }
            Step::Reconnect(n) => match n % 3 {
                0 => self.state.reconnect(now),
                1 => {
                    let _ = self.state.resume(now);
                }
                _ => self.state.identify(now),
            },
        }
        self.drain(granted);
    }

    /// A dictionary message through the connection's compression, maybe in two frames.
    fn binary(&mut self, known: Known, split: u16) {
        let json = known.json();
        let bytes = match self.mode {
            Mode::Plain => json.into_bytes(),
            Mode::Zlib => self.zlib.get_or_insert_default().compress(json.as_bytes()),
            Mode::Zstd => self.zstd.get_or_insert_default().compress(json.as_bytes()),
        };
        let at = usize::from(split) % bytes.len().max(1);
        let (a, b) = bytes.split_at(at);
        for part in [a, b].into_iter().filter(|p| !p.is_empty()) {
            self.state.handle_frame(self.now, Frame::Binary(part));
        }
    }

    /// Fires due timers and checks the next deadline lies ahead.
    fn timeout(&mut self) {
        self.state.handle_timeout(self.now);
        if let Some(next) = self.state.poll_timeout() {
            assert!(
                next > self.now,
                "after handle_timeout({:?}) the next timeout is {next:?}",
                self.now
            );
        }
    }

    /// Drains every output, as the calling contract demands, checking each transmit.
    fn drain(&mut self, granted: usize) {
        let mut identifies = 0;
        while let Some(t) = self.state.poll_transmit() {
            match &t {
                Transmit::Connect { .. } => {
                    self.check.new_connection();
                    self.zlib = None;
                    self.zstd = None;
                }
                Transmit::Text(_) => {
                    self.sent += 1;
                    if text_op(&t) == Some(2) {
                        identifies += 1;
                    }
                    self.check.sent(self.now, text_op(&t) == Some(2));
                }
                Transmit::Close(_) => {}
            }
        }
        assert_eq!(
            identifies, granted,
            "Identify sent without (or despite) a grant"
        );
        while self.state.poll_event().is_some() {
            self.events += 1;
        }
    }
}

/// The invariants that span several steps.
#[derive(Debug, Default)]
struct Checker {
    /// Send times on the current connection within the last window.
    sends: VecDeque<Instant>,
    /// Identifies on the current connection.
    identifies: u32,
}

impl Checker {
    fn new_connection(&mut self) {
        self.sends.clear();
        self.identifies = 0;
    }

    fn sent(&mut self, now: Instant, identify: bool) {
        while self.sends.front().is_some_and(|&t| t + WINDOW <= now) {
            self.sends.pop_front();
        }
        self.sends.push_back(now);
        assert!(
            self.sends.len() <= SEND_LIMIT,
            "{} sends within 60 s",
            self.sends.len()
        );
        if identify {
            self.identifies += 1;
            assert!(self.identifies <= 1, "two Identifies on one connection");
        }
    }
}

/// A few user commands, valid and not.
fn command(n: u8) -> Command {
    let guild = 1_200_000_000_000_000_000_u64.into();
    match n % 5 {
        0 => UpdatePresence::new(Status::Idle)
            .with_activity(Activity::custom("fuzzing"))
            .into(),
        1 => UpdateVoiceState::join(guild, 5_u64.into()).into(),
        2 => RequestGuildMembers::query(guild, "al", 25)
            .with_nonce("n")
            .into(),
        3 => RequestGuildMembers::query(guild, "", 0).into(),
        _ => RequestGuildMembers::query(guild, "x", 1000).into(),
    }
}
