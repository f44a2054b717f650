//! `commands`: arbitrary field values built into real commands through their public
//! constructors, then encoded.
//!
//! `encode` must either write a frame of at most [`MAX_PAYLOAD_LEN`] bytes that is JSON with
//! the command's `op` and a `d`, or return a typed error and leave the buffer empty.

use arbitrary::Arbitrary;
use discordgateway_proto::payload::{
    Activity, ActivityType, ChannelInfoField, Command, CommandError, MAX_PAYLOAD_LEN, Outgoing,
    RequestChannelInfo, RequestGuildMembers, RequestSoundboardSounds, Resume, Status,
    UpdatePresence, UpdateVoiceState,
};
use discordgateway_proto::snowflake::Snowflake;
use discordgateway_proto::token::Token;
use serde_json::Value;

/// The fields of one command, as a user might fill them in.
#[derive(Debug, Arbitrary)]
pub enum Input {
    /// Op 3.
    Presence {
        /// Idle since (ms).
        since: Option<u64>,
        /// Index into the five statuses.
        status: u8,
        /// AFK flag.
        afk: bool,
        /// Activities.
        activities: Vec<ActivityInput>,
    },
    /// Op 4.
    Voice {
        /// Guild.
        guild: u64,
        /// Channel to join, or leave.
        channel: Option<u64>,
        /// Mute and deafen flags.
        flags: (bool, bool),
    },
    /// Op 8.
    Members {
        /// Guild.
        guild: u64,
        /// Which members.
        selector: Selector,
        /// Ask for presences.
        presences: bool,
        /// Request nonce.
        nonce: Option<String>,
    },
    /// Op 31.
    Soundboard(Vec<u64>),
    /// Op 43 (`true`: status, `false`: voice start time).
    ChannelInfo(u64, Vec<bool>),
    /// Op 6 (sent by the core, but its encoding must hold too).
    Resume(String, String, u64),
}

/// One activity's fields.
#[derive(Debug, Arbitrary)]
pub struct ActivityInput {
    /// Activity type number (0–5 are defined).
    kind: u8,
    /// Name.
    name: String,
    /// State text.
    state: Option<String>,
    /// Streaming URL.
    url: Option<String>,
}

/// Op 8's member selection.
#[derive(Debug, Arbitrary)]
pub enum Selector {
    /// Members whose name starts with a prefix, up to a limit.
    Query(String, u32),
    /// Every member.
    All,
    /// These users.
    Users(Vec<u64>),
}

const STATUSES: [Status; 5] = [
    Status::Online,
    Status::Dnd,
    Status::Idle,
    Status::Invisible,
    Status::Offline,
];

impl Input {
    /// Builds the command through its public constructors (`None` for a bad token).
    fn build(self) -> Option<Result<Command, Resume>> {
        let command: Command = match self {
            Self::Presence {
                since,
                status,
                afk,
                activities,
            } => {
                let mut p = UpdatePresence::new(STATUSES[usize::from(status) % STATUSES.len()]);
                p.since = since;
                p.afk = afk;
                for a in activities {
                    let kind = ActivityType::from_number(a.kind).unwrap_or(ActivityType::Playing);
                    let mut activity = Activity::new(kind, a.name);
                    activity.state = a.state;
                    activity.url = a.url;
                    p = p.with_activity(activity);
                }
                p.into()
            }
            Self::Voice {
                guild,
                channel,
                flags: (mute, deaf),
            } => {
                let mut v = match channel {
                    Some(c) => UpdateVoiceState::join(guild.into(), c.into()),
                    None => UpdateVoiceState::leave(guild.into()),
                };
                (v.self_mute, v.self_deaf) = (mute, deaf);
                v.into()
            }
            Self::Members {
                guild,
                selector,
                presences,
                nonce,
            } => {
                let guild = Snowflake::from(guild);
                let mut m = match selector {
                    Selector::Query(prefix, limit) => {
                        RequestGuildMembers::query(guild, prefix, limit)
                    }
                    Selector::All => RequestGuildMembers::all(guild),
                    Selector::Users(ids) => {
                        RequestGuildMembers::user_ids(guild, ids.into_iter().map(Snowflake::from))
                    }
                };
                m.presences = presences;
                if let Some(nonce) = nonce {
                    m = m.with_nonce(nonce);
                }
                m.into()
            }
            Self::Soundboard(ids) => {
                RequestSoundboardSounds::new(ids.into_iter().map(Snowflake::from)).into()
            }
            Self::ChannelInfo(guild, fields) => {
                let fields = fields.into_iter().map(|status| {
                    if status {
                        ChannelInfoField::Status
                    } else {
                        ChannelInfoField::VoiceStartTime
                    }
                });
                RequestChannelInfo::new(guild.into(), fields).into()
            }
            Self::Resume(token, session, seq) => {
                return Token::new(token)
                    .ok()
                    .map(|t| Err(Resume::new(t, session, seq)));
            }
        };
        Some(Ok(command))
    }
}

/// Builds and encodes one command and checks the result; returns the opcode and whether
/// it encoded (`None`: the input named an invalid token).
pub fn check(input: Input) -> Option<(u8, bool)> {
    let mut buf = b"stale".to_vec();
    let (result, op) = match input.build() {
        None => return None,
        Some(Ok(command)) => (command.encode(&mut buf), command.opcode()),
        Some(Err(resume)) => (resume.encode(&mut buf), resume.opcode()),
    };
    match result {
        Ok(()) => {
            assert!(buf.len() <= MAX_PAYLOAD_LEN, "frame of {} bytes", buf.len());
            let frame: Value = serde_json::from_slice(&buf).expect("the frame is JSON");
            assert_eq!(frame["op"].as_u64(), Some(u64::from(op.code())), "op");
            assert!(frame.get("d").is_some(), "frame without d");
            Some((op.code(), true))
        }
        Err(error) => {
            assert!(buf.is_empty(), "buffer left non-empty after {error}");
            assert!(!matches!(error, CommandError::Serialize { .. }), "{error}");
            Some((op.code(), false))
        }
    }
}
