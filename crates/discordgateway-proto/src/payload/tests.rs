//! Validation tables, frame encoding and round trips for the sent payloads.

use crate::intents::Intents;
use serde::de::DeserializeOwned;

use super::*;
use crate::shard::ShardId;
use crate::snowflake::Snowflake;
use crate::token::Token;

const GUILD: Snowflake = Snowflake::new(1_200_000_000_000_000_000);
const SECRET: &str = "MTAx.fake.token";

fn token() -> Token {
    Token::new(SECRET).expect("valid token")
}

fn invalid(field: &'static str, violation: Violation) -> Result<(), CommandError> {
    Err(CommandError::Invalid { field, violation })
}

fn ids(n: u64) -> Vec<Snowflake> {
    (1..=n).map(Snowflake::new).collect()
}

/// Encodes, checks the frame's `op`, and parses its `d` back.
fn encode_parse<T: Outgoing + DeserializeOwned>(payload: &T) -> (serde_json::Value, T) {
    let mut buf = Vec::new();
    payload.encode(&mut buf).expect("encodes");
    let frame: serde_json::Value = serde_json::from_slice(&buf).expect("valid json");
    assert_eq!(frame["op"], u64::from(payload.opcode().code()));
    let d = frame["d"].clone();
    let back = serde_json::from_value(d.clone()).expect("d parses back");
    (d, back)
}

#[test]
fn command_rules() {
    let cases: Vec<(&str, Command, Result<(), CommandError>)> = vec![
        (
            "members query ok",
            RequestGuildMembers::query(GUILD, "al", 100).into(),
            Ok(()),
        ),
        (
            "members all ok",
            RequestGuildMembers::all(GUILD).into(),
            Ok(()),
        ),
        (
            "members empty query with limit",
            RequestGuildMembers::query(GUILD, "", 25).into(),
            Ok(()),
        ),
        (
            "members limit 101",
            RequestGuildMembers::query(GUILD, "al", 101).into(),
            invalid(
                "limit",
                Violation::OutOfRange {
                    value: 101,
                    min: 0,
                    max: 100,
                },
            ),
        ),
        (
            "members 100 ids ok",
            RequestGuildMembers::user_ids(GUILD, ids(100)).into(),
            Ok(()),
        ),
        (
            "members 101 ids",
            RequestGuildMembers::user_ids(GUILD, ids(101)).into(),
            invalid(
                "user_ids",
                Violation::TooMany {
                    count: 101,
                    max: 100,
                },
            ),
        ),
        (
            "members no ids",
            RequestGuildMembers::user_ids(GUILD, []).into(),
            invalid("user_ids", Violation::Empty),
        ),
        (
            "nonce 32 bytes ok",
            RequestGuildMembers::all(GUILD)
                .with_nonce("n".repeat(32))
                .into(),
            Ok(()),
        ),
        (
            "nonce 33 bytes",
            RequestGuildMembers::all(GUILD)
                .with_nonce("n".repeat(33))
                .into(),
            invalid("nonce", Violation::TooLong { len: 33, max: 32 }),
        ),
        (
            "nonce counts bytes",
            RequestGuildMembers::all(GUILD)
                .with_nonce("é".repeat(17))
                .into(),
            invalid("nonce", Violation::TooLong { len: 34, max: 32 }),
        ),
        (
            "soundboard ok",
            RequestSoundboardSounds::new([GUILD]).into(),
            Ok(()),
        ),
        (
            "soundboard empty",
            RequestSoundboardSounds::new([]).into(),
            invalid("guild_ids", Violation::Empty),
        ),
        (
            "channel info all",
            RequestChannelInfo::all(GUILD).into(),
            Ok(()),
        ),
        (
            "channel info one",
            RequestChannelInfo::new(GUILD, [ChannelInfoField::VoiceStartTime]).into(),
            Ok(()),
        ),
        (
            "channel info empty",
            RequestChannelInfo::new(GUILD, []).into(),
            invalid("fields", Violation::Empty),
        ),
        (
            "channel info repeated",
            RequestChannelInfo::new(GUILD, [ChannelInfoField::Status, ChannelInfoField::Status])
                .into(),
            invalid("fields", Violation::Duplicate),
        ),
        (
            "voice join",
            UpdateVoiceState::join(GUILD, Snowflake::new(5)).into(),
            Ok(()),
        ),
        ("voice leave", UpdateVoiceState::leave(GUILD).into(), Ok(())),
        (
            "presence bare",
            UpdatePresence::new(Status::Dnd).into(),
            Ok(()),
        ),
    ];
    for (name, command, want) in cases {
        assert_eq!(command.validate(), want, "case {name}");
        let mut buf = b"stale".to_vec();
        let encoded = command.encode(&mut buf);
        assert_eq!(encoded, want, "case {name}: encode validates");
        assert_eq!(
            buf.is_empty(),
            want.is_err(),
            "case {name}: buffer after encode"
        );
    }
}

