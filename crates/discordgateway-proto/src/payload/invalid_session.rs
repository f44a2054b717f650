//! Invalid Session (op 9): may the session be resumed? (GATEWAY.md §3.8)

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `d` of op 9 Invalid Session.
///
/// `d` is documented as a boolean: `true` means reconnect and Resume, `false` means
/// reconnect to the cached URL and Identify. **Choice for the undocumented cases:** a missing
/// `d`, `null`, any non-boolean value, or malformed bytes mean *not resumable*. Identifying
/// afresh always works, while resuming a session the server did not offer would only earn
/// another op 9.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::payload::InvalidSession;
///
/// assert!(InvalidSession::from_data(b"true").resumable);
/// assert!(!InvalidSession::from_data(b"false").resumable);
/// assert!(!InvalidSession::from_data(b"").resumable); // no `d` at all
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InvalidSession {
    /// Whether the server allows a Resume.
    pub resumable: bool,
}

impl InvalidSession {
    /// Reads the raw bytes of `d` (pass an empty slice when the frame has no `d`).
    /// Never fails; see the type docs for what non-boolean input means.
    #[must_use]
    pub fn from_data(d: &[u8]) -> Self {
        serde_json::from_slice(d).unwrap_or_default()
    }
}

impl Serialize for InvalidSession {
    /// Writes `d` as the bare boolean.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(self.resumable)
    }
}

/// Any value: a boolean, or something else that counts as `false`.
#[derive(Deserialize)]
#[serde(untagged)]
enum AnyD {
    /// The documented form.
    Bool(bool),
    /// Anything else.
    Other(IgnoredAny),
}

impl<'de> Deserialize<'de> for InvalidSession {
    /// Reads any value: `true` is resumable, everything else is not.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let resumable = matches!(AnyD::deserialize(deserializer)?, AnyD::Bool(true));
        Ok(Self { resumable })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_d() {
        const CASES: &[(&str, &[u8], bool)] = &[
            ("true", b"true", true),
            ("false", b"false", false),
            ("whitespace", b" true\n", true),
            ("missing", b"", false),
            ("null", b"null", false),
            ("number", b"1", false),
            ("string", b"\"true\"", false),
            ("object", b"{\"resumable\":true}", false),
            ("truncated", b"tru", false),
            ("garbage", b"\xff\x00", false),
        ];
        for &(name, d, want) in CASES {
            assert_eq!(InvalidSession::from_data(d).resumable, want, "case {name}");
        }
    }

    #[test]
    fn round_trips_as_bool() {
        for resumable in [true, false] {
            let json = serde_json::to_string(&InvalidSession { resumable }).expect("ser");
            assert_eq!(json, resumable.to_string());
            let back: InvalidSession = serde_json::from_str(&json).expect("de");
            assert_eq!(back.resumable, resumable);
        }
    }
}
