//! Update Voice State (op 4): join, move or leave a voice channel (GATEWAY.md §11.2).

use serde::{Deserialize, Serialize};

use super::{CommandError, Outgoing};
use crate::opcode::OpCode;
use crate::snowflake::Snowflake;

/// The `d` of op 4. The server answers with VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpdateVoiceState {
    /// The guild.
    pub guild_id: Snowflake,
    /// The voice channel to join or move to; `None` (sent as `null`) disconnects.
    pub channel_id: Option<Snowflake>,
    /// Self-mute.
    pub self_mute: bool,
    /// Self-deafen.
    pub self_deaf: bool,
}

impl UpdateVoiceState {
    /// Join (or move to) `channel_id`, unmuted and undeafened.
    #[must_use]
    pub const fn join(guild_id: Snowflake, channel_id: Snowflake) -> Self {
        Self {
            guild_id,
            channel_id: Some(channel_id),
            self_mute: false,
            self_deaf: false,
        }
    }

    /// Leave the guild's voice channel.
    #[must_use]
    pub const fn leave(guild_id: Snowflake) -> Self {
        Self {
            guild_id,
            channel_id: None,
            self_mute: false,
            self_deaf: false,
        }
    }

    /// Sets `self_mute` and `self_deaf`.
    #[must_use]
    pub const fn with_self(mut self, mute: bool, deaf: bool) -> Self {
        self.self_mute = mute;
        self.self_deaf = deaf;
        self
    }
}

impl Outgoing for UpdateVoiceState {
    fn opcode(&self) -> OpCode {
        OpCode::VoiceStateUpdate
    }

    /// Every value of the type is valid; only the size is checked when encoding.
    fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }
}
