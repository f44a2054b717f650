//! The gateway's numbers (opcodes, close codes, intent bits) and the intent gating table
//! (GATEWAY.md §2.2, §4, §9), kept in one private place until the proto crate's vocabulary
//! lands, plus the writers for outgoing frames.
//!
//! Frames are written with plain `write!`-free byte appends into a caller-owned buffer so a
//! dispatch costs no allocation: the `d` value is always pre-serialized JSON.

use std::sync::Arc;

use bytes::{BufMut, Bytes};
use discordgateway_proto::EventType;

/// Gateway opcodes (GATEWAY.md §2.2).
pub(crate) mod op {
    use discordgateway_proto::OpCode;

    /// Heartbeat (both directions).
    pub(crate) const HEARTBEAT: u64 = OpCode::Heartbeat.code() as u64;
    /// Identify.
    pub(crate) const IDENTIFY: u64 = OpCode::Identify.code() as u64;
    /// Presence Update.
    pub(crate) const PRESENCE_UPDATE: u64 = OpCode::PresenceUpdate.code() as u64;
    /// Voice State Update.
    pub(crate) const VOICE_STATE_UPDATE: u64 = OpCode::VoiceStateUpdate.code() as u64;
    /// Resume.
    pub(crate) const RESUME: u64 = OpCode::Resume.code() as u64;
    /// Reconnect (server → client).
    pub(crate) const RECONNECT: u64 = OpCode::Reconnect.code() as u64;
    /// Request Guild Members.
    pub(crate) const REQUEST_GUILD_MEMBERS: u64 = OpCode::RequestGuildMembers.code() as u64;
    /// Invalid Session (server → client).
    pub(crate) const INVALID_SESSION: u64 = OpCode::InvalidSession.code() as u64;
    /// Hello (server → client).
    pub(crate) const HELLO: u64 = OpCode::Hello.code() as u64;
    /// Heartbeat ACK (server → client).
    pub(crate) const HEARTBEAT_ACK: u64 = OpCode::HeartbeatAck.code() as u64;
    /// Request Soundboard Sounds.
    pub(crate) const REQUEST_SOUNDBOARD_SOUNDS: u64 = OpCode::RequestSoundboardSounds.code() as u64;
    /// Request Channel Info.
    pub(crate) const REQUEST_CHANNEL_INFO: u64 = OpCode::RequestChannelInfo.code() as u64;
}

/// Gateway close codes sent by the server (GATEWAY.md §4).
pub(crate) mod close {
    use discordgateway_proto::{
        CloseCode,
        close_code::{ClientClose, CloseAction},
    };

    /// Unknown error (resumable). Also used for a missed heartbeat.
    pub(crate) const UNKNOWN_ERROR: u16 = CloseCode::UnknownError.code();
    /// Unknown opcode, or an invalid payload for a known one.
    pub(crate) const UNKNOWN_OPCODE: u16 = CloseCode::UnknownOpcode.code();
    /// Undecodable payload or a payload over 4096 bytes.
    pub(crate) const DECODE_ERROR: u16 = CloseCode::DecodeError.code();
    /// A payload other than heartbeat/identify/resume before identifying.
    pub(crate) const NOT_AUTHENTICATED: u16 = CloseCode::NotAuthenticated.code();
    /// Bad token.
    pub(crate) const AUTHENTICATION_FAILED: u16 = CloseCode::AuthenticationFailed.code();
    /// A second Identify (or Resume) on one connection.
    pub(crate) const ALREADY_AUTHENTICATED: u16 = CloseCode::AlreadyAuthenticated.code();
    /// A Resume `seq` ahead of the server's.
    pub(crate) const INVALID_SEQ: u16 = CloseCode::InvalidSeq.code();
    /// More than 120 commands in 60 s.
    pub(crate) const RATE_LIMITED: u16 = CloseCode::RateLimited.code();
    /// Bad `shard`.
    pub(crate) const INVALID_SHARD: u16 = CloseCode::InvalidShard.code();
    /// Too many guilds on one shard.
    pub(crate) const SHARDING_REQUIRED: u16 = CloseCode::ShardingRequired.code();
    /// Bad `v`.
    pub(crate) const INVALID_API_VERSION: u16 = CloseCode::InvalidApiVersion.code();
    /// Undocumented intent bits.
    pub(crate) const INVALID_INTENTS: u16 = CloseCode::InvalidIntents.code();
    /// Privileged intents the app may not use.
    pub(crate) const DISALLOWED_INTENTS: u16 = CloseCode::DisallowedIntents.code();

