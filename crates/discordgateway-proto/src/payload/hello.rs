//! Hello (op 10), the first frame of every connection (GATEWAY.md §3.2).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The `d` of op 10 Hello: how often to heartbeat.
///
/// `heartbeat_interval` is an integer number of milliseconds. Defensively, a float is also
/// accepted and truncated toward zero (beating a fraction of a millisecond early is harmless;
/// late is not). An interval below 1 ms, a negative or non-finite one is rejected: it would
/// make the client heartbeat in a busy loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use discordgateway_proto::payload::Hello;
///
/// let hello: Hello = serde_json::from_str(r#"{"heartbeat_interval":41250,"_trace":[]}"#)?;
/// assert_eq!(hello.interval(), Duration::from_millis(41250));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hello {
    /// Milliseconds between heartbeats, at least 1.
    #[serde(deserialize_with = "interval_ms")]
    pub heartbeat_interval: u64,
}

impl Hello {
    /// The heartbeat interval as a `Duration`.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval)
    }
}

/// Reads a positive millisecond count from an integer or a float.
fn interval_ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(IntervalVisitor)
}

/// See [`interval_ms`].
struct IntervalVisitor;

impl Visitor<'_> for IntervalVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a heartbeat interval of at least 1 millisecond")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v == 0 {
            return Err(E::invalid_value(de::Unexpected::Unsigned(v), &self));
        }
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // 2^64 as f64; anything at or above it does not fit.
        const LIMIT: f64 = 18_446_744_073_709_551_616.0;
        if !(1.0..LIMIT).contains(&v) {
            return Err(E::invalid_value(de::Unexpected::Float(v), &self));
        }
        // In range and finite, so the cast only drops the fraction.
        Ok(v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_interval() {
        const CASES: &[(&str, &str, Option<u64>)] = &[
            ("integer", r#"{"heartbeat_interval":41250}"#, Some(41250)),
            ("float", r#"{"heartbeat_interval":41250.0}"#, Some(41250)),
            (
                "fraction truncated",
                r#"{"heartbeat_interval":45000.9}"#,
                Some(45000),
            ),
            (
                "unknown keys",
                r#"{"_trace":["x"],"heartbeat_interval":1}"#,
                Some(1),
            ),
            ("zero", r#"{"heartbeat_interval":0}"#, None),
            ("below 1 ms", r#"{"heartbeat_interval":0.5}"#, None),
            ("negative", r#"{"heartbeat_interval":-5}"#, None),
            ("huge float", r#"{"heartbeat_interval":1e30}"#, None),
            ("string", r#"{"heartbeat_interval":"41250"}"#, None),
            ("missing", r#"{}"#, None),
            ("null d", "null", None),
        ];
        for &(name, json, want) in CASES {
            let got = serde_json::from_str::<Hello>(json)
                .ok()
                .map(|h| h.heartbeat_interval);
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn round_trips() {
        let hello = Hello {
            heartbeat_interval: 45000,
        };
        let json = serde_json::to_string(&hello).expect("ser");
        assert_eq!(json, r#"{"heartbeat_interval":45000}"#);
        assert_eq!(serde_json::from_str::<Hello>(&json).expect("de"), hello);
    }
}
