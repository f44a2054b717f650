//! `EventType` and `EventSet` against GATEWAY.md §10.

use std::collections::HashSet;

use discordgateway_proto::event_type::{EventSet, EventType, ParseEventTypeError};

/// Every dispatch name of GATEWAY.md §10, in the sheet's order.
const DOCUMENTED: [&str; 79] = [
    "READY",
    "RESUMED",
    "RATE_LIMITED",
    "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
    "AUTO_MODERATION_RULE_CREATE",
    "AUTO_MODERATION_RULE_UPDATE",
    "AUTO_MODERATION_RULE_DELETE",
    "AUTO_MODERATION_ACTION_EXECUTION",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "CHANNEL_INFO",
    "CHANNEL_PINS_UPDATE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
    "THREAD_LIST_SYNC",
    "THREAD_MEMBER_UPDATE",
    "THREAD_MEMBERS_UPDATE",
    "ENTITLEMENT_CREATE",
    "ENTITLEMENT_UPDATE",
    "ENTITLEMENT_DELETE",
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_AUDIT_LOG_ENTRY_CREATE",
    "GUILD_BAN_ADD",
    "GUILD_BAN_REMOVE",
    "GUILD_EMOJIS_UPDATE",
    "GUILD_STICKERS_UPDATE",
    "GUILD_INTEGRATIONS_UPDATE",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
    "GUILD_MEMBER_UPDATE",
    "GUILD_MEMBERS_CHUNK",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "GUILD_SCHEDULED_EVENT_CREATE",
    "GUILD_SCHEDULED_EVENT_UPDATE",
    "GUILD_SCHEDULED_EVENT_DELETE",
    "GUILD_SCHEDULED_EVENT_USER_ADD",
    "GUILD_SCHEDULED_EVENT_USER_REMOVE",
    "GUILD_SOUNDBOARD_SOUND_CREATE",
    "GUILD_SOUNDBOARD_SOUND_UPDATE",
    "GUILD_SOUNDBOARD_SOUND_DELETE",
    "GUILD_SOUNDBOARD_SOUNDS_UPDATE",
    "SOUNDBOARD_SOUNDS",
    "INTEGRATION_CREATE",
    "INTEGRATION_UPDATE",
    "INTEGRATION_DELETE",
    "INTERACTION_CREATE",
    "INVITE_CREATE",
    "INVITE_DELETE",
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_DELETE_BULK",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
    "MESSAGE_POLL_VOTE_ADD",
    "MESSAGE_POLL_VOTE_REMOVE",
    "PRESENCE_UPDATE",
    "TYPING_START",
    "USER_UPDATE",
    "STAGE_INSTANCE_CREATE",
    "STAGE_INSTANCE_UPDATE",
    "STAGE_INSTANCE_DELETE",
    "SUBSCRIPTION_CREATE",
    "SUBSCRIPTION_UPDATE",
    "SUBSCRIPTION_DELETE",
    "VOICE_CHANNEL_EFFECT_SEND",
    "VOICE_CHANNEL_START_TIME_UPDATE",
    "VOICE_CHANNEL_STATUS_UPDATE",
    "VOICE_STATE_UPDATE",
    "VOICE_SERVER_UPDATE",
    "WEBHOOKS_UPDATE",
];

/// The CRUD rule of the task, applied mechanically: suffix renames, then PascalCase.
fn crud_name(wire: &str) -> String {
    const RENAMES: &[(&str, &str)] = &[
        ("_REMOVE_ALL", "_DELETE_ALL"),
        ("_REMOVE_EMOJI", "_DELETE_EMOJI"),
        ("_REMOVE", "_DELETE"),
        ("_ADD", "_CREATE"),
    ];
    let renamed = RENAMES
        .iter()
        .find_map(|(from, to)| wire.strip_suffix(from).map(|stem| format!("{stem}{to}")))
        .unwrap_or_else(|| wire.to_owned());
    renamed
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[test]
fn known_events_are_exactly_the_documented_list() {
    let ours: HashSet<&str> = EventType::all().iter().map(EventType::wire_name).collect();
    let documented: HashSet<&str> = DOCUMENTED.into_iter().collect();
    assert_eq!(documented.len(), 79, "the sheet lists 79 distinct names");
    let missing: Vec<_> = documented.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&documented).collect();
    assert!(missing.is_empty(), "documented but not known: {missing:?}");
    assert!(extra.is_empty(), "known but not documented: {extra:?}");
    assert_eq!(EventType::all().len(), EventType::COUNT);
    assert_eq!(EventType::COUNT, 79);
}

#[test]
fn every_documented_name_round_trips() {
    for wire in DOCUMENTED {
        let event = EventType::from_wire(wire);
        assert!(event.is_known(), "{wire}");
        assert_eq!(event.wire_name(), wire, "{wire}");
        assert_eq!(
            EventType::from_wire_bytes(wire.as_bytes()),
            Some(event.clone()),
            "{wire}"
        );
        assert_eq!(event.name(), crud_name(wire), "{wire}: CRUD name");
        assert_eq!(event.to_string(), crud_name(wire), "{wire}: Display");
        assert_eq!(
            wire.parse::<EventType>().as_ref(),
            Ok(&event),
            "{wire}: FromStr wire"
        );
        assert_eq!(
            event.name().parse::<EventType>().as_ref(),
            Ok(&event),
            "{wire}: FromStr CRUD"
        );
        let json = serde_json::to_string(&event).unwrap_or_default();
        assert_eq!(json, format!("\"{wire}\""), "{wire}: serialize");
        assert_eq!(
            serde_json::from_str::<EventType>(&json).ok(),
            Some(event),
            "{wire}: deserialize"
        );
    }
}

