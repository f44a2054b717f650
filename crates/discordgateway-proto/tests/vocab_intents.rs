//! `Intents` and the event ↔ intent derivation against GATEWAY.md §9.

use discordgateway_proto::event_type::{EventSet, EventType};
use discordgateway_proto::intents::{DeclaredEvents, IntentWarning, Intents};

/// GATEWAY.md §9.1, row by row: (bit, name, privileged, DM scope, events as wire names).
#[rustfmt::skip]
const TABLE: &[(u32, &str, bool, bool, &[&str])] = &[
    (
        0,
        "GUILDS",
        false,
        false,
        &[
            "GUILD_CREATE",
            "GUILD_UPDATE",
            "GUILD_DELETE",
            "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE",
            "GUILD_ROLE_DELETE",
            "CHANNEL_CREATE",
            "CHANNEL_UPDATE",
            "CHANNEL_DELETE",
            "CHANNEL_PINS_UPDATE",
            "THREAD_CREATE",
            "THREAD_UPDATE",
            "THREAD_DELETE",
            "THREAD_LIST_SYNC",
            "THREAD_MEMBER_UPDATE",
            "THREAD_MEMBERS_UPDATE",
            "STAGE_INSTANCE_CREATE",
            "STAGE_INSTANCE_UPDATE",
            "STAGE_INSTANCE_DELETE",
            "VOICE_CHANNEL_STATUS_UPDATE",
            "VOICE_CHANNEL_START_TIME_UPDATE",
        ],
    ),
    (
        1,
        "GUILD_MEMBERS",
        true,
        false,
        &[
            "GUILD_MEMBER_ADD",
            "GUILD_MEMBER_UPDATE",
            "GUILD_MEMBER_REMOVE",
            "THREAD_MEMBERS_UPDATE",
        ],
    ),
    (
        2,
        "GUILD_MODERATION",
        false,
        false,
        &[
            "GUILD_AUDIT_LOG_ENTRY_CREATE",
            "GUILD_BAN_ADD",
            "GUILD_BAN_REMOVE",
        ],
    ),
    (
        3,
        "GUILD_EXPRESSIONS",
        false,
        false,
        &[
            "GUILD_EMOJIS_UPDATE",
            "GUILD_STICKERS_UPDATE",
            "GUILD_SOUNDBOARD_SOUND_CREATE",
            "GUILD_SOUNDBOARD_SOUND_UPDATE",
            "GUILD_SOUNDBOARD_SOUND_DELETE",
            "GUILD_SOUNDBOARD_SOUNDS_UPDATE",
        ],
    ),
    (
        4,
        "GUILD_INTEGRATIONS",
        false,
        false,
        &[
            "GUILD_INTEGRATIONS_UPDATE",
            "INTEGRATION_CREATE",
            "INTEGRATION_UPDATE",
            "INTEGRATION_DELETE",
        ],
    ),
    (5, "GUILD_WEBHOOKS", false, false, &["WEBHOOKS_UPDATE"]),
    (
        6,
        "GUILD_INVITES",
        false,
        false,
        &["INVITE_CREATE", "INVITE_DELETE"],
    ),
    (
        7,
        "GUILD_VOICE_STATES",
        false,
        false,
        &["VOICE_CHANNEL_EFFECT_SEND", "VOICE_STATE_UPDATE"],
    ),
    (8, "GUILD_PRESENCES", true, false, &["PRESENCE_UPDATE"]),
    (
        9,
        "GUILD_MESSAGES",
        false,
        false,
        &[
            "MESSAGE_CREATE",
            "MESSAGE_UPDATE",
            "MESSAGE_DELETE",
            "MESSAGE_DELETE_BULK",
        ],
    ),
    (
        10,
        "GUILD_MESSAGE_REACTIONS",
        false,
        false,
        &[
            "MESSAGE_REACTION_ADD",
            "MESSAGE_REACTION_REMOVE",
            "MESSAGE_REACTION_REMOVE_ALL",
            "MESSAGE_REACTION_REMOVE_EMOJI",
        ],
    ),
    (11, "GUILD_MESSAGE_TYPING", false, false, &["TYPING_START"]),
    (
        12,
        "DIRECT_MESSAGES",
        false,
        true,
        &[
            "MESSAGE_CREATE",
            "MESSAGE_UPDATE",
            "MESSAGE_DELETE",
            "CHANNEL_PINS_UPDATE",
        ],
    ),
    (
        13,
        "DIRECT_MESSAGE_REACTIONS",
        false,
        true,
        &[
            "MESSAGE_REACTION_ADD",
            "MESSAGE_REACTION_REMOVE",
            "MESSAGE_REACTION_REMOVE_ALL",
            "MESSAGE_REACTION_REMOVE_EMOJI",
        ],
    ),
    (14, "DIRECT_MESSAGE_TYPING", false, true, &["TYPING_START"]),
    (15, "MESSAGE_CONTENT", true, false, &[]),
    (
        16,
        "GUILD_SCHEDULED_EVENTS",
        false,
        false,
        &[
            "GUILD_SCHEDULED_EVENT_CREATE",
            "GUILD_SCHEDULED_EVENT_UPDATE",
            "GUILD_SCHEDULED_EVENT_DELETE",
            "GUILD_SCHEDULED_EVENT_USER_ADD",
            "GUILD_SCHEDULED_EVENT_USER_REMOVE",
        ],
    ),
    (
        20,
        "AUTO_MODERATION_CONFIGURATION",
        false,
        false,
        &[
            "AUTO_MODERATION_RULE_CREATE",
            "AUTO_MODERATION_RULE_UPDATE",
            "AUTO_MODERATION_RULE_DELETE",
        ],
    ),
    (
        21,
        "AUTO_MODERATION_EXECUTION",
        false,
        false,
        &["AUTO_MODERATION_ACTION_EXECUTION"],
    ),
    (
        24,
        "GUILD_MESSAGE_POLLS",
        false,
        false,
        &["MESSAGE_POLL_VOTE_ADD", "MESSAGE_POLL_VOTE_REMOVE"],
    ),
    (
        25,
        "DIRECT_MESSAGE_POLLS",
        false,
        true,
        &["MESSAGE_POLL_VOTE_ADD", "MESSAGE_POLL_VOTE_REMOVE"],
    ),
];

