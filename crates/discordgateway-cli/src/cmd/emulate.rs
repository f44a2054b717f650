//! `discordgateway emulate`: runs the emulator until Ctrl-C. The first stdout line is exactly
//! the `ws://` URL it serves, so scripts can read it.

use std::{io::Write as _, time::Duration};

use anyhow::Context as _;
use discordgateway_emulator::{Emulator, EmulatorConfig, scenario::Scenario, workload::Rate};

/// Flags of `emulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Recommended shard count reported by /gateway/bot.
    #[arg(long, default_value_t = 1)]
    shards: u32,
    /// Number of guilds the bot is in.
    #[arg(long, default_value_t = 4)]
    guilds: u32,
    /// Identifies allowed per bucket per identify window.
    #[arg(long, default_value_t = 1)]
    max_concurrency: u32,
    /// Heartbeat interval sent in Hello, in milliseconds.
    #[arg(long, default_value_t = 41_250)]
    heartbeat_ms: u64,
    /// Identify concurrency window, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    identify_window_ms: u64,
    /// Generated dispatches each new session receives.
    #[arg(long, default_value_t = 0)]
    events_per_shard: u64,
    /// Events per second per session, or `max`.
    #[arg(long, default_value = "max")]
    rate: Rate,
    /// Seed for everything generated (default: the workload's default seed).
    #[arg(long)]
    seed: Option<u64>,
    /// A scenario file (dispatches and faults at times; JSON array or JSON Lines). Each
    /// shard's clock starts at its first READY.
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
    /// Memory for the generate-once stream cache and its pre-built frames, in MiB, over all
    /// shards. Sessions read the cached stream at a fraction of the cost of generating it;
    /// past the budget they generate live. Benchmarks should fit their whole run (about
    /// 2.3 KiB per event of the default workload).
    #[arg(long, default_value_t = 256)]
    cache_mb: usize,
    /// Keep pre-built frames in ordinary memory instead of a memory file sent with
    /// `sendfile` (Linux): costs the emulator more CPU per event, and the client's kernel
    /// then copies data the emulator just wrote.
    #[arg(long)]
    no_sendfile: bool,
}

/// Runs the emulator until Ctrl-C.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path)
            .with_context(|| format!("loading the scenario {}", path.display()))?,
        None => Scenario::default(),
    };
    let total = args.shards.max(1);
    for step in scenario.out_of_range(total) {
        eprintln!(
            "warning: scenario step at {} ms targets shard {} but the emulator runs {total}; skipped",
            step.at.as_millis(),
            step.target_shard(total)
        );
    }
    let defaults = EmulatorConfig::default();
    let config = EmulatorConfig {
        shards: args.shards,
        max_concurrency: args.max_concurrency,
        heartbeat_interval: Duration::from_millis(args.heartbeat_ms),
        identify_window: Duration::from_millis(args.identify_window_ms),
        workload: discordgateway_emulator::workload::WorkloadConfig {
            guilds: args.guilds,
            events_per_shard: Some(args.events_per_shard),
            rate: args.rate,
            seed: args.seed.unwrap_or(defaults.workload.seed),
            ..defaults.workload.clone()
        },
        scenario,
        stream_cache_bytes: args.cache_mb.saturating_mul(1 << 20),
        send_files: !args.no_sendfile,
        ..defaults
    };
    let handle = Emulator::start(args.listen.as_str(), config)
        .await
        .with_context(|| format!("starting the emulator on {}", args.listen))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", handle.url())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "emulating the gateway at {} (REST and control at {}); Ctrl-C to stop",
        handle.url(),
        handle.http_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    let stats = handle.stats();
    let cpu = stats.cpu_seconds.map_or(String::new(), |cpu| {
        let per = if stats.events_sent > 0 {
            let ns = cpu * 1e9 / stats.events_sent as f64;
            format!(", {ns:.0} ns per dispatch")
        } else {
            String::new()
        };
        format!("; {cpu:.2} s of CPU since start (world generation included){per}")
    });
    eprintln!(
        "sent {} dispatches ({:.0} per second from the first to the last){cpu}",
        stats.events_sent, stats.send_rate
    );
    handle.shutdown();
    Ok(())
}
