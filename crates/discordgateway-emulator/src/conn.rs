//! One gateway connection: a tokio task running a `select!` loop over the client's frames,
//! control messages (faults, injected events), the heartbeat deadline and the pacing of the
//! generated event stream (GATEWAY.md §3, §14).
//!
//! Decisions where the docs are silent (each tested):
//! - A missing `v` is accepted as 10; `v` other than 9 or 10 closes with 4012 (legacy
//!   v6–v8 behaviour is not emulated). A missing `encoding` is JSON; `encoding=etf` closes
//!   with 4002 and a reason saying ETF is not supported yet; an unknown `compress` value
//!   closes with 4002 too.
//! - A connection that sends no heartbeat for 1.5 × the interval is closed with 4000, and its
//!   session stays resumable.
//! - Every client frame counts toward the 120 per 60 s limit, heartbeats included (§11 says
//!   all commands count). The window is fixed: it starts at the first frame and restarts 60 s
//!   later. The 121st frame in a window closes with 4008.
//! - A server close with a "new session" or "stop" code (4003, 4004, 4007, 4009–4014) ends
//!   the session; other closes, drops and client closes other than 1000/1001 keep it.
//!
//! Sending is batched: dispatches are encoded into one reused arena (`BytesMut`) under the
//! session lock, then fed to the socket together and flushed once.

use std::{sync::Arc, time::Duration};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::{
    net::TcpStream,
    sync::mpsc,
    time::{Instant, sleep_until, timeout},
};
use tokio_websockets::{CloseCode, Config, Limits, Message, ServerBuilder, WebSocketStream};

use crate::{
    commands::{self, Asker},
    compress::Transport,
    faults::Fault,
    http::Rewind,
    state::{Control, Replayed, SessionRef, Shared, lock},
    wire::{self, Name, Outbound, close, intents, op},
    workload::{GuildCreateOptions, Rate},
};

/// The WebSocket stream type of a connection.
type Ws = WebSocketStream<Rewind<TcpStream>>;

/// Client payloads larger than this close with 4002 (GATEWAY.md §2.1).
const MAX_CLIENT_PAYLOAD: usize = 4096;
/// Commands allowed per window.
const COMMANDS_PER_WINDOW: u32 = 120;
/// The command-rate window.
const COMMAND_WINDOW: Duration = Duration::from_secs(60);
/// Generated dispatches encoded per batch.
const BATCH: usize = 256;

/// The gateway query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    /// `v`.
    pub(crate) v: Option<String>,
    /// `encoding`.
    pub(crate) encoding: Option<String>,
    /// `compress`.
    pub(crate) compress: Option<String>,
}

impl Params {
    /// Reads the query string of a request path.
    pub(crate) fn from_path(path: &str) -> Self {
        let mut p = Self::default();
        let query = path.split_once('?').map_or("", |(_, q)| q);
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match k {
                "v" => &mut p.v,
                "encoding" => &mut p.encoding,
                "compress" => &mut p.compress,
                _ => continue,
            };
            *slot = Some(v.to_owned());
        }
        p
    }
}

/// Why a connection's loop ended.
#[derive(Debug)]
enum Exit {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// Close with a user-given code and reason (fault).
    CloseWith(u16, String),
    /// Cut the TCP connection without a close frame.
    Drop,
    /// The client closed (with this code) or the socket failed.
    Gone(Option<u16>),
}

/// What a Resume's `seq` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResumeCheck {
    /// `seq` is ahead of the server's: close 4007.
    Ahead,
    /// Dispatches after `seq` were evicted from the replay buffer: op 9 `false`.
    TooOld,
    /// The missed dispatches and RESUMED are encoded.
    Replayed,
}

/// A step's result: `Err` ends the loop.
type Step = Result<(), Exit>;

/// Op 2 and op 6 fields the server reads.
#[derive(Debug, Deserialize)]
struct Identify {
    /// The token.
    token: String,
    /// Intents bitfield.
    intents: u64,
    /// `[shard_id, num_shards]`.
    #[serde(default)]
    shard: Option<[u32; 2]>,
    /// Member count above which a guild is "large" (50–250, default 50).
    #[serde(default)]
    large_threshold: Option<u32>,
}

