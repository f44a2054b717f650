//! WebSocket close codes: the ones the gateway sends ([`CloseCode`], GATEWAY.md §4), the
//! ones the voice gateway sends ([`VoiceCloseCode`], §12.5), and the ones a client sends
//! ([`ClientClose`], §3.10).
//!
//! Each server code is a row of a lookup table: its meaning (`Display`), the action it
//! implies for a client ([`CloseAction`], [`VoiceCloseAction`]) and, for codes after
//! which reconnecting cannot help, a remedy that names the fix. Codes outside the table
//! keep their number (`Unknown(n)`) and get a documented default action.
//!
//! ```
//! use discordgateway_proto::close_code::{CloseAction, CloseCode};
//!
//! let code = CloseCode::from(4014);
//! assert_eq!(code, CloseCode::DisallowedIntents);
//! assert_eq!(code.action(), CloseAction::Stop);
//! assert!(code.remedy().is_some_and(|fix| fix.contains("Developer Portal")));
//!
//! assert_eq!(CloseCode::from(4009).action(), CloseAction::Reidentify);
//! assert_eq!(CloseCode::from(4999).action(), CloseAction::Resume); // unknown: resume
//! assert_eq!(CloseAction::after(None), CloseAction::Resume); // no close frame: resume
//! ```

use std::fmt;

use crate::opcode::integer_code_enum;

/// What a gateway client should do after the server closed the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseAction {
    /// Reconnect to `resume_gateway_url` and send Resume (op 6); the session lives on.
    Resume,
    /// Reconnect and start a new session with Identify (op 2); the old session is gone.
    Reidentify,
    /// Do not reconnect: the same request would fail again. Show the remedy to a human.
    Stop,
}

impl CloseAction {
    /// The action after a connection ended with `code`, or without any close frame
    /// (`None`: the socket dropped), which resumes (GATEWAY.md §4, (inferred)).
    #[must_use]
    pub const fn after(code: Option<CloseCode>) -> Self {
        match code {
            Some(code) => code.action(),
            None => Self::Resume,
        }
    }

    /// Whether a client should open a new connection at all.
    #[must_use]
    pub const fn reconnects(self) -> bool {
        !matches!(self, Self::Stop)
    }
}

/// What a voice client should do after the voice server closed the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoiceCloseAction {
    /// Reconnect to the same endpoint and send Resume (voice op 7).
    Resume,
    /// Reconnect to the same endpoint and send Identify (voice op 0).
    Reidentify,
    /// Start over from the main gateway (GATEWAY.md §12.2): send Update Voice State and
    /// wait for a fresh `VOICE_SERVER_UPDATE` with a new token and endpoint.
    Restart,
    /// Do not reconnect. Show the remedy to a human.
    Stop,
}

/// Generates a close-code enum: variants, integer conversions, description, action,
/// remedy, `Display`, and (through `integer_code_enum`) the enum itself, comparison
/// and serde.
macro_rules! close_codes {
    (
        $(#[$meta:meta])*
        $ty:ident => $action:ident, unknown: $unknown_action:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $act:ident, $desc:literal, $remedy:expr; )+
        }
    ) => {
        integer_code_enum! {
            $(#[$meta])*
            $ty: u16, serialize_u16 { $( $(#[$vmeta])* $variant = $code, )+ }
        }

        impl $ty {
            /// What the code means, in lowercase prose (also the `Display` text after the
            /// number).
            #[must_use]
            pub const fn description(self) -> &'static str {
                match Self::new(self.code()) {
                    $( Self::$variant => $desc, )+
                    Self::Unknown(_) => "close code not documented by discord",
                }
            }

            /// The action a client should take. Unknown codes get
            #[doc = concat!("`", stringify!($action), "::", stringify!($unknown_action), "`.")]
            #[must_use]
            pub const fn action(self) -> $action {
                match Self::new(self.code()) {
                    $( Self::$variant => $action::$act, )+
                    Self::Unknown(_) => $action::$unknown_action,
                }
            }

            /// For codes whose action is `Stop`: what a human must change, naming the fix.
            /// `None` for every other code.
            #[must_use]
            pub const fn remedy(self) -> Option<&'static str> {
                match Self::new(self.code()) {
                    $( Self::$variant => $remedy, )+
                    Self::Unknown(_) => None,
                }
            }
        }

        /// `"<code> <description>"`, then `": <remedy>"` when there is one.
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.code(), self.description())?;
                match self.remedy() {
                    Some(remedy) => write!(f, ": {remedy}"),
                    None => Ok(()),
                }
            }
        }
    };
}

