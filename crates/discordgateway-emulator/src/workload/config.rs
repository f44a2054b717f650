//! The workload's configuration: seed, guild sizes, event count, rate and event mix.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest guild the generator will build (members), to keep memory bounded.
pub(crate) const MAX_MEMBERS: u32 = 250_000;

/// The most guilds a world may hold (the low 22 bits of generated ids hold the guild index).
pub(crate) const MAX_GUILDS: u32 = 1_000_000;

/// How the workload is generated. Every field has a documented default, so a partial JSON
/// object such as `{"seed": 7, "events_per_shard": 1000}` is a complete configuration.
///
/// The struct is deliberately not `#[non_exhaustive]`, so it can be built with struct update
/// syntax over a default (`WorkloadConfig { seed: 7, ..WorkloadConfig::default() }`); new
/// fields always come with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Seed of every random choice; the same seed gives byte-identical worlds and streams.
    /// Default `0x5eed`.
    pub seed: u64,
    /// Number of guilds the bot is in. Default 100.
    pub guilds: u32,
    /// Inclusive member-count range of ordinary guilds, drawn log-uniformly so most are small.
    /// Default `[10, 200]`. The minimum must be at least 2 (the bot and one user).
    pub small_members: [u32; 2],
    /// Fraction of guilds (0.0–1.0) that are large, drawn from `large_members` instead.
    /// Default 0.02.
    pub large_fraction: f64,
    /// Inclusive member-count range of large guilds, drawn uniformly; 25 000 members make a
    /// GUILD_CREATE of several megabytes. Default `[5000, 25000]`; at most 250 000.
    pub large_members: [u32; 2],
    /// Generated dispatches per shard and session: a fixed count (`0` = none), or `null`
    /// (`None`) for an endless stream. Default 0, so protocol tests see no extra traffic.
    pub events_per_shard: Option<u64>,
    /// Pace of the stream per shard. Default [`Rate::Max`].
    pub rate: Rate,
    /// Relative weights of each generated event kind.
    pub mix: Mix,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            seed: 0x5eed,
            guilds: 100,
            small_members: [10, 200],
            large_fraction: 0.02,
            large_members: [5_000, 25_000],
            events_per_shard: Some(0),
            rate: Rate::Max,
            mix: Mix::default(),
        }
    }
}

impl WorkloadConfig {
    /// Checks that the configuration can generate a world.
    ///
    /// # Errors
    ///
    /// [`WorkloadConfigError`] names the first field out of range and its accepted range.
    pub fn validate(&self) -> Result<(), WorkloadConfigError> {
        if self.guilds > MAX_GUILDS {
            return Err(WorkloadConfigError::TooManyGuilds {
                guilds: self.guilds,
                max: MAX_GUILDS,
            });
        }
        for (field, [min, max]) in [
            ("small_members", self.small_members),
            ("large_members", self.large_members),
        ] {
            if min < 2 || min > max || max > MAX_MEMBERS {
                return Err(WorkloadConfigError::MemberRange {
                    field,
                    min,
                    max,
                    limit: MAX_MEMBERS,
                });
            }
        }
        if !(0.0..=1.0).contains(&self.large_fraction) {
            return Err(WorkloadConfigError::LargeFraction {
                fraction: self.large_fraction,
            });
        }
        if let Rate::PerSecond(per_second) = self.rate
            && !(per_second.is_finite() && per_second > 0.0)
        {
            return Err(WorkloadConfigError::Rate { per_second });
        }
        self.mix.validate()
    }
}

/// A configuration the generator cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadConfigError {
    /// More guilds than the generator supports.
    #[error("workload has {guilds} guilds; use at most {max}")]
    TooManyGuilds {
        /// The configured count.
        guilds: u32,
        /// The supported maximum.
        max: u32,
    },
    /// A member-count range is empty, too small or too large.
    #[error("workload `{field}` is [{min}, {max}]; use 2 <= min <= max <= {limit}")]
    MemberRange {
        /// `small_members` or `large_members`.
        field: &'static str,
        /// The configured minimum.
        min: u32,
        /// The configured maximum.
        max: u32,
        /// The largest accepted maximum.
        limit: u32,
    },
    /// `large_fraction` is outside 0.0–1.0.
    #[error("workload `large_fraction` is {fraction}; use a value from 0.0 to 1.0")]
    LargeFraction {
        /// The configured fraction.
        fraction: f64,
    },
    /// A per-second rate that is not a positive finite number.
    #[error("workload rate {per_second}/s is not usable; use a positive number or `max`")]
    Rate {
        /// The configured rate.
        per_second: f64,
    },
    /// A mix weight that is negative or not finite.
    #[error("workload mix weight `{kind}` is {weight}; use a finite number >= 0")]
    Weight {
        /// The wire name of the event kind.
        kind: &'static str,
        /// The configured weight.
        weight: f64,
    },
    /// Every mix weight is zero, so no event could be generated.
    #[error("workload mix has no positive weight; give at least one event kind a weight > 0")]
    EmptyMix,
}