/// Op 6's `d`.
#[derive(Debug, Deserialize)]
struct Resume {
    /// The token.
    token: String,
    /// The session to resume.
    session_id: String,
    /// The last sequence number the client saw (`null` = none).
    #[serde(default)]
    seq: Option<u64>,
}

/// A client frame's envelope.
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    /// Opcode.
    op: u64,
    /// Payload, left raw.
    #[serde(borrow, default)]
    d: Option<&'a RawValue>,
}

/// Performs the WebSocket handshake on an upgraded request and runs the connection.
pub(crate) async fn accept(shared: Arc<Shared>, stream: Rewind<TcpStream>, params: Params) {
    let builder = ServerBuilder::new()
        .config(Config::default().flush_threshold(256 * 1024))
        .limits(Limits::default().max_payload_len(Some(1024 * 1024)));
    let Ok((_, ws)) = builder.accept(stream).await else {
        return;
    };
    let (id, rx, pending) = shared.register();
    let mut conn = Conn::new(Arc::clone(&shared), ws, id, rx);
    let exit = conn.run(&params, pending).await;
    conn.finish(exit).await;
    shared.unregister(id);
}

/// The generated stream's pacing for this connection.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// When pacing (re)started.
    start: Instant,
    /// Events sent since.
    sent: u64,
}

/// One connection's state.
struct Conn {
    /// Shared emulator state.
    shared: Arc<Shared>,
    /// The socket.
    ws: Ws,
    /// Connection id in the registry.
    id: u64,
    /// Control messages.
    rx: mpsc::UnboundedReceiver<Control>,
    /// Transport compression.
    transport: Transport,
    /// The API version from the query (`v`, 9 or 10; 10 when missing), echoed in READY.
    version: u8,
    /// Arena the outgoing payloads are cut from.
    out: BytesMut,
    /// Scratch for a frame before compression.
    frame: Vec<u8>,
    /// Scratch for compressed output.
    zout: Vec<u8>,
    /// Messages encoded and not yet fed to the socket.
    batch: Vec<Message>,
    /// Dispatches in `batch`.
    batch_dispatches: u64,
    /// The session, once identified or resumed.
    session: Option<SessionRef>,
    /// When the connection is closed for not heartbeating.
    heartbeat_deadline: Instant,
    /// ACKs are withheld until then (zombie fault).
    zombie_until: Option<Instant>,
    /// Reading is paused until then (half-open fault).
    half_open_until: Option<Instant>,
    /// Start of the current command window, and frames counted in it.
    window: Option<(Instant, u32)>,
    /// Sequence numbers to skip before the next dispatch.
    skip: u64,
    /// Pacing of the generated stream; `None` when it is not running.
    pace: Option<Pace>,
}

impl Conn {
    /// A connection over `ws`.
    fn new(shared: Arc<Shared>, ws: Ws, id: u64, rx: mpsc::UnboundedReceiver<Control>) -> Self {
        let deadline = Instant::now() + shared.config.heartbeat_grace();
        Self {
            shared,
            ws,
            id,
            rx,
            transport: Transport::Plain,
            version: 10,
            out: BytesMut::with_capacity(256 * 1024),
            frame: Vec::with_capacity(4096),
            zout: Vec::with_capacity(4096),
            batch: Vec::with_capacity(BATCH + 8),
            batch_dispatches: 0,
            session: None,
            heartbeat_deadline: deadline,
            zombie_until: None,
            half_open_until: None,
            window: None,
            skip: 0,
            pace: None,
        }
    }

    /// Checks the query, sends Hello and runs the loop.
    async fn run(&mut self, params: &Params, pending: Option<Fault>) -> Exit {
        if let Err(exit) = self.open(params, pending).await {
            return exit;
        }
        loop {
            if let Err(exit) = self.step().await {
                return exit;
            }
        }
    }

