//! Applying an injected [`Fault`] to a connection (control route, handle, scenario).
//!
//! What the client sees, per fault (each tested with a plain WebSocket client): op 7; op 9
//! with `d`; a close frame with the code; a TCP cut with no close frame; withheld ACKs
//! (zombie); a sequence gap before the next dispatch; the last dispatch again with its own
//! `s`; one undecodable frame (binary garbage under compression, truncated JSON text
//! otherwise); one frame of about `bytes` bytes (an op 11 whose `d` is a long string); and a
//! pause in reading the client's frames (half-open) while writing continues.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_websockets::Message;

use super::{Conn, Exit, Step, output};
use crate::{faults::Fault, ledger::Invalidation, state::lock, wire::op};

impl Conn {
    /// Applies a fault.
    pub(super) fn on_fault(&mut self, f: Fault) -> Step {
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
                    self.shared.end_session(&id, Invalidation::InvalidSession);
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
                let last = self.session.as_ref().and_then(|s| lock(s).replay.last());
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
                self.batch.push(output::Piece::Frame(msg));
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
        self.flush()
    }
}
