//! A connection's output: encoding frames into a reused arena (plain text, or compressed
//! binary frames), the generated stream's batches, and the writer task.
//!
//! Reading and writing are split (GATEWAY.md §14 asks for neither, but a fake server must not
//! let a slow reader stall it): the connection's loop encodes batches and hands them to a
//! writer task over a small bounded channel; when the channel is full they wait in a backlog
//! and the generated stream pauses (back-pressure), while the loop keeps reading the client's
//! frames, heartbeats included. A batch is one `Vec` of messages cut from one `BytesMut`
//! arena, so the hot path allocates nothing per dispatch.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, stream::SplitSink};
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    time::{Instant, timeout},
};
use tokio_websockets::{CloseCode, Message};

use super::{
    BATCH, CLOSE_TIMEOUT, Conn, Exit, Step, Ws,
    splice::{self, RawQueue},
};
use crate::cache::{Run, WireChunk, WireKind};
use crate::{
    state::{Replayed, Shared, lock},
    wire::{self, Name, Outbound, close},
};

impl Conn {
    /// Sends the next batch of generated dispatches.
    pub(super) fn send_generated(&mut self) -> Step {
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
            // Every event taken from the stream counts as generated for `s`, even when encoding
            // fails part-way, so the ledger is recorded before the error is returned.
            let mut encoded = Ok(());
            let mut left = budget;
            'runs: while left > 0 {
                let Some(run) = s.stream.next_run(left) else {
                    self.pace = None;
                    break;
                };
                let events = run.events();
                left -= events.len();
                pace.sent += events.len() as u64;
                if let (Some(kind), 0) = (self.transport.wire_kind(), self.skip) {
                    encoded = self.send_run(&mut s, &run, kind);
                    if encoded.is_err() {
                        break;
                    }
                    continue;
                }
                for ev in events {
                    if let Some(data) = ev.for_intents(s.intents) {
                        encoded = self.encode_admitted(&mut s, &ev.out.name, data);
                        if encoded.is_err() {
                            break 'runs;
                        }
                    }
                }
            }
            // Record before any early return: a generated event counts as sent to `s`.
            self.shared.generated(&s);
            encoded?;
        }
        if self.pace.is_some() {
            self.pace = Some(pace);
        }
        self.flush()
    }

    /// Sends a run of generated events as one buffer of pre-built frames
    /// (`cache::WireChunk`). For a whole cached chunk these are the frames a session in the
    /// same state (transport, intents, `seq` before the chunk) built before, or they are
    /// built now and kept; a partial run's frames are built and sent once.
    ///
    /// Sound for every transport because the frames depend on nothing else: plain frames
    /// carry only the run's events and their `seq`; zlib messages come from a restarted
    /// compressor, so they refer to nothing before the run (after them the compressor
    /// restarts again, since its history is not what the client has seen); zstd blocks are
    /// state-free (`zstd_blocks`). Building a run's frames together also lets its zstd and
    /// zlib messages refer to each other, as a real stream's do.
    fn send_run(&mut self, s: &mut crate::state::Session, run: &Run, kind: WireKind) -> Step {
        let (intents, seq) = (s.intents, s.seq);
        let admitted = || {
            run.events()
                .iter()
                .filter_map(move |ev| ev.for_intents(intents).map(|data| (&ev.out.name, data)))
        };
        let sent = admitted().count();
        if sent == 0 {
            return Ok(());
        }
        let wire = match run.wire(kind, intents, seq) {
            Some(wire) => wire,
            None => {
                self.frame.clear();
                self.ends.clear();
                let mut next = seq;
                for (name, data) in admitted() {
                    next += 1;
                    wire::write_dispatch(&mut self.frame, next, name.as_str(), data);
                    self.ends.push(self.frame.len());
                }
                self.transport.restart();
                let wire = self.build_frames().map_err(|_| {
                    Exit::Close(close::UNKNOWN_ERROR, "emulator compression failed")
                })?;
                if run.is_whole_chunk() {
                    run.store_wire(kind, intents, seq, wire)
                } else {
                    WireChunk::Bytes(wire)
                }
            }
        };
        self.transport.restart();
        let bound = self.shared.config.replay_bound;
        s.replay
            .push_run(bound, run.replay_entry(intents, seq + 1, sent));
        s.seq += sent as u64;
        s.frames_sent += sent as u64;
        self.batch_dispatches += sent as u64;
        self.batch.push(Piece::Raw(wire));
        Ok(())
    }

    /// Frames the messages in `self.frame` (ending at `self.ends`) as the transport sends
    /// them, as one buffer of complete server frames.
    fn build_frames(&mut self) -> Result<Bytes, crate::compress::CompressError> {
        self.zout.clear();
        self.zends.clear();
        self.transport
            .compress_run(&self.frame, &self.ends, &mut self.zout, &mut self.zends)?;
        let opcode = if self.transport.is_binary() { 2 } else { 1 };
        let mut wire = Vec::with_capacity(self.zout.len() + 4 * self.zends.len());
        let mut start = 0;
        for &end in &self.zends {
            let payload = self.zout.get(start..end).unwrap_or_default();
            splice::write_frame_header(&mut wire, opcode, payload.len());
            wire.extend_from_slice(payload);
            start = end;
        }
        Ok(Bytes::from(wire))
    }

    /// Encodes a dispatch for `s` (intent filtering, content stripping, seq, replay).
    pub(super) fn encode_dispatch(&mut self, s: &mut crate::state::Session, ev: &Outbound) -> Step {
        match ev.for_intents(s.intents) {
            Some(data) => self.encode_admitted(s, &ev.name, data),
            None => Ok(()),
        }
    }

    /// Encodes a dispatch `s` receives, with `data` as its intents shape it (seq, replay).
    fn encode_admitted(
        &mut self,
        s: &mut crate::state::Session,
        name: &Name,
        data: &Bytes,
    ) -> Step {
        s.seq += 1 + std::mem::take(&mut self.skip);
        let seq = s.seq;
        self.encode_frame(seq, name.as_str(), data)?;
        self.count_sent_dispatch(s, name, data);
        Ok(())
    }

    /// Counts a dispatch just encoded with `s.seq` and keeps it for replay.
    fn count_sent_dispatch(&mut self, s: &mut crate::state::Session, name: &Name, data: &Bytes) {
        s.frames_sent += 1;
        self.batch_dispatches += 1;
        let bound = self.shared.config.replay_bound;
        s.replay.push(
            bound,
            Replayed {
                seq: s.seq,
                name: name.clone(),
                data: data.clone(),
            },
        );
    }

    /// Encodes one dispatch frame with a given `seq`.
    pub(super) fn encode_frame(&mut self, seq: u64, name: &str, data: &[u8]) -> Step {
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
    pub(super) fn encode_op(&mut self, opcode: u64, d: &[u8]) -> Step {
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
    pub(super) fn encode_op_only(&mut self, opcode: u64) -> Step {
        self.encode_op(opcode, b"null")
    }

    /// Cuts the plain frame just written to the arena into a text message.
    pub(super) fn push_plain(&mut self) {
        let bytes = self.out.split().freeze();
        self.batch.push(Piece::Frame(Message::text(bytes)));
    }

    /// Compresses `self.frame` into a binary message.
    pub(super) fn push_compressed(&mut self) -> Step {
        self.zout.clear();
        self.transport
            .compress(&self.frame, &mut self.zout)
            .map_err(|_| Exit::Close(close::UNKNOWN_ERROR, "emulator compression failed"))?;
        self.out.put_slice(&self.zout);
        let bytes = self.out.split().freeze();
        self.batch.push(Piece::Frame(Message::binary(bytes)));
        Ok(())
    }

    /// Hands the encoded batch to the writer task, keeping it in the backlog while the
    /// writer's channel is full. Never waits, so a client that stops reading cannot stop the
    /// connection from reading its frames.
    pub(super) fn flush(&mut self) -> Step {
        if !self.batch.is_empty() {
            let messages = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH + 8));
            let dispatches = std::mem::take(&mut self.batch_dispatches);
            self.backlog.push_back(Out::Batch {
                messages,
                dispatches,
            });
            if self.out.capacity() < ARENA / 4 {
                self.renew_arena();
            }
        }
        self.hand_over()
    }

    /// Replaces the nearly full arena: with the oldest spent one if all its frames were
    /// written and dropped (no page faults, no allocation), else with a new one.
    fn renew_arena(&mut self) {
        self.spent.push_back(std::mem::take(&mut self.out));
        if let Some(mut oldest) = self.spent.pop_front() {
            if oldest.try_reclaim(ARENA) {
                self.out = oldest;
                return;
            }
            self.spent.push_front(oldest);
        }
        while self.spent.len() > SPENT_ARENAS {
            self.spent.pop_front();
        }
        self.out = BytesMut::with_capacity(ARENA);
    }

    /// Moves backlog items to the writer while its channel has room.
    pub(super) fn hand_over(&mut self) -> Step {
        while let Some(item) = self.backlog.pop_front() {
            match self.tx.try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(item)) => {
                    self.backlog.push_front(item);
                    break;
                }
                Err(TrySendError::Closed(_)) => return Err(Exit::Gone(None)),
            }
        }
        Ok(())
    }
}