    /// Whether a close with this code ends the session (no resume possible).
    ///
    /// 1000 and 1001 end it as a client's close does ([`ClientClose::from_code`],
    /// GATEWAY.md §3.10); of Discord's codes, those whose documented action is not "resume"
    /// (4003, 4004, 4007, 4009–4014, §4) end it; all others keep it.
    pub(crate) const fn ends_session(code: u16) -> bool {
        ClientClose::from_code(code).ends_session()
            || !matches!(CloseCode::new(code).action(), CloseAction::Resume)
    }
}

/// The intent bits the server checks (GATEWAY.md §9), from the proto vocabulary.
pub(crate) mod intents {
    use discordgateway_proto::Intents;

    /// GUILD_MEMBERS (privileged).
    pub(crate) const GUILD_MEMBERS: u64 = Intents::GUILD_MEMBERS.bits();
    /// GUILD_PRESENCES (privileged).
    pub(crate) const GUILD_PRESENCES: u64 = Intents::GUILD_PRESENCES.bits();
    /// MESSAGE_CONTENT (privileged; gates fields, not events).
    pub(crate) const MESSAGE_CONTENT: u64 = Intents::MESSAGE_CONTENT.bits();
    /// Every documented bit (53608447); anything else gets 4013.
    pub(crate) const ALL: u64 = Intents::all().bits();
    /// The privileged bits; each needs the app's permission or gets 4014.
    pub(crate) const PRIVILEGED: u64 = Intents::PRIVILEGED.bits();
}

/// Whether a session with `granted` intents receives the event `name` (guild or DM).
///
/// The gating table is the proto vocabulary's (GATEWAY.md §9.1). An event that never
/// happens in DMs is gated by its guild intent even when marked as a DM; unknown events and
/// those of §9.4 need no intent.
pub(crate) fn allowed(name: &str, is_dm: bool, granted: u64) -> bool {
    gate(name, is_dm).is_none_or(|bits| granted & bits != 0)
}

/// The intent bits gating the event `name` (guild or DM), any of which admits it; `None`
/// when it needs no intent (see [`allowed`]).
pub(crate) fn gate(name: &str, is_dm: bool) -> Option<u64> {
    let event = EventType::from_wire_bytes(name.as_bytes())?;
    let gate = if is_dm {
        event.dm_intent().or(event.guild_intent())
    } else {
        event.guild_intent()
    };
    gate.map(|i| i.bits())
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
        Some(self.for_granted(granted))
    }

    /// The payload a session with `granted` intents gets once admitted: `d`, or its
    /// MESSAGE_CONTENT-stripped form.
    pub(crate) fn for_granted(&self, granted: u64) -> &Bytes {
        match &self.data_without_content {
            Some(stripped) if granted & intents::MESSAGE_CONTENT == 0 => stripped,
            _ => &self.data,
        }
    }
}

impl From<crate::workload::WorkloadEvent> for Outbound {
    /// A generated dispatch: moves its payloads, allocates nothing. Generated events are never
    /// about the bot itself (the stream never picks the bot as the member), so none is ungated.
    fn from(ev: crate::workload::WorkloadEvent) -> Self {
        Self {
            name: Name::Static(ev.name),
            guild_id: ev.guild_id,
            is_dm: ev.is_dm,
            ungated: false,
            data: ev.data,
            data_without_content: ev.data_without_content,
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
            ("MESSAGE_CREATE", false, 1 << 9, true),
            ("MESSAGE_CREATE", true, 1 << 9, false),
            ("MESSAGE_CREATE", true, 1 << 12, true),
            ("TYPING_START", false, 1 << 14, false),
            ("PRESENCE_UPDATE", false, 1, false),
            ("PRESENCE_UPDATE", false, 1 << 8, true),
            ("READY", false, 0, true),
            ("SOME_FUTURE_EVENT", false, 0, true),
        ];
        for &(name, dm, granted, want) in CASES {
            assert_eq!(allowed(name, dm, granted), want, "case {name} dm={dm}");
        }
    }

    #[test]
    fn closes_that_end_the_session() {
        const CASES: &[(u16, bool)] = &[
            (1000, true),
            (1001, true),
            (4000, false),
            (4001, false),
            (4003, true),
            (4004, true),
            (4007, true),
            (4008, false),
            (4009, true),
            (4014, true),
            (4900, false),
            (3000, false),
        ];
        for &(code, ends) in CASES {
            assert_eq!(close::ends_session(code), ends, "case {code}");
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