#[test]
fn crud_names_of_the_task_examples() {
    const CASES: &[(&str, EventType)] = &[
        ("GUILD_MEMBER_ADD", EventType::GuildMemberCreate),
        ("MESSAGE_REACTION_REMOVE", EventType::MessageReactionDelete),
        (
            "MESSAGE_REACTION_REMOVE_ALL",
            EventType::MessageReactionDeleteAll,
        ),
        (
            "MESSAGE_REACTION_REMOVE_EMOJI",
            EventType::MessageReactionDeleteEmoji,
        ),
        ("GUILD_BAN_ADD", EventType::GuildBanCreate),
        ("MESSAGE_POLL_VOTE_ADD", EventType::MessagePollVoteCreate),
        (
            "GUILD_SCHEDULED_EVENT_USER_REMOVE",
            EventType::GuildScheduledEventUserDelete,
        ),
        ("GUILD_MEMBERS_CHUNK", EventType::GuildMembersChunk),
        ("READY", EventType::Ready),
        ("TYPING_START", EventType::TypingStart),
    ];
    for (wire, event) in CASES {
        assert_eq!(&EventType::from_wire(wire), event, "{wire}");
    }
}

#[test]
fn indexes_are_dense_and_match_all() {
    for (i, event) in EventType::all().iter().enumerate() {
        assert_eq!(event.index(), Some(i), "{event}");
        assert_eq!(EventType::from_index(i).as_ref(), Some(event), "{event}");
    }
    assert_eq!(EventType::from_index(EventType::COUNT), None);
    assert_eq!(EventType::from_wire("NOPE").index(), None);
}

#[test]
fn unknown_names_are_kept_never_rejected() {
    const CASES: &[&str] = &[
        "BRAND_NEW_EVENT",
        "ready",
        "",
        "READY ",
        "GUILD_BAN_ADD\0",
        "ÉVÉNEMENT",
    ];
    for &name in CASES {
        let event = EventType::from_wire(name);
        assert_eq!(event, EventType::Unknown(name.into()), "{name:?}");
        assert_eq!(event.wire_name(), name, "{name:?}");
        assert_eq!(event.name(), name, "{name:?}");
        assert_eq!(
            EventType::from_wire_bytes(name.as_bytes()),
            None,
            "{name:?}"
        );
        let json = serde_json::to_string(name).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<EventType>(&json).ok(),
            Some(event),
            "{name:?}"
        );
    }
    assert_eq!(EventType::from_wire_bytes(&[0xff, 0xfe, 0x00]), None);
}

#[test]
fn from_str_is_case_insensitive_and_rejects_typos() {
    const CASES: &[(&str, Option<EventType>)] = &[
        ("MESSAGE_CREATE", Some(EventType::MessageCreate)),
        ("message_create", Some(EventType::MessageCreate)),
        ("MessageCreate", Some(EventType::MessageCreate)),
        ("messagecreate", Some(EventType::MessageCreate)),
        (" GuildBanCreate ", Some(EventType::GuildBanCreate)),
        ("guild_ban_add", Some(EventType::GuildBanCreate)),
        ("GuildBanAdd", None),
        ("MESAGE_CREATE", None),
        ("", None),
    ];
    for (text, expected) in CASES {
        assert_eq!(text.parse::<EventType>().ok(), *expected, "{text:?}");
    }
    let error = "MESAGE_CREATE".parse::<EventType>().err();
    assert_eq!(
        error,
        Some(ParseEventTypeError::UnknownName {
            name: "MESAGE_CREATE".into()
        })
    );
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("unknown event name `MESAGE_CREATE`: use"),
        "{message}"
    );
}

#[test]
fn event_set_operations() {
    const A: EventSet = EventSet::from_slice(&[EventType::Ready, EventType::MessageCreate]);
    const B: EventSet =
        EventSet::from_slice(&[EventType::MessageCreate, EventType::WebhooksUpdate]);
    assert_eq!((A | B).len(), 3);
    assert_eq!(
        (A & B).iter().collect::<Vec<_>>(),
        [EventType::MessageCreate]
    );
    assert_eq!((A - B).iter().collect::<Vec<_>>(), [EventType::Ready]);
    assert_eq!(A.complement().len(), 77);
    assert_eq!(A.complement() | A, EventSet::ALL);
    assert!(EventSet::new().is_empty());
    assert_eq!(EventSet::ALL.len(), 79);
    assert_eq!(EventSet::ALL.iter().collect::<Vec<_>>(), EventType::all());
    assert_eq!(EventSet::from_bits_truncate(u128::MAX), EventSet::ALL);
    assert_eq!(EventSet::ALL.iter().len(), 79);

    let mut set = EventSet::EMPTY;
    assert!(set.insert(EventType::TypingStart));
    assert!(
        !set.insert(EventType::TypingStart),
        "second insert is not new"
    );
    assert!(
        !set.insert(EventType::from_wire("X")),
        "unknown cannot be a member"
    );
    assert!(!set.contains(&EventType::from_wire("X")));
    assert_eq!(set.len(), 1);
    assert!(set.remove(&EventType::TypingStart));
    assert!(!set.remove(&EventType::TypingStart));
    assert!(set.is_empty());

    let collected: EventSet = [EventType::Ready, EventType::Resumed, EventType::Ready]
        .into_iter()
        .collect();
    assert_eq!(
        collected,
        EventSet::from_slice(&[EventType::Resumed, EventType::Ready])
    );
    assert_eq!(format!("{collected:?}"), "{Ready, Resumed}");
    assert!(EventSet::ALL.contains_index(78) && !EventSet::ALL.contains_index(79));
}
