//! Manual reconnect mode end to end against the emulator: every disconnect comes back from
//! `next_event` as an error with the close code, reason and whether the session can resume;
//! the shard then stays idle (no connection attempt) until the application calls
//! `resume`, `identify` or `reconnect`.

mod support;

use std::time::Duration;

use discordgateway::proto::config::ReconnectPolicy;
use discordgateway::{Notice, Phase, ResumeError, Shard, ShardError, ShardErrorKind};
use discordgateway_emulator::{EmulatorHandle, Fault};
use support::emu::{self, Knobs, Seen};

/// Injects `fault` and returns the error `next_event` reports for it.
async fn disconnect_with(emu: &EmulatorHandle, shard: &mut Shard, fault: Fault) -> ShardError {
    assert_eq!(emu.inject_fault(0, fault), 1);
    emu::until_error(shard, &mut Seen::default()).await
}

/// Asserts the shard makes no connection attempt for a minute (paused time).
async fn assert_idle(emu: &EmulatorHandle, shard: &mut Shard, case: &str) {
    let before = (emu.stats().identifies, emu.stats().resumes);
    let waited = tokio::time::timeout(Duration::from_secs(60), shard.next_event()).await;
    assert!(
        waited.is_err(),
        "{case}: nothing happens while idle: {waited:?}"
    );
    assert_eq!(shard.status(), Phase::Idle, "{case}");
    assert_eq!(
        (emu.stats().identifies, emu.stats().resumes),
        before,
        "{case}: no attempt"
    );
}

#[tokio::test(start_paused = true)]
async fn manual_mode_reports_each_disconnect_and_waits_for_the_application() {
    let emu = emu::streaming(0).await;
    let knobs = Knobs {
        reconnect: ReconnectPolicy::Manual,
        ..Knobs::default()
    };
    let mut shard = Shard::new(emu::shard_config(&emu, &knobs));
    let mut seen = Seen::default();
    emu::until_ready(&mut shard, &mut seen).await;

    // 4000: resumable; the application resumes.
    let fault = Fault::Close {
        code: 4000,
        reason: Some("unknown error".into()),
    };
    let err = disconnect_with(&emu, &mut shard, fault).await;
    let want = ShardErrorKind::Disconnected {
        code: Some(4000),
        reason: "unknown error".into(),
        resumable: true,
    };
    assert_eq!(err.kind(), &want, "{err}");
    assert_idle(&emu, &mut shard, "after 4000").await;
    shard.resume().expect("a session to resume");
    emu::until_notice(&mut shard, &mut seen, |n| {
        matches!(n, Notice::Resumed { .. })
    })
    .await;
    assert_eq!(emu.stats().resumes, 1);

    // A TCP drop: no code, resumable; the application reconnects (which resumes).
    let err = disconnect_with(&emu, &mut shard, Fault::Drop).await;
    assert!(
        matches!(
            err.kind(),
            ShardErrorKind::Disconnected {
                code: None,
                resumable: true,
                ..
            }
        ),
        "{err}"
    );
    assert_idle(&emu, &mut shard, "after a drop").await;
    shard.reconnect();
    emu::until_notice(&mut shard, &mut seen, |n| {
        matches!(n, Notice::Resumed { .. })
    })
    .await;
    assert_eq!(emu.stats().resumes, 2);

    // 4009: the session is gone; resume is refused and identify starts a new one.
    let fault = Fault::Close {
        code: 4009,
        reason: None,
    };
    let err = disconnect_with(&emu, &mut shard, fault).await;
    assert!(
        matches!(
            err.kind(),
            ShardErrorKind::Disconnected {
                code: Some(4009),
                resumable: false,
                ..
            }
        ),
        "{err}"
    );
    assert_idle(&emu, &mut shard, "after 4009").await;
    assert_eq!(shard.resume(), Err(ResumeError::NoSession));
    shard.identify();
    emu::until_ready(&mut shard, &mut seen).await;
    assert_eq!(emu.identify_log().len(), 2);
    assert_eq!(shard.status(), Phase::Active);
}
