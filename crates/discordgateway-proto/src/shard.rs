//! Shard identity and routing (GATEWAY.md §5, §6).
//!
//! - A shard is `[number, total]` with `total ≥ 1` and `number < total`; Identify and READY
//!   carry it as that two-element array.
//! - A guild lives on shard `(guild_id >> 22) % total`. Events without a guild (DMs,
//!   entitlements, subscriptions) go to shard 0 only.
//! - Identify concurrency: shards share a bucket when `number % max_concurrency` is equal;
//!   at most one Identify per bucket per 5 s, buckets started in order.

use std::fmt;
use std::num::NonZeroU32;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::snowflake::Snowflake;

/// A validated shard: `number` in `0..total`.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU32;
/// use discordgateway_proto::shard::ShardId;
/// use discordgateway_proto::snowflake::Snowflake;
///
/// let total = NonZeroU32::new(4).expect("non-zero");
/// let shard = ShardId::for_guild(Some(Snowflake::new(3 << 22)), total);
/// assert_eq!((shard.number(), shard.total()), (3, 4));
/// assert_eq!(ShardId::for_guild(None, total).number(), 0); // DMs
/// assert_eq!(serde_json::to_string(&shard)?, "[3,4]");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId {
    /// Zero-based shard number, `< total`.
    number: u32,
    /// Number of shards, `≥ 1`.
    total: u32,
}

/// Why a `[number, total]` pair is not a shard.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardIdError {
    /// `total` was 0.
    #[error("shard total is 0: use at least 1 shard")]
    ZeroTotal,
    /// `number` was not below `total`.
    #[error("shard number {number} is out of range for {total} shards: use 0..{total}")]
    NumberOutOfRange {
        /// The shard number given.
        number: u32,
        /// The shard count given.
        total: u32,
    },
}

impl ShardId {
    /// The only shard of an unsharded bot: `[0, 1]`.
    pub const ONE: Self = Self {
        number: 0,
        total: 1,
    };

    /// Validates a shard.
    ///
    /// # Errors
    ///
    /// [`ShardIdError::ZeroTotal`] or [`ShardIdError::NumberOutOfRange`].
    pub const fn new(number: u32, total: u32) -> Result<Self, ShardIdError> {
        if total == 0 {
            Err(ShardIdError::ZeroTotal)
        } else if number >= total {
            Err(ShardIdError::NumberOutOfRange { number, total })
        } else {
            Ok(Self { number, total })
        }
    }

    /// The shard that receives events of `guild_id` when there are `total` shards:
    /// `(guild_id >> 22) % total`, and shard 0 for events without a guild (`None`).
    #[must_use]
    pub const fn for_guild(guild_id: Option<Snowflake>, total: NonZeroU32) -> Self {
        let total = total.get();
        let number = match guild_id {
            // The remainder is < total ≤ u32::MAX, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation)]
            Some(id) => ((id.get() >> 22) % total as u64) as u32,
            None => 0,
        };
        Self { number, total }
    }

    /// Whether this shard receives events of `guild_id` (`None`: guild-less events).
    #[must_use]
    pub fn routes(self, guild_id: Option<Snowflake>) -> bool {
        // `total` is never 0 by construction.
        NonZeroU32::new(self.total).is_some_and(|total| Self::for_guild(guild_id, total) == self)
    }

    /// Zero-based shard number.
    #[must_use]
    pub const fn number(self) -> u32 {
        self.number
    }

    /// Number of shards.
    #[must_use]
    pub const fn total(self) -> u32 {
        self.total
    }

    /// The identify-concurrency bucket of this shard: `number % max_concurrency` (§5).
    #[must_use]
    pub const fn bucket(self, max_concurrency: NonZeroU32) -> u32 {
        self.number % max_concurrency.get()
    }
}

impl Default for ShardId {
    fn default() -> Self {
        Self::ONE
    }
}

impl fmt::Display for ShardId {
    /// `number/total`, e.g. `3/16`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.total)
    }
}

impl Serialize for ShardId {
    /// The wire form `[number, total]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.number, self.total].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ShardId {
    /// Reads `[number, total]` and validates it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [number, total] = <[u32; 2]>::deserialize(deserializer)?;
        Self::new(number, total).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    #[test]
    fn validates() {
        const CASES: &[(&str, u32, u32, Result<(), ShardIdError>)] = &[
            ("single", 0, 1, Ok(())),
            ("last", 15, 16, Ok(())),
            ("zero total", 0, 0, Err(ShardIdError::ZeroTotal)),
            (
                "number == total",
                2,
                2,
                Err(ShardIdError::NumberOutOfRange {
                    number: 2,
                    total: 2,
                }),
            ),
            (
                "number > total",
                9,
                3,
                Err(ShardIdError::NumberOutOfRange {
                    number: 9,
                    total: 3,
                }),
            ),
        ];
        for (name, number, total, want) in CASES {
            let got = ShardId::new(*number, *total).map(|_| ());
            assert_eq!(&got, want, "case {name}");
        }
    }

    #[test]
    fn routes_guilds_and_dms() {
        // (name, guild id, total, expected shard number)
        const CASES: &[(&str, Option<u64>, u32, u32)] = &[
            ("dm on shard 0", None, 8, 0),
            ("single shard", Some(1_200_000_000_000_000_000), 1, 0),
            ("low bits ignored", Some((5 << 22) | 0x3F_FFFF), 4, 1),
            ("docs example", Some(1_200_000_000_000_000_000), 3, 1),
            ("large id", Some(u64::MAX), 1000, 103),
        ];
        for &(name, guild, total, want) in CASES {
            let guild = guild.map(Snowflake::new);
            let shard = ShardId::for_guild(guild, nz(total));
            assert_eq!(shard.number(), want, "case {name}");
            assert_eq!(shard.total(), total, "case {name}");
            assert!(shard.routes(guild), "case {name}");
        }
        let other = ShardId::new(1, 8).expect("valid");
        assert!(!other.routes(None), "guild-less events only reach shard 0");
    }

    #[test]
    fn buckets() {
        let shard = ShardId::new(17, 32).expect("valid");
        assert_eq!(shard.bucket(nz(16)), 1);
        assert_eq!(shard.bucket(nz(1)), 0);
    }

    #[test]
    fn serde_is_the_wire_array() {
        let shard = ShardId::new(1, 3).expect("valid");
        assert_eq!(serde_json::to_string(&shard).expect("ser"), "[1,3]");
        assert_eq!(
            serde_json::from_str::<ShardId>("[1, 3]").expect("de"),
            shard
        );
        for bad in ["[3,3]", "[0,0]", "[1]", "[1,2,3]", "\"1/3\"", "[-1,2]"] {
            assert!(serde_json::from_str::<ShardId>(bad).is_err(), "{bad}");
        }
        assert_eq!(shard.to_string(), "1/3");
    }
}