/// GATEWAY.md §9.4: dispatches that need no intent.
#[rustfmt::skip]
const NO_INTENT: &[&str] = &[
    "READY",
    "RESUMED",
    "RATE_LIMITED",
    "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
    "ENTITLEMENT_CREATE",
    "ENTITLEMENT_UPDATE",
    "ENTITLEMENT_DELETE",
    "SUBSCRIPTION_CREATE",
    "SUBSCRIPTION_UPDATE",
    "SUBSCRIPTION_DELETE",
    "INTERACTION_CREATE",
    "USER_UPDATE",
    "VOICE_SERVER_UPDATE",
    "GUILD_MEMBERS_CHUNK",
    "SOUNDBOARD_SOUNDS",
    "CHANNEL_INFO",
];

fn set_of(wire_names: &[&str]) -> EventSet {
    wire_names
        .iter()
        .map(|name| EventType::from_wire(name))
        .collect()
}

#[test]
fn flags_names_and_privilege_match_the_table() {
    let mut all = Intents::EMPTY;
    for &(bit, name, privileged, _, _) in TABLE {
        let flag = Intents::from_bits_retain(1 << bit);
        assert_eq!(flag.name(), Some(name), "bit {bit}");
        assert_eq!(flag.is_privileged(), privileged, "{name}");
        assert_eq!(flag.to_string(), name, "{name}");
        all |= flag;
    }
    assert_eq!(TABLE.len(), 21);
    assert_eq!(Intents::all(), all);
    assert_eq!(Intents::all().bits(), 53_608_447);
    assert_eq!(Intents::NON_PRIVILEGED.bits(), 53_575_421);
    assert_eq!(
        Intents::PRIVILEGED,
        Intents::GUILD_MEMBERS | Intents::GUILD_PRESENCES | Intents::MESSAGE_CONTENT
    );
    assert_eq!(Intents::GUILD_MESSAGE_POLLS.bits(), 16_777_216);
}

#[test]
fn reverse_mapping_is_the_table() {
    for &(bit, name, _, dm, events) in TABLE {
        let flag = Intents::from_bits_retain(1 << bit);
        let (expected_guild, expected_dm) = if dm {
            (EventSet::EMPTY, set_of(events))
        } else {
            (set_of(events), EventSet::EMPTY)
        };
        assert_eq!(flag.guild_events(), expected_guild, "{name}: guild events");
        assert_eq!(flag.dm_events(), expected_dm, "{name}: dm events");
        assert_eq!(flag.events(), set_of(events), "{name}: events");
    }
}

