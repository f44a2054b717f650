//! The user commands as one type, for a single send path (GATEWAY.md §11).

use serde::Serialize;

use crate::opcode::OpCode;

use super::{
    CommandError, Outgoing, RequestChannelInfo, RequestGuildMembers, RequestSoundboardSounds,
    UpdatePresence, UpdateVoiceState,
};

/// A gateway command a user may send while connected.
///
/// Heartbeat, Identify and Resume are not here: the connection state machine sends those.
/// `Serialize` writes the inner payload (the frame's `d`); [`Outgoing::encode`] writes the
/// whole validated frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Command {
    /// Op 3 Presence Update.
    UpdatePresence(UpdatePresence),
    /// Op 4 Voice State Update.
    UpdateVoiceState(UpdateVoiceState),
    /// Op 8 Request Guild Members.
    RequestGuildMembers(RequestGuildMembers),
    /// Op 31 Request Soundboard Sounds.
    RequestSoundboardSounds(RequestSoundboardSounds),
    /// Op 43 Request Channel Info.
    RequestChannelInfo(RequestChannelInfo),
}

impl Command {
    /// The opcode of the inner command: 3, 4, 8, 31 or 43.
    #[must_use]
    pub fn opcode(&self) -> OpCode {
        self.payload().op()
    }

    /// The inner payload as the trait object its methods dispatch to.
    fn payload(&self) -> &dyn Validated {
        match self {
            Self::UpdatePresence(p) => p,
            Self::UpdateVoiceState(p) => p,
            Self::RequestGuildMembers(p) => p,
            Self::RequestSoundboardSounds(p) => p,
            Self::RequestChannelInfo(p) => p,
        }
    }
}

/// The object-safe part of [`Outgoing`].
trait Validated {
    /// See [`Outgoing::opcode`].
    fn op(&self) -> OpCode;
    /// See [`Outgoing::validate`].
    fn check(&self) -> Result<(), CommandError>;
}

impl<T: Outgoing> Validated for T {
    fn op(&self) -> OpCode {
        self.opcode()
    }

    fn check(&self) -> Result<(), CommandError> {
        self.validate()
    }
}

impl Outgoing for Command {
    fn opcode(&self) -> OpCode {
        Self::opcode(self)
    }

    fn validate(&self) -> Result<(), CommandError> {
        self.payload().check()
    }
}

/// `From` impls wrapping each payload.
macro_rules! command_from {
    ($($variant:ident),+) => {
        $(
            impl From<$variant> for Command {
                fn from(payload: $variant) -> Self {
                    Self::$variant(payload)
                }
            }
        )+
    };
}

command_from!(
    UpdatePresence,
    UpdateVoiceState,
    RequestGuildMembers,
    RequestSoundboardSounds,
    RequestChannelInfo
);
