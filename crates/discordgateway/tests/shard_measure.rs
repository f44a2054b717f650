//! Measurements against the emulator on loopback, not assertions. Run in release:
//! `cargo test -p discordgateway --release --test shard_measure -- --ignored --nocapture`.
//!
//! - time from `Shard::new` to the first dispatch (connect, Hello, Identify, READY, first
//!   GUILD_CREATE), median of 20 fresh emulators;
//! - resume after a TCP drop: from `inject_fault(Drop)` until RESUMED is returned, median of
//!   20 drops on one session.
//!
//! Real time (no paused clock); the emulator runs in the same current-thread runtime.
#![allow(clippy::print_stdout)]

mod support;

use std::time::{Duration, Instant};

use discordgateway::{Event, Notice};
use discordgateway_emulator::{EmulatorConfig, Fault};
use support::emu;

/// Runs per measurement.
const RUNS: usize = 20;

/// The median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
async fn time_to_first_event_and_resume_after_tcp_drop() {
    let mut first = Vec::new();
    for _ in 0..RUNS {
        let emu = emu::start(EmulatorConfig::default()).await;
        let start = Instant::now();
        let mut shard = emu::shard(&emu);
        while !matches!(shard.next_event().await.expect("ok"), Event::Dispatch(_)) {}
        first.push(start.elapsed());
        emu.shutdown();
    }
    println!(
        "time from Shard::new to the first dispatch: median {:?} of {RUNS} (min {:?}, max {:?})",
        median(first.clone()),
        first.iter().min(),
        first.iter().max()
    );

    let emu = emu::start(EmulatorConfig::default()).await;
    let mut shard = emu::shard(&emu);
    while !matches!(shard.next_event().await.expect("ok"), Event::Dispatch(_)) {}
    let mut resumes = Vec::new();
    for _ in 0..RUNS {
        let dropped = Instant::now();
        assert_eq!(emu.inject_fault(0, Fault::Drop), 1);
        while !matches!(
            shard.next_event().await.expect("ok"),
            Event::Notice(Notice::Resumed { .. })
        ) {}
        resumes.push(dropped.elapsed());
    }
    assert_eq!(shard.stats().resumes, RUNS as u64);
    assert_eq!(emu.stats().identifies, 1);
    println!(
        "resume after a TCP drop (fault injected -> RESUMED returned): median {:?} of {RUNS} (min {:?}, max {:?})",
        median(resumes.clone()),
        resumes.iter().min(),
        resumes.iter().max()
    );
}
