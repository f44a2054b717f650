//! Sessions that survive a restart: a shard closes resumably, its exported session goes to a
//! fresh shard built with `Shard::from_session`, which resumes (the emulator counts a resume
//! and no new identify) and receives the rest of the stream exactly once. When the session is
//! gone server-side, the fresh shard falls back to a clean Identify.

mod support;

use std::sync::Arc;

use discordgateway::{CloseKind, LocalIdentifyQueue, Notice, Shard};
use discordgateway_emulator::IdentifyOutcome;
use support::emu::{self, Knobs, Seen};

#[tokio::test(start_paused = true)]
async fn a_fresh_shard_resumes_an_exported_session() {
    let (emu, mut first, mut seen) = emu::mid_stream(&Knobs::default()).await;
    first.close(CloseKind::Resumable).await;
    let session = first.session().expect("a session to export");
    let json = serde_json::to_string(&session).expect("session serializes");
    drop(first);

    let restored = serde_json::from_str(&json).expect("session deserializes");
    let config = emu::shard_config(&emu, &Knobs::default());
    let mut second = Shard::from_session(config, restored);
    emu::until_dispatches(&mut second, &mut seen, emu::PER_SESSION).await;
    seen.assert_exactly_once(emu::PER_SESSION, "restart");
    assert_eq!(
        seen.count(|n| matches!(n, Notice::Resumed { .. })),
        1,
        "resumed"
    );
    assert_eq!((emu.stats().identifies, emu.stats().resumes), (1, 1));
    assert_eq!(emu.identify_log().len(), 1, "no new identify");
    let stats = second.stats();
    assert_eq!((stats.identifies, stats.resumes), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_session_ended_server_side_falls_back_to_identify() {
    let emu = emu::streaming(10).await;
    // One queue for both shards, as for all shards of one bot: it spaces the identifies
    // by the emulator's 5 s window.
    let knobs = Knobs {
        queue: Some(Arc::new(LocalIdentifyQueue::new(1))),
        ..Knobs::default()
    };
    let mut first = Shard::new(emu::shard_config(&emu, &knobs));
    let mut seen = Seen::default();
    emu::until_dispatches(&mut first, &mut seen, 14).await;
    let session = first.session().expect("session");
    first.close(CloseKind::Final).await; // 1000 ends the session on the emulator
    drop(first);

    let mut second = Shard::from_session(emu::shard_config(&emu, &knobs), session);
    let mut seen = Seen::default();
    emu::until_ready(&mut second, &mut seen).await;
    assert!(
        seen.notices
            .contains(&Notice::InvalidSession { resumable: false }),
        "the resume was refused with op 9 false"
    );
    assert_eq!(emu.stats().resumes, 0);
    let log = emu.identify_log();
    assert_eq!(log.len(), 2, "a fresh identify");
    assert!(
        log.iter().all(|r| r.outcome == IdentifyOutcome::Accepted),
        "{log:?}"
    );
    assert_eq!(second.stats().identifies, 1);
    emu::until_dispatches(&mut second, &mut seen, 14).await;
    assert_eq!(seen.sequences(), (2..=15).collect::<Vec<u64>>());
}
