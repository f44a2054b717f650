//! Request Soundboard Sounds (op 31) (GATEWAY.md §11.5).

use serde::{Deserialize, Serialize};

use super::{CommandError, Outgoing, check_count};
use crate::opcode::OpCode;
use crate::snowflake::Snowflake;

/// The `d` of op 31; the server answers with one SOUNDBOARD_SOUNDS per guild.
///
/// `guild_ids` must not be empty. The sheet documents no upper bound (UNCLEAR), so none is
/// enforced beyond the 4096-byte frame limit (about 180 IDs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSoundboardSounds {
    /// The guilds whose sounds are wanted.
    pub guild_ids: Vec<Snowflake>,
}

impl RequestSoundboardSounds {
    /// A request for the sounds of `guild_ids`.
    #[must_use]
    pub fn new(guild_ids: impl IntoIterator<Item = Snowflake>) -> Self {
        Self {
            guild_ids: guild_ids.into_iter().collect(),
        }
    }
}

impl Outgoing for RequestSoundboardSounds {
    fn opcode(&self) -> OpCode {
        OpCode::RequestSoundboardSounds
    }

    fn validate(&self) -> Result<(), CommandError> {
        check_count("guild_ids", &self.guild_ids, None)
    }
}