#[test]
fn activity_rules() {
    let cases: &[(&str, Activity, Result<(), CommandError>)] = &[
        ("playing", Activity::playing("chess"), Ok(())),
        ("custom", Activity::custom("brb"), Ok(())),
        (
            "twitch",
            Activity::streaming("live", "https://www.twitch.tv/someone"),
            Ok(()),
        ),
        (
            "twitch bare",
            Activity::streaming("live", "https://twitch.tv/someone"),
            Ok(()),
        ),
        (
            "youtube",
            Activity::streaming("live", "https://youtube.com/watch?v=x"),
            Ok(()),
        ),
        (
            "youtube http+port",
            Activity::streaming("live", "HTTP://m.YouTube.com:443/x"),
            Ok(()),
        ),
        (
            "streaming without url",
            Activity::new(ActivityType::Streaming, "live"),
            Ok(()),
        ),
        (
            "url on playing is not checked",
            Activity {
                url: Some("x".into()),
                ..Activity::playing("chess")
            },
            Ok(()),
        ),
        (
            "empty name",
            Activity::playing(""),
            invalid("activities.name", Violation::Empty),
        ),
        (
            "other host",
            Activity::streaming("live", "https://example.com/twitch.tv"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "lookalike host",
            Activity::streaming("live", "https://nottwitch.tv/x"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "suffix trick",
            Activity::streaming("live", "https://twitch.tv.example.com/x"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "user info trick",
            Activity::streaming("live", "https://twitch.tv@example.com/"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "no scheme",
            Activity::streaming("live", "twitch.tv/someone"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "ftp",
            Activity::streaming("live", "ftp://twitch.tv/x"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
        (
            "bare dot",
            Activity::streaming("live", "https://.twitch.tv/x"),
            invalid("activities.url", Violation::StreamHostNotAllowed),
        ),
    ];
    for (name, activity, want) in cases {
        let presence = UpdatePresence::new(Status::Online).with_activity(activity.clone());
        assert_eq!(&presence.validate(), want, "case {name}");
        let identify = Identify::new(token(), Intents::from_bits_retain(1)).with_presence(presence);
        assert_eq!(&identify.validate(), want, "case {name}: inside identify");
    }
}

#[test]
fn activity_type_is_0_to_5() {
    for n in 0..=5_u8 {
        let kind: ActivityType = serde_json::from_str(&n.to_string()).expect("valid type");
        assert_eq!(kind.number(), n);
    }
    for bad in ["6", "255", "-1", "\"0\"", "1.5"] {
        assert!(
            serde_json::from_str::<ActivityType>(bad).is_err(),
            "type {bad}"
        );
    }
}

#[test]
fn identify_rules() {
    const CASES: &[(&str, u32, bool)] = &[
        ("min", 50, true),
        ("max", 250, true),
        ("below", 49, false),
        ("above", 251, false),
        ("zero", 0, false),
    ];
    for &(name, threshold, ok) in CASES {
        let identify =
            Identify::new(token(), Intents::from_bits_retain(0)).with_large_threshold(threshold);
        let want = if ok {
            Ok(())
        } else {
            let value = u64::from(threshold);
            invalid(
                "large_threshold",
                Violation::OutOfRange {
                    value,
                    min: 50,
                    max: 250,
                },
            )
        };
        assert_eq!(identify.validate(), want, "case {name}");
    }
}

#[test]
fn resume_rules() {
    assert_eq!(Resume::new(token(), "abc", 5).validate(), Ok(()));
    assert_eq!(
        Resume::new(token(), "", 5).validate(),
        invalid("session_id", Violation::Empty)
    );
}

#[test]
fn size_limit_is_4096_bytes_inclusive() {
    let with_name = |len: usize| {
        UpdatePresence::new(Status::Online).with_activity(Activity::playing("x".repeat(len)))
    };
    let mut buf = Vec::new();
    with_name(1).encode(&mut buf).expect("small");
    let overhead = buf.len() - 1;
    let fits = with_name(MAX_PAYLOAD_LEN - overhead);
    fits.encode(&mut buf)
        .expect("exactly 4096 bytes is allowed");
    assert_eq!(buf.len(), MAX_PAYLOAD_LEN);
    let over = with_name(MAX_PAYLOAD_LEN - overhead + 1);
    assert_eq!(
        over.encode(&mut buf),
        Err(CommandError::TooLarge {
            len: 4097,
            max: 4096
        })
    );
    assert!(buf.is_empty(), "buffer cleared on error");
    let many = RequestSoundboardSounds::new((0..300).map(|i| Snowflake::new(u64::MAX - i)));
    assert!(matches!(
        many.encode(&mut buf),
        Err(CommandError::TooLarge { max: 4096, .. })
    ));
}

#[test]
fn frames_match_the_sheet() {
    let voice = UpdateVoiceState::join(GUILD, Snowflake::new(1_200_000_000_000_000_005))
        .with_self(false, true);
    let channel_info = RequestChannelInfo::all(GUILD);
    let soundboard =
        RequestSoundboardSounds::new([GUILD, Snowflake::new(1_200_000_000_000_000_001)]);
    let cases: &[(&str, Command, &str)] = &[
        (
            "voice",
            voice.into(),
            r#"{"op":4,"d":{"guild_id":"1200000000000000000","channel_id":"1200000000000000005","self_mute":false,"self_deaf":true}}"#,
        ),
        (
            "leave",
            UpdateVoiceState::leave(GUILD).into(),
            r#"{"op":4,"d":{"guild_id":"1200000000000000000","channel_id":null,"self_mute":false,"self_deaf":false}}"#,
        ),
        (
            "channel info",
            channel_info.into(),
            r#"{"op":43,"d":{"guild_id":"1200000000000000000","fields":["status","voice_start_time"]}}"#,
        ),
        (
            "soundboard",
            soundboard.into(),
            r#"{"op":31,"d":{"guild_ids":["1200000000000000000","1200000000000000001"]}}"#,
        ),
        (
            "members by id",
            RequestGuildMembers::user_ids(GUILD, ids(2)).into(),
            r#"{"op":8,"d":{"guild_id":"1200000000000000000","user_ids":["1","2"],"presences":false}}"#,
        ),
    ];
    let mut buf = Vec::new();
    for (name, command, want) in cases {
        command.encode(&mut buf).expect(name);
        assert_eq!(std::str::from_utf8(&buf), Ok(*want), "case {name}");
    }
}

#[test]
fn command_opcodes() {
    let cases: &[(Command, u8)] = &[
        (UpdatePresence::new(Status::Idle).into(), 3),
        (UpdateVoiceState::leave(GUILD).into(), 4),
        (RequestGuildMembers::all(GUILD).into(), 8),
        (RequestSoundboardSounds::new([GUILD]).into(), 31),
        (RequestChannelInfo::all(GUILD).into(), 43),
    ];
    for (command, op) in cases {
        assert_eq!(command.opcode().code(), *op, "{command:?}");
    }
    assert_eq!(
        Identify::new(token(), Intents::from_bits_retain(0))
            .opcode()
            .code(),
        2
    );
    assert_eq!(Resume::new(token(), "s", 1).opcode().code(), 6);
    assert_eq!(Heartbeat::default().opcode().code(), 1);
}

#[test]
fn identify_round_trip_and_redaction() {
    let presence = UpdatePresence::new(Status::Online).with_activity(Activity::playing("tests"));
    let identify = Identify::new(token(), Intents::from_bits_retain(33281))
        .with_shard(ShardId::new(0, 2).expect("valid"))
        .with_large_threshold(100)
        .with_presence(presence);
    let (d, back) = encode_parse(&identify);
    assert_eq!(back, identify);
    assert_eq!(d["token"], SECRET, "the frame carries the real token");
    assert_eq!(d["intents"], 33281);
    assert_eq!(d["shard"], serde_json::json!([0, 2]));
    assert_eq!(d["properties"]["os"], std::env::consts::OS);
    assert_eq!(d["properties"]["browser"], "discordgateway");
    assert_eq!(d["properties"]["device"], "discordgateway");
    assert!(d["properties"].get("$os").is_none());
    assert!(d.get("compress").is_none(), "compress false is omitted");
    for shown in [format!("{identify:?}"), format!("{identify:#?}")] {
        assert!(
            !shown.contains(SECRET),
            "Debug must not show the token: {shown}"
        );
    }
    let minimal = Identify::new(token(), Intents::from_bits_retain(1));
    let (d, back) = encode_parse(&minimal);
    assert_eq!(back, minimal);
    assert_eq!(d["large_threshold"], 50);
    assert!(d.get("shard").is_none() && d.get("presence").is_none());
}

#[test]
fn resume_and_heartbeat_round_trip() {
    let resume = Resume::new(token(), "9f2c4d0e", 1337);
    let (d, back) = encode_parse(&resume);
    assert_eq!(back, resume);
    assert_eq!(
        d,
        serde_json::json!({"token": SECRET, "session_id": "9f2c4d0e", "seq": 1337})
    );
    assert!(!format!("{resume:?}").contains(SECRET));
    for seq in [None, Some(0), Some(u64::MAX)] {
        let (_, back) = encode_parse(&Heartbeat { seq });
        assert_eq!(back.seq, seq);
    }
}

#[test]
fn commands_round_trip() {
    let presence = UpdatePresence::new(Status::Invisible)
        .with_idle_since(Some(1_700_000_000_000), true)
        .with_activity(Activity::streaming("live", "https://twitch.tv/x"))
        .with_activity(Activity::custom("hi"));
    assert_eq!(encode_parse(&presence).1, presence);
    let voice = UpdateVoiceState::join(GUILD, Snowflake::new(7)).with_self(true, false);
    assert_eq!(encode_parse(&voice).1, voice);
    for members in [
        RequestGuildMembers::query(GUILD, "al", 25).with_nonce("req-7"),
        RequestGuildMembers::all(GUILD).with_presences(true),
        RequestGuildMembers::user_ids(GUILD, ids(3)),
    ] {
        assert_eq!(encode_parse(&members).1, members);
    }
    let sounds = RequestSoundboardSounds::new([GUILD, Snowflake::new(9)]);
    assert_eq!(encode_parse(&sounds).1, sounds);
    let info = RequestChannelInfo::new(GUILD, [ChannelInfoField::Status]);
    assert_eq!(encode_parse(&info).1, info);
}

#[test]
fn reading_guild_member_requests() {
    let parse = |d: &str| serde_json::from_str::<RequestGuildMembers>(d).map(|r| r.selector);
    let one = parse(r#"{"guild_id":"1","user_ids":"5"}"#).expect("single id");
    assert_eq!(one, MemberSelector::UserIds(vec![Snowflake::new(5)]));
    const BAD: &[(&str, &str, &str)] = &[
        (
            "both",
            r#"{"guild_id":"1","query":"a","limit":1,"user_ids":["5"]}"#,
            "`query`",
        ),
        ("neither", r#"{"guild_id":"1"}"#, "`query`"),
        (
            "query without limit",
            r#"{"guild_id":"1","query":"a"}"#,
            "`limit`",
        ),
    ];
    for (name, d, field) in BAD {
        let err = parse(d).expect_err(name).to_string();
        assert!(err.contains(field), "case {name}: {err}");
    }
}

#[test]
fn error_messages_name_the_field() {
    let err = CommandError::invalid("nonce", Violation::TooLong { len: 40, max: 32 });
    assert_eq!(
        err.to_string(),
        "invalid `nonce`: 40 bytes is too long: use at most 32 bytes"
    );
    let err = CommandError::TooLarge {
        len: 5000,
        max: 4096,
    };
    assert_eq!(
        err.to_string(),
        "the payload is 5000 bytes, over the gateway's 4096-byte limit: send less in one command"
    );
}
