//! Update Presence (op 3) and the activity object bots may send (GATEWAY.md §11.3).
//!
//! Rules enforced: bots may set only `name`, `state`, `type` and `url` of an activity (the
//! [`Activity`] type has no other fields); the type is 0–5 ([`ActivityType`] has no other
//! values, and reading another number fails); `name` is not empty; a Streaming `url`, when
//! given, is an http(s) link to twitch.tv or youtube.com (or a subdomain). The limit of 5
//! presence updates per 20 s is the rate limiter's business, not this type's.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{CommandError, Outgoing, Violation};
use crate::opcode::OpCode;

/// The `d` of op 3, also Identify's `presence`.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::payload::{Activity, Outgoing, Status, UpdatePresence};
///
/// let presence = UpdatePresence::new(Status::Idle).with_activity(Activity::custom("running tests"));
/// let mut buf = Vec::new();
/// presence.encode(&mut buf)?;
/// assert_eq!(
///     std::str::from_utf8(&buf)?,
///     r#"{"op":3,"d":{"since":null,"activities":[{"name":"Custom Status","type":4,"state":"running tests"}],"status":"idle","afk":false}}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePresence {
    /// Unix milliseconds since when the client has been idle; `None` if not idle.
    pub since: Option<u64>,
    /// The activities to show.
    pub activities: Vec<Activity>,
    /// Online status.
    pub status: Status,
    /// Whether the client is AFK.
    pub afk: bool,
}

impl UpdatePresence {
    /// A presence with `status`, no activities, not idle, not AFK.
    #[must_use]
    pub const fn new(status: Status) -> Self {
        Self {
            since: None,
            activities: Vec::new(),
            status,
            afk: false,
        }
    }

    /// Adds an activity.
    #[must_use]
    pub fn with_activity(mut self, activity: Activity) -> Self {
        self.activities.push(activity);
        self
    }

    /// Sets `since` (Unix milliseconds) and `afk`.
    #[must_use]
    pub const fn with_idle_since(mut self, since_ms: Option<u64>, afk: bool) -> Self {
        self.since = since_ms;
        self.afk = afk;
        self
    }
}

impl Outgoing for UpdatePresence {
    fn opcode(&self) -> OpCode {
        OpCode::PresenceUpdate
    }

    fn validate(&self) -> Result<(), CommandError> {
        self.activities.iter().try_for_each(Activity::validate)
    }
}

/// Online status of a presence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Online.
    #[default]
    Online,
    /// Do not disturb.
    Dnd,
    /// Idle (away).
    Idle,
    /// Invisible: shown as offline.
    Invisible,
    /// Offline.
    Offline,
}

/// An activity as a bot may send it: `name`, `type`, and optionally `state` and `url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Name ("Playing {name}", ...); `Custom Status` for custom activities.
    pub name: String,
    /// Activity type.
    #[serde(rename = "type")]
    pub kind: ActivityType,
    /// State text; the shown text of a custom status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Stream URL (twitch.tv or youtube.com) of a Streaming activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Activity {
    /// An activity of `kind` named `name`, no state, no URL.
    #[must_use]
    pub fn new(kind: ActivityType, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            state: None,
            url: None,
        }
    }

    /// "Playing {name}".
    #[must_use]
    pub fn playing(name: impl Into<String>) -> Self {
        Self::new(ActivityType::Playing, name)
    }

    /// "Streaming", linking to `url` (twitch.tv or youtube.com; checked when sent).
    #[must_use]
    pub fn streaming(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::new(ActivityType::Streaming, name)
        }
    }

    /// "Listening to {name}".
    #[must_use]
    pub fn listening(name: impl Into<String>) -> Self {
        Self::new(ActivityType::Listening, name)
    }

    /// "Watching {name}".
    #[must_use]
    pub fn watching(name: impl Into<String>) -> Self {
        Self::new(ActivityType::Watching, name)
    }

    /// "Competing in {name}".
    #[must_use]
    pub fn competing(name: impl Into<String>) -> Self {
        Self::new(ActivityType::Competing, name)
    }

    /// A custom status showing `state` (named `Custom Status`, as Discord's clients do).
    #[must_use]
    pub fn custom(state: impl Into<String>) -> Self {
        Self {
            state: Some(state.into()),
            ..Self::new(ActivityType::Custom, "Custom Status")
        }
    }

    /// Checks the activity rules (see the module docs).
    fn validate(&self) -> Result<(), CommandError> {
        if self.name.is_empty() {
            return Err(CommandError::invalid("activities.name", Violation::Empty));
        }
        match &self.url {
            Some(url) if self.kind == ActivityType::Streaming && !is_stream_url(url) => Err(
                CommandError::invalid("activities.url", Violation::StreamHostNotAllowed),
            ),
            _ => Ok(()),
        }
    }
}

/// Whether `url` is an http(s) link to twitch.tv or youtube.com, or a subdomain of either.
fn is_stream_url(url: &str) -> bool {
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .and_then(|_| url.get(scheme.len()..))
    });
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = authority
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["twitch.tv", "youtube.com"].iter().any(|allowed| {
        host == *allowed
            || host
                .strip_suffix(allowed)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
    })
}

/// Activity type, sent as its number 0–5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActivityType {
    /// 0: "Playing {name}".
    Playing,
    /// 1: "Streaming {details}"; `url` must be twitch.tv or youtube.com.
    Streaming,
    /// 2: "Listening to {name}".
    Listening,
    /// 3: "Watching {name}".
    Watching,
    /// 4: "{emoji} {state}".
    Custom,
    /// 5: "Competing in {name}".
    Competing,
}

impl ActivityType {
    /// All types, in wire order.
    const ALL: [Self; 6] = [
        Self::Playing,
        Self::Streaming,
        Self::Listening,
        Self::Watching,
        Self::Custom,
        Self::Competing,
    ];

    /// The wire number.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Playing => 0,
            Self::Streaming => 1,
            Self::Listening => 2,
            Self::Watching => 3,
            Self::Custom => 4,
            Self::Competing => 5,
        }
    }

    /// The type with wire number `number`, if it is 0–5.
    #[must_use]
    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL.get(usize::from(number)).copied()
    }
}

impl Serialize for ActivityType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for ActivityType {
    /// Reads the number; anything but 0–5 is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = u8::deserialize(deserializer)?;
        Self::from_number(number).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(number.into()),
                &"an activity type from 0 to 5",
            )
        })
    }
}
