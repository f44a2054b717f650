//! Discord IDs ("snowflakes"): a `Copy` newtype over `u64`.
//!
//! A snowflake packs a millisecond timestamp (counted from the Discord epoch,
//! 2015-01-01T00:00:00Z) into its top 42 bits; the low 22 bits are worker, process and
//! increment. Sharding uses the timestamp part (`id >> 22`, GATEWAY.md §6).
//!
//! On the wire (GATEWAY.md §8): JSON carries snowflakes as **strings**, ETF carries them as
//! **integers** (or strings). [`Snowflake`] therefore serializes as a decimal string and
//! deserializes from either a string or a non-negative integer.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Discord ID: guild, channel, user, application, ...
///
/// Ordered by value, which for IDs of the same kind is creation order.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::snowflake::Snowflake;
///
/// let id: Snowflake = "175928847299117063".parse()?;
/// assert_eq!(id.get(), 175928847299117063);
/// assert_eq!(id.timestamp_ms(), 1_462_015_105_796);
/// assert_eq!(serde_json::to_string(&id)?, r#""175928847299117063""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(u64);

impl Snowflake {
    /// The Discord epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
    pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

    /// Wraps a raw ID.
    #[must_use]
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The raw ID.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// When the ID was created, in Unix milliseconds: `(id >> 22) + DISCORD_EPOCH_MS`.
    #[must_use]
    pub const fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + Self::DISCORD_EPOCH_MS
    }
}

impl From<u64> for Snowflake {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl From<Snowflake> for u64 {
    fn from(id: Snowflake) -> Self {
        id.0
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A string that is not a snowflake (a decimal `u64`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a snowflake: expected a decimal number that fits in 64 bits ({source})")]
pub struct ParseSnowflakeError {
    /// Why the number did not parse (empty, a non-digit, or too large).
    #[from]
    source: ParseIntError,
}

impl FromStr for Snowflake {
    type Err = ParseSnowflakeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.parse()?))
    }
}

impl Serialize for Snowflake {
    /// Writes the ID as a decimal JSON string, as Discord's JSON does.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    /// Reads the ID from a decimal string (JSON) or a non-negative integer (ETF).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SnowflakeVisitor)
    }
}

/// Accepts a decimal string or a non-negative integer.
struct SnowflakeVisitor;

impl Visitor<'_> for SnowflakeVisitor {
    type Value = Snowflake;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snowflake as a decimal string or a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
        Ok(Snowflake(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
        u64::try_from(v)
            .map(Snowflake)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
        v.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_integers() {
        const CASES: &[(&str, &str, Option<u64>)] = &[
            (
                "string",
                r#""1200000000000000000""#,
                Some(1_200_000_000_000_000_000),
            ),
            (
                "integer",
                "1200000000000000000",
                Some(1_200_000_000_000_000_000),
            ),
            ("max", r#""18446744073709551615""#, Some(u64::MAX)),
            ("zero", "0", Some(0)),
            ("negative", "-1", None),
            ("overflow string", r#""18446744073709551616""#, None),
            ("float", "1.5", None),
            ("empty string", r#""""#, None),
            ("not digits", r#""12a""#, None),
            ("null", "null", None),
        ];
        for &(name, json, want) in CASES {
            let got = serde_json::from_str::<Snowflake>(json)
                .ok()
                .map(Snowflake::get);
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn serializes_as_string_and_round_trips() {
        let id = Snowflake::new(1_100_000_000_000_000_000);
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, r#""1100000000000000000""#);
        assert_eq!(serde_json::from_str::<Snowflake>(&json).expect("parse"), id);
    }

    #[test]
    fn display_from_str_and_order() {
        let a: Snowflake = "42".parse().expect("parse");
        assert_eq!(a.to_string(), "42");
        assert!(a < Snowflake::new(43));
        assert!("".parse::<Snowflake>().is_err());
        assert!(" 42".parse::<Snowflake>().is_err());
    }

    #[test]
    fn timestamp_counts_from_discord_epoch() {
        assert_eq!(
            Snowflake::new(0).timestamp_ms(),
            Snowflake::DISCORD_EPOCH_MS
        );
        assert_eq!(
            Snowflake::new(1 << 22).timestamp_ms(),
            Snowflake::DISCORD_EPOCH_MS + 1
        );
    }
}
