//! Resume (op 6) and Heartbeat (op 1) (GATEWAY.md §3.3, §3.6).

use serde::{Deserialize, Serialize};

use super::{CommandError, Outgoing, Violation};
use crate::opcode::OpCode;
use crate::token::Token;

/// The `d` of op 6 Resume: reattach to a session and replay what was missed.
///
/// `Debug` redacts the token; the serialized frame contains it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The bot token, without `Bot `.
    pub token: Token,
    /// `session_id` from READY; must not be empty.
    pub session_id: String,
    /// The last sequence number received.
    pub seq: u64,
}

impl Resume {
    /// A Resume of `session_id` from `seq`.
    #[must_use]
    pub fn new(token: Token, session_id: impl Into<String>, seq: u64) -> Self {
        Self {
            token,
            session_id: session_id.into(),
            seq,
        }
    }
}

impl Outgoing for Resume {
    fn opcode(&self) -> OpCode {
        OpCode::Resume
    }

    fn validate(&self) -> Result<(), CommandError> {
        if self.session_id.is_empty() {
            return Err(CommandError::invalid("session_id", Violation::Empty));
        }
        Ok(())
    }
}

/// Op 1 Heartbeat: `d` is the last sequence number received, or `null` before any dispatch.
///
/// ```
/// use discordgateway_proto::payload::{Heartbeat, Outgoing};
///
/// let mut buf = Vec::new();
/// Heartbeat { seq: Some(251) }.encode(&mut buf)?;
/// assert_eq!(buf, br#"{"op":1,"d":251}"#);
/// Heartbeat { seq: None }.encode(&mut buf)?;
/// assert_eq!(buf, br#"{"op":1,"d":null}"#);
/// # Ok::<(), discordgateway_proto::payload::CommandError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Heartbeat {
    /// The last non-null `s` received, if any.
    pub seq: Option<u64>,
}

impl Outgoing for Heartbeat {
    fn opcode(&self) -> OpCode {
        OpCode::Heartbeat
    }

    /// A heartbeat has no field rules.
    fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }
}
