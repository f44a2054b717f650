//! What `GET /gateway/bot` answers (GATEWAY.md §1.1): the URL to connect to, the recommended
//! shard count and the session-start budget.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The answer of `GET /gateway/bot`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct GatewayInfo {
    /// The `wss://` URL to connect to (without query parameters).
    pub url: String,
    /// Discord's recommended shard count.
    pub shards: u32,
    /// The session-start budget and identify concurrency.
    pub session_start_limit: SessionStartLimit,
}

/// The session-start budget of `GET /gateway/bot` (GATEWAY.md §1.1, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SessionStartLimit {
    /// Session starts (Identifies) allowed per window.
    pub total: u32,
    /// Session starts left in the current window.
    pub remaining: u32,
    /// Time until the window resets (sent as milliseconds).
    #[serde(deserialize_with = "millis")]
    pub reset_after: Duration,
    /// Identifies allowed per 5 s (the number of identify buckets).
    pub max_concurrency: u32,
}

/// Deserializes a whole number of milliseconds into a [`Duration`].
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let body = r#"{ "url": "wss://gateway.discord.gg", "shards": 4,
            "session_start_limit": { "total": 1000, "remaining": 997, "reset_after": 52340000,
                                     "max_concurrency": 1 }, "unknown": true }"#;
        let info: GatewayInfo = serde_json::from_str(body).expect("documented shape");
        assert_eq!(info.url, "wss://gateway.discord.gg");
        assert_eq!(info.shards, 4);
        assert_eq!(
            info.session_start_limit,
            SessionStartLimit {
                total: 1000,
                remaining: 997,
                reset_after: Duration::from_millis(52_340_000),
                max_concurrency: 1,
            }
        );
    }
}
