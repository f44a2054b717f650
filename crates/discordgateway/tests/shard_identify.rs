//! Identify and READY against the emulator: one identify through the queue, READY with the
//! emulator's session, and only the declared events delivered (the rest dropped unparsed).

mod support;

use discordgateway::{Event, Notice, Phase};
use support::emu::{self, Knobs, Seen};

#[tokio::test(start_paused = true)]
async fn identifies_and_delivers_only_declared_events() {
    let emu = emu::streaming(20).await;
    // Only MESSAGE_CREATE is declared, but the GUILDS intent is added by hand, so the
    // emulator sends the four GUILD_CREATEs after READY and the shard must drop them.
    let knobs = Knobs {
        events: &["MESSAGE_CREATE"],
        extra_intents: discordgateway::Intents::GUILDS,
        ..Knobs::default()
    };
    let mut shard = discordgateway::Shard::new(emu::shard_config(&emu, &knobs));
    let mut seen = Seen::default();
    emu::until_dispatches(&mut shard, &mut seen, 20).await;

    let ready: Vec<&str> = seen
        .notices
        .iter()
        .filter_map(|n| match n {
            Notice::Ready { session_id } => Some(session_id.as_str()),
            _ => None,
        })
        .collect();
    let sessions = emu.sessions();
    assert_eq!(sessions.len(), 1, "one session on the emulator");
    assert_eq!(
        ready,
        [sessions[0].session_id.as_str()],
        "one READY, the emulator's session"
    );
    assert!(
        seen.dispatches
            .iter()
            .all(|d| d.kind().wire_name() == "MESSAGE_CREATE"),
        "only declared events are delivered"
    );
    // READY is seq 1, GUILD_CREATE 2..=5, the stream 6..=25.
    assert_eq!(seen.sequences(), (6..=25).collect::<Vec<u64>>());
    let stats = shard.stats();
    assert_eq!(
        (
            stats.identifies,
            stats.events_delivered,
            stats.events_dropped
        ),
        (1, 20, 5),
        "dropped: READY (a notice) and the four GUILD_CREATEs"
    );
    assert_eq!(shard.status(), Phase::Active);
    assert_eq!(
        shard.session().map(|s| (s.id, s.sequence)),
        Some((sessions[0].session_id.clone(), 25))
    );
    let log = emu.identify_log();
    assert_eq!(log.len(), 1, "exactly one identify");
    assert_eq!(log[0].shard, [0, 1]);
    assert_eq!(emu.stats().identifies, 1);
    // MESSAGE_CREATE in guilds derives GUILD_MESSAGES; GUILDS was added by hand.
    let want =
        discordgateway::Intents::GUILD_MESSAGES.bits() | discordgateway::Intents::GUILDS.bits();
    assert_eq!(sessions[0].intents, want);
}

#[tokio::test(start_paused = true)]
async fn announces_a_fresh_connection_then_the_guild_burst_then_the_stream() {
    let emu = emu::streaming(1).await;
    let mut shard = emu::shard(&emu);
    let first = shard.next_event().await.expect("first event");
    assert!(
        matches!(
            first,
            Event::Notice(Notice::Connecting {
                resume: false,
                attempt: 0
            })
        ),
        "the first event says a fresh connection is being made: {first:?}"
    );
    let mut seen = Seen::default();
    emu::until_ready(&mut shard, &mut seen).await;
    emu::until_dispatches(&mut shard, &mut seen, 5).await;
    let kinds: Vec<&str> = seen
        .dispatches
        .iter()
        .map(|d| d.kind().wire_name())
        .collect();
    assert_eq!(
        kinds,
        [
            "GUILD_CREATE",
            "GUILD_CREATE",
            "GUILD_CREATE",
            "GUILD_CREATE",
            "MESSAGE_CREATE"
        ]
    );
}
