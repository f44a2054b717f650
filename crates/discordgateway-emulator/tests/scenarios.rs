//! Scripted scenarios played by the server (paused time): the example files, per-shard
//! clocks, and steps for shards the emulator does not run.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, sized, start};
use discordgateway_emulator::{EmulatorConfig, scenario::Scenario};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep_until};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
const MESSAGE_CONTENT: u64 = 1 << 15;

/// Loads one of the crate's example scenario files.
fn example(name: &str) -> Scenario {
    Scenario::load(format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Asserts that `frame` arrived `at_ms` after `t0` (paused time: within a few ms).
fn arrived_at(t0: Instant, at_ms: u64, what: &str) {
    let elapsed = t0.elapsed();
    let at = Duration::from_millis(at_ms);
    assert!(
        elapsed >= at && elapsed < at + Duration::from_millis(50),
        "{what} due at {at:?}, arrived at {elapsed:?}"
    );
}

/// A one-shard emulator with no guilds playing `scenario`.
async fn emulator(scenario: Scenario, shards: u32) -> discordgateway_emulator::EmulatorHandle {
    start(EmulatorConfig {
        scenario,
        shards,
        ..sized(0, 2)
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_example_scenario_plays_on_time() {
    let handle = emulator(example("example.json"), 1).await;
    let intents = GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_TYPING | MESSAGE_CONTENT;
    let (mut c, ready) = Client::ready(&handle, intents, None).await;
    let t0 = Instant::now();
    let session_id = ready["d"]["session_id"].clone();

    let message = c.recv().await;
    assert_eq!(message["t"], "MESSAGE_CREATE");
    assert_eq!(message["d"]["content"], "hello from a scenario");
    arrived_at(t0, 0, "MESSAGE_CREATE");
    let typing = c.recv().await;
    assert_eq!(typing["t"], "TYPING_START");
    arrived_at(t0, 500, "TYPING_START");
    assert_eq!(c.recv().await["op"], 7);
    arrived_at(t0, 800, "reconnect");
    drop(c);

    let mut c = Client::hello(&handle).await;
    c.send(&json!({"op": 6, "d": {"token": "t", "session_id": session_id, "seq": typing["s"]}}))
        .await;
    assert_eq!(c.recv().await["t"], "RESUMED");
    // Zombie from 3 s for 5 s: a heartbeat at 4 s is not acknowledged; the next frame is
    // the resumable op 9 at 12 s, then the close at 15 s.
    sleep_until(t0 + Duration::from_millis(4_000)).await;
    c.send(&json!({"op": 1, "d": typing["s"]})).await;
    let next = c.recv().await;
    assert_eq!(
        (next["op"].as_u64(), next["d"].as_bool()),
        (Some(9), Some(true))
    );
    arrived_at(t0, 12_000, "invalid session");
    assert_eq!(c.close_code().await, Some(4000));
    arrived_at(t0, 15_000, "close 4000");
}

#[tokio::test(start_paused = true)]
async fn the_json_lines_example_plays_on_time() {
    let handle = emulator(example("example.jsonl"), 1).await;
    let (mut c, _) = Client::ready(&handle, GUILD_MESSAGE_TYPING, None).await;
    let t0 = Instant::now();
    assert_eq!(c.recv().await["t"], "TYPING_START");
    arrived_at(t0, 0, "TYPING_START");
    assert_eq!(c.recv().await["op"], 7);
    arrived_at(t0, 1_000, "reconnect");
    assert_eq!(c.close_code().await, None, "dropped without a close frame");
    arrived_at(t0, 2_000, "drop");
}

#[tokio::test(start_paused = true)]
async fn each_shard_has_its_own_clock_and_unknown_shards_are_skipped() {
    let scenario = Scenario::from_json(
        r#"{"at_ms": 100, "shard": 0, "dispatch": {"t": "INTERACTION_CREATE", "d": {"n": 0}}}
{"at_ms": 100, "shard": 1, "dispatch": {"t": "INTERACTION_CREATE", "d": {"n": 1}}}
{"at_ms": 0, "shard": 5, "dispatch": {"t": "INTERACTION_CREATE", "d": {"n": 5}}}
{"at_ms": 300, "shard": 5, "fault": {"kind": "close", "code": 4000}}"#,
    )
    .unwrap();
    assert_eq!(scenario.out_of_range(2).count(), 2);
    let handle = emulator(scenario, 2).await;
    let (mut first, _) = Client::ready(&handle, 0, Some([0, 2])).await;
    let t0 = Instant::now();
    let got = first.recv().await;
    assert_eq!(got["d"], json!({"n": 0}));
    arrived_at(t0, 100, "shard 0's step");

    sleep_until(t0 + Duration::from_millis(1_000)).await;
    let (mut second, _) = Client::ready(&handle, 0, Some([1, 2])).await;
    let t1 = Instant::now();
    let got = second.recv().await;
    assert_eq!(got["d"], json!({"n": 1}));
    arrived_at(t1, 100, "shard 1's step, timed from shard 1's READY");

    // Nothing else arrived on either shard: the next frame is a marker injected now.
    sleep_until(t1 + Duration::from_millis(2_000)).await;
    for (shard, c) in [(0, &mut first), (1, &mut second)] {
        handle.dispatch("INTERACTION_CREATE", &json!({"marker": true}), Some(shard));
        let next: Value = c.recv().await;
        assert_eq!(next["d"], json!({"marker": true}), "shard {shard}");
    }
}
