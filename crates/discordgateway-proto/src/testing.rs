//! Deterministic test harness: a fake clock, scripted server frames, recorded outputs.
//!
//! Available in this crate's tests and, with the `test-util` feature, to other crates.
//! [`Harness::advance`] fires every timer in order up to the new time, never skipping one,
//! exactly as a driver would.

use std::time::{Duration, Instant};

use flate2::{Compress, FlushCompress};
use zstd::stream::raw::{Encoder, InBuffer, Operation, OutBuffer};

use crate::config::{Config, ConfigBuilder};
use crate::event::{Dispatch, Event, Notice};
use crate::event_type::{EventSet, EventType};
use crate::state::{Frame, GatewayState, Transmit};
use crate::token::Token;

/// The heartbeat interval the harness's Hello announces: 41.25 s.
pub const HEARTBEAT: Duration = Duration::from_millis(41_250);

/// A scripted session: the state machine, the fake clock and everything it output.
#[derive(Debug)]
pub struct Harness {
    /// The machine under test.
    pub state: GatewayState,
    /// The fake clock.
    pub now: Instant,
    /// Every transmit, in order.
    pub out: Vec<Transmit>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Answer each heartbeat with an ACK at once (default false).
    pub auto_ack: bool,
}

impl Harness {
    /// A config builder with a fake token and `MESSAGE_CREATE` declared in guilds.
    ///
    /// # Panics
    ///
    /// Never: the fake token is valid.
    pub fn config() -> ConfigBuilder {
        let token = Token::new("MTAx.fake.token").unwrap_or_else(|_| unreachable!());
        Config::builder(token).guild_events(EventSet::from_slice(&[EventType::from_wire(
            "MESSAGE_CREATE",
        )]))
    }

    /// A harness around a new state machine (its first `Connect` is already in `out`).
    #[must_use]
    pub fn new(config: Config, seed: u64) -> Self {
        let now = Instant::now();
        Self::around(GatewayState::new(config, now, seed), now)
    }

    /// A harness around an existing state machine created at `now`.
    #[must_use]
    pub fn around(state: GatewayState, now: Instant) -> Self {
        let mut h = Self {
            state,
            now,
            out: Vec::new(),
            events: Vec::new(),
            auto_ack: false,
        };
        h.drain();
        h
    }

    /// A live session: connected, Hello, identify granted, READY (`s = 1`).
    ///
    /// # Panics
    ///
    /// If the default config does not build (a bug).
    #[must_use]
    pub fn identified(seed: u64) -> Self {
        let config = Self::config()
            .build()
            .unwrap_or_else(|e| unreachable!("{e}"));
        let mut h = Self::new(config, seed);
        h.hello_and_identify();
        h
    }

    /// Connects, sends Hello, grants identify and sends READY with `s = 1`.
    pub fn hello_and_identify(&mut self) {
        self.connected();
        self.hello();
        self.grant();
        self.recv(&ready(1, "session-1", "wss://resume.example"));
    }

    /// The driver's socket opened.
    pub fn connected(&mut self) {
        self.state.handle_connected(self.now);
        self.drain();
    }