    /// Validates the query parameters and greets the client.
    async fn open(&mut self, params: &Params, pending: Option<Fault>) -> Step {
        match params.v.as_deref() {
            None | Some("10") => self.version = 10,
            Some("9") => self.version = 9,
            Some(_) => {
                return Err(Exit::Close(
                    close::INVALID_API_VERSION,
                    "invalid api version: connect with v=10 or v=9",
                ));
            }
        }
        match params.encoding.as_deref() {
            None | Some("json" | "") => {}
            Some("etf") => {
                return Err(Exit::Close(
                    close::DECODE_ERROR,
                    "encoding=etf is not supported by the emulator yet; use encoding=json",
                ));
            }
            Some(_) => {
                return Err(Exit::Close(
                    close::DECODE_ERROR,
                    "unknown encoding; use encoding=json",
                ));
            }
        }
        self.transport = Transport::from_query(params.compress.as_deref()).ok_or(Exit::Close(
            close::DECODE_ERROR,
            "unknown compress value; use zlib-stream, zstd-stream or none",
        ))?;
        if let Some(Fault::Reconnect) = pending {
            // Op 7 before (instead of) Hello, as Discord may do (GATEWAY.md §3.2).
            self.encode_op(op::RECONNECT, b"null")?;
            self.flush().await?;
            return Err(Exit::Close(close::UNKNOWN_ERROR, "reconnect requested"));
        }
        let mut hello = Vec::with_capacity(48);
        hello.put_slice(b"{\"heartbeat_interval\":");
        let ms = self.shared.config.heartbeat_interval.as_millis();
        wire::write_u64(&mut hello, u64::try_from(ms).unwrap_or(u64::MAX));
        hello.put_u8(b'}');
        self.encode_op(op::HELLO, &hello)?;
        self.flush().await?;
        if let Some(fault) = pending {
            self.on_fault(fault).await?;
        }
        Ok(())
    }

    /// Waits for one input and handles it.
    async fn step(&mut self) -> Step {
        let now = Instant::now();
        let reading = self.half_open_until.is_none_or(|t| t <= now);
        let paced = self.next_send(now);
        let max_rate = paced == Some(now) && self.rate() == Rate::Max;
        tokio::select! {
            biased;
            msg = self.ws.next(), if reading => match msg {
                Some(Ok(m)) => self.on_message(&m).await,
                Some(Err(_)) | None => Err(Exit::Gone(None)),
            },
            ctrl = self.rx.recv() => match ctrl {
                Some(c) => self.on_control(c).await,
                None => Err(Exit::Drop),
            },
            () = sleep_until(self.heartbeat_deadline) => self.on_heartbeat_deadline(),
            () = std::future::ready(()), if max_rate => self.send_generated().await,
            () = sleep_until(paced.unwrap_or(now)), if paced.is_some() && !max_rate => {
                self.send_generated().await
            }
            () = sleep_until(self.half_open_until.unwrap_or(now)), if !reading => {
                self.half_open_until = None;
                Ok(())
            }
        }
    }

    /// The heartbeat deadline passed.
    fn on_heartbeat_deadline(&mut self) -> Step {
        if self.half_open_until.is_some() {
            // We are the ones not reading; do not blame the client.
            self.heartbeat_deadline = Instant::now() + self.shared.config.heartbeat_grace();
            return Ok(());
        }
        self.shared.violation(|v| v.heartbeat_timeout += 1);
        Err(Exit::Close(close::UNKNOWN_ERROR, "heartbeat timed out"))
    }

    /// The workload's pace.
    fn rate(&self) -> Rate {
        self.shared.config.workload.rate
    }

    /// When the next generated dispatch is due, if the stream is running.
    fn next_send(&self, now: Instant) -> Option<Instant> {
        let pace = self.pace?;
        match self.rate().due_at(pace.sent) {
            None => Some(now),
            Some(after) => Some((pace.start + after).max(now)),
        }
    }