/// The size of an output arena.
pub(super) const ARENA: usize = 256 * 1024;
/// Spent arenas kept for reuse (enough for the batches the writer may hold).
const SPENT_ARENAS: usize = super::WRITER_QUEUE + 2;

/// One piece of output, in order.
#[derive(Debug)]
pub(super) enum Piece {
    /// A message for tokio-websockets to frame.
    Frame(Message),
    /// Complete frames, written as they are (`splice`).
    Raw(WireChunk),
}

/// One unit of work for a connection's writer task.
#[derive(Debug)]
pub(super) enum Out {
    /// Frames to write and flush, and how many dispatches they hold (for the send rate).
    Batch {
        /// The output, in order.
        messages: Vec<Piece>,
        /// Dispatches among them.
        dispatches: u64,
    },
    /// Send a close frame, close the sink and end.
    Close {
        /// The close code.
        code: CloseCode,
        /// The close reason (at most 123 bytes).
        reason: String,
    },
}

/// The writer task: writes what the connection hands over, in order, counting the
/// dispatches as sent when it starts writing them. Ends when the channel closes,
/// after a close frame, or when the socket fails.
pub(super) async fn write(
    mut sink: SplitSink<Ws, Message>,
    raw: RawQueue,
    mut rx: mpsc::Receiver<Out>,
    shared: Arc<Shared>,
) {
    while let Some(item) = rx.recv().await {
        match item {
            Out::Batch {
                messages,
                dispatches,
            } => {
                shared.count_sent(dispatches, Instant::now());
                for piece in messages {
                    let fed = match piece {
                        Piece::Frame(m) => sink.feed(m).await,
                        // Every frame fed before must be written first (`splice`).
                        Piece::Raw(bytes) => sink.flush().await.map(|()| {
                            lock(&raw).push_back(bytes);
                        }),
                    };
                    if fed.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            Out::Close { code, reason } => {
                if sink.send(Message::close(Some(code), &reason)).await.is_ok() {
                    let _ = timeout(CLOSE_TIMEOUT, sink.close()).await;
                }
                return;
            }
        }
    }
}
