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
//! session lock and handed to a writer task, so reading never waits for a slow reader
//! (`output`). Generated dispatches come from the shard's shared, generate-once stream
//! (`crate::cache`); a run of them goes out as one buffer of frames built together, and a
//! whole cached chunk as the frames an earlier session in the same state built (every
//! transport), written under tokio-websockets as raw bytes (`splice`).
//! Submodules: `session` (Identify, Resume, requests), `faults` (injected faults),
//! `output` (encoding, batching, the writer task), `splice` (raw frames, `sendfile`).

mod faults;
mod output;
mod session;
mod splice;

use std::{collections::VecDeque, sync::Arc, time::Duration};

use bytes::{BufMut, BytesMut};
use discordgateway_proto::close_code::ClientClose;
use futures_util::{StreamExt, stream::SplitStream};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::{
    net::TcpStream,
    sync::mpsc,
    task::JoinHandle,
    time::{Instant, sleep_until, timeout},
};
use tokio_websockets::{CloseCode, Config, Limits, Message, ServerBuilder, WebSocketStream};

use self::output::Out;
use crate::{
    compress::Transport,
    faults::Fault,
    http::Rewind,
    ledger::Invalidation,
    state::{Control, SessionRef, Shared, lock},
    wire::{self, close, op},
    workload::Rate,
};

/// The WebSocket stream type of a connection.
type Ws = WebSocketStream<splice::SpliceIo<Rewind<TcpStream>>>;