    /// Handles one client message.
    async fn on_message(&mut self, m: &Message) -> Step {
        if let Some((code, _)) = m.as_close() {
            return Err(Exit::Gone(Some(u16::from(code))));
        }
        if !m.is_text() && !m.is_binary() {
            return Ok(());
        }
        let payload: &[u8] = m.as_payload();
        let now = Instant::now();
        self.count_command(now)?;
        if payload.len() > MAX_CLIENT_PAYLOAD {
            return Err(Exit::Close(
                close::DECODE_ERROR,
                "payload over 4096 bytes; send smaller payloads",
            ));
        }
        let env: Envelope<'_> = serde_json::from_slice(payload).map_err(|_| {
            Exit::Close(close::DECODE_ERROR, "payload is not a gateway JSON object")
        })?;
        let d = env.d.map_or(&b"null"[..], |d| d.get().as_bytes());
        let identified = self.session.is_some();
        match env.op {
            op::HEARTBEAT => self.on_heartbeat(now).await,
            op::IDENTIFY if identified => Err(Exit::Close(
                close::ALREADY_AUTHENTICATED,
                "already identified",
            )),
            op::RESUME if identified => Err(Exit::Close(
                close::ALREADY_AUTHENTICATED,
                "already authenticated",
            )),
            op::IDENTIFY => self.on_identify(d, now).await,
            op::RESUME => self.on_resume(d, now).await,
            op::PRESENCE_UPDATE
            | op::VOICE_STATE_UPDATE
            | op::REQUEST_GUILD_MEMBERS
            | op::REQUEST_SOUNDBOARD_SOUNDS
            | op::REQUEST_CHANNEL_INFO
                if !identified =>
            {
                Err(Exit::Close(
                    close::NOT_AUTHENTICATED,
                    "not authenticated: identify or resume first",
                ))
            }
            op::PRESENCE_UPDATE | op::VOICE_STATE_UPDATE => Ok(()),
            op::REQUEST_GUILD_MEMBERS
            | op::REQUEST_SOUNDBOARD_SOUNDS
            | op::REQUEST_CHANNEL_INFO => self.on_request(env.op, d, now).await,
            _ => Err(Exit::Close(close::UNKNOWN_OPCODE, "unknown opcode")),
        }
    }

    /// Counts a client frame against the 120 per 60 s limit.
    fn count_command(&mut self, now: Instant) -> Step {
        if let Some(session) = &self.session {
            let mut s = lock(session);
            s.frames_received += 1;
            s.commands += 1;
        }
        let (start, count) = match self.window {
            Some((start, count)) if now.duration_since(start) < COMMAND_WINDOW => (start, count),
            _ => (now, 0),
        };
        self.window = Some((start, count + 1));
        if count + 1 > COMMANDS_PER_WINDOW {
            self.shared.violation(|v| v.rate_limit += 1);
            return Err(Exit::Close(
                close::RATE_LIMITED,
                "rate limited: over 120 commands in 60 s",
            ));
        }
        Ok(())
    }

    /// Op 1: reset the deadline and ACK (unless a zombie fault withholds ACKs).
    async fn on_heartbeat(&mut self, now: Instant) -> Step {
        self.heartbeat_deadline = now + self.shared.config.heartbeat_grace();
        if self.zombie_until.is_some_and(|t| now < t) {
            return Ok(());
        }
        self.zombie_until = None;
        self.encode_op_only(op::HEARTBEAT_ACK)?;
        self.flush().await
    }

    /// Op 2: validate, admit, then READY and one GUILD_CREATE per guild.
    async fn on_identify(&mut self, d: &[u8], now: Instant) -> Step {
        let id: Identify = serde_json::from_slice(d)
            .map_err(|_| Exit::Close(close::UNKNOWN_OPCODE, "invalid identify payload"))?;
        let config = &self.shared.config;
        if !config.accepts_token(&id.token) {
            return Err(Exit::Close(
                close::AUTHENTICATION_FAILED,
                "authentication failed: token rejected",
            ));
        }
        if id.intents & !intents::ALL != 0 {
            return Err(Exit::Close(close::INVALID_INTENTS, "invalid intents"));
        }
        if id.intents & intents::PRIVILEGED & !config.allowed_privileged_intents != 0 {
            return Err(Exit::Close(
                close::DISALLOWED_INTENTS,
                "disallowed intents: privileged intent not allowed for this app",
            ));
        }
        let shard = id.shard.unwrap_or([0, 1]);
        if shard[1] == 0 || shard[0] >= shard[1] {
            return Err(Exit::Close(close::INVALID_SHARD, "invalid shard"));
        }
        let world = Arc::clone(&self.shared.world);
        if world.guilds_for_shard(shard[0], shard[1]).count() > 2500 {
            return Err(Exit::Close(
                close::SHARDING_REQUIRED,
                "sharding required: over 2500 guilds on this shard",
            ));
        }
        if self.shared.admit_identify(shard, now) != crate::IdentifyOutcome::Accepted {
            self.encode_op(op::INVALID_SESSION, b"false")?;
            return self.flush().await;
        }
        let session = self.shared.new_session(shard, id.intents, self.id);
        self.shared.set_conn_shard(self.id, shard);
        let session_id = lock(&session).id.clone();
        let guilds = || world.guilds_for_shard(shard[0], shard[1]);
        let ready = world.ready_data(
            self.version,
            &session_id,
            &self.shared.ws_url(),
            id.shard,
            guilds().map(crate::workload::Guild::id),
        );
        let opts = GuildCreateOptions::new(
            id.intents & intents::GUILD_PRESENCES != 0,
            id.large_threshold.unwrap_or(50).clamp(50, 250),
        );
        self.session = Some(Arc::clone(&session));
        {
            let mut s = lock(&session);
            self.encode_dispatch(&mut s, &Outbound::reply("READY", Bytes::from(ready)))?;
            for guild in guilds() {
                let ev = Outbound {
                    name: Name::Static("GUILD_CREATE"),
                    guild_id: Some(guild.id()),
                    is_dm: false,
                    ungated: false,
                    data: world.guild_create_data(guild, opts),
                    data_without_content: None,
                };
                self.encode_dispatch(&mut s, &ev)?;
            }
        }
        self.shared.mark_started(shard[0]);
        self.pace = Some(Pace {
            start: now,
            sent: 0,
        });
        self.flush().await
    }

    /// Op 6: replay after `seq`, then RESUMED; op 9 `false` when impossible.
    async fn on_resume(&mut self, d: &[u8], now: Instant) -> Step {
        let r: Resume = serde_json::from_slice(d)
            .map_err(|_| Exit::Close(close::UNKNOWN_OPCODE, "invalid resume payload"))?;
        if !self.shared.config.accepts_token(&r.token) {
            return Err(Exit::Close(
                close::AUTHENTICATION_FAILED,
                "authentication failed: token rejected",
            ));
        }
        let Some(session) = self.shared.find_session(&r.session_id, now) else {
            self.encode_op(op::INVALID_SESSION, b"false")?;
            return self.flush().await;
        };
        let seq = r.seq.unwrap_or(0);
        match self.replay_into_batch(&session, seq)? {
            ResumeCheck::Ahead => {
                self.shared.end_session(&r.session_id);
                return Err(Exit::Close(
                    close::INVALID_SEQ,
                    "invalid seq: ahead of the server",
                ));
            }
            ResumeCheck::TooOld => {
                self.encode_op(op::INVALID_SESSION, b"false")?;
                return self.flush().await;
            }
            ResumeCheck::Replayed => {}
        }
        self.session = Some(session);
        self.shared.count_resume();
        self.pace = Some(Pace {
            start: now,
            sent: 0,
        });
        self.flush().await
    }

    /// Checks a Resume's `seq` against `session` and, when it can resume, takes the session
    /// over and encodes the missed dispatches and RESUMED.
    fn replay_into_batch(&mut self, session: &SessionRef, seq: u64) -> Result<ResumeCheck, Exit> {
        let mut s = lock(session);
        if seq > s.seq {
            return Ok(ResumeCheck::Ahead);
        }
        let covered = seq == s.seq || s.replay.front().is_some_and(|f| f.seq <= seq + 1);
        if !covered {
            return Ok(ResumeCheck::TooOld);
        }
        if let Some(other) = s.conn.replace(self.id)
            && other != self.id
        {
            self.shared.supersede(other);
        }
        s.detached_at = None;
        let missed: Vec<Replayed> = s.replay.iter().filter(|r| r.seq > seq).cloned().collect();
        for r in &missed {
            self.encode_frame(r.seq, r.name.as_str(), &r.data)?;
            s.frames_sent += 1;
        }
        self.batch_dispatches += missed.len() as u64;
        self.encode_dispatch(
            &mut s,
            &Outbound::reply("RESUMED", Bytes::from_static(b"{}")),
        )?;
        self.shared.set_conn_shard(self.id, s.shard);
        Ok(ResumeCheck::Replayed)
    }

    /// Ops 8, 31, 43.
    async fn on_request(&mut self, opcode: u64, d: &[u8], now: Instant) -> Step {
        let Some(session) = self.session.clone() else {
            return Ok(());
        };
        let asker = {
            let s = lock(&session);
            Asker {
                shard: s.shard,
                intents: s.intents,
            }
        };
        let shared = &self.shared;
        let replies = match opcode {
            op::REQUEST_GUILD_MEMBERS => commands::request_guild_members(shared, asker, d, now),
            op::REQUEST_SOUNDBOARD_SOUNDS => commands::request_soundboard_sounds(shared, asker, d),
            _ => commands::request_channel_info(shared, asker, d),
        }
        .map_err(|(code, reason)| Exit::Close(code, reason))?;
        {
            let mut s = lock(&session);
            for ev in &replies {
                self.encode_dispatch(&mut s, ev)?;
            }
        }
        self.flush().await
    }

    /// A control message from the handle or the control routes.
    async fn on_control(&mut self, c: Control) -> Step {
        match c {
            Control::Fault(f) => self.on_fault(f).await,
            Control::Dispatch(ev) => {
                if let Some(session) = self.session.clone() {
                    let mut s = lock(&session);
                    self.encode_dispatch(&mut s, &ev)?;
                }
                self.flush().await
            }
            Control::Superseded => {
                self.session = None;
                Err(Exit::Close(
                    close::UNKNOWN_ERROR,
                    "session resumed elsewhere",
                ))
            }
        }
    }

    /// Applies a fault.
    async fn on_fault(&mut self, f: Fault) -> Step {
        let now = Instant::now();
        match f {
            Fault::Reconnect => self.encode_op(op::RECONNECT, b"null")?,
            Fault::InvalidSession { resumable } => {
                self.encode_op(
                    op::INVALID_SESSION,
                    if resumable { b"true" } else { b"false" },
                )?;
                if !resumable && let Some(s) = self.session.take() {
                    let id = lock(&s).id.clone();
                    self.shared.end_session(&id);
                    self.pace = None;
                }
            }
            Fault::Close { code, reason } => {
                let reason = reason.unwrap_or_default();
                return Err(Exit::CloseWith(code, reason));
            }
            Fault::Drop => return Err(Exit::Drop),
            Fault::Zombie { duration_ms } => {
                self.zombie_until = Some(now + Duration::from_millis(duration_ms));
            }
            Fault::SkipSeq { count } => self.skip += count,
            Fault::RepeatSeq => {
                let last = self
                    .session
                    .as_ref()
                    .and_then(|s| lock(s).replay.back().cloned());
                if let Some(r) = last {
                    self.encode_frame(r.seq, r.name.as_str(), &r.data)?;
                }
            }
            Fault::Garbage => {
                let msg = if self.transport.is_binary() {
                    Message::binary(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]))
                } else {
                    Message::text(Bytes::from_static(b"{\"op\":0,\"t\":\"GARB"))
                };
                self.batch.push(msg);
            }
            Fault::Oversized { bytes } => {
                let mut d = Vec::with_capacity(bytes + 2);
                d.push(b'"');
                d.resize(bytes.saturating_sub(40).max(1), b'x');
                d.push(b'"');
                self.encode_op(op::HEARTBEAT_ACK, &d)?;
            }
            Fault::HalfOpen { duration_ms } => {
                self.half_open_until = Some(now + Duration::from_millis(duration_ms));
            }
        }
        self.flush().await
    }

    /// Sends the next batch of generated dispatches.
    async fn send_generated(&mut self) -> Step {
        let (Some(session), Some(mut pace)) = (self.session.clone(), self.pace) else {
            self.pace = None;
            return Ok(());
        };
        let now = Instant::now();
        let allowed = self.rate().allowed_by(now.duration_since(pace.start));
        let budget = usize::try_from(allowed.saturating_sub(pace.sent))
            .unwrap_or(BATCH)
            .clamp(1, BATCH);
        {
            let mut s = lock(&session);
            for _ in 0..budget {
                let Some(ev) = s.stream.next() else {
                    self.pace = None;
                    break;
                };
                pace.sent += 1;
                self.encode_dispatch(&mut s, &Outbound::from(ev))?;
            }
        }
        if self.pace.is_some() {
            self.pace = Some(pace);
        }
        self.flush().await
    }

    /// Encodes a dispatch for `s` (intent filtering, content stripping, seq, replay).
    fn encode_dispatch(&mut self, s: &mut crate::state::Session, ev: &Outbound) -> Step {
        let Some(data) = ev.for_intents(s.intents) else {
            return Ok(());
        };
        s.seq += 1 + std::mem::take(&mut self.skip);
        let seq = s.seq;
        self.encode_frame(seq, ev.name.as_str(), data)?;
        s.frames_sent += 1;
        self.batch_dispatches += 1;
        let bound = self.shared.config.replay_bound;
        s.remember(
            bound,
            Replayed {
                seq,
                name: ev.name.clone(),
                data: data.clone(),
            },
        );
        Ok(())
    }

    /// Encodes one dispatch frame with a given `seq`.
    fn encode_frame(&mut self, seq: u64, name: &str, data: &[u8]) -> Step {
        if self.transport.is_binary() {
            self.frame.clear();
            wire::write_dispatch(&mut self.frame, seq, name, data);
            self.push_compressed()
        } else {
            wire::write_dispatch(&mut self.out, seq, name, data);
            self.push_plain();
            Ok(())
        }
    }

    /// Encodes a non-dispatch frame with `d`.
    fn encode_op(&mut self, opcode: u64, d: &[u8]) -> Step {
        if self.transport.is_binary() {
            self.frame.clear();
            wire::write_op(&mut self.frame, opcode, d);
            self.push_compressed()
        } else {
            wire::write_op(&mut self.out, opcode, d);
            self.push_plain();
            Ok(())
        }
    }

    /// Encodes `{"op":N}` (Heartbeat ACK has no `d`).
    fn encode_op_only(&mut self, opcode: u64) -> Step {
        self.encode_op(opcode, b"null")
    }

    /// Cuts the plain frame just written to the arena into a text message.
    fn push_plain(&mut self) {
        let bytes = self.out.split().freeze();
        self.batch.push(Message::text(bytes));
    }

    /// Compresses `self.frame` into a binary message.
    fn push_compressed(&mut self) -> Step {
        self.zout.clear();
        self.transport
            .compress(&self.frame, &mut self.zout)
            .map_err(|_| Exit::Close(close::UNKNOWN_ERROR, "emulator compression failed"))?;
        self.out.put_slice(&self.zout);
        let bytes = self.out.split().freeze();
        self.batch.push(Message::binary(bytes));
        Ok(())
    }

    /// Feeds the batch to the socket and flushes it.
    async fn flush(&mut self) -> Step {
        if self.batch.is_empty() {
            return Ok(());
        }
        for m in self.batch.drain(..) {
            if self.ws.feed(m).await.is_err() {
                return Err(Exit::Gone(None));
            }
        }
        let n = std::mem::take(&mut self.batch_dispatches);
        self.shared.count_sent(n, Instant::now());
        if self.out.capacity() < 64 * 1024 {
            self.out.reserve(256 * 1024);
        }
        self.ws.flush().await.map_err(|_| Exit::Gone(None))
    }

    /// Ends the connection as `exit` says and updates the session.
    async fn finish(&mut self, exit: Exit) {
        let ends = match &exit {
            Exit::Close(code, _) | Exit::CloseWith(code, _) => close::ends_session(*code),
            Exit::Gone(Some(code)) => matches!(code, 1000 | 1001),
            Exit::Gone(None) | Exit::Drop => false,
        };
        if let Some(session) = self.session.take() {
            let ended = {
                let mut s = lock(&session);
                if !ends && s.conn == Some(self.id) {
                    s.conn = None;
                    s.detached_at = Some(Instant::now());
                }
                ends.then(|| s.id.clone())
            };
            if let Some(id) = ended {
                self.shared.end_session(&id);
            }
        }
        let (code, reason) = match exit {
            Exit::Close(code, reason) => (code, reason.to_owned()),
            Exit::CloseWith(code, reason) => (code, reason),
            Exit::Drop | Exit::Gone(_) => return,
        };
        let _ = self.flush().await;
        let code = CloseCode::try_from(code)
            .ok()
            .filter(|c| !c.is_reserved())
            .unwrap_or(CloseCode::POLICY_VIOLATION);
        let mut reason = reason;
        while reason.len() > 123 {
            reason.pop();
        }
        if self
            .ws
            .send(Message::close(Some(code), &reason))
            .await
            .is_ok()
        {
            let _ = timeout(Duration::from_secs(5), self.ws.close()).await;
        }
    }
}
