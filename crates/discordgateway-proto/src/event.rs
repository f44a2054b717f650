//! What the core gives the application: dispatches ([`Dispatch`]) and lifecycle notices
//! ([`Notice`]), in one ordered stream of [`Event`]s.
//!
//! One queue keeps the order that matters: a [`Notice::SequenceGap`] comes right before the
//! dispatch after the gap, a [`Notice::Disconnected`] before the replay of a resume.
//!
//! # Delivery buffer
//!
//! A dispatch's `d` is copied once from the (reused) decompression buffer into a
//! [`DeliveryArena`], a `BytesMut` that is split and frozen into the dispatch's `Bytes`.
//! The arena hands out consecutive slices of one allocation; when it runs out,
//! `BytesMut::reserve` reclaims the allocation if the application has dropped every
//! dispatch sliced from it, and only otherwise allocates a new block. A `d` larger than a
//! quarter block gets an allocation of its own, so the block stays small (it is resident
//! in every idle shard). So a delivered event costs at most one allocation (usually none),
//! and a dropped event none.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;

use crate::close_code::CloseCode;
use crate::event_type::EventType;
use crate::inflate::InflateError;
use crate::shard::ShardId;

/// Block size of the delivery arena. Small on purpose: an idle shard keeps its last block
/// resident, so this is part of the memory per idle shard (BENCHMARKS.md).
pub(crate) const ARENA_BLOCK: usize = 16 * 1024;

/// A `d` larger than this is copied into an allocation of its own instead of the arena, so
/// a burst of large payloads (GUILD_CREATE) never makes the arena's block grow.
pub(crate) const ARENA_MAX_SLICE: usize = ARENA_BLOCK / 4;

/// One item of the core's output stream; see [`GatewayState::poll_event`](crate::state::GatewayState::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A declared dispatch.
    Dispatch(Dispatch),
    /// A lifecycle change that is not a dispatch.
    Notice(Notice),
}

impl Event {
    /// The dispatch, if this is one.
    #[must_use]
    pub fn as_dispatch(&self) -> Option<&Dispatch> {
        match self {
            Self::Dispatch(d) => Some(d),
            Self::Notice(_) => None,
        }
    }
}

/// A dispatch (op 0) the application declared, with its payload as zero-copy bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// The shard that received it.
    shard: ShardId,
    /// The event type.
    kind: EventType,
    /// Its sequence number `s`.
    sequence: u64,
    /// The raw `d`.
    data: Bytes,
}

impl Dispatch {
    /// Assembles a dispatch (used by the state machine and by tests).
    #[must_use]
    pub fn new(shard: ShardId, kind: EventType, sequence: u64, data: Bytes) -> Self {
        Self {
            shard,
            kind,
            sequence,
            data,
        }
    }

    /// The shard that received it.
    #[must_use]
    pub fn shard(&self) -> ShardId {
        self.shard
    }

    /// The event type.
    #[must_use]
    pub fn kind(&self) -> &EventType {
        &self.kind
    }

    /// The sequence number `s`.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The raw `d` (JSON), sharing the delivery buffer.
    #[must_use]
    pub fn raw(&self) -> &Bytes {
        &self.data
    }

    /// Deserializes `d` into any serde type.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] with the position and kind of the failure.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_slice(&self.data).map_err(|e| DecodeError::from_json(&e))
    }

    /// Converts into twilight-model's gateway event.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when twilight-model cannot read the payload.
    #[cfg(feature = "twilight")]
    pub fn to_twilight(
        &self,
    ) -> Result<twilight_model::gateway::event::DispatchEvent, DecodeError> {
        use serde::de::DeserializeSeed;
        let seed = twilight_model::gateway::event::DispatchEventWithTypeDeserializer::new(
            self.kind.wire_name(),
        );
        let mut de = serde_json::Deserializer::from_slice(&self.data);
        seed.deserialize(&mut de)
            .map_err(|e| DecodeError::from_json(&e))
    }
}

/// What went wrong reading a dispatch's payload.
///
/// For serde's full message, run `serde_json::from_slice(dispatch.raw())` yourself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "the payload does not match the type ({category:?} at line {line}, column {column}): check the type against the event"
)]
pub struct DecodeError {
    /// What kind of failure.
    pub category: DecodeCategory,
    /// 1-based line of the failure.
    pub line: usize,
    /// 1-based column of the failure.
    pub column: usize,
}

/// The kind of a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeCategory {
    /// Not valid JSON.
    Syntax,
    /// Valid JSON of the wrong shape for the type.
    Data,
    /// The payload ended early.
    Eof,
}

impl DecodeError {
    /// Keeps the position and category of a serde_json error.
    fn from_json(e: &serde_json::Error) -> Self {
        let category = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                DecodeCategory::Syntax
            }
            serde_json::error::Category::Data => DecodeCategory::Data,
            serde_json::error::Category::Eof => DecodeCategory::Eof,
        };
        Self {
            category,
            line: e.line(),
            column: e.column(),
        }
    }
}

