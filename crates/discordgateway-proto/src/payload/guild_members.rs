//! Request Guild Members (op 8) → GUILD_MEMBERS_CHUNK (GATEWAY.md §11.4).
//!
//! Rules enforced: one guild per request; exactly one of `query` (with `limit`) or
//! `user_ids` ([`MemberSelector`] makes this a type rule, and reading a frame that has both or
//! neither fails); `limit` ≤ 100 (`query: ""` with `limit: 0` is the all-members form, which
//! needs the GUILD_MEMBERS intent and is limited to 1 per guild per 30 s); `user_ids` holds
//! 1–100 IDs; `nonce` ≤ 32 bytes. `presences: true` needs GUILD_PRESENCES (otherwise the
//! server treats it as false).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{CommandError, Outgoing, Violation, check_count, check_len};
use crate::opcode::OpCode;
use crate::snowflake::Snowflake;

/// Most members a `query` may ask for, and most `user_ids` per request.
const MAX_MEMBERS: usize = 100;
/// Longest `nonce`, in bytes.
const MAX_NONCE_LEN: usize = 32;

/// The `d` of op 8.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::payload::{Outgoing, RequestGuildMembers};
/// use discordgateway_proto::snowflake::Snowflake;
///
/// let guild = Snowflake::new(1);
/// assert!(RequestGuildMembers::all(guild).validate().is_ok());
/// assert!(RequestGuildMembers::query(guild, "al", 101).validate().is_err());
/// let ids = (1..=3).map(Snowflake::new);
/// assert!(RequestGuildMembers::user_ids(guild, ids).with_presences(true).validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestGuildMembers {
    /// The guild.
    pub guild_id: Snowflake,
    /// Which members: by name prefix or by ID.
    pub selector: MemberSelector,
    /// Whether to include presences.
    pub presences: bool,
    /// Echoed in the chunks; at most 32 bytes.
    pub nonce: Option<String>,
}

/// Which members to request: `query` + `limit`, or `user_ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberSelector {
    /// Members whose username starts with `query` (`""`: everyone), at most `limit` of them
    /// (0–100; 0 with `""` means all members).
    Query {
        /// Username prefix.
        query: String,
        /// Maximum members returned.
        limit: u32,
    },
    /// These users (1–100 IDs).
    UserIds(Vec<Snowflake>),
}

impl RequestGuildMembers {
    /// Members whose username starts with `prefix`, at most `limit` (≤ 100).
    #[must_use]
    pub fn query(guild_id: Snowflake, prefix: impl Into<String>, limit: u32) -> Self {
        Self::with_selector(
            guild_id,
            MemberSelector::Query {
                query: prefix.into(),
                limit,
            },
        )
    }

    /// Every member (`query: ""`, `limit: 0`); needs GUILD_MEMBERS, 1 per guild per 30 s.
    #[must_use]
    pub fn all(guild_id: Snowflake) -> Self {
        Self::query(guild_id, "", 0)
    }

    /// The members with these IDs (1–100).
    #[must_use]
    pub fn user_ids(guild_id: Snowflake, ids: impl IntoIterator<Item = Snowflake>) -> Self {
        Self::with_selector(guild_id, MemberSelector::UserIds(ids.into_iter().collect()))
    }

    /// A request with `selector`, no presences, no nonce.
    const fn with_selector(guild_id: Snowflake, selector: MemberSelector) -> Self {
        Self {
            guild_id,
            selector,
            presences: false,
            nonce: None,
        }
    }

    /// Sets `presences`.
    #[must_use]
    pub const fn with_presences(mut self, presences: bool) -> Self {
        self.presences = presences;
        self
    }

    /// Sets `nonce` (≤ 32 bytes; checked when sent).
    #[must_use]
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }
}

impl Outgoing for RequestGuildMembers {
    fn opcode(&self) -> OpCode {
        OpCode::RequestGuildMembers
    }

