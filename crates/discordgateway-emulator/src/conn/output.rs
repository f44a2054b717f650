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

use super::{BATCH, CLOSE_TIMEOUT, Conn, Exit, Step, Ws};
use crate::cache::Run;
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
            let mut left = budget;
            while left > 0 {
                let Some(run) = s.stream.next_run(left) else {
                    self.pace = None;
                    break;
                };
                let events = run.events();
                left -= events.len();
                pace.sent += events.len() as u64;
                if run.is_whole_chunk() && self.transport.is_zlib() && self.skip == 0 {
                    self.send_zlib_chunk(&mut s, &run)?;
                    continue;
                }
                for ev in events {
                    if let Some(data) = ev.for_intents(s.intents) {
                        self.encode_admitted(&mut s, &ev.out.name, data)?;
                    }
                }
            }
        }
        if self.pace.is_some() {
            self.pace = Some(pace);
        }
        self.flush()
    }

    /// Sends a whole cached chunk over zlib-stream: the messages a session in the same state
    /// compressed before, or compresses them from a restarted compressor and keeps them.
    ///
    /// Sound because a restarted compressor's first message refers to nothing before it, so
    /// the kept messages decode after any earlier message; after sending kept messages the
    /// compressor restarts again, since its history is not what the client has seen.
    fn send_zlib_chunk(&mut self, s: &mut crate::state::Session, run: &Run) -> Step {
        let (intents, seq) = (s.intents, s.seq);
        if let Some(frames) = run.zlib_frames(intents, seq) {
            let admitted = run
                .events()
                .iter()
                .filter_map(|ev| ev.for_intents(intents).map(|data| (&ev.out.name, data)));
            for ((name, data), frame) in admitted.zip(frames.iter()) {
                s.seq += 1;
                self.batch.push(Message::binary(frame.clone()));
                self.count_sent_dispatch(s, name, data);
            }
            self.transport.restart_zlib();
            return Ok(());
        }
        self.transport.restart_zlib();
        self.capture = Some(Vec::with_capacity(run.events().len()));
        let sent = run
            .events()
            .iter()
            .try_for_each(|ev| match ev.for_intents(intents) {
                Some(data) => self.encode_admitted(s, &ev.out.name, data),
                None => Ok(()),
            });
        if let (Some(frames), Ok(())) = (self.capture.take(), &sent) {
            run.store_zlib_frames(intents, seq, frames);
        }
        sent
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
        s.remember(
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
        self.batch.push(Message::text(bytes));
    }

    /// Compresses `self.frame` into a binary message.
    pub(super) fn push_compressed(&mut self) -> Step {
        self.zout.clear();
        self.transport
            .compress(&self.frame, &mut self.zout)
            .map_err(|_| Exit::Close(close::UNKNOWN_ERROR, "emulator compression failed"))?;
        self.out.put_slice(&self.zout);
        let bytes = self.out.split().freeze();
        if let Some(capture) = &mut self.capture {
            capture.push(bytes.clone());
        }
        self.batch.push(Message::binary(bytes));
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

/// One unit of work for a connection's writer task.
#[derive(Debug)]
pub(super) enum Out {
    /// Frames to write and flush, and how many dispatches they hold (for the send rate).
    Batch {
        /// The frames, in order.
        messages: Vec<Message>,
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
                for m in messages {
                    if sink.feed(m).await.is_err() {
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
