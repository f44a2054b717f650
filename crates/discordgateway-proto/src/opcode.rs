//! Opcodes of the main gateway ([`OpCode`], GATEWAY.md §2.2) and of the voice gateway
//! ([`VoiceOpCode`], GATEWAY.md §12.3).
//!
//! Both are a lookup table from the integer on the wire to a named variant, with the
//! direction each opcode travels in seen from the client ([`Direction`]). Values the
//! table does not know are kept as `Unknown(n)`, never rejected (§2.1: ignore what is
//! not documented), so a newer server cannot break decoding.
//!
//! Equality, ordering and hashing compare the integer, so a hand-built `Unknown(10)`
//! equals [`OpCode::Hello`]; [`From<u8>`] always yields the named variant.
//!
//! ```
//! use discordgateway_proto::opcode::{Direction, OpCode, VoiceOpCode};
//!
//! assert_eq!(OpCode::from(10), OpCode::Hello);
//! assert_eq!(OpCode::Hello.direction(), Some(Direction::Receive));
//! assert_eq!(OpCode::from(5), OpCode::Unknown(5)); // undocumented, kept
//! assert_eq!(OpCode::Heartbeat.to_string(), "Heartbeat (1)");
//! assert!(VoiceOpCode::DaveMlsKeyPackage.is_binary());
//! ```

use std::fmt;

/// Which way an opcode travels, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Only the client sends it.
    Send,
    /// Only the server sends it.
    Receive,
    /// Both sides send it (gateway Heartbeat, voice Speaking).
    Both,
}

impl Direction {
    /// Whether a client may send an opcode with this direction.
    #[must_use]
    pub const fn client_sends(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }

    /// Whether a client may receive an opcode with this direction.
    #[must_use]
    pub const fn client_receives(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }
}

/// Generates an enum of documented integer codes plus `Unknown(int)`: `ALL`, `new`,
/// `code`, `is_known`, conversions both ways, equality, ordering and hashing by the
/// integer, and serde as the integer. Shared with [`crate::close_code`].
macro_rules! integer_code_enum {
    (
        $(#[$meta:meta])*
        $ty:ident: $int:ty, $serialize:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        #[non_exhaustive]
        pub enum $ty {
            $( $(#[$vmeta])* $variant, )+
            /// A value this library does not know; the integer is kept.
            Unknown($int),
        }

        impl $ty {
            /// Every documented value, in numeric order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value for an integer; undocumented integers become `Unknown(n)`.
            #[must_use]
            pub const fn new(code: $int) -> Self {
                match code {
                    $( $code => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }

            /// The integer on the wire.
            #[must_use]
            pub const fn code(self) -> $int {
                match self {
                    $( Self::$variant => $code, )+
                    Self::Unknown(code) => code,
                }
            }

            /// Whether the value is one the docs list.
            #[must_use]
            pub const fn is_known(self) -> bool {
                !matches!(Self::new(self.code()), Self::Unknown(_))
            }
        }

        impl From<$int> for $ty {
            fn from(code: $int) -> Self {
                Self::new(code)
            }
        }

        impl From<$ty> for $int {
            fn from(code: $ty) -> Self {
                code.code()
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.code() == other.code()
            }
        }

        impl Eq for $ty {}

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.code().cmp(&other.code())
            }
        }

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                std::hash::Hash::hash(&self.code(), state);
            }
        }

        /// Serializes as the integer.
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.$serialize(self.code())
            }
        }

        /// Deserializes from the integer; numbers outside the integer type's range are an
        /// error, numbers inside it that are not documented become `Unknown(n)`.
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$int as serde::Deserialize>::deserialize(deserializer).map(Self::new)
            }
        }
    };
}

pub(crate) use integer_code_enum;

