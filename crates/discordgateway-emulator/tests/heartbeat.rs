//! Heartbeats: ACKs, closing a silent connection, the zombie fault (GATEWAY.md §3.3).
//! Paused time: the clock jumps to the next timer whenever the runtime is idle.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, start};
use discordgateway_emulator::{EmulatorConfig, Fault};
use serde_json::json;
use tokio::time::Instant;

fn config() -> EmulatorConfig {
    EmulatorConfig {
        heartbeat_interval: Duration::from_secs(40),
        ..EmulatorConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_heartbeating_is_closed_resumably_after_one_and_a_half_intervals() {
    let handle = start(config()).await;
    let (mut c, _) = Client::ready(&handle, 1, None).await;
    let start = Instant::now();
    assert_eq!(c.close_code().await, Some(4000));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(59),
        "closed after {waited:?}, grace is 60 s"
    );
    assert!(
        waited <= Duration::from_secs(61),
        "closed after {waited:?}, grace is 60 s"
    );
    assert_eq!(handle.violations().heartbeat_timeout, 1);
    assert_eq!(handle.stats().sessions, 1, "the session stays resumable");
}

#[tokio::test(start_paused = true)]
async fn heartbeats_are_acked_and_keep_the_connection_open() {
    let handle = start(config()).await;
    let mut c = Client::hello(&handle).await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(40)).await;
        c.send(&json!({"op": 1, "d": null})).await;
        assert_eq!(c.recv().await["op"], 11);
    }
    assert_eq!(handle.violations().heartbeat_timeout, 0);
}

#[tokio::test(start_paused = true)]
async fn the_zombie_fault_withholds_acks_for_its_duration() {
    let handle = start(EmulatorConfig {
        heartbeat_interval: Duration::from_secs(400),
        ..EmulatorConfig::default()
    })
    .await;
    let (mut c, _) = Client::ready(&handle, 0, None).await;
    assert_eq!(
        handle.inject_fault(
            0,
            Fault::Zombie {
                duration_ms: 10_000
            }
        ),
        1
    );
    c.send(&json!({"op": 1, "d": 1})).await;
    handle.dispatch("INTERACTION_CREATE", &json!({"marker": 1}), Some(0));
    let next = c.recv().await;
    assert_eq!(
        next["t"], "INTERACTION_CREATE",
        "no ACK during the zombie period: {next}"
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    c.send(&json!({"op": 1, "d": 2})).await;
    assert_eq!(
        c.recv().await["op"],
        11,
        "ACKs resume after the zombie period"
    );
}