    fn validate(&self) -> Result<(), CommandError> {
        match &self.selector {
            MemberSelector::Query { limit, .. } if *limit as usize > MAX_MEMBERS => {
                return Err(CommandError::invalid(
                    "limit",
                    Violation::OutOfRange {
                        value: (*limit).into(),
                        min: 0,
                        max: MAX_MEMBERS as u64,
                    },
                ));
            }
            MemberSelector::Query { .. } => {}
            MemberSelector::UserIds(ids) => check_count("user_ids", ids, Some(MAX_MEMBERS))?,
        }
        match &self.nonce {
            Some(nonce) => check_len("nonce", nonce, MAX_NONCE_LEN),
            None => Ok(()),
        }
    }
}

/// The wire shape of op 8's `d`, borrowed for writing.
#[derive(Serialize)]
struct WireRef<'a> {
    /// See [`RequestGuildMembers::guild_id`].
    guild_id: Snowflake,
    /// Present for [`MemberSelector::Query`].
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    /// Present for [`MemberSelector::Query`].
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    /// Present for [`MemberSelector::UserIds`].
    #[serde(skip_serializing_if = "Option::is_none")]
    user_ids: Option<&'a [Snowflake]>,
    /// See [`RequestGuildMembers::presences`].
    presences: bool,
    /// See [`RequestGuildMembers::nonce`].
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

impl Serialize for RequestGuildMembers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (query, limit, user_ids) = match &self.selector {
            MemberSelector::Query { query, limit } => (Some(query.as_str()), Some(*limit), None),
            MemberSelector::UserIds(ids) => (None, None, Some(ids.as_slice())),
        };
        WireRef {
            guild_id: self.guild_id,
            query,
            limit,
            user_ids,
            presences: self.presences,
            nonce: self.nonce.as_deref(),
        }
        .serialize(serializer)
    }
}

/// The wire shape of op 8's `d`, owned for reading.
#[derive(Deserialize)]
struct WireOwned {
    /// See [`RequestGuildMembers::guild_id`].
    guild_id: Snowflake,
    /// Username prefix.
    query: Option<String>,
    /// Maximum members.
    limit: Option<u32>,
    /// One ID or a list.
    user_ids: Option<OneOrMany>,
    /// See [`RequestGuildMembers::presences`].
    #[serde(default)]
    presences: bool,
    /// See [`RequestGuildMembers::nonce`].
    nonce: Option<String>,
}

/// `user_ids` may be one snowflake or an array (§11.4).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    /// A single ID.
    One(Snowflake),
    /// A list of IDs.
    Many(Vec<Snowflake>),
}

impl TryFrom<WireOwned> for RequestGuildMembers {
    type Error = CommandError;

    fn try_from(wire: WireOwned) -> Result<Self, CommandError> {
        let selector = match (wire.query, wire.limit, wire.user_ids) {
            (Some(_), _, Some(_)) => Err(Violation::Conflicts { other: "user_ids" }),
            (Some(query), Some(limit), None) => Ok(MemberSelector::Query { query, limit }),
            (Some(_), None, None) => {
                return Err(CommandError::invalid("limit", Violation::Missing));
            }
            (None, _, Some(OneOrMany::One(id))) => Ok(MemberSelector::UserIds(vec![id])),
            (None, _, Some(OneOrMany::Many(ids))) => Ok(MemberSelector::UserIds(ids)),
            (None, _, None) => Err(Violation::Missing),
        }
        .map_err(|violation| CommandError::invalid("query", violation))?;
        Ok(Self {
            guild_id: wire.guild_id,
            selector,
            presences: wire.presences,
            nonce: wire.nonce,
        })
    }
}

impl<'de> Deserialize<'de> for RequestGuildMembers {
    /// Reads op 8's `d`: exactly one of `query` (with `limit`) or `user_ids` (one ID or a
    /// list). Field limits are not checked here; call [`Outgoing::validate`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(WireOwned::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}
