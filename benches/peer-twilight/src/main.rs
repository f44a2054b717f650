//! Peer harness: `discordgateway bench`'s measurement with twilight-gateway shards.
//!
//! It connects N twilight-gateway shards (one tokio task each, on a current-thread runtime
//! like ours) to an emulator that is already running (`--url`, started by
//! `benches/compare.sh`), waits for READY and the GUILD_CREATE burst, then for `--events`
//! dispatches per shard, and prints the same JSON as `discordgateway bench --json`. The
//! measurement code is `crates/discordgateway-cli/src/bench/measure.rs`, included below, so
//! both sides are counted identically (counting allocator, `getrusage`, `VmRSS`).
//!
//! Delivery modes, twilight's fairest for each:
//! - `--subscribe all`: raw delivery, `Stream::next` gives every message as a `String`;
//! - `--subscribe none`: twilight's own filtering, `next_event(EventTypeFlags::empty())`;
//! - `--subscribe LIST`: `next_event` with those flags (twilight then deserializes them into
//!   twilight-model types: not raw).
//!
//! Compression is chosen when building, as twilight does: `--features zstd` or
//! `--features zlib` (none: no feature); `--compress` must match. twilight-gateway has no ETF.
#![allow(clippy::print_stderr)]

#[path = "../../../crates/discordgateway-cli/src/bench/measure.rs"]
#[allow(dead_code, unreachable_pub)]
mod measure;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use futures_util::StreamExt as _;
use measure::{Measured, Subscribe, Window, ready_guild_count};
use tokio::sync::watch;
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{
    ConfigBuilder, EventType, EventTypeFlags, Intents, Message, Shard, ShardId, StreamExt as _,
};

/// Counts allocations exactly as `discordgateway bench` does.
#[global_allocator]
static ALLOCATOR: measure::CountingAlloc = measure::CountingAlloc;

/// The compression this binary was built with.
const COMPILED: &str = if cfg!(feature = "zstd") {
    "zstd"
} else if cfg!(feature = "zlib") {
    "zlib"
} else {
    "none"
};

/// Flags (a subset of `discordgateway bench`'s; `--url` is required).
#[derive(Debug, Parser)]
#[command(name = "peer-twilight", about)]
struct Args {
    /// The running emulator's ws:// URL.
    #[arg(long)]
    url: String,
    /// Shards to connect.
    #[arg(long, default_value_t = 1)]
    shards: u32,
    /// Dispatches per shard after READY and the guild burst.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Must match the compiled feature (zstd, zlib or none).
    #[arg(long, default_value = COMPILED)]
    compress: String,
    /// json only.
    #[arg(long, default_value = "json")]
    encoding: String,
    /// all, none or a list of wire names.
    #[arg(long, default_value = "all", value_parser = Subscribe::parse)]
    subscribe: Subscribe,
    /// Print one JSON object as the last stdout line.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// Shared by every shard task.
#[derive(Debug)]
struct Plan {
    /// Emulator URL.
    url: String,
    /// Shard count.
    shards: u32,
    /// Steady-state filter (`None`: raw delivery).
    flags: Option<EventTypeFlags>,
    /// Dispatches per shard.
    events: u64,
    /// Identify queue: one bucket per shard, so nobody waits.
    queue: InMemoryQueue,
}

/// Runs the measurement.
async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.compress == COMPILED,
        "this build uses compress={COMPILED}; rebuild with --features {} to measure it",
        args.compress
    );
    anyhow::ensure!(
        args.encoding == "json",
        "twilight-gateway supports JSON only"
    );
    let flags = match &args.subscribe {
        Subscribe::All => None,
        Subscribe::None => Some(EventTypeFlags::empty()),
        Subscribe::List(names) => Some(list_flags(names)?),
    };
    measure::raise_fd_limit();
    let max_concurrency = u16::try_from(args.shards).unwrap_or(u16::MAX);
    let plan = Arc::new(Plan {
        url: args
            .url
            .split('?')
            .next()
            .unwrap_or(&args.url)
            .trim_end_matches('/')
            .to_owned(),
        shards: args.shards,
        flags,
        events: args.events,
        queue: InMemoryQueue::new(
            max_concurrency,
            100_000,
            Duration::from_secs(86_400),
            100_000,
        ),
    });
    let emulator_before = measure::emulator_stats(&args.url).await;
    let run = measure::run_shards(args.shards, |id, window, release| {
        shard_task(id, plan.clone(), window, release)
    })
    .await?;
    let measured = Measured {
        client: "twilight-gateway",
        shards: args.shards as usize,
        compress: args.compress.clone(),
        encoding: args.encoding.clone(),
        subscribe: args.subscribe.clone(),
        run,
        emulator_before,
        emulator: measure::emulator_stats(&args.url).await,
    };
    measure::print_report(&measured.to_json(), args.json)?;
    Ok(())
}