/// Generates an opcode enum: the variants, the integer conversions, name, direction,
/// `Display`, and (through `integer_code_enum`) the enum itself, comparison and serde.
macro_rules! opcodes {
    (
        $(#[$meta:meta])*
        $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $name:literal, $dir:ident, $binary:literal; )+
        }
    ) => {
        integer_code_enum! {
            $(#[$meta])*
            $ty: u8, serialize_u8 { $( $(#[$vmeta])* $variant = $code, )+ }
        }

        impl $ty {
            /// The name the Discord docs use, e.g. `"Heartbeat ACK"`; `"Unknown"` for
            /// values this library does not know.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match Self::new(self.code()) {
                    $( Self::$variant => $name, )+
                    Self::Unknown(_) => "Unknown",
                }
            }

            /// Which way the opcode travels, seen from the client; `None` when unknown.
            #[must_use]
            pub const fn direction(self) -> Option<Direction> {
                match Self::new(self.code()) {
                    $( Self::$variant => Some(Direction::$dir), )+
                    Self::Unknown(_) => None,
                }
            }

            /// Whether the client may send this opcode (false when unknown).
            #[must_use]
            pub const fn client_sends(self) -> bool {
                match self.direction() {
                    Some(direction) => direction.client_sends(),
                    None => false,
                }
            }

            /// Whether the client may receive this opcode (false when unknown).
            #[must_use]
            pub const fn client_receives(self) -> bool {
                match self.direction() {
                    Some(direction) => direction.client_receives(),
                    None => false,
                }
            }

            /// Whether the opcode travels in a binary WebSocket frame rather than as JSON.
            #[must_use]
            pub const fn is_binary(self) -> bool {
                match Self::new(self.code()) {
                    $( Self::$variant => $binary, )+
                    Self::Unknown(_) => false,
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} ({})", self.name(), self.code())
            }
        }
    };
}

opcodes! {
    /// An opcode of the main gateway (GATEWAY.md §2.2).
    ///
    /// Opcode 5 and 12–42 other than 31 are not documented for apps and arrive as
    /// [`OpCode::Unknown`]. Sending one gets close code 4001.
    OpCode {
        /// 0: carries a dispatch event (`t` names it, `s` orders it).
        Dispatch = 0, "Dispatch", Receive, false;
        /// 1: client keep-alive with the last `s`; from the server, "heartbeat now".
        Heartbeat = 1, "Heartbeat", Both, false;
        /// 2: start a new session.
        Identify = 2, "Identify", Send, false;
        /// 3: change the bot's status or activities.
        PresenceUpdate = 3, "Presence Update", Send, false;
        /// 4: join, move or leave a voice channel.
        VoiceStateUpdate = 4, "Voice State Update", Send, false;
        /// 6: reattach to an existing session and replay missed events.
        Resume = 6, "Resume", Send, false;
        /// 7: the server asks the client to reconnect and resume.
        Reconnect = 7, "Reconnect", Receive, false;
        /// 8: ask for member lists (answered by `GUILD_MEMBERS_CHUNK`).
        RequestGuildMembers = 8, "Request Guild Members", Send, false;
        /// 9: the session could not be created or resumed, or was invalidated.
        InvalidSession = 9, "Invalid Session", Receive, false;
        /// 10: first frame, carries `heartbeat_interval`.
        Hello = 10, "Hello", Receive, false;
        /// 11: reply to a client heartbeat.
        HeartbeatAck = 11, "Heartbeat ACK", Receive, false;
        /// 31: ask for the soundboard sounds of some guilds (answered by `SOUNDBOARD_SOUNDS`).
        RequestSoundboardSounds = 31, "Request Soundboard Sounds", Send, false;
        /// 43: ask for ephemeral channel data (answered by `CHANNEL_INFO`).
        RequestChannelInfo = 43, "Request Channel Info", Send, false;
    }
}

opcodes! {
    /// An opcode of the voice gateway (GATEWAY.md §12.3), DAVE included (§12.8).
    ///
    /// Opcodes 25–30 travel as binary WebSocket frames ([`VoiceOpCode::is_binary`]);
    /// all others are JSON. Opcodes 10, 12 and 14–20 are not documented and arrive as
    /// [`VoiceOpCode::Unknown`].
    VoiceOpCode {
        /// 0: begin a voice session.
        Identify = 0, "Identify", Send, false;
        /// 1: choose the UDP transport and encryption mode.
        SelectProtocol = 1, "Select Protocol", Send, false;
        /// 2: handshake done: SSRC, UDP address and modes.
        Ready = 2, "Ready", Receive, false;
        /// 3: keep-alive with a nonce (and `seq_ack` from v8).
        Heartbeat = 3, "Heartbeat", Send, false;
        /// 4: the chosen mode and the secret key.
        SessionDescription = 4, "Session Description", Receive, false;
        /// 5: speaking flags; sent by both sides.
        Speaking = 5, "Speaking", Both, false;
        /// 6: reply to a heartbeat, echoing its nonce.
        HeartbeatAck = 6, "Heartbeat ACK", Receive, false;
        /// 7: resume a voice session.
        Resume = 7, "Resume", Send, false;
        /// 8: first frame, carries `heartbeat_interval`.
        Hello = 8, "Hello", Receive, false;
        /// 9: the resume succeeded.
        Resumed = 9, "Resumed", Receive, false;
        /// 11: users connected to the call.
        ClientsConnect = 11, "Clients Connect", Receive, false;
        /// 13: a user left the call.
        ClientDisconnect = 13, "Client Disconnect", Receive, false;
        /// 21: DAVE: a protocol transition (e.g. downgrade) is coming.
        DavePrepareTransition = 21, "DAVE Prepare Transition", Receive, false;
        /// 22: DAVE: switch to the prepared transition now.
        DaveExecuteTransition = 22, "DAVE Execute Transition", Receive, false;
        /// 23: DAVE: this client is ready for the transition.
        DaveTransitionReady = 23, "DAVE Transition Ready", Send, false;
        /// 24: DAVE: a new MLS epoch or protocol version is coming.
        DavePrepareEpoch = 24, "DAVE Prepare Epoch", Receive, false;
        /// 25 (binary): DAVE: the external sender's credential and public key.
        DaveMlsExternalSender = 25, "DAVE MLS External Sender", Receive, true;
        /// 26 (binary): DAVE: this client's MLS key package.
        DaveMlsKeyPackage = 26, "DAVE MLS Key Package", Send, true;
        /// 27 (binary): DAVE: proposals to append or revoke.
        DaveMlsProposals = 27, "DAVE MLS Proposals", Receive, true;
        /// 28 (binary): DAVE: this client's commit, plus a welcome when it adds members.
        DaveMlsCommitWelcome = 28, "DAVE MLS Commit Welcome", Send, true;
        /// 29 (binary): DAVE: the winning commit, for existing members.
        DaveMlsAnnounceCommitTransition = 29, "DAVE MLS Announce Commit Transition", Receive, true;
        /// 30 (binary): DAVE: the welcome, for new members.
        DaveMlsWelcome = 30, "DAVE MLS Welcome", Receive, true;
        /// 31: DAVE: flag a bad commit or welcome and ask to be re-added.
        DaveMlsInvalidCommitWelcome = 31, "DAVE MLS Invalid Commit Welcome", Send, false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Direction::{Both, Receive, Send};

    /// GATEWAY.md §2.2, row by row: (code, name, direction).
    const GATEWAY: &[(u8, &str, Direction)] = &[
        (0, "Dispatch", Receive),
        (1, "Heartbeat", Both),
        (2, "Identify", Send),
        (3, "Presence Update", Send),
        (4, "Voice State Update", Send),
        (6, "Resume", Send),
        (7, "Reconnect", Receive),
        (8, "Request Guild Members", Send),
        (9, "Invalid Session", Receive),
        (10, "Hello", Receive),
        (11, "Heartbeat ACK", Receive),
        (31, "Request Soundboard Sounds", Send),
        (43, "Request Channel Info", Send),
    ];

    /// GATEWAY.md §12.3, row by row: (code, name, direction, binary).
    const VOICE: &[(u8, &str, Direction, bool)] = &[
        (0, "Identify", Send, false),
        (1, "Select Protocol", Send, false),
        (2, "Ready", Receive, false),
        (3, "Heartbeat", Send, false),
        (4, "Session Description", Receive, false),
        (5, "Speaking", Both, false),
        (6, "Heartbeat ACK", Receive, false),
        (7, "Resume", Send, false),
        (8, "Hello", Receive, false),
        (9, "Resumed", Receive, false),
        (11, "Clients Connect", Receive, false),
        (13, "Client Disconnect", Receive, false),
        (21, "DAVE Prepare Transition", Receive, false),
        (22, "DAVE Execute Transition", Receive, false),
        (23, "DAVE Transition Ready", Send, false),
        (24, "DAVE Prepare Epoch", Receive, false),
        (25, "DAVE MLS External Sender", Receive, true),
        (26, "DAVE MLS Key Package", Send, true),
        (27, "DAVE MLS Proposals", Receive, true),
        (28, "DAVE MLS Commit Welcome", Send, true),
        (29, "DAVE MLS Announce Commit Transition", Receive, true),
        (30, "DAVE MLS Welcome", Receive, true),
        (31, "DAVE MLS Invalid Commit Welcome", Send, false),
    ];

    #[test]
    fn gateway_table_matches_the_docs_exactly() {
        for &(code, name, direction) in GATEWAY {
            let op = OpCode::from(code);
            assert!(op.is_known(), "op {code} should be known");
            assert_eq!(op.code(), code, "op {code}");
            assert_eq!(op.name(), name, "op {code}");
            assert_eq!(op.direction(), Some(direction), "op {code}");
            assert!(!op.is_binary(), "op {code}");
        }
        let documented: Vec<u8> = GATEWAY.iter().map(|row| row.0).collect();
        for code in 0..=u8::MAX {
            let op = OpCode::from(code);
            assert_eq!(op.is_known(), documented.contains(&code), "op {code}");
            assert_eq!(op.code(), code, "op {code} round trip");
        }
        let all: Vec<u8> = OpCode::ALL.iter().map(|op| op.code()).collect();
        assert_eq!(all, documented);
    }

    #[test]
    fn voice_table_matches_the_docs_exactly() {
        for &(code, name, direction, binary) in VOICE {
            let op = VoiceOpCode::from(code);
            assert!(op.is_known(), "voice op {code} should be known");
            assert_eq!(op.name(), name, "voice op {code}");
            assert_eq!(op.direction(), Some(direction), "voice op {code}");
            assert_eq!(op.is_binary(), binary, "voice op {code}");
        }
        let documented: Vec<u8> = VOICE.iter().map(|row| row.0).collect();
        for code in 0..=u8::MAX {
            let op = VoiceOpCode::from(code);
            assert_eq!(op.is_known(), documented.contains(&code), "voice op {code}");
            assert_eq!(u8::from(op), code, "voice op {code} round trip");
        }
        let all: Vec<u8> = VoiceOpCode::ALL.iter().map(|op| op.code()).collect();
        assert_eq!(all, documented);
    }

    #[test]
    fn unknown_values_are_kept_and_compare_by_integer() {
        assert_eq!(OpCode::from(5), OpCode::Unknown(5));
        assert_eq!(OpCode::Unknown(5).direction(), None);
        assert!(!OpCode::Unknown(5).client_sends());
        assert!(!OpCode::Unknown(5).client_receives());
        assert_eq!(OpCode::Unknown(5).to_string(), "Unknown (5)");
        // A hand-built Unknown holding a known value is that value.
        assert_eq!(OpCode::Unknown(10), OpCode::Hello);
        assert_eq!(OpCode::Unknown(10).name(), "Hello");
        assert!(OpCode::Dispatch < OpCode::Unknown(5));
        assert_eq!(VoiceOpCode::from(12), VoiceOpCode::Unknown(12));
    }

    #[test]
    fn direction_helpers() {
        assert!(OpCode::Heartbeat.client_sends() && OpCode::Heartbeat.client_receives());
        assert!(OpCode::Identify.client_sends() && !OpCode::Identify.client_receives());
        assert!(!OpCode::Hello.client_sends() && OpCode::Hello.client_receives());
        assert!(VoiceOpCode::Speaking.client_sends() && VoiceOpCode::Speaking.client_receives());
    }

    #[test]
    fn serde_uses_the_integer() {
        assert_eq!(
            serde_json::to_string(&OpCode::HeartbeatAck).ok().as_deref(),
            Some("11")
        );
        assert_eq!(
            serde_json::from_str::<OpCode>("43").ok(),
            Some(OpCode::RequestChannelInfo)
        );
        assert_eq!(
            serde_json::from_str::<OpCode>("99").ok(),
            Some(OpCode::Unknown(99))
        );
        assert!(serde_json::from_str::<OpCode>("256").is_err());
        assert!(serde_json::from_str::<OpCode>("-1").is_err());
        assert_eq!(
            serde_json::from_str::<VoiceOpCode>("30").ok(),
            Some(VoiceOpCode::DaveMlsWelcome)
        );
    }
}
