//! Faults the emulator can inject into a shard's connection on command.
//!
//! The same JSON shape is accepted by the control route
//! `POST /emulator/shards/{id}/faults` and by scenario files, for example
//! `{"kind":"close","code":4000}` or `{"kind":"zombie","duration_ms":5000}`.

use serde::{Deserialize, Serialize};

/// One fault to inject into the live connection(s) of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Send op 7 Reconnect; the session stays resumable.
    Reconnect,
    /// Send op 9 Invalid Session with the given `d`. When not resumable, the session is
    /// destroyed server-side, exactly as Discord does.
    InvalidSession {
        /// The value of `d`: whether the client may resume.
        #[serde(default)]
        resumable: bool,
    },
    /// Close the WebSocket with this close code (and an optional reason).
    Close {
        /// The close code, e.g. 4000 (resumable) or 4009 (session timed out).
        code: u16,
        /// Optional close reason text.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Cut the TCP connection with no close frame. The session stays resumable.
    Drop,
    /// Stop answering heartbeats with op 11 for this long (a zombie connection).
    Zombie {
        /// How long ACKs are withheld, in milliseconds.
        duration_ms: u64,
    },
    /// Skip this many sequence numbers before the next dispatch (a gap the client sees).
    SkipSeq {
        /// How many sequence numbers to skip.
        #[serde(default = "one")]
        count: u64,
    },
    /// Send the last dispatch again with the same sequence number (a duplicate).
    RepeatSeq,
    /// Send one frame that cannot be decoded.
    Garbage,
    /// Send one frame larger than a client should accept (size in bytes).
    Oversized {
        /// The frame's size in bytes.
        #[serde(default = "default_oversized")]
        bytes: usize,
    },
    /// Stop reading from the client's socket (a half-open connection) for this long.
    HalfOpen {
        /// How long the emulator stops reading, in milliseconds.
        duration_ms: u64,
    },
}

/// Serde default for [`Fault::SkipSeq::count`].
const fn one() -> u64 {
    1
}

/// Serde default for [`Fault::Oversized::bytes`]: 16 MiB.
const fn default_oversized() -> usize {
    16 * 1024 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shapes() {
        let cases: &[(&str, Fault)] = &[
            (r#"{"kind":"reconnect"}"#, Fault::Reconnect),
            (
                r#"{"kind":"invalid_session","resumable":true}"#,
                Fault::InvalidSession { resumable: true },
            ),
            (
                r#"{"kind":"invalid_session"}"#,
                Fault::InvalidSession { resumable: false },
            ),
            (
                r#"{"kind":"close","code":4000}"#,
                Fault::Close {
                    code: 4000,
                    reason: None,
                },
            ),
            (r#"{"kind":"drop"}"#, Fault::Drop),
            (
                r#"{"kind":"zombie","duration_ms":5000}"#,
                Fault::Zombie { duration_ms: 5000 },
            ),
            (r#"{"kind":"skip_seq"}"#, Fault::SkipSeq { count: 1 }),
            (r#"{"kind":"garbage"}"#, Fault::Garbage),
        ];
        for (json, want) in cases {
            let got: Fault = serde_json::from_str(json).unwrap();
            assert_eq!(&got, want, "case {json}");
        }
    }
}