/// twilight's flags for a list of wire names.
fn list_flags(names: &[String]) -> anyhow::Result<EventTypeFlags> {
    names.iter().try_fold(EventTypeFlags::empty(), |acc, name| {
        let kind: EventType = serde_json::from_value(serde_json::Value::String(name.clone()))
            .with_context(|| format!("twilight does not know the event {name}"))?;
        Ok(acc | EventTypeFlags::from(kind))
    })
}

/// The last sequence number the shard saw.
fn sequence(shard: &Shard<InMemoryQueue>) -> u64 {
    shard.session().map_or(0, |s| s.sequence())
}

/// Reads the envelope's `t` and `d` of a raw message (bootstrap only, not measured).
fn probe(text: &str) -> Option<(String, Box<serde_json::value::RawValue>)> {
    #[derive(serde::Deserialize)]
    struct Probe {
        t: Option<String>,
        d: Option<Box<serde_json::value::RawValue>>,
    }
    let p: Probe = serde_json::from_str(text).ok()?;
    Some((p.t?, p.d?))
}

/// One shard: READY and its burst, then `plan.events` dispatches, then idle until released.
async fn shard_task(
    id: u32,
    plan: Arc<Plan>,
    window: Arc<Window>,
    mut release: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let config = ConfigBuilder::new(super_token(), Intents::all())
        .proxy_url(plan.url.clone())
        .queue(plan.queue.clone())
        .build();
    let mut shard = Shard::with_config(ShardId::new(id, plan.shards), config);
    let mut burst_left: Option<usize> = None;
    while burst_left != Some(0) {
        let message = shard.next().await.context("the shard stream ended")??;
        if let Message::Text(text) = message
            && let Some((t, d)) = probe(&text)
        {
            match t.as_str() {
                "READY" => burst_left = Some(ready_guild_count(d.get().as_bytes())),
                "GUILD_CREATE" => burst_left = burst_left.map(|n| n.saturating_sub(1)),
                _ => {}
            }
        }
    }
    window.bootstrapped();
    let base = sequence(&shard);
    let mut reported = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while reported < plan.events {
        match plan.flags {
            None => tokio::select! {
                biased;
                message = shard.next() => {
                    drop(std::hint::black_box(message.context("the shard stream ended")??));
                }
                _ = tick.tick() => {}
            },
            Some(flags) => tokio::select! {
                biased;
                event = shard.next_event(flags) => {
                    drop(std::hint::black_box(event.context("the shard stream ended")??));
                }
                _ = tick.tick() => {}
            },
        }
        let now = sequence(&shard).saturating_sub(base);
        window.add(now.saturating_sub(reported));
        reported = reported.max(now);
    }
    window.finished();
    let _ = release.wait_for(|done| *done).await;
    Ok(())
}

/// The token (the emulator accepts any non-empty token).
fn super_token() -> String {
    "MTAx.bench.token".to_owned()
}
