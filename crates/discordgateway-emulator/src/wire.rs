//! The gateway's numbers (opcodes, close codes, intent bits) and the intent gating table
//! (GATEWAY.md §2.2, §4, §9), kept in one private place until the proto crate's vocabulary
//! lands, plus the writers for outgoing frames.
//!
//! Frames are written with plain `write!`-free byte appends into a caller-owned buffer so a
//! dispatch costs no allocation: the `d` value is always pre-serialized JSON.

use std::sync::Arc;

use bytes::{BufMut, Bytes};

/// Gateway opcodes (GATEWAY.md §2.2).
pub(crate) mod op {
    /// Heartbeat (both directions).
    pub(crate) const HEARTBEAT: u64 = 1;
    /// Identify.
    pub(crate) const IDENTIFY: u64 = 2;
    /// Presence Update.
    pub(crate) const PRESENCE_UPDATE: u64 = 3;
    /// Voice State Update.
    pub(crate) const VOICE_STATE_UPDATE: u64 = 4;
    /// Resume.
    pub(crate) const RESUME: u64 = 6;
    /// Reconnect (server → client).
    pub(crate) const RECONNECT: u64 = 7;
    /// Request Guild Members.
    pub(crate) const REQUEST_GUILD_MEMBERS: u64 = 8;
    /// Invalid Session (server → client).
    pub(crate) const INVALID_SESSION: u64 = 9;
    /// Hello (server → client).
    pub(crate) const HELLO: u64 = 10;
    /// Heartbeat ACK (server → client).
    pub(crate) const HEARTBEAT_ACK: u64 = 11;
    /// Request Soundboard Sounds.
    pub(crate) const REQUEST_SOUNDBOARD_SOUNDS: u64 = 31;
    /// Request Channel Info.
    pub(crate) const REQUEST_CHANNEL_INFO: u64 = 43;
}

/// Gateway close codes sent by the server (GATEWAY.md §4).
pub(crate) mod close {
    /// Unknown error (resumable). Also used for a missed heartbeat.
    pub(crate) const UNKNOWN_ERROR: u16 = 4000;
    /// Unknown opcode, or an invalid payload for a known one.
    pub(crate) const UNKNOWN_OPCODE: u16 = 4001;
    /// Undecodable payload or a payload over 4096 bytes.
    pub(crate) const DECODE_ERROR: u16 = 4002;
    /// A payload other than heartbeat/identify/resume before identifying.
    pub(crate) const NOT_AUTHENTICATED: u16 = 4003;
    /// Bad token.
    pub(crate) const AUTHENTICATION_FAILED: u16 = 4004;
    /// A second Identify (or Resume) on one connection.
    pub(crate) const ALREADY_AUTHENTICATED: u16 = 4005;
    /// A Resume `seq` ahead of the server's.
    pub(crate) const INVALID_SEQ: u16 = 4007;
    /// More than 120 commands in 60 s.
    pub(crate) const RATE_LIMITED: u16 = 4008;
    /// Bad `shard`.
    pub(crate) const INVALID_SHARD: u16 = 4010;
    /// Too many guilds on one shard.
    pub(crate) const SHARDING_REQUIRED: u16 = 4011;
    /// Bad `v`.
    pub(crate) const INVALID_API_VERSION: u16 = 4012;
    /// Undocumented intent bits.
    pub(crate) const INVALID_INTENTS: u16 = 4013;
    /// Privileged intents the app may not use.
    pub(crate) const DISALLOWED_INTENTS: u16 = 4014;

    /// Whether a server close with this code ends the session (no resume possible).
    ///
    /// The codes GATEWAY.md §4 marks "new session" or "stop" end it; all others keep it.
    pub(crate) const fn ends_session(code: u16) -> bool {
        matches!(code, 1000 | 1001 | 4003 | 4004 | 4007 | 4009..=4014)
    }
}

