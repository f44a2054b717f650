//! Zombie detection against the emulator (GATEWAY.md §3.3): when the emulator stops
//! answering heartbeats, the shard notices at the next beat after a whole interval without
//! an ACK, closes resumably and resumes on a fresh connection, before the emulator's own
//! 1.5 × interval deadline would have fired.

mod support;

use std::time::Duration;

use discordgateway::Notice;
use discordgateway::proto::event::DisconnectCause;
use discordgateway_emulator::{EmulatorConfig, Fault};
use support::emu::{self, Seen};
use tokio::time::Instant;

/// The heartbeat interval here; heartbeats are the subject, so it is short.
const INTERVAL: Duration = Duration::from_secs(5);

#[tokio::test(start_paused = true)]
async fn a_zombie_is_detected_within_one_interval_and_resumed() {
    let emu = emu::start(EmulatorConfig {
        heartbeat_interval: INTERVAL,
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = emu::shard(&emu);
    let mut seen = Seen::default();
    emu::until_ready(&mut shard, &mut seen).await;
    // A few healthy beats first.
    let healthy_until = Instant::now() + INTERVAL * 3;
    while Instant::now() < healthy_until {
        let _ = tokio::time::timeout(INTERVAL, shard.next_event()).await;
    }
    assert!(shard.latency().last.is_some(), "healthy beats were ACKed");
    assert_eq!(
        seen.count(|n| matches!(n, Notice::Zombie { .. })),
        0,
        "no false alarm"
    );

    let injected = Instant::now().into_std();
    let zombie = Duration::from_secs(600).as_millis() as u64;
    assert_eq!(
        emu.inject_fault(
            0,
            Fault::Zombie {
                duration_ms: zombie
            }
        ),
        1
    );
    emu::until_notice(&mut shard, &mut seen, |n| {
        matches!(n, Notice::Zombie { .. })
    })
    .await;
    let detected = Instant::now().into_std();
    let Some(Notice::Zombie { since }) = seen.notices.last().cloned() else {
        panic!("zombie notice");
    };
    assert!(
        since >= injected,
        "the unanswered beat went out after the fault"
    );
    assert_eq!(
        detected - since,
        INTERVAL,
        "detected one interval after the unanswered beat"
    );
    assert!(
        detected - injected <= INTERVAL * 2,
        "within two intervals of the fault"
    );

    emu::until_notice(&mut shard, &mut seen, |n| {
        matches!(n, Notice::Resumed { .. })
    })
    .await;
    assert!(
        seen.notices
            .iter()
            .any(|n| emu::is_disconnect(n, &DisconnectCause::Zombie)),
        "the disconnect names the zombie"
    );
    assert_eq!(
        emu.violations().heartbeat_timeout,
        0,
        "the client noticed first"
    );
    assert_eq!((emu.stats().identifies, emu.stats().resumes), (1, 1));
}
