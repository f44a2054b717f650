//! Typed gateway payloads: what a client receives (Hello, READY, Invalid Session) and what it
//! sends (Identify, Resume, Heartbeat and the user commands), with validation before sending.
//!
//! Sources: GATEWAY.md §2.1 (envelope, 4096-byte limit), §3.2–3.8 (lifecycle payloads) and §11
//! (send commands).
//!
//! # Sending
//!
//! Every client→server payload implements [`Outgoing`]. [`Outgoing::encode`] first checks the
//! field rules of the sheet ([`Outgoing::validate`]), then writes the whole frame
//! `{"op":N,"d":{...}}` into a caller-owned `Vec<u8>` with `serde_json::to_writer` (the vector
//! is cleared first and reused, so a warm buffer means no allocation), then checks that the
//! frame is at most [`MAX_PAYLOAD_LEN`] bytes, since larger ones get close code 4002. Any
//! violation is a [`CommandError`] that names the field, and leaves the buffer empty.
//!
//! ```
//! use discordgateway_proto::payload::{Command, Outgoing, RequestGuildMembers};
//! use discordgateway_proto::snowflake::Snowflake;
//!
//! let guild = Snowflake::new(1_200_000_000_000_000_000);
//! let command = Command::from(RequestGuildMembers::query(guild, "al", 25).with_nonce("req-7"));
//! let mut buf = Vec::new();
//! command.encode(&mut buf)?;
//! assert_eq!(
//!     std::str::from_utf8(&buf)?,
//!     r#"{"op":8,"d":{"guild_id":"1200000000000000000","query":"al","limit":25,"presences":false,"nonce":"req-7"}}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Receiving
//!
//! [`Hello`], [`Ready`] and [`InvalidSession`] read the `d` of their frame (the envelope
//! scanner gives its bytes); unknown fields are ignored everywhere, as §2.1 asks.

mod channel_info;
mod command;
mod guild_members;
mod hello;
mod identify;
mod invalid_session;
mod presence;
mod ready;
mod resume;
mod soundboard;
mod voice_state;

use crate::opcode::OpCode;
use std::io::Write as _;

use serde::Serialize;

pub use self::channel_info::{ChannelInfoField, RequestChannelInfo};
pub use self::command::Command;
pub use self::guild_members::{MemberSelector, RequestGuildMembers};
pub use self::hello::Hello;
pub use self::identify::{Identify, IdentifyProperties};
pub use self::invalid_session::InvalidSession;
pub use self::presence::{Activity, ActivityType, Status, UpdatePresence};
pub use self::ready::{Ready, ReadyApplication, ReadyUser};
pub use self::resume::{Heartbeat, Resume};
pub use self::soundboard::RequestSoundboardSounds;
pub use self::voice_state::UpdateVoiceState;

/// The largest client→server frame the gateway accepts, in bytes (§2.1; larger: close 4002).
pub const MAX_PAYLOAD_LEN: usize = 4096;

/// Why a payload may not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A field breaks one of the gateway's rules.
    #[error("invalid `{field}`: {violation}")]
    Invalid {
        /// The field, as named on the wire (`nonce`, `large_threshold`, `activities.url`, ...).
        field: &'static str,
        /// The rule it breaks.
        violation: Violation,
    },
    /// The serialized frame is over [`MAX_PAYLOAD_LEN`].
    #[error(
        "the payload is {len} bytes, over the gateway's {max}-byte limit: send less in one command"
    )]
    TooLarge {
        /// Length of the serialized frame.
        len: usize,
        /// The limit, [`MAX_PAYLOAD_LEN`].
        max: usize,
    },
    /// serde_json failed to write the payload (not expected for these types).
    #[error("the payload could not be serialized ({message}): please report this as a bug")]
    Serialize {
        /// serde_json's message.
        message: String,
    },
}

