//! Turning an injected event (control route, [`crate::EmulatorHandle::dispatch`]) into an
//! [`Outbound`]: its routing key, the guild/DM split, and the MESSAGE_CONTENT-less payload
//! (GATEWAY.md §9.3).
//!
//! Content stripping blanks `content`, `embeds`, `attachments` and `components` and removes
//! `poll`, in MESSAGE_CREATE and MESSAGE_UPDATE. Documented exceptions kept: DMs, messages the
//! bot wrote, and messages that mention the bot (the context-menu exception cannot arise
//! here). The self GUILD_MEMBER_UPDATE is never gated (§9.2).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::wire::{Name, Outbound};

/// A snowflake given as a JSON string or number.
pub(crate) fn snowflake(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Builds the outbound event `name` with payload `d`, for a bot whose user id is `bot`.
///
/// `guild_id` overrides `d.guild_id`; `dm` overrides "no guild means DM".
pub(crate) fn outbound(
    bot: u64,
    name: &str,
    d: &Value,
    guild_id: Option<u64>,
    dm: Option<bool>,
) -> Outbound {
    let guild_id = guild_id.or_else(|| snowflake(d.get("guild_id")));
    let is_dm = dm.unwrap_or(guild_id.is_none());
    let data = Bytes::from(d.to_string());
    let data_without_content = (matches!(name, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
        && !is_dm
        && !exempt_from_stripping(bot, d))
    .then(|| Bytes::from(strip_content(d).to_string()));
    let ungated = name == "GUILD_MEMBER_UPDATE" && is_bot(bot, d.get("user"));
    Outbound {
        name: Name::Shared(Arc::from(name)),
        guild_id,
        is_dm,
        ungated,
        data,
        data_without_content,
    }
}

/// Whether a user object is the bot (user id `bot`).
fn is_bot(bot: u64, user: Option<&Value>) -> bool {
    snowflake(user.and_then(|u| u.get("id"))) == Some(bot)
}

/// Messages by the bot, or mentioning it, keep their content.
fn exempt_from_stripping(bot: u64, d: &Value) -> bool {
    is_bot(bot, d.get("author"))
        || d.get("mentions")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|u| is_bot(bot, Some(u))))
}

/// A copy of a message object as a session without MESSAGE_CONTENT sees it.
pub(crate) fn strip_content(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(obj) = d.as_object_mut() {
        obj.insert("content".into(), Value::String(String::new()));
        for key in ["embeds", "attachments", "components"] {
            obj.insert(key.into(), Value::Array(Vec::new()));
        }
        obj.remove("poll");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stripping_rules() {
        const BOT_ID: u64 = 1_100_000_000_000_000_000;
        let bot = BOT_ID.to_string();
        let cases: &[(&str, Value, bool)] = &[
            (
                "guild message",
                json!({"guild_id":"4194304","content":"hi","author":{"id":"5"}}),
                true,
            ),
            ("dm", json!({"content":"hi","author":{"id":"5"}}), false),
            (
                "by the bot",
                json!({"guild_id":"4194304","content":"hi","author":{"id":bot}}),
                false,
            ),
            (
                "mentions the bot",
                json!({"guild_id":"4194304","content":"hi","author":{"id":"5"},"mentions":[{"id":bot}]}),
                false,
            ),
        ];
        for (name, d, stripped) in cases {
            let o = outbound(BOT_ID, "MESSAGE_CREATE", d, None, None);
            assert_eq!(o.data_without_content.is_some(), *stripped, "case {name}");
        }
        let s = strip_content(&json!({"content":"x","poll":{},"embeds":[1]}));
        assert_eq!(
            s,
            json!({"content":"","embeds":[],"attachments":[],"components":[]})
        );
    }
}
