//! Request Channel Info (op 43): voice status and start time (GATEWAY.md §11.6).

use serde::{Deserialize, Serialize};

use super::{CommandError, Outgoing, Violation, check_count};
use crate::opcode::OpCode;
use crate::snowflake::Snowflake;

/// The `d` of op 43; the server answers with CHANNEL_INFO.
///
/// `fields` must be a non-empty subset of [`ChannelInfoField`]: not empty, no repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestChannelInfo {
    /// The guild.
    pub guild_id: Snowflake,
    /// The fields wanted.
    pub fields: Vec<ChannelInfoField>,
}

/// A field Request Channel Info can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelInfoField {
    /// `status`: the voice channel status text.
    Status,
    /// `voice_start_time`: when the voice session started.
    VoiceStartTime,
}

impl RequestChannelInfo {
    /// A request for `fields` of the channels of `guild_id`.
    #[must_use]
    pub fn new(guild_id: Snowflake, fields: impl IntoIterator<Item = ChannelInfoField>) -> Self {
        Self {
            guild_id,
            fields: fields.into_iter().collect(),
        }
    }

    /// A request for every field.
    #[must_use]
    pub fn all(guild_id: Snowflake) -> Self {
        Self::new(
            guild_id,
            [ChannelInfoField::Status, ChannelInfoField::VoiceStartTime],
        )
    }
}

impl Outgoing for RequestChannelInfo {
    fn opcode(&self) -> OpCode {
        OpCode::RequestChannelInfo
    }

    fn validate(&self) -> Result<(), CommandError> {
        check_count("fields", &self.fields, None)?;
        let repeated = self
            .fields
            .iter()
            .enumerate()
            .any(|(i, field)| self.fields[..i].contains(field));
        if repeated {
            return Err(CommandError::invalid("fields", Violation::Duplicate));
        }
        Ok(())
    }
}