    /// The server sends Hello with [`HEARTBEAT`].
    pub fn hello(&mut self) {
        self.recv(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#);
    }

    /// The identify queue grants; returns whether Identify went.
    pub fn grant(&mut self) -> bool {
        let sent = self.state.grant_identify(self.now);
        self.drain();
        sent
    }

    /// The server sends a text frame.
    pub fn recv(&mut self, json: &str) {
        self.state.handle_frame(self.now, Frame::Text(json));
        self.drain();
    }

    /// The server sends a binary frame.
    pub fn recv_binary(&mut self, bytes: &[u8]) {
        self.state.handle_frame(self.now, Frame::Binary(bytes));
        self.drain();
    }

    /// Moves the clock forward, firing every timer due on the way, in order.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.state.poll_timeout().filter(|at| *at <= until) {
            self.now = self.now.max(at);
            self.state.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Collects every pending transmit and event (ACKing heartbeats if `auto_ack`).
    pub fn drain(&mut self) {
        loop {
            let mut acks = 0;
            while let Some(t) = self.state.poll_transmit() {
                if self.auto_ack && matches!(&t, Transmit::Text(b) if b.starts_with(br#"{"op":1,"#))
                {
                    acks += 1;
                }
                self.out.push(t);
            }
            self.events
                .extend(std::iter::from_fn(|| self.state.poll_event()));
            if acks == 0 {
                return;
            }
            for _ in 0..acks {
                self.state
                    .handle_frame(self.now, Frame::Text(r#"{"op":11}"#));
            }
        }
    }

    /// The opcodes of the text frames sent so far.
    #[must_use]
    pub fn ops_sent(&self) -> Vec<u8> {
        self.out.iter().filter_map(text_op).collect()
    }

    /// The delivered dispatches so far.
    #[must_use]
    pub fn dispatches(&self) -> Vec<&Dispatch> {
        self.events.iter().filter_map(Event::as_dispatch).collect()
    }

    /// The notices so far.
    #[must_use]
    pub fn notices(&self) -> Vec<&Notice> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Notice(n) => Some(n),
                Event::Dispatch(_) => None,
            })
            .collect()
    }

    /// Forgets recorded outputs.
    pub fn clear(&mut self) {
        self.out.clear();
        self.events.clear();
    }
}

/// The opcode of a text transmit, if it is one.
#[must_use]
pub fn text_op(t: &Transmit) -> Option<u8> {
    let Transmit::Text(bytes) = t else {
        return None;
    };
    let rest = bytes.strip_prefix(br#"{"op":"#)?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// A dispatch frame.
#[must_use]
pub fn dispatch(seq: u64, name: &str, d: &str) -> String {
    format!(r#"{{"op":0,"s":{seq},"t":"{name}","d":{d}}}"#)
}

/// A READY frame.
#[must_use]
pub fn ready(seq: u64, session_id: &str, resume_url: &str) -> String {
    let d = format!(
        r#"{{"v":10,"user":{{"id":"1","username":"bot"}},"guilds":[],"session_id":"{session_id}","resume_gateway_url":"{resume_url}","application":{{"id":"1","flags":0}}}}"#
    );
    dispatch(seq, "READY", &d)
}

/// A zlib-stream compressor like Discord's: one context, a sync flush after each message.
#[derive(Debug)]
pub struct ZlibCompressor(Compress);

impl Default for ZlibCompressor {
    fn default() -> Self {
        Self(Compress::new(flate2::Compression::default(), true))
    }
}

impl ZlibCompressor {
    /// Compresses one message; the output ends with `00 00 FF FF`.
    ///
    /// # Panics
    ///
    /// If zlib fails (it does not on in-memory buffers).
    pub fn compress(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.len() / 2 + 1024);
        let start = self.0.total_in();
        loop {
            let done = usize::try_from(self.0.total_in() - start).unwrap_or(usize::MAX);
            let status = self
                .0
                .compress_vec(&msg[done..], &mut out, FlushCompress::Sync);
            assert!(status.is_ok(), "zlib compression failed");
            let done = usize::try_from(self.0.total_in() - start).unwrap_or(usize::MAX);
            if done == msg.len() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(out.capacity());
        }
    }
}

/// A zstd-stream compressor like Discord's: one context, a flush (not an end) per message.
pub struct ZstdCompressor(Encoder<'static>);

impl std::fmt::Debug for ZstdCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ZstdCompressor")
    }
}

impl Default for ZstdCompressor {
    fn default() -> Self {
        Self(Encoder::new(3).unwrap_or_else(|e| panic!("zstd encoder: {e}")))
    }
}

impl ZstdCompressor {
    /// Compresses one message into one WebSocket payload.
    ///
    /// # Panics
    ///
    /// If zstd fails (it does not on in-memory buffers).
    pub fn compress(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.len() + 1024);
        let mut input = InBuffer::around(msg);
        while input.pos() < msg.len() {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let len = out.len();
            let step = self
                .0
                .run(&mut input, &mut OutBuffer::around_pos(&mut out, len));
            assert!(step.is_ok(), "zstd compression failed");
        }
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let len = out.len();
            match self.0.flush(&mut OutBuffer::around_pos(&mut out, len)) {
                Ok(0) => return out,
                Ok(_) => {}
                Err(e) => panic!("zstd flush: {e}"),
            }
        }
    }
}