close_codes! {
    /// A close code sent by the main gateway (GATEWAY.md §4).
    ///
    /// Actions follow the docs' "reconnect?" column; where the docs do not say whether
    /// to resume or identify, this library resumes unless the code says the session is
    /// gone (4003, 4007, 4009), because a refused Resume costs one op 9 while a needless
    /// Identify loses every missed event.
    ///
    /// **Unknown codes resume.** Any code not in the table, including 4006 (a voice code)
    /// and 1000/1001 sent by the server during its own restarts, is treated as
    /// reconnectable with a resume attempt (§4: "treat any unknown 4xxx as reconnectable";
    /// (inferred) for non-4xxx codes).
    CloseCode => CloseAction, unknown: Resume {
        /// 4000: unknown server-side problem.
        UnknownError = 4000, Resume, "unknown error", None;
        /// 4001: an invalid opcode or an invalid payload for one (a client bug).
        UnknownOpcode = 4001, Resume, "unknown opcode: the client sent an invalid opcode or payload", None;
        /// 4002: undecodable payload, a payload over 4096 bytes, or ETF atom keys.
        DecodeError = 4002, Resume, "decode error: the client sent a payload the gateway could not decode", None;
        /// 4003: a payload before Identify, or the session was invalidated.
        NotAuthenticated = 4003, Reidentify, "not authenticated: payload sent before identifying, or the session was invalidated", None;
        /// 4004: the token was rejected.
        AuthenticationFailed = 4004, Stop, "authentication failed",
            Some("the bot token is wrong: check it (or reset it in the Developer Portal); reconnecting will not help");
        /// 4005: more than one Identify on a connection.
        AlreadyAuthenticated = 4005, Resume, "already authenticated: identify was sent twice", None;
        /// 4007: bad `seq` in Resume; the docs say to start a new session.
        InvalidSeq = 4007, Reidentify, "invalid seq: the resume sequence number was wrong", None;
        /// 4008: sent too fast (120 commands per 60 s); slow down.
        RateLimited = 4008, Resume, "rate limited: commands were sent too fast", None;
        /// 4009: the session expired; the docs say to start a new session.
        SessionTimedOut = 4009, Reidentify, "session timed out", None;
        /// 4010: bad `shard` in Identify.
        InvalidShard = 4010, Stop, "invalid shard",
            Some("the shard id or shard count in identify is invalid: use id < total and the shard count from /gateway/bot (a multiple of max_concurrency for large bots)");
        /// 4011: too many guilds for one session.
        ShardingRequired = 4011, Stop, "sharding required",
            Some("the bot is in too many guilds for one session: connect with more shards (see /gateway/bot `shards`)");
        /// 4012: bad gateway version `v`.
        InvalidApiVersion = 4012, Stop, "invalid api version",
            Some("the gateway url asks for an unsupported api version: connect with v=10");
        /// 4013: intents bits that are not valid intents.
        InvalidIntents = 4013, Stop, "invalid intents",
            Some("the intents bitfield contains undefined bits: send only documented intents (see Intents::all)");
        /// 4014: a privileged intent that is not enabled or approved.
        DisallowedIntents = 4014, Stop, "disallowed intents",
            Some("a privileged intent (GUILD_MEMBERS, GUILD_PRESENCES or MESSAGE_CONTENT) is not enabled for this bot: enable it in the Developer Portal (Bot page) or drop it from the intents");
    }
}

