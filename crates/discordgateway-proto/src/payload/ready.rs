//! The client-relevant part of the READY dispatch (GATEWAY.md §3.5).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::shard::ShardId;
use crate::snowflake::Snowflake;
use crate::url::{GatewayUrl, UrlError};

/// The fields of READY's `d` a client needs to resume and to know who it is.
///
/// Everything else in READY (`guilds`, the rest of `user`, undocumented fields) is skipped
/// without being stored. Strings borrow from the input when they contain no escapes.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::payload::Ready;
///
/// let d = r#"{"v":10,"user":{"id":"11","username":"bot"},"guilds":[],
///     "session_id":"abc","resume_gateway_url":"wss://r.example","shard":[0,1],
///     "application":{"id":"11","flags":0}}"#;
/// let ready: Ready<'_> = serde_json::from_str(d)?;
/// assert_eq!(ready.session_id, "abc");
/// assert_eq!(ready.user_id().get(), 11);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready<'a> {
    /// API version in effect.
    pub v: u32,
    /// Session ID, needed for Resume.
    #[serde(borrow)]
    pub session_id: Cow<'a, str>,
    /// The URL to reconnect to when resuming (no query; see [`Ready::resume_url`]).
    #[serde(borrow)]
    pub resume_gateway_url: Cow<'a, str>,
    /// The shard, present only if Identify sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardId>,
    /// The bot user (only its ID is kept).
    pub user: ReadyUser,
    /// The application (only its ID is kept).
    pub application: ReadyApplication,
}

/// The part of READY's `user` that is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadyUser {
    /// The bot's user ID.
    pub id: Snowflake,
}

/// The part of READY's `application` that is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadyApplication {
    /// The application ID.
    pub id: Snowflake,
}

impl Ready<'_> {
    /// The bot's user ID.
    #[must_use]
    pub const fn user_id(&self) -> Snowflake {
        self.user.id
    }

    /// The application ID.
    #[must_use]
    pub const fn application_id(&self) -> Snowflake {
        self.application.id
    }

    /// `resume_gateway_url` parsed and validated; add the connection's parameters with
    /// [`GatewayUrl::with_params`] before connecting (§3.6: same `v`, `encoding`, `compress`).
    ///
    /// # Errors
    ///
    /// A [`UrlError`] if Discord sent something that is not a ws/wss URL.
    pub fn resume_url(&self) -> Result<GatewayUrl, UrlError> {
        GatewayUrl::parse(&self.resume_gateway_url)
    }

    /// A copy that owns its strings, to keep after the input buffer is gone.
    #[must_use]
    pub fn into_owned(self) -> Ready<'static> {
        Ready {
            v: self.v,
            session_id: Cow::Owned(self.session_id.into_owned()),
            resume_gateway_url: Cow::Owned(self.resume_gateway_url.into_owned()),
            shard: self.shard,
            user: self.user,
            application: self.application,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::GatewayParams;

    /// The sheet's READY example, plus an undocumented field.
    const READY: &str = r#"{
        "v": 10,
        "user": { "id": "1100000000000000000", "username": "testbot", "discriminator": "0",
                  "global_name": null, "avatar": null, "bot": true },
        "guilds": [ { "id": "1200000000000000000", "unavailable": true } ],
        "session_id": "9f2c4d0e6b7a4c1d8e3f5a6b7c8d9e0f",
        "resume_gateway_url": "wss://gateway-us-east1-b.discord.gg",
        "shard": [0, 1],
        "application": { "id": "1100000000000000000", "flags": 0 },
        "_undocumented": { "nested": [1, 2, 3] } }"#;

    #[test]
    fn parses_the_client_fields_and_borrows() {
        let ready: Ready<'_> = serde_json::from_str(READY).expect("parse");
        assert_eq!(ready.v, 10);
        assert_eq!(ready.session_id, "9f2c4d0e6b7a4c1d8e3f5a6b7c8d9e0f");
        assert!(
            matches!(ready.session_id, Cow::Borrowed(_)),
            "no escapes: borrowed"
        );
        assert_eq!(ready.shard, Some(ShardId::ONE));
        assert_eq!(ready.user_id(), Snowflake::new(1_100_000_000_000_000_000));
        assert_eq!(
            ready.application_id(),
            Snowflake::new(1_100_000_000_000_000_000)
        );
        let url = ready
            .resume_url()
            .expect("valid url")
            .with_params(GatewayParams::default());
        assert_eq!(
            url.to_string(),
            "wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json"
        );
    }

    #[test]
    fn shard_is_optional_and_escapes_are_owned() {
        let d = r#"{"v":9,"user":{"id":"1"},"session_id":"a\"b","resume_gateway_url":"ws://[::1]:1",
                    "application":{"id":2}}"#;
        let ready: Ready<'_> = serde_json::from_str(d).expect("parse");
        assert_eq!(ready.shard, None);
        assert_eq!(ready.session_id, "a\"b");
        assert_eq!(
            ready.application_id().get(),
            2,
            "integer ids (ETF) are accepted"
        );
        let owned: Ready<'static> = ready.clone().into_owned();
        assert_eq!(owned, ready);
    }

    #[test]
    fn rejects_missing_required_fields() {
        const CASES: &[(&str, &str)] = &[
            (
                "no session_id",
                r#"{"v":10,"user":{"id":"1"},"resume_gateway_url":"wss://x","application":{"id":"1"}}"#,
            ),
            (
                "no resume url",
                r#"{"v":10,"user":{"id":"1"},"session_id":"s","application":{"id":"1"}}"#,
            ),
            (
                "bad shard",
                r#"{"v":10,"user":{"id":"1"},"session_id":"s","resume_gateway_url":"wss://x","shard":[1,1],"application":{"id":"1"}}"#,
            ),
        ];
        for (name, d) in CASES {
            assert!(serde_json::from_str::<Ready<'_>>(d).is_err(), "case {name}");
        }
    }

    #[test]
    fn round_trips() {
        let ready: Ready<'_> = serde_json::from_str(READY).expect("parse");
        let json = serde_json::to_string(&ready).expect("ser");
        assert_eq!(
            serde_json::from_str::<Ready<'_>>(&json).expect("reparse"),
            ready
        );
    }
}
