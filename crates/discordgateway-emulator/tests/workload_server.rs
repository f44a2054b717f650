//! The server on the seeded workload: identical bytes across runs, tagged dispatches
//! delivered exactly once and in order, GUILD_CREATE variants by intents and
//! `large_threshold` (§9.2), READY's `v`, and pacing by the workload's `Rate`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, sized, start, world};
use discordgateway_emulator::{
    EmulatorConfig,
    workload::{Rate, WorkloadConfig, read_tag, split_tag},
};
use serde_json::{Value, json};

/// Every documented intent (privileged ones included).
const ALL_INTENTS: u64 = 53_608_447;
const GUILDS: u64 = 1;
const GUILD_PRESENCES: u64 = 1 << 8;

/// A config with `events` generated dispatches per shard over 6 guilds and 2 shards.
fn busy(events: u64) -> EmulatorConfig {
    let base = sized(6, 20);
    EmulatorConfig {
        shards: 2,
        workload: WorkloadConfig {
            seed: 99,
            events_per_shard: Some(events),
            ..base.workload.clone()
        },
        ..base
    }
}

/// Identifies on `shard` and returns every text frame up to and including the last
/// generated dispatch, with READY's `resume_gateway_url` (it names the port) blanked.
async fn script(config: EmulatorConfig, shard: [u32; 2], events: usize) -> Vec<String> {
    let guilds = world(&config).guilds_for_shard(shard[0], shard[1]).count();
    let handle = start(config).await;
    let mut c = Client::hello(&handle).await;
    c.identify("token", ALL_INTENTS, Some(shard)).await;
    let mut frames = Vec::new();
    while frames.len() < 1 + guilds + events {
        let m = c.recv_raw().await.unwrap();
        frames.push(m.as_text().unwrap().to_owned());
    }
    frames[0] = frames[0].replace(&handle.url(), "ws://emulator");
    frames
}

#[tokio::test]
async fn a_seeded_workload_is_identical_across_runs() {
    const EVENTS: usize = 300;
    let first = script(busy(EVENTS as u64), [0, 2], EVENTS).await;
    let second = script(busy(EVENTS as u64), [0, 2], EVENTS).await;
    assert_eq!(first.len(), second.len());
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        assert_eq!(a, b, "frame {i} differs between runs");
    }
    // A different seed gives a different stream.
    let mut other = busy(EVENTS as u64);
    other.workload.seed = 100;
    let third = script(other, [0, 2], EVENTS).await;
    assert_ne!(first.last(), third.last(), "the seed changes the stream");
}

#[tokio::test]
async fn generated_dispatches_carry_their_tags_in_order() {
    const EVENTS: u64 = 500;
    let config = busy(EVENTS);
    for shard in [0u32, 1] {
        let frames = script(config.clone(), [shard, 2], EVENTS as usize).await;
        let generated = &frames[frames.len() - EVENTS as usize..];
        let mut last_seq = 0;
        for (position, frame) in generated.iter().enumerate() {
            let v: Value = serde_json::from_str(frame).unwrap();
            let tag = read_tag(frame.as_bytes()).unwrap();
            assert_eq!(
                split_tag(tag),
                (shard, position as u64),
                "shard {shard} event {position}: {v}"
            );
            let seq = v["s"].as_u64().unwrap();
            assert!(seq > last_seq, "sequence numbers increase");
            last_seq = seq;
            if let Some(g) = v["d"]["guild_id"].as_str() {
                let g: u64 = g.parse().unwrap();
                assert_eq!((g >> 22) % 2, u64::from(shard), "routed by guild id");
            } else {
                assert_eq!(shard, 0, "guild-less events go to shard 0");
            }
        }
    }
}

#[tokio::test]
async fn guild_create_follows_presences_and_large_threshold() {
    let config = sized(1, 120);
    let world = world(&config);
    let guild = &world.guilds()[0];
    let handle = start(config).await;
    // (name, intents, large_threshold, members listed, large)
    let large_listed = guild
        .members()
        .iter()
        .filter(|m| {
            m.is_bot()
                || m.status() != discordgateway_emulator::workload::Status::Offline
                || !m.roles().is_empty()
                || m.nick().is_some()
        })
        .count();
    let cases: &[(&str, u64, Option<u32>, usize, bool)] = &[
        ("no presences: only the bot", GUILDS, None, 1, true),
        (
            "presences, small guild",
            GUILDS | GUILD_PRESENCES,
            Some(250),
            120,
            false,
        ),
        (
            "presences, large guild",
            GUILDS | GUILD_PRESENCES,
            Some(50),
            large_listed,
            true,
        ),
        (
            "threshold clamped to 250",
            GUILDS | GUILD_PRESENCES,
            Some(9999),
            120,
            false,
        ),
    ];
    for (name, intents, threshold, listed, large) in cases {
        let mut c = Client::hello(&handle).await;
        let mut d = json!({"token": "t", "intents": intents, "properties": {}});
        if let Some(t) = threshold {
            d["large_threshold"] = json!(t);
        }
        c.send(&json!({"op": 2, "d": d})).await;
        assert_eq!(c.recv().await["t"], "READY", "case {name}");
        let create = c.recv().await;
        assert_eq!(create["t"], "GUILD_CREATE", "case {name}");
        let d = &create["d"];
        assert_eq!(
            d["members"].as_array().unwrap().len(),
            *listed,
            "case {name}"
        );
        assert_eq!(d["large"], *large, "case {name}");
        assert_eq!(d["member_count"], 120, "case {name}");
    }
}

#[tokio::test]
async fn ready_echoes_the_api_version() {
    const CASES: &[(&str, &str, u64)] = &[
        ("v=10", "/?v=10&encoding=json", 10),
        ("v=9", "/?v=9&encoding=json", 9),
        ("missing v", "/?encoding=json", 10),
    ];
    let handle = start(sized(1, 5)).await;
    for (name, query, want) in CASES {
        let mut c = Client::connect(&handle, query).await;
        assert_eq!(c.recv().await["op"], 10, "case {name}");
        c.identify("t", GUILDS, None).await;
        let ready = c.recv().await;
        assert_eq!(ready["d"]["v"], *want, "case {name}");
        assert_eq!(
            ready["d"]["user"]["id"],
            handle_bot_id(&handle).await,
            "case {name}: READY's user is the workload's bot"
        );
    }
}

/// The bot id `GET /users/@me` reports.
async fn handle_bot_id(handle: &discordgateway_emulator::EmulatorHandle) -> Value {
    let (status, _, me) =
        common::http(handle, "GET", "/api/v10/users/@me", Some("Bot t"), None).await;
    assert_eq!(status, 200);
    me["id"].clone()
}

#[tokio::test(start_paused = true)]
async fn a_per_second_rate_paces_the_stream() {
    let base = sized(1, 5);
    let handle = start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: None,
            rate: Rate::PerSecond(100.0),
            ..base.workload.clone()
        },
        ..base
    })
    .await;
    let (mut c, _) = Client::ready(&handle, ALL_INTENTS, None).await;
    c.recv().await; // GUILD_CREATE
    let start = tokio::time::Instant::now();
    for _ in 0..201 {
        let v = c.recv().await;
        assert!(read_tag(v.to_string().as_bytes()).is_some(), "{v}");
    }
    let elapsed = start.elapsed();
    assert!(
        (Duration::from_millis(1_990)..=Duration::from_millis(2_100)).contains(&elapsed),
        "201 events at 100/s take 2 s of (paused) time, took {elapsed:?}"
    );
}
