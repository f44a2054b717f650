#![allow(clippy::print_stdout)] // a benchmark: its output is the result
//! Startup benchmark (not a test): time until all N shards are READY through the shard
//! manager against the in-process emulator, compared with the floor
//! `ceil(N / max_concurrency) × window` that the identify limit imposes (GATEWAY.md §5).
//!
//! Run: `cargo run --release -p discordgateway --example startup_bench [N] [MAX_CONCURRENCY] [WINDOW_MS]`
//! (defaults 64, 16, 500). Real time, loopback; prints the ratio measured / floor.
//! The floor counts the first round at t = 0, so it is `(rounds - 1) × window` plus one
//! handshake; the ratio reported uses `rounds × window` as the issue defines it.

use std::time::{Duration, Instant};

use discordgateway::proto::config::Config;
use discordgateway::{EventSet, EventType, GatewayUrl, ShardManager, Token};
use discordgateway_emulator::workload::{Mix, WorkloadConfig};
use discordgateway_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let n = u32::try_from(args.next().transpose()?.unwrap_or(64))?;
    let mc = u32::try_from(args.next().transpose()?.unwrap_or(16))?;
    let window = Duration::from_millis(args.next().transpose()?.unwrap_or(500));
    let emulator = Emulator::start(
        "127.0.0.1:0",
        EmulatorConfig {
            shards: n,
            max_concurrency: mc,
            identify_window: window,
            workload: WorkloadConfig {
                guilds: n * 2,
                // Only MESSAGE_CREATE, so every generated dispatch is one the tests declare.
                mix: Mix {
                    message_create: 1.0,
                    ..Mix::none()
                },
                ..EmulatorConfig::default().workload
            },
            ..EmulatorConfig::default()
        },
    )
    .await?;
    let core = Config::builder(Token::new("MTAx.bench.token")?)
        .guild_events(EventSet::from_slice(&[EventType::from_wire(
            "GUILD_CREATE",
        )]))
        .default_url(GatewayUrl::parse(&emulator.url())?);
    let start = Instant::now();
    let mut manager = ShardManager::builder(core)
        .total(n)
        .identify_window(mc, window)
        .start()
        .await?;
    while !manager.status().all_ready() {
        if let Some(Err(failure)) = manager.next_event().await {
            return Err(failure.into());
        }
    }
    let took = start.elapsed();
    let rounds = n.div_ceil(mc);
    let floor = window * rounds;
    println!(
        "N={n} max_concurrency={mc} window={}ms: all READY after {:.3} s; floor {rounds}×{}ms = {:.3} s; ratio {:.3}; identify violations {}",
        window.as_millis(),
        took.as_secs_f64(),
        window.as_millis(),
        floor.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64(),
        emulator.violations().identify_concurrency,
    );
    manager.shutdown().await?;
    Ok(())
}