/// Intent bits (GATEWAY.md §9.1).
pub(crate) mod intents {
    /// GUILDS.
    pub(crate) const GUILDS: u64 = 1 << 0;
    /// GUILD_MEMBERS (privileged).
    pub(crate) const GUILD_MEMBERS: u64 = 1 << 1;
    /// GUILD_MODERATION.
    pub(crate) const GUILD_MODERATION: u64 = 1 << 2;
    /// GUILD_EXPRESSIONS.
    pub(crate) const GUILD_EXPRESSIONS: u64 = 1 << 3;
    /// GUILD_INTEGRATIONS.
    pub(crate) const GUILD_INTEGRATIONS: u64 = 1 << 4;
    /// GUILD_WEBHOOKS.
    pub(crate) const GUILD_WEBHOOKS: u64 = 1 << 5;
    /// GUILD_INVITES.
    pub(crate) const GUILD_INVITES: u64 = 1 << 6;
    /// GUILD_VOICE_STATES.
    pub(crate) const GUILD_VOICE_STATES: u64 = 1 << 7;
    /// GUILD_PRESENCES (privileged).
    pub(crate) const GUILD_PRESENCES: u64 = 1 << 8;
    /// GUILD_MESSAGES.
    pub(crate) const GUILD_MESSAGES: u64 = 1 << 9;
    /// GUILD_MESSAGE_REACTIONS.
    pub(crate) const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    /// GUILD_MESSAGE_TYPING.
    pub(crate) const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
    /// DIRECT_MESSAGES.
    pub(crate) const DIRECT_MESSAGES: u64 = 1 << 12;
    /// DIRECT_MESSAGE_REACTIONS.
    pub(crate) const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    /// DIRECT_MESSAGE_TYPING.
    pub(crate) const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
    /// MESSAGE_CONTENT (privileged; gates fields, not events).
    pub(crate) const MESSAGE_CONTENT: u64 = 1 << 15;
    /// GUILD_SCHEDULED_EVENTS.
    pub(crate) const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
    /// AUTO_MODERATION_CONFIGURATION.
    pub(crate) const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
    /// AUTO_MODERATION_EXECUTION.
    pub(crate) const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
    /// GUILD_MESSAGE_POLLS.
    pub(crate) const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
    /// DIRECT_MESSAGE_POLLS.
    pub(crate) const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;
    /// Every documented bit (53608447); anything else gets 4013.
    pub(crate) const ALL: u64 = 53_608_447;
    /// The privileged bits; each needs the app's permission or gets 4014.
    pub(crate) const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
}

/// Which intents let an event through: `(in a guild, in a DM)`; `None` = never gated.
///
/// From GATEWAY.md §9.1; events not listed (READY, RESUMED, INTERACTION_CREATE, USER_UPDATE,
/// replies to commands, entitlements, …) need no intent (§9.4).
pub(crate) fn gating(name: &str) -> Option<(u64, u64)> {
    use intents::*;
    let both = |g: u64, d: u64| Some((g, d));
    let guild_only = |g: u64| Some((g, g));
    match name {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE" | "GUILD_ROLE_DELETE" | "CHANNEL_CREATE" | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE" | "THREAD_CREATE" | "THREAD_UPDATE" | "THREAD_DELETE"
        | "THREAD_LIST_SYNC" | "THREAD_MEMBER_UPDATE" | "THREAD_MEMBERS_UPDATE"
        | "STAGE_INSTANCE_CREATE" | "STAGE_INSTANCE_UPDATE" | "STAGE_INSTANCE_DELETE"
        | "VOICE_CHANNEL_STATUS_UPDATE" | "VOICE_CHANNEL_START_TIME_UPDATE" => guild_only(GUILDS),
        "CHANNEL_PINS_UPDATE" => both(GUILDS, DIRECT_MESSAGES),
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => {
            guild_only(GUILD_MEMBERS)
        }
        "GUILD_AUDIT_LOG_ENTRY_CREATE" | "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => {
            guild_only(GUILD_MODERATION)
        }
        "GUILD_EMOJIS_UPDATE"
        | "GUILD_STICKERS_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_CREATE"
        | "GUILD_SOUNDBOARD_SOUND_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_DELETE"
        | "GUILD_SOUNDBOARD_SOUNDS_UPDATE" => guild_only(GUILD_EXPRESSIONS),
        "GUILD_INTEGRATIONS_UPDATE"
        | "INTEGRATION_CREATE"
        | "INTEGRATION_UPDATE"
        | "INTEGRATION_DELETE" => guild_only(GUILD_INTEGRATIONS),
        "WEBHOOKS_UPDATE" => guild_only(GUILD_WEBHOOKS),
        "INVITE_CREATE" | "INVITE_DELETE" => guild_only(GUILD_INVITES),
        "VOICE_CHANNEL_EFFECT_SEND" | "VOICE_STATE_UPDATE" => guild_only(GUILD_VOICE_STATES),
        "PRESENCE_UPDATE" => guild_only(GUILD_PRESENCES),
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => {
            both(GUILD_MESSAGES, DIRECT_MESSAGES)
        }
        "MESSAGE_DELETE_BULK" => guild_only(GUILD_MESSAGES),
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => {
            both(GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS)
        }
        "TYPING_START" => both(GUILD_MESSAGE_TYPING, DIRECT_MESSAGE_TYPING),
        "GUILD_SCHEDULED_EVENT_CREATE"
        | "GUILD_SCHEDULED_EVENT_UPDATE"
        | "GUILD_SCHEDULED_EVENT_DELETE"
        | "GUILD_SCHEDULED_EVENT_USER_ADD"
        | "GUILD_SCHEDULED_EVENT_USER_REMOVE" => guild_only(GUILD_SCHEDULED_EVENTS),
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => guild_only(AUTO_MODERATION_CONFIGURATION),
        "AUTO_MODERATION_ACTION_EXECUTION" => guild_only(AUTO_MODERATION_EXECUTION),
        "MESSAGE_POLL_VOTE_ADD" | "MESSAGE_POLL_VOTE_REMOVE" => {
            both(GUILD_MESSAGE_POLLS, DIRECT_MESSAGE_POLLS)
        }
        _ => None,
    }
}