/// A rule a field breaks; see [`CommandError::Invalid`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A number outside `min..=max`.
    #[error("{value} is out of range: use {min}..={max}")]
    OutOfRange {
        /// The value given.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A string longer than `max` bytes.
    #[error("{len} bytes is too long: use at most {max} bytes")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// Limit in bytes.
        max: usize,
    },
    /// A list with more than `max` entries.
    #[error("{count} entries are too many: use at most {max}")]
    TooMany {
        /// Number of entries.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// An empty string or list where one entry is needed at least.
    #[error("it is empty: give at least one value")]
    Empty,
    /// A list that names the same value twice.
    #[error("it lists a value twice: give each value once")]
    Duplicate,
    /// A Streaming activity URL that is not on twitch.tv or youtube.com.
    #[error("streaming urls must be http(s) links to twitch.tv or youtube.com: use such a link")]
    StreamHostNotAllowed,
    /// A required field is absent.
    #[error("it is missing: set it")]
    Missing,
    /// Two fields that exclude each other are both set.
    #[error("it cannot be combined with `{other}`: send one of the two")]
    Conflicts {
        /// The other field.
        other: &'static str,
    },
}

impl CommandError {
    /// Shorthand for [`CommandError::Invalid`].
    pub(crate) const fn invalid(field: &'static str, violation: Violation) -> Self {
        Self::Invalid { field, violation }
    }
}

/// A client→server payload: its opcode, its field rules, and its frame encoding.
///
/// `Serialize` on the implementing type writes the frame's `d`.
pub trait Outgoing: Serialize {
    /// The gateway opcode this payload is sent with.
    fn opcode(&self) -> OpCode;

    /// Checks the field rules of GATEWAY.md (not the size; [`Outgoing::encode`] does that).
    ///
    /// # Errors
    ///
    /// [`CommandError::Invalid`] naming the first field that breaks a rule.
    fn validate(&self) -> Result<(), CommandError>;

    /// Validates, then writes the frame `{"op":N,"d":...}` into `buf` (cleared first).
    ///
    /// On error `buf` is left empty.
    ///
    /// # Errors
    ///
    /// [`CommandError::Invalid`] from [`Outgoing::validate`], [`CommandError::TooLarge`] if
    /// the frame is over [`MAX_PAYLOAD_LEN`] bytes.
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CommandError> {
        buf.clear();
        self.validate()?;
        write_frame(self.opcode(), self, buf).inspect_err(|_| buf.clear())
    }
}

/// Appends `{"op":op,"d":<d>}` to `buf` and checks the size limit.
fn write_frame<T: Serialize + ?Sized>(
    op: OpCode,
    d: &T,
    buf: &mut Vec<u8>,
) -> Result<(), CommandError> {
    let serialize = |error: &dyn std::fmt::Display| CommandError::Serialize {
        message: error.to_string(),
    };
    write!(buf, "{{\"op\":{},\"d\":", op.code()).map_err(|e| serialize(&e))?;
    serde_json::to_writer(&mut *buf, d).map_err(|e| serialize(&e))?;
    buf.push(b'}');
    if buf.len() > MAX_PAYLOAD_LEN {
        return Err(CommandError::TooLarge {
            len: buf.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(())
}

/// Checks that `value` is at most `max` bytes long.
fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), CommandError> {
    if value.len() > max {
        return Err(CommandError::invalid(
            field,
            Violation::TooLong {
                len: value.len(),
                max,
            },
        ));
    }
    Ok(())
}

/// Checks that a list has `1..=max` entries (`max: None`: no upper bound).
fn check_count<T>(field: &'static str, list: &[T], max: Option<usize>) -> Result<(), CommandError> {
    if list.is_empty() {
        return Err(CommandError::invalid(field, Violation::Empty));
    }
    match max {
        Some(max) if list.len() > max => Err(CommandError::invalid(
            field,
            Violation::TooMany {
                count: list.len(),
                max,
            },
        )),
        _ => Ok(()),
    }
}

/// `serde(skip_serializing_if)` helper.
#[allow(clippy::trivially_copy_pass_by_ref)]
const fn is_false(value: &bool) -> bool {
    !*value
}

#[cfg(test)]
mod tests;