#[test]
fn forward_mapping_is_the_first_listing_row() {
    for event in EventType::all() {
        let first = |want_dm: bool| {
            TABLE
                .iter()
                .find(|(_, _, _, dm, events)| *dm == want_dm && events.contains(&event.wire_name()))
                .map(|(bit, ..)| Intents::from_bits_retain(1 << bit))
        };
        assert_eq!(event.guild_intent(), first(false), "{event}: guild intent");
        assert_eq!(event.dm_intent(), first(true), "{event}: dm intent");
        let no_intent = NO_INTENT.contains(&event.wire_name());
        assert_eq!(event.needs_intent(), !no_intent, "{event}: needs intent");
        if let Some(intent) = event.guild_intent() {
            assert!(
                intent.guild_events().contains(event),
                "{event}: reverse of guild intent"
            );
        }
        if let Some(intent) = event.dm_intent() {
            assert!(
                intent.dm_events().contains(event),
                "{event}: reverse of dm intent"
            );
        }
    }
    assert_eq!(set_of(NO_INTENT).len(), 16);
    assert_eq!(EventType::from_wire("NEW").guild_intent(), None);
}

#[test]
fn documented_choices() {
    const CASES: &[(&str, Option<Intents>, Option<Intents>)] = &[
        ("THREAD_MEMBERS_UPDATE", Some(Intents::GUILDS), None),
        (
            "CHANNEL_PINS_UPDATE",
            Some(Intents::GUILDS),
            Some(Intents::DIRECT_MESSAGES),
        ),
        ("GUILD_MEMBER_UPDATE", Some(Intents::GUILD_MEMBERS), None),
        (
            "MESSAGE_CREATE",
            Some(Intents::GUILD_MESSAGES),
            Some(Intents::DIRECT_MESSAGES),
        ),
        ("MESSAGE_DELETE_BULK", Some(Intents::GUILD_MESSAGES), None),
        (
            "MESSAGE_REACTION_REMOVE_EMOJI",
            Some(Intents::GUILD_MESSAGE_REACTIONS),
            Some(Intents::DIRECT_MESSAGE_REACTIONS),
        ),
        (
            "TYPING_START",
            Some(Intents::GUILD_MESSAGE_TYPING),
            Some(Intents::DIRECT_MESSAGE_TYPING),
        ),
        (
            "MESSAGE_POLL_VOTE_ADD",
            Some(Intents::GUILD_MESSAGE_POLLS),
            Some(Intents::DIRECT_MESSAGE_POLLS),
        ),
        ("GUILD_CREATE", Some(Intents::GUILDS), None),
        ("INTERACTION_CREATE", None, None),
    ];
    for &(wire, guild, dm) in CASES {
        let event = EventType::from_wire(wire);
        assert_eq!(event.guild_intent(), guild, "{wire}: guild");
        assert_eq!(event.dm_intent(), dm, "{wire}: dm");
    }
    assert!(
        Intents::GUILD_MEMBERS
            .guild_events()
            .contains(&EventType::ThreadMembersUpdate)
    );
}

#[test]
fn derivation_from_declared_events() {
    const CASES: &[(&str, &[&str], &[&str], Intents)] = &[
        ("nothing", &[], &[], Intents::EMPTY),
        (
            "no-intent events",
            &["READY", "INTERACTION_CREATE", "GUILD_MEMBERS_CHUNK"],
            &["READY"],
            Intents::EMPTY,
        ),
        (
            "guild messages",
            &["MESSAGE_CREATE"],
            &[],
            Intents::GUILD_MESSAGES,
        ),
        (
            "dm messages",
            &[],
            &["MESSAGE_CREATE"],
            Intents::DIRECT_MESSAGES,
        ),
        (
            "guild-only event as dm",
            &[],
            &["GUILD_CREATE", "MESSAGE_DELETE_BULK"],
            Intents::EMPTY,
        ),
        (
            "thread members",
            &["THREAD_MEMBERS_UPDATE"],
            &[],
            Intents::GUILDS,
        ),
        (
            "pins both",
            &["CHANNEL_PINS_UPDATE"],
            &["CHANNEL_PINS_UPDATE"],
            Intents::from_bits_retain(1 | 4096),
        ),
        (
            "members",
            &["GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE"],
            &[],
            Intents::GUILD_MEMBERS,
        ),
        (
            "polls both",
            &["MESSAGE_POLL_VOTE_REMOVE"],
            &["MESSAGE_POLL_VOTE_ADD"],
            Intents::from_bits_retain(3 << 24),
        ),
    ];
    for &(case, guild, dm, expected) in CASES {
        let declared = DeclaredEvents::new(set_of(guild), set_of(dm));
        assert_eq!(declared.intents(), expected, "{case}");
        assert_eq!(
            declared.events(),
            set_of(guild) | set_of(dm),
            "{case}: events"
        );
    }
    let everything =
        DeclaredEvents::new(EventSet::ALL, EventSet::ALL).with_extra(Intents::MESSAGE_CONTENT);
    assert_eq!(everything.intents(), Intents::all());
    let all_but_content = DeclaredEvents::new(EventSet::ALL, EventSet::ALL).intents();
    assert_eq!(
        all_but_content,
        Intents::all() - Intents::MESSAGE_CONTENT,
        "MESSAGE_CONTENT is never derived"
    );
}

