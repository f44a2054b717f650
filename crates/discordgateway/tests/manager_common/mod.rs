//! What the shard-manager tests share: an emulator with a short identify window, a manager
//! builder pointed at it, a tagged workload and a loop that consumes until every shard is ready.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use discordgateway::proto::config::{Config, ConfigBuilder};
use discordgateway::{
    Event, EventSet, EventType, GatewayUrl, ManagerBuilder, Notice, ShardEvent, ShardManager, Token,
};
use discordgateway_emulator::workload::{Mix, WorkloadConfig, read_tag};
use discordgateway_emulator::{Emulator, EmulatorConfig, EmulatorHandle};

/// The identify window both sides use.
pub const WINDOW: Duration = Duration::from_millis(500);

/// Starts an emulator from `config` with the short window.
pub async fn emulator_with(config: EmulatorConfig) -> EmulatorHandle {
    let config = EmulatorConfig {
        identify_window: WINDOW,
        ..config
    };
    Emulator::start("127.0.0.1:0", config)
        .await
        .expect("emulator")
}

/// Starts an emulator with `max_concurrency`, `guilds` and the short window.
pub async fn emulator(max_concurrency: u32, guilds: u32) -> EmulatorHandle {
    emulator_with(EmulatorConfig {
        max_concurrency,
        workload: WorkloadConfig {
            guilds,
            // Only MESSAGE_CREATE, so every generated dispatch is one the tests declare.
            mix: Mix {
                message_create: 1.0,
                ..Mix::none()
            },
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    })
    .await
}

/// A core template for the emulator declaring GUILD_CREATE and MESSAGE_CREATE.
pub fn core(emulator: &EmulatorHandle) -> ConfigBuilder {
    let events = EventSet::from_slice(&[
        EventType::from_wire("GUILD_CREATE"),
        EventType::from_wire("MESSAGE_CREATE"),
    ]);
    Config::builder(Token::new("MTAx.manager.test").expect("token"))
        .guild_events(events)
        .default_url(GatewayUrl::parse(&emulator.url()).expect("url"))
}

/// A manager builder for `total` shards at `max_concurrency`.
pub fn builder(emulator: &EmulatorHandle, total: u32, max_concurrency: u32) -> ManagerBuilder {
    ShardManager::builder(core(emulator))
        .total(total)
        .identify_window(max_concurrency, WINDOW)
        .configure_shards(|b| b.seed(11))
        .guild_burst_quiet(Duration::from_millis(300))
}

/// Consumes events until every shard is ready; returns them. Panics on a shard failure.
pub async fn until_all_ready(manager: &mut ShardManager) -> Vec<ShardEvent> {
    let mut seen = Vec::new();
    let wait = async {
        while !manager.status().all_ready() {
            seen.push(next_ok(manager).await);
        }
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .expect("all shards ready in time");
    seen
}

/// The next event; panics on a shard failure or when every shard ended.
pub async fn next_ok(manager: &mut ShardManager) -> ShardEvent {
    match manager.next_event().await {
        Some(Ok(ev)) => ev,
        Some(Err(failure)) => panic!("unexpected failure: {failure}"),
        None => panic!("every shard ended"),
    }
}

/// Injects MESSAGE_CREATE number `tag` into guild `tag % guilds` (so it routes by guild).
pub fn dispatch_tag(emulator: &EmulatorHandle, tag: u64, guilds: u64) -> usize {
    let guild = (tag % guilds) << 22;
    let data = serde_json::json!({
        "id": (tag + 1).to_string(), "guild_id": guild.to_string(),
        "channel_id": "1", "content": "hi", "author": {"id": "5"},
        "emulator_tag": tag,
    });
    emulator.dispatch("MESSAGE_CREATE", &data, None)
}

/// The workload tag of a dispatch, if it carries one.
pub fn tag_of(ev: &ShardEvent) -> Option<u64> {
    match &ev.event {
        Event::Dispatch(d) => read_tag(d.raw()),
        Event::Notice(_) => None,
    }
}

/// Asserts that every tag was counted exactly once.
pub fn assert_each_once(counts: &[u32]) {
    let wrong: Vec<(usize, u32)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 1)
        .map(|(t, c)| (t, *c))
        .collect();
    assert!(
        wrong.is_empty(),
        "tags not delivered exactly once (tag, count): {wrong:?}"
    );
}

/// Consumes events until a notice matching `wanted` arrives (within 60 s); returns its shard.
pub async fn until_notice(
    manager: &mut ShardManager,
    wanted: impl Fn(u32, &Notice) -> bool,
) -> u32 {
    let wait = async {
        loop {
            let ev = next_ok(manager).await;
            if let Event::Notice(notice) = &ev.event
                && wanted(ev.shard.number(), notice)
            {
                return ev.shard.number();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the notice arrived in time")
}
