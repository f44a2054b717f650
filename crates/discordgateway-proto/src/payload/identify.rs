//! Identify (op 2): start a new session (GATEWAY.md §3.4).

use serde::{Deserialize, Serialize};

use super::{CommandError, Outgoing, UpdatePresence, Violation, is_false};
use crate::intents::Intents;
use crate::opcode::OpCode;
use crate::shard::ShardId;
use crate::token::Token;

/// What `browser` and `device` say by default.
const LIBRARY_NAME: &str = "discordgateway";

/// The `d` of op 2 Identify.
///
/// `Debug` shows the token as `<redacted>`; the serialized frame contains the real token,
/// which is the point of Identify.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::intents::Intents;
/// use discordgateway_proto::payload::{Identify, Outgoing};
/// use discordgateway_proto::shard::ShardId;
/// use discordgateway_proto::token::Token;
///
/// let identify = Identify::new(
///     Token::new("MTAx.fake.token")?,
///     Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT,
/// )
///     .with_shard(ShardId::new(0, 2)?)
///     .with_large_threshold(100);
/// let mut buf = Vec::new();
/// identify.encode(&mut buf)?;
/// let frame = std::str::from_utf8(&buf)?;
/// assert!(frame.starts_with(r#"{"op":2,"d":{"token":"MTAx.fake.token","#));
/// assert!(frame.contains(r#""intents":33281"#));
/// assert!(!format!("{identify:?}").contains("MTAx"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identify {
    /// The bot token, without `Bot `.
    pub token: Token,
    /// Connection properties.
    pub properties: IdentifyProperties,
    /// Payload compression (§7.2). This library uses transport compression instead and never
    /// sets it; it is omitted from the frame when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub compress: bool,
    /// Member count above which offline members are not sent: 50–250, default 50.
    #[serde(default = "default_large_threshold")]
    pub large_threshold: u32,
    /// `[shard, total]`; omitted for an unsharded bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardId>,
    /// Initial presence; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<UpdatePresence>,
    /// Intent bits (§9).
    pub intents: Intents,
}

/// Smallest accepted `large_threshold`, also the default.
const LARGE_THRESHOLD_MIN: u32 = 50;
/// Largest accepted `large_threshold`.
const LARGE_THRESHOLD_MAX: u32 = 250;

/// serde default of [`Identify::large_threshold`].
const fn default_large_threshold() -> u32 {
    LARGE_THRESHOLD_MIN
}

impl Identify {
    /// An Identify with default properties, `large_threshold` 50, no shard, no presence.
    #[must_use]
    pub fn new(token: Token, intents: Intents) -> Self {
        Self {
            token,
            properties: IdentifyProperties::default(),
            compress: false,
            large_threshold: LARGE_THRESHOLD_MIN,
            shard: None,
            presence: None,
            intents,
        }
    }

    /// Sets `shard`.
    #[must_use]
    pub const fn with_shard(mut self, shard: ShardId) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Sets `large_threshold` (50–250; checked when sent).
    #[must_use]
    pub const fn with_large_threshold(mut self, large_threshold: u32) -> Self {
        self.large_threshold = large_threshold;
        self
    }

    /// Sets the initial presence.
    #[must_use]
    pub fn with_presence(mut self, presence: UpdatePresence) -> Self {
        self.presence = Some(presence);
        self
    }

    /// Sets the connection properties.
    #[must_use]
    pub fn with_properties(mut self, properties: IdentifyProperties) -> Self {
        self.properties = properties;
        self
    }
}

impl Outgoing for Identify {
    fn opcode(&self) -> OpCode {
        OpCode::Identify
    }

    /// Checks `large_threshold` and the presence (whose fields are named as in op 3).
    fn validate(&self) -> Result<(), CommandError> {
        if !(LARGE_THRESHOLD_MIN..=LARGE_THRESHOLD_MAX).contains(&self.large_threshold) {
            return Err(CommandError::invalid(
                "large_threshold",
                Violation::OutOfRange {
                    value: self.large_threshold.into(),
                    min: LARGE_THRESHOLD_MIN.into(),
                    max: LARGE_THRESHOLD_MAX.into(),
                },
            ));
        }
        self.presence.as_ref().map_or(Ok(()), Outgoing::validate)
    }
}

/// Identify's `properties`, with the plain keys (`os`, not the deprecated `$os`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdentifyProperties {
    /// Operating system; default `std::env::consts::OS`.
    pub os: String,
    /// Library name; default `discordgateway`.
    pub browser: String,
    /// Library name; default `discordgateway`.
    pub device: String,
}

impl Default for IdentifyProperties {
    fn default() -> Self {
        Self {
            os: std::env::consts::OS.to_owned(),
            browser: LIBRARY_NAME.to_owned(),
            device: LIBRARY_NAME.to_owned(),
        }
    }
}