/// Client payloads larger than this close with 4002 (GATEWAY.md §2.1).
const MAX_CLIENT_PAYLOAD: usize = 4096;
/// Commands allowed per window.
const COMMANDS_PER_WINDOW: u32 = 120;
/// The command-rate window.
const COMMAND_WINDOW: Duration = Duration::from_secs(60);
/// Generated dispatches encoded per batch.
const BATCH: usize = 256;
/// Batches the writer task may hold before output waits in the connection's backlog.
const WRITER_QUEUE: usize = 4;
/// How long a closing connection waits to deliver its last frames and close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// A step's result: `Err` ends the loop.
type Step = Result<(), Exit>;

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
    let (stream, raw) = splice::SpliceIo::new(stream);
    let Ok((_, ws)) = builder.accept(stream).await else {
        return;
    };
    let (id, rx, pending) = shared.register();
    let mut conn = Conn::new(Arc::clone(&shared), ws, raw, id, rx);
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
    /// The socket's reading half.
    stream: SplitStream<Ws>,
    /// Output to the writer task, which owns the writing half.
    tx: mpsc::Sender<Out>,
    /// Output waiting for room in the writer's channel, oldest first.
    backlog: VecDeque<Out>,
    /// The writer task.
    writer: JoinHandle<()>,
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
    /// Spent arenas, oldest first, reused once all their frames are written (`output`).
    spent: VecDeque<BytesMut>,
    /// Scratch for a frame before compression.
    frame: Vec<u8>,
    /// Message ends in `frame` when it holds a run of messages.
    ends: Vec<usize>,
    /// Scratch for compressed output.
    zout: Vec<u8>,
    /// Message ends in `zout`.
    zends: Vec<usize>,
    /// Output encoded and not yet fed to the socket.
    batch: Vec<output::Piece>,
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
    fn new(
        shared: Arc<Shared>,
        ws: Ws,
        raw: splice::RawQueue,
        id: u64,
        rx: mpsc::UnboundedReceiver<Control>,
    ) -> Self {
        let deadline = Instant::now() + shared.config.heartbeat_grace();
        let (sink, stream) = ws.split();
        let (tx, writer_rx) = mpsc::channel(WRITER_QUEUE);
        let writer = tokio::spawn(output::write(sink, raw, writer_rx, Arc::clone(&shared)));
        Self {
            shared,
            stream,
            tx,
            backlog: VecDeque::new(),
            writer,
            id,
            rx,
            transport: Transport::Plain,
            version: 10,
            out: BytesMut::with_capacity(output::ARENA),
            spent: VecDeque::new(),
            frame: Vec::with_capacity(4096),
            ends: Vec::with_capacity(BATCH),
            zout: Vec::with_capacity(4096),
            zends: Vec::with_capacity(BATCH),
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
        if let Err(exit) = self.open(params, pending) {
            return exit;
        }
        loop {
            if let Err(exit) = self.step().await {
                return exit;
            }
        }
    }

    /// Validates the query parameters and greets the client.
    fn open(&mut self, params: &Params, pending: Option<Fault>) -> Step {
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
            self.flush()?;
            return Err(Exit::Close(close::UNKNOWN_ERROR, "reconnect requested"));
        }
        let mut hello = Vec::with_capacity(48);
        hello.put_slice(b"{\"heartbeat_interval\":");
        let ms = self.shared.config.heartbeat_interval.as_millis();
        wire::write_u64(&mut hello, u64::try_from(ms).unwrap_or(u64::MAX));
        hello.put_u8(b'}');
        self.encode_op(op::HELLO, &hello)?;
        self.flush()?;
        if let Some(fault) = pending {
            self.on_fault(fault)?;
        }
        Ok(())
    }

    /// Waits for one input and handles it.
    async fn step(&mut self) -> Step {
        let now = Instant::now();
        let reading = self.half_open_until.is_none_or(|t| t <= now);
        let paced = self.next_send(now);
        // The generated stream waits while output is backlogged (back-pressure).
        let paced = paced.filter(|_| self.backlog.is_empty());
        let max_rate = paced == Some(now) && self.rate() == Rate::Max;
        tokio::select! {
            biased;
            // An owned permit, so the select's output does not borrow `self`.
            permit = self.tx.clone().reserve_owned(), if !self.backlog.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(item) = self.backlog.pop_front() {
                        permit.send(item);
                    }
                    self.hand_over()
                }
                Err(_) => Err(Exit::Gone(None)),
            },
            msg = self.stream.next(), if reading => match msg {
                Some(Ok(m)) => self.on_message(&m),
                Some(Err(_)) | None => Err(Exit::Gone(None)),
            },
            ctrl = self.rx.recv() => match ctrl {
                Some(c) => self.on_control(c),
                None => Err(Exit::Drop),
            },
            () = sleep_until(self.heartbeat_deadline) => self.on_heartbeat_deadline(),
            () = std::future::ready(()), if max_rate => self.send_generated(),
            () = sleep_until(paced.unwrap_or(now)), if paced.is_some() && !max_rate => {
                self.send_generated()
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
    fn on_message(&mut self, m: &Message) -> Step {
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
            op::HEARTBEAT => self.on_heartbeat(now),
            op::IDENTIFY if identified => Err(Exit::Close(
                close::ALREADY_AUTHENTICATED,
                "already identified",
            )),
            op::RESUME if identified => Err(Exit::Close(
                close::ALREADY_AUTHENTICATED,
                "already authenticated",
            )),
            op::IDENTIFY => self.on_identify(d, now),
            op::RESUME => self.on_resume(d, now),
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
            | op::REQUEST_CHANNEL_INFO => self.on_request(env.op, d, now),
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
    fn on_heartbeat(&mut self, now: Instant) -> Step {
        self.heartbeat_deadline = now + self.shared.config.heartbeat_grace();
        if self.zombie_until.is_some_and(|t| now < t) {
            return Ok(());
        }
        self.zombie_until = None;
        self.encode_op_only(op::HEARTBEAT_ACK)?;
        self.flush()
    }

    /// A control message from the handle or the control routes.
    fn on_control(&mut self, c: Control) -> Step {
        match c {
            Control::Fault(f) => self.on_fault(f),
            Control::Dispatch(ev) => {
                if let Some(session) = self.session.clone() {
                    let mut s = lock(&session);
                    self.encode_dispatch(&mut s, &ev)?;
                }
                self.flush()
            }
            Control::Restart => {
                self.session = None;
                self.pace = None;
                Err(Exit::Drop)
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

    /// Ends the connection as `exit` says and updates the session.
    async fn finish(mut self, exit: Exit) {
        let ends = match &exit {
            Exit::Close(code, _) | Exit::CloseWith(code, _) => {
                close::ends_session(*code).then_some(Invalidation::Closed { code: *code })
            }
            Exit::Gone(Some(code)) => ClientClose::from_code(*code)
                .ends_session()
                .then_some(Invalidation::ClientClosed { code: *code }),
            Exit::Gone(None) | Exit::Drop => None,
        };
        if let Some(session) = self.session.take() {
            let ended = {
                let mut s = lock(&session);
                if ends.is_none() && s.conn == Some(self.id) {
                    s.conn = None;
                    s.detached_at = Some(Instant::now());
                }
                ends.map(|why| (s.id.clone(), why))
            };
            if let Some((id, why)) = ended {
                self.shared.end_session(&id, why);
            }
        }
        let (code, reason) = match exit {
            Exit::Close(code, reason) => (code, reason.to_owned()),
            Exit::CloseWith(code, reason) => (code, reason),
            Exit::Drop | Exit::Gone(_) => {
                // Cut at once: the writer and the reading half drop, and the socket with them.
                self.writer.abort();
                return;
            }
        };
        let _ = self.flush();
        let code = CloseCode::try_from(code)
            .ok()
            .filter(|c| !c.is_reserved())
            .unwrap_or(CloseCode::POLICY_VIOLATION);
        let mut reason = reason;
        while reason.len() > 123 {
            reason.pop();
        }
        self.backlog.push_back(Out::Close { code, reason });
        let Self {
            tx,
            mut backlog,
            mut writer,
            ..
        } = self;
        let deliver = async {
            while let Some(item) = backlog.pop_front() {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
            drop(tx);
            let _ = (&mut writer).await;
        };
        if timeout(CLOSE_TIMEOUT, deliver).await.is_err() {
            writer.abort();
        }
    }
}