/// Whether a session with `granted` intents receives the event `name` (guild or DM).
pub(crate) fn allowed(name: &str, is_dm: bool, granted: u64) -> bool {
    match gating(name) {
        None => true,
        Some((guild, dm)) => granted & if is_dm { dm } else { guild } != 0,
    }
}

/// The name of a dispatch: a static string for generated events, shared for injected ones.
///
/// Cloning never allocates, so replay buffers can hold names for free.
#[derive(Debug, Clone)]
pub(crate) enum Name {
    /// A compile-time name (generated workloads, server replies).
    Static(&'static str),
    /// A name that arrived at run time (control route, scenario).
    Shared(Arc<str>),
}

impl Name {
    /// The wire name.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Static(s) => s,
            Self::Shared(s) => s,
        }
    }
}

/// One dispatch waiting to be sent to a session, before intent filtering.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    /// The dispatch name (`t`).
    pub(crate) name: Name,
    /// The guild it happened in, if any (routing and the guild/DM split).
    pub(crate) guild_id: Option<u64>,
    /// Whether it happened in a DM (gated by the DIRECT_MESSAGE_* intents).
    pub(crate) is_dm: bool,
    /// Whether it bypasses intent gating (for example GUILD_MEMBER_UPDATE for the bot itself).
    pub(crate) ungated: bool,
    /// The pre-serialized `d`.
    pub(crate) data: Bytes,
    /// The `d` as a session without MESSAGE_CONTENT sees it, when it differs.
    pub(crate) data_without_content: Option<Bytes>,
}

impl Outbound {
    /// An event that is never gated nor stripped (server replies such as READY).
    pub(crate) fn reply(name: &'static str, data: Bytes) -> Self {
        Self {
            name: Name::Static(name),
            guild_id: None,
            is_dm: false,
            ungated: true,
            data,
            data_without_content: None,
        }
    }

    /// The payload a session with `granted` intents gets, or `None` if it gets nothing.
    pub(crate) fn for_intents(&self, granted: u64) -> Option<&Bytes> {
        if !self.ungated && !allowed(self.name.as_str(), self.is_dm, granted) {
            return None;
        }
        match &self.data_without_content {
            Some(stripped) if granted & intents::MESSAGE_CONTENT == 0 => Some(stripped),
            _ => Some(&self.data),
        }
    }
}

/// Appends `{"op":0,"t":NAME,"s":SEQ,"d":DATA}` to `out`.
pub(crate) fn write_dispatch(out: &mut impl BufMut, seq: u64, name: &str, data: &[u8]) {
    out.put_slice(b"{\"op\":0,\"t\":\"");
    out.put_slice(name.as_bytes());
    out.put_slice(b"\",\"s\":");
    write_u64(out, seq);
    out.put_slice(b",\"d\":");
    out.put_slice(data);
    out.put_u8(b'}');
}

/// Appends `{"op":OP,"d":DATA,"s":null,"t":null}` to `out`.
pub(crate) fn write_op(out: &mut impl BufMut, op: u64, data: &[u8]) {
    out.put_slice(b"{\"op\":");
    write_u64(out, op);
    out.put_slice(b",\"d\":");
    out.put_slice(data);
    out.put_slice(b",\"s\":null,\"t\":null}");
}

/// Appends the decimal digits of `n` without allocating.
pub(crate) fn write_u64(out: &mut impl BufMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gating_follows_the_guild_dm_split() {
        const CASES: &[(&str, bool, u64, bool)] = &[
            ("MESSAGE_CREATE", false, intents::GUILD_MESSAGES, true),
            ("MESSAGE_CREATE", true, intents::GUILD_MESSAGES, false),
            ("MESSAGE_CREATE", true, intents::DIRECT_MESSAGES, true),
            ("TYPING_START", false, intents::DIRECT_MESSAGE_TYPING, false),
            ("PRESENCE_UPDATE", false, intents::GUILDS, false),
            ("READY", false, 0, true),
            ("SOME_FUTURE_EVENT", false, 0, true),
        ];
        for &(name, dm, granted, want) in CASES {
            assert_eq!(allowed(name, dm, granted), want, "case {name} dm={dm}");
        }
    }

    #[test]
    fn writes_frames() {
        let mut out = Vec::new();
        write_dispatch(&mut out, 1234567, "READY", b"{}");
        assert_eq!(out, br#"{"op":0,"t":"READY","s":1234567,"d":{}}"#);
        out.clear();
        write_op(&mut out, 0, b"null");
        assert_eq!(out, br#"{"op":0,"d":null,"s":null,"t":null}"#);
    }
}