/// How fast one shard's stream is sent.
///
/// In JSON (and on the command line) a rate is either a number of events per second per
/// shard, such as `250` or `"250"`, or the string `"max"`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Rate {
    /// This many events per second per shard, evenly spaced.
    PerSecond(f64),
    /// As fast as the connection accepts them.
    #[default]
    Max,
}

impl Rate {
    /// When the event with 0-based index `index` is due, measured from the stream's start;
    /// `None` for [`Rate::Max`] (always due). A pure function: the caller owns the clock.
    #[must_use]
    pub fn due_at(self, index: u64) -> Option<Duration> {
        match self {
            Rate::PerSecond(per_second) if per_second > 0.0 => {
                Some(Duration::from_secs_f64(index as f64 / per_second))
            }
            Rate::PerSecond(_) | Rate::Max => None,
        }
    }

    /// How many events may have been sent `elapsed` after the stream's start
    /// (`u64::MAX` for [`Rate::Max`]); the first event is due at once.
    #[must_use]
    pub fn allowed_by(self, elapsed: Duration) -> u64 {
        match self {
            Rate::PerSecond(per_second) if per_second > 0.0 => {
                (elapsed.as_secs_f64() * per_second).floor() as u64 + 1
            }
            Rate::PerSecond(_) | Rate::Max => u64::MAX,
        }
    }
}

/// A rate string that is neither `max` nor a positive number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate must be a positive number of events per second or `max`")]
#[non_exhaustive]
pub struct RateParseError;

impl FromStr for Rate {
    type Err = RateParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        match s.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => Ok(Rate::PerSecond(n)),
            _ => Err(RateParseError),
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rate::PerSecond(n) => serializer.serialize_f64(*n),
            Rate::Max => serializer.serialize_str("max"),
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The two accepted JSON shapes.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            /// A number of events per second.
            Number(f64),
            /// `"max"` or a number in a string.
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(n) if n.is_finite() && n > 0.0 => Ok(Rate::PerSecond(n)),
            Repr::Number(_) => Err(serde::de::Error::custom(RateParseError)),
            Repr::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Relative weights of the generated event kinds (any non-negative numbers; they need not
/// sum to 100). The defaults approximate a busy community bot's traffic, in percent.
///
/// DM messages are generated only on shard 0 (GATEWAY.md §6); other shards ignore that weight.
/// Not `#[non_exhaustive]`, like [`WorkloadConfig`], so `Mix { typing_start: 50.0,
/// ..Mix::default() }` works everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mix {
    /// Guild MESSAGE_CREATE. Default 34.
    pub message_create: f64,
    /// PRESENCE_UPDATE. Default 25.
    pub presence_update: f64,
    /// Guild TYPING_START. Default 15.
    pub typing_start: f64,
    /// GUILD_MEMBER_UPDATE. Default 8.
    pub guild_member_update: f64,
    /// Guild MESSAGE_REACTION_ADD. Default 7.
    pub message_reaction_add: f64,
    /// Guild MESSAGE_UPDATE. Default 4.
    pub message_update: f64,
    /// Guild MESSAGE_DELETE. Default 3.
    pub message_delete: f64,
    /// VOICE_STATE_UPDATE. Default 2.
    pub voice_state_update: f64,
    /// MESSAGE_CREATE in a DM with the bot (shard 0 only). Default 1.
    pub dm_message_create: f64,
    /// Guild MESSAGE_REACTION_REMOVE. Default 0.5.
    pub message_reaction_remove: f64,
    /// GUILD_MEMBER_ADD. Default 0.2.
    pub guild_member_add: f64,
    /// GUILD_MEMBER_REMOVE. Default 0.1.
    pub guild_member_remove: f64,
    /// CHANNEL_UPDATE. Default 0.1.
    pub channel_update: f64,
    /// GUILD_ROLE_UPDATE. Default 0.1.
    pub guild_role_update: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            message_create: 34.0,
            presence_update: 25.0,
            typing_start: 15.0,
            guild_member_update: 8.0,
            message_reaction_add: 7.0,
            message_update: 4.0,
            message_delete: 3.0,
            voice_state_update: 2.0,
            dm_message_create: 1.0,
            message_reaction_remove: 0.5,
            guild_member_add: 0.2,
            guild_member_remove: 0.1,
            channel_update: 0.1,
            guild_role_update: 0.1,
        }
    }
}