close_codes! {
    /// A close code sent by the voice gateway (GATEWAY.md §12.5).
    ///
    /// Where the docs say "fix the bug; reconnect" for a malformed message (4001, 4002)
    /// this library resumes, as for the main gateway. Where a reconnect would repeat the
    /// same rejected request (4012, 4016, 4017, 4020) it stops with a remedy.
    ///
    /// **Unknown codes resume** ((inferred), mirroring §4 of the main gateway): if the
    /// session is really gone, the failed resume closes again with 4006, which restarts.
    VoiceCloseCode => VoiceCloseAction, unknown: Resume {
        /// 4001: an invalid opcode (a client bug).
        UnknownOpcode = 4001, Resume, "unknown opcode: the client sent an invalid opcode", None;
        /// 4002: a payload that could not be decoded (a client bug).
        FailedToDecode = 4002, Resume, "failed to decode payload", None;
        /// 4003: a payload before Identify.
        NotAuthenticated = 4003, Reidentify, "not authenticated: payload sent before identifying", None;
        /// 4004: the voice token was rejected.
        AuthenticationFailed = 4004, Restart, "authentication failed: the voice token was rejected", None;
        /// 4005: a second Identify.
        AlreadyAuthenticated = 4005, Resume, "already authenticated: identify was sent twice", None;
        /// 4006: the session is no longer valid.
        SessionNoLongerValid = 4006, Restart, "session no longer valid", None;
        /// 4009: the session timed out.
        SessionTimeout = 4009, Restart, "session timeout", None;
        /// 4011: the voice server was not found.
        ServerNotFound = 4011, Restart, "server not found", None;
        /// 4012: Select Protocol named an unknown protocol.
        UnknownProtocol = 4012, Stop, "unknown protocol",
            Some("select protocol named a protocol the server does not know: send protocol \"udp\"");
        /// 4014: kicked, moved out, or the main gateway session dropped; do not reconnect.
        Disconnected = 4014, Stop, "disconnected",
            Some("the bot was removed from the voice channel (kicked, moved, channel left, or the main gateway session ended): join again with update voice state if wanted");
        /// 4015: the voice server crashed; the docs say to resume.
        VoiceServerCrashed = 4015, Resume, "voice server crashed", None;
        /// 4016: Select Protocol named an unknown encryption mode.
        UnknownEncryptionMode = 4016, Stop, "unknown encryption mode",
            Some("select protocol named an encryption mode the server does not offer: pick one from the ready `modes` list");
        /// 4017: the channel requires end-to-end encryption (DAVE).
        E2eeRequired = 4017, Stop, "end-to-end encryption (dave) required",
            Some("this voice channel requires the dave protocol: identify with max_dave_protocol_version >= 1 and implement dave");
        /// 4020: a malformed request.
        BadRequest = 4020, Stop, "bad request: the server could not process a malformed request",
            Some("a voice payload was malformed: this is a client bug, report it; reconnecting would repeat it");
        /// 4021: rate limited; the docs say not to reconnect.
        RateLimited = 4021, Stop, "disconnected: rate limited",
            Some("the voice server rate-limited this client: wait before joining again and send fewer messages");
        /// 4022: the call ended (channel deleted, voice server changed, ...).
        CallTerminated = 4022, Stop, "disconnected: call terminated",
            Some("the call ended (channel deleted or voice server changed): wait for a new voice server update, or join again");
    }
}

/// How a client closes its own connection to the main gateway (GATEWAY.md §3.10).
///
/// Closing with 1000 or 1001 invalidates the session (the bot goes offline, no resume);
/// any other code, or dropping the socket, keeps it resumable for a few minutes.
///
/// ```
/// use discordgateway_proto::close_code::ClientClose;
///
/// assert_eq!(ClientClose::KeepSession.code(), 4900);
/// assert!(ClientClose::from_code(1001).ends_session());
/// assert!(!ClientClose::from_code(4000).ends_session());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientClose {
    /// Shut down for good: close with 1000, the session ends.
    EndSession,
    /// Close to reconnect and resume: close with 4900, the session stays.
    KeepSession,
}