#[test]
fn warnings() {
    let content = DeclaredEvents::new(
        set_of(&["MESSAGE_CREATE", "MESSAGE_DELETE", "READY"]),
        EventSet::EMPTY,
    );
    assert_eq!(
        content.warnings(),
        [IntentWarning::MessageContentMissing {
            events: set_of(&["MESSAGE_CREATE"])
        }]
    );
    assert!(
        content.warnings()[0]
            .to_string()
            .contains("add the MESSAGE_CONTENT intent")
    );
    assert!(
        content
            .with_extra(Intents::MESSAGE_CONTENT)
            .warnings()
            .is_empty()
    );
    let dm_messages_only =
        DeclaredEvents::new(EventSet::EMPTY, set_of(&["MESSAGE_CREATE", "READY"]));
    assert!(
        dm_messages_only.warnings().is_empty(),
        "DMs carry content anyway"
    );

    let dm_guild_only = DeclaredEvents::new(
        EventSet::EMPTY,
        set_of(&["GUILD_CREATE", "INTERACTION_CREATE", "TYPING_START"]),
    );
    assert_eq!(
        dm_guild_only.warnings(),
        [IntentWarning::NotSentInDms {
            events: set_of(&["GUILD_CREATE"])
        }]
    );
    assert!(
        dm_guild_only.warnings()[0]
            .to_string()
            .contains("declare them as guild events")
    );

    let bad_bits = DeclaredEvents::default().with_extra(Intents::from_bits_retain(1 << 17));
    assert_eq!(
        bad_bits.warnings(),
        [IntentWarning::UndocumentedIntents {
            intents: Intents::from_bits_retain(1 << 17)
        }]
    );
    assert!(bad_bits.warnings()[0].to_string().contains("4013"));
}

#[test]
fn bits_conversions_and_formatting() {
    assert_eq!(Intents::from_bits(1 << 17), None);
    assert_eq!(
        Intents::from_bits(513),
        Some(Intents::GUILDS | Intents::GUILD_MESSAGES)
    );
    assert_eq!(Intents::from_bits_truncate((1 << 17) | 1), Intents::GUILDS);
    let odd = Intents::from_bits_retain((1 << 17) | 2);
    assert_eq!(odd.bits(), (1 << 17) | 2);
    assert_eq!(odd.undocumented(), Intents::from_bits_retain(1 << 17));
    assert_eq!(odd.privileged(), Intents::GUILD_MEMBERS);
    assert_eq!(odd.to_string(), "GUILD_MEMBERS | 1 << 17");
    assert_eq!(format!("{odd:?}"), "Intents(GUILD_MEMBERS | 1 << 17)");
    assert_eq!(Intents::EMPTY.to_string(), "(none)");
    assert_eq!((Intents::GUILDS | Intents::GUILD_MEMBERS).name(), None);
    assert_eq!(Intents::all().iter().len(), 21);
    assert_eq!(Intents::all().iter().collect::<Intents>(), Intents::all());
    assert!(Intents::all().contains(Intents::NON_PRIVILEGED));
    assert!(!Intents::NON_PRIVILEGED.is_privileged());
    assert_eq!(
        serde_json::to_string(&Intents::GUILDS).ok().as_deref(),
        Some("1")
    );
    assert_eq!(
        serde_json::from_str::<Intents>("53608447").ok(),
        Some(Intents::all())
    );
}