impl Mix {
    /// A mix with every weight zero, to build a custom one field by field.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            message_create: 0.0,
            presence_update: 0.0,
            typing_start: 0.0,
            guild_member_update: 0.0,
            message_reaction_add: 0.0,
            message_update: 0.0,
            message_delete: 0.0,
            voice_state_update: 0.0,
            dm_message_create: 0.0,
            message_reaction_remove: 0.0,
            guild_member_add: 0.0,
            guild_member_remove: 0.0,
            channel_update: 0.0,
            guild_role_update: 0.0,
        }
    }

    /// Every kind with its weight, in a fixed order (the order the generator draws in).
    #[must_use]
    pub fn weights(&self) -> [(super::EventKind, f64); 14] {
        use super::EventKind as K;
        [
            (K::MessageCreate, self.message_create),
            (K::PresenceUpdate, self.presence_update),
            (K::TypingStart, self.typing_start),
            (K::GuildMemberUpdate, self.guild_member_update),
            (K::MessageReactionAdd, self.message_reaction_add),
            (K::MessageUpdate, self.message_update),
            (K::MessageDelete, self.message_delete),
            (K::VoiceStateUpdate, self.voice_state_update),
            (K::DmMessageCreate, self.dm_message_create),
            (K::MessageReactionRemove, self.message_reaction_remove),
            (K::GuildMemberAdd, self.guild_member_add),
            (K::GuildMemberRemove, self.guild_member_remove),
            (K::ChannelUpdate, self.channel_update),
            (K::GuildRoleUpdate, self.guild_role_update),
        ]
    }

    /// Checks every weight is finite and non-negative and at least one is positive.
    fn validate(&self) -> Result<(), WorkloadConfigError> {
        let weights = self.weights();
        for (kind, weight) in weights {
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(WorkloadConfigError::Weight {
                    kind: kind.wire_name(),
                    weight,
                });
            }
        }
        if weights.iter().all(|(_, w)| *w == 0.0) {
            return Err(WorkloadConfigError::EmptyMix);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_partial_json_fills_in() {
        WorkloadConfig::default().validate().unwrap();
        let config: WorkloadConfig =
            serde_json::from_str(r#"{"seed":7,"events_per_shard":null,"mix":{"typing_start":50}}"#)
                .unwrap();
        assert_eq!(config.seed, 7);
        assert_eq!(config.events_per_shard, None);
        assert_eq!(config.guilds, 100);
        assert_eq!(config.mix.typing_start, 50.0);
        assert_eq!(config.mix.message_create, 34.0);
        let sum: f64 = Mix::default().weights().iter().map(|(_, w)| w).sum();
        assert!(
            (sum - 100.0).abs() < 1e-9,
            "default weights are percent, sum {sum}"
        );
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let base = WorkloadConfig::default();
        let cases: Vec<(&str, WorkloadConfig, WorkloadConfigError)> = vec![
            (
                "small min 1",
                WorkloadConfig {
                    small_members: [1, 5],
                    ..base.clone()
                },
                WorkloadConfigError::MemberRange {
                    field: "small_members",
                    min: 1,
                    max: 5,
                    limit: MAX_MEMBERS,
                },
            ),
            (
                "large inverted",
                WorkloadConfig {
                    large_members: [9, 3],
                    ..base.clone()
                },
                WorkloadConfigError::MemberRange {
                    field: "large_members",
                    min: 9,
                    max: 3,
                    limit: MAX_MEMBERS,
                },
            ),
            (
                "fraction",
                WorkloadConfig {
                    large_fraction: 1.5,
                    ..base.clone()
                },
                WorkloadConfigError::LargeFraction { fraction: 1.5 },
            ),
            (
                "rate",
                WorkloadConfig {
                    rate: Rate::PerSecond(0.0),
                    ..base.clone()
                },
                WorkloadConfigError::Rate { per_second: 0.0 },
            ),
            (
                "weight",
                WorkloadConfig {
                    mix: Mix {
                        typing_start: -1.0,
                        ..Mix::default()
                    },
                    ..base.clone()
                },
                WorkloadConfigError::Weight {
                    kind: "TYPING_START",
                    weight: -1.0,
                },
            ),
            (
                "empty mix",
                WorkloadConfig {
                    mix: Mix::none(),
                    ..base.clone()
                },
                WorkloadConfigError::EmptyMix,
            ),
        ];
        for (name, config, want) in cases {
            assert_eq!(config.validate(), Err(want), "case {name}");
        }
    }

    #[test]
    fn rates_parse_and_pace() {
        const CASES: &[(&str, Option<Rate>)] = &[
            ("max", Some(Rate::Max)),
            ("MAX", Some(Rate::Max)),
            ("250", Some(Rate::PerSecond(250.0))),
            ("0.5", Some(Rate::PerSecond(0.5))),
            ("0", None),
            ("-3", None),
            ("fast", None),
            ("inf", None),
        ];
        for (text, want) in CASES {
            assert_eq!(text.parse::<Rate>().ok(), *want, "case {text}");
        }
        let json: Vec<Rate> = serde_json::from_str(r#"[10, "max", "2.5"]"#).unwrap();
        assert_eq!(
            json,
            [Rate::PerSecond(10.0), Rate::Max, Rate::PerSecond(2.5)]
        );
        assert!(serde_json::from_str::<Rate>("-1").is_err());
        assert_eq!(serde_json::to_string(&Rate::Max).unwrap(), r#""max""#);

        let rate = Rate::PerSecond(100.0);
        assert_eq!(rate.due_at(0), Some(Duration::ZERO));
        assert_eq!(rate.due_at(50), Some(Duration::from_millis(500)));
        assert_eq!(rate.allowed_by(Duration::ZERO), 1);
        assert_eq!(rate.allowed_by(Duration::from_millis(1_000)), 101);
        assert_eq!(Rate::Max.due_at(9), None);
        assert_eq!(Rate::Max.allowed_by(Duration::ZERO), u64::MAX);
    }
}