/// A lifecycle change that is not a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The core wants the driver to open a connection (also visible as a transmit).
    Connecting {
        /// Whether this connection will Resume (true) or Identify (false).
        resume: bool,
        /// Reconnects since the last READY/RESUMED: 0 for the first connection, 1 for the
        /// first reconnect after it, and so on.
        attempt: u32,
    },
    /// Hello arrived and no session exists: ask the identify queue, then call
    /// [`grant_identify`](crate::state::GatewayState::grant_identify).
    WantsIdentify,
    /// READY: a new session.
    Ready {
        /// The session ID.
        session_id: String,
    },
    /// RESUMED: the replay is over, everything after is live.
    Resumed {
        /// Dispatches replayed between Resume and RESUMED.
        replayed: u64,
    },
    /// Dispatches were skipped: `from..=to` never arrived (an application may backfill).
    SequenceGap {
        /// First missing sequence number.
        from: u64,
        /// Last missing sequence number.
        to: u64,
    },
    /// A heartbeat went un-ACKed for a full interval; the connection is closed resumably.
    Zombie {
        /// When the un-ACKed heartbeat was sent.
        since: Instant,
    },
    /// Invalid Session (op 9).
    InvalidSession {
        /// Whether the server allows a Resume.
        resumable: bool,
    },
    /// The connection ended.
    Disconnected(Disconnect),
    /// The connection ended and the core will not reconnect by itself.
    Stopped(StopReason),
    /// A frame could not be understood and was ignored.
    Malformed,
}

/// Why and how a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// The close code, if the server sent one (or the one we sent, if we closed).
    pub code: Option<u16>,
    /// The close reason text, if any.
    pub reason: String,
    /// What caused it.
    pub cause: DisconnectCause,
    /// Whether the session can be resumed.
    pub can_resume: bool,
    /// When the core will reconnect by itself (`None` in manual mode or when stopped).
    pub reconnect_at: Option<Instant>,
}

/// What ended a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectCause {
    /// The server closed, or the socket dropped (no code).
    Remote,
    /// The connect attempt failed.
    ConnectFailed,
    /// The server asked us to reconnect (op 7).
    ReconnectRequested,
    /// Invalid Session (op 9).
    InvalidSession,
    /// A heartbeat was not ACKed in time.
    Zombie,
    /// No Hello arrived in time.
    HelloTimeout,
    /// The compressed stream broke.
    Inflate(InflateError),
    /// A frame exceeded `max_frame_size`.
    FrameTooLarge {
        /// Its length.
        len: usize,
    },
    /// The application asked for it.
    Local,
}

/// Why the core stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The server closed with a code after which reconnecting cannot help.
    Fatal {
        /// The close code.
        code: CloseCode,
        /// What to fix, for a human.
        remedy: &'static str,
    },
    /// The application closed the session for good.
    Closed,
}

/// The reused buffer delivered payloads are sliced from (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct DeliveryArena {
    /// Free space of the current block.
    buf: BytesMut,
}

impl DeliveryArena {
    /// Copies `data` into the arena and returns it as shared bytes.
    pub(crate) fn deliver(&mut self, data: &[u8]) -> Bytes {
        if data.len() > ARENA_MAX_SLICE {
            return Bytes::copy_from_slice(data);
        }
        if self.buf.capacity() < data.len() {
            self.buf.reserve(ARENA_BLOCK);
        }
        self.buf.extend_from_slice(data);
        self.buf.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_reclaims_a_block_once_every_slice_is_dropped() {
        let mut arena = DeliveryArena::default();
        let a = arena.deliver(&[1; 1000]);
        let first_ptr = a.as_ptr();
        drop(a);
        // Fill the rest of the block; the next delivery must reuse the same allocation.
        while arena.buf.capacity() >= 1000 {
            drop(arena.deliver(&[2; 1000]));
        }
        let b = arena.deliver(&[3; 1000]);
        assert_eq!(
            b.as_ptr(),
            first_ptr,
            "the block is reclaimed, not reallocated"
        );
        assert_eq!(&b[..], &[3; 1000][..]);
    }

    #[test]
    fn held_slices_stay_intact() {
        let mut arena = DeliveryArena::default();
        let held: Vec<Bytes> = (0..200u8).map(|i| arena.deliver(&[i; 700])).collect();
        for (i, b) in held.iter().enumerate() {
            assert!(b.iter().all(|&x| usize::from(x) == i), "slice {i} intact");
        }
    }

    #[test]
    fn deserialize_reports_position() {
        let d = Dispatch::new(
            ShardId::ONE,
            EventType::from_wire("MESSAGE_CREATE"),
            1,
            Bytes::from_static(b"{\"a\":}"),
        );
        let err = d
            .deserialize::<serde_json::Value>()
            .expect_err("invalid json");
        assert_eq!(err.category, DecodeCategory::Syntax);
        assert_eq!(err.line, 1);
    }
}