impl ClientClose {
    /// The code this library sends to end a session: 1000 (normal closure).
    pub const END_SESSION_CODE: u16 = 1000;

    /// The code this library sends when it closes but means to resume: **4900**.
    ///
    /// Any code but 1000/1001 would do (§3.10). 4900 sits in the private-use range
    /// 4000–4999 and is not one of Discord's codes, so logs and the emulator can tell a
    /// client's deliberate resumable close from a server's 4000 "unknown error".
    pub const KEEP_SESSION_CODE: u16 = 4900;

    /// The close code to send.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::EndSession => Self::END_SESSION_CODE,
            Self::KeepSession => Self::KEEP_SESSION_CODE,
        }
    }

    /// What a code sent by a client means for its session: 1000 and 1001 end it,
    /// everything else keeps it.
    #[must_use]
    pub const fn from_code(code: u16) -> Self {
        match code {
            1000 | 1001 => Self::EndSession,
            _ => Self::KeepSession,
        }
    }

    /// Whether the session is invalidated by this close.
    #[must_use]
    pub const fn ends_session(self) -> bool {
        matches!(self, Self::EndSession)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use CloseAction::{Reidentify, Resume, Stop};

    /// GATEWAY.md §4, row by row: (code, action).
    const GATEWAY: &[(u16, CloseAction)] = &[
        (4000, Resume),
        (4001, Resume),
        (4002, Resume),
        (4003, Reidentify),
        (4004, Stop),
        (4005, Resume),
        (4007, Reidentify),
        (4008, Resume),
        (4009, Reidentify),
        (4010, Stop),
        (4011, Stop),
        (4012, Stop),
        (4013, Stop),
        (4014, Stop),
    ];

    /// GATEWAY.md §12.5, row by row: (code, action).
    const VOICE: &[(u16, VoiceCloseAction)] = &[
        (4001, VoiceCloseAction::Resume),
        (4002, VoiceCloseAction::Resume),
        (4003, VoiceCloseAction::Reidentify),
        (4004, VoiceCloseAction::Restart),
        (4005, VoiceCloseAction::Resume),
        (4006, VoiceCloseAction::Restart),
        (4009, VoiceCloseAction::Restart),
        (4011, VoiceCloseAction::Restart),
        (4012, VoiceCloseAction::Stop),
        (4014, VoiceCloseAction::Stop),
        (4015, VoiceCloseAction::Resume),
        (4016, VoiceCloseAction::Stop),
        (4017, VoiceCloseAction::Stop),
        (4020, VoiceCloseAction::Stop),
        (4021, VoiceCloseAction::Stop),
        (4022, VoiceCloseAction::Stop),
    ];

    #[test]
    fn gateway_codes_match_the_docs_exactly() {
        for &(code, action) in GATEWAY {
            let close = CloseCode::from(code);
            assert!(close.is_known(), "{code} should be known");
            assert_eq!(close.action(), action, "{code}");
            assert_eq!(
                close.remedy().is_some(),
                action == Stop,
                "{code}: remedy iff stop"
            );
            assert_eq!(u16::from(close), code, "{code}");
        }
        let documented: Vec<u16> = GATEWAY.iter().map(|row| row.0).collect();
        for code in 0..=u16::MAX {
            assert_eq!(
                CloseCode::from(code).is_known(),
                documented.contains(&code),
                "{code}"
            );
        }
        let all: Vec<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(all, documented);
    }

    #[test]
    fn voice_codes_match_the_docs_exactly() {
        for &(code, action) in VOICE {
            let close = VoiceCloseCode::from(code);
            assert!(close.is_known(), "voice {code} should be known");
            assert_eq!(close.action(), action, "voice {code}");
            let stops = action == VoiceCloseAction::Stop;
            assert_eq!(
                close.remedy().is_some(),
                stops,
                "voice {code}: remedy iff stop"
            );
        }
        let documented: Vec<u16> = VOICE.iter().map(|row| row.0).collect();
        for code in 0..=u16::MAX {
            let known = VoiceCloseCode::from(code).is_known();
            assert_eq!(known, documented.contains(&code), "voice {code}");
        }
    }

    #[test]
    fn remedies_name_the_fix() {
        const CASES: &[(u16, &str)] = &[
            (4004, "token is wrong"),
            (4004, "reconnecting will not help"),
            (4010, "shard"),
            (4011, "more shards"),
            (4012, "v=10"),
            (4013, "undefined bits"),
            (4014, "enable it in the Developer Portal"),
            (4014, "drop it from the intents"),
        ];
        for &(code, needle) in CASES {
            let remedy = CloseCode::from(code).remedy().unwrap_or_default();
            assert!(
                remedy.contains(needle),
                "{code}: {remedy:?} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn unknown_codes_keep_their_number_and_resume() {
        const CASES: &[u16] = &[4006, 4015, 4999, 1000, 1001, 1006, 0];
        for &code in CASES {
            let close = CloseCode::from(code);
            assert_eq!(close, CloseCode::Unknown(code), "{code}");
            assert_eq!(close.code(), code, "{code}");
            assert_eq!(close.action(), Resume, "{code}");
            assert_eq!(close.remedy(), None, "{code}");
        }
        for code in [4000, 4007, 4999, 1000, 1006] {
            let close = VoiceCloseCode::from(code);
            assert_eq!(close, VoiceCloseCode::Unknown(code), "voice {code}");
            assert_eq!(close.action(), VoiceCloseAction::Resume, "voice {code}");
        }
        assert_eq!(CloseCode::Unknown(4004), CloseCode::AuthenticationFailed);
        assert_eq!(CloseCode::Unknown(4004).action(), Stop);
    }

    #[test]
    fn no_close_frame_resumes() {
        assert_eq!(CloseAction::after(None), Resume);
        assert_eq!(CloseAction::after(Some(CloseCode::InvalidSeq)), Reidentify);
        assert!(CloseAction::after(None).reconnects());
        assert!(!Stop.reconnects());
    }

    #[test]
    fn display_gives_code_meaning_and_remedy() {
        assert_eq!(
            CloseCode::SessionTimedOut.to_string(),
            "4009 session timed out"
        );
        let text = CloseCode::AuthenticationFailed.to_string();
        assert!(
            text.starts_with("4004 authentication failed: the bot token is wrong"),
            "{text}"
        );
        assert_eq!(
            CloseCode::Unknown(4321).to_string(),
            "4321 close code not documented by discord"
        );
        assert!(
            VoiceCloseCode::E2eeRequired
                .to_string()
                .starts_with("4017 ")
        );
    }

    #[test]
    fn client_close_semantics() {
        const CASES: &[(u16, bool)] = &[
            (1000, true),
            (1001, true),
            (1002, false),
            (1011, false),
            (4000, false),
            (4900, false),
        ];
        for &(code, ends) in CASES {
            assert_eq!(ClientClose::from_code(code).ends_session(), ends, "{code}");
        }
        assert_eq!(ClientClose::EndSession.code(), 1000);
        assert_eq!(ClientClose::KeepSession.code(), 4900);
        for close in [ClientClose::EndSession, ClientClose::KeepSession] {
            assert_eq!(
                ClientClose::from_code(close.code()),
                close,
                "{close:?} round trip"
            );
        }
    }

    #[test]
    fn serde_uses_the_integer() {
        assert_eq!(
            serde_json::to_string(&CloseCode::InvalidIntents)
                .ok()
                .as_deref(),
            Some("4013")
        );
        assert_eq!(
            serde_json::from_str::<CloseCode>("4014").ok(),
            Some(CloseCode::DisallowedIntents)
        );
        assert_eq!(
            serde_json::from_str::<VoiceCloseCode>("4100").ok(),
            Some(VoiceCloseCode::Unknown(4100))
        );
    }
}
