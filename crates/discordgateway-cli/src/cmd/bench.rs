//! `discordgateway bench`: end-to-end throughput, CPU, memory and allocations of N shards
//! against the emulator, plus the decompression-only floor of the same byte stream.
//!
//! The emulator runs as a separate process (this executable's `emulate`), so the CPU time
//! read from `getrusage` is the client's alone; `--url` uses an emulator that is already
//! running instead. The method (window, counters) is described in `bench::measure` and in
//! BENCHMARKS.md at the repository root.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use discordgateway::proto::Compression;
use discordgateway::{GatewayUrl, LocalIdentifyQueue};

use crate::bench::measure::{self, Measured, Subscribe};
use crate::bench::{ChildEmulator, Plan, floor, shard_task};

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Shards to connect, one tokio task each.
    #[arg(long, default_value_t = 1)]
    shards: u32,
    /// Dispatches per shard after READY and the guild burst (0: only measure idle memory).
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Transport compression: none, zlib or zstd.
    #[arg(long, default_value = "zstd", value_parser = ["none", "zlib", "zstd"])]
    compress: String,
    /// Payload encoding: json (etf is not supported yet).
    #[arg(long, default_value = "json", value_parser = ["json", "etf"])]
    encoding: String,
    /// Events delivered to the bench: all, none, or a list such as MESSAGE_CREATE,TYPING_START.
    #[arg(long, default_value = "all", value_parser = Subscribe::parse)]
    subscribe: Subscribe,
    /// Print one JSON object as the last stdout line.
    #[arg(long)]
    json: bool,
    /// Use this running emulator (its workload decides the traffic) instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Guilds per shard in the started emulator.
    #[arg(long, default_value_t = 4)]
    guilds_per_shard: u32,
    /// Seed of the started emulator's workload.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Skip the decompression-only floor.
    #[arg(long)]
    no_floor: bool,
    /// Also measure the counting allocator's own cost per allocation (about 0.1 s).
    #[arg(long)]
    alloc_overhead: bool,
    /// Tokio worker threads for the shards (0: a current-thread runtime).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// Runs the benchmark on its own runtime (current-thread unless `--threads`).
pub(crate) fn main(args: Args) -> anyhow::Result<()> {
    let runtime = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(args))
}

/// The `--compress` value as the core's compression.
pub(crate) fn compression(name: &str) -> Compression {
    match name {
        "zlib" => Compression::ZlibStream,
        "zstd" => Compression::ZstdStream,
        _ => Compression::None,
    }
}

/// The emulator's stream cache for a run, in MiB: enough for every event of every shard
/// (events, their MESSAGE_CONTENT-less copies and the pre-built frames, about 2.3 KiB per
/// event of the default workload, rounded up to 4), so the measured session reads the cache
/// the floor session filled instead of generating; at least the default 256 MiB, at most
/// 8 GiB.
fn cache_mb(shards: u64, events: u64) -> u64 {
    (shards.saturating_mul(events).saturating_mul(4) / 1024).clamp(256, 8192)
}

/// Flags for the emulator child.
fn emulator_args(args: &Args) -> Vec<String> {
    let shards = args.shards.max(1);
    [
        ("--shards", shards.to_string()),
        ("--guilds", (shards * args.guilds_per_shard).to_string()),
        ("--max-concurrency", shards.to_string()),
        ("--identify-window-ms", "100".to_owned()),
        ("--events-per-shard", args.events.to_string()),
        ("--rate", "max".to_owned()),
        ("--seed", args.seed.to_string()),
        (
            "--cache-mb",
            cache_mb(u64::from(shards), args.events).to_string(),
        ),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_owned(), v])
    .collect()
}

/// The benchmark itself.
async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.encoding == "json",
        "--encoding etf is not supported yet: the core decodes JSON only; use --encoding json"
    );
    anyhow::ensure!(args.shards > 0, "--shards must be at least 1");
    let fd_limit = measure::raise_fd_limit();
    let overhead_ns = args.alloc_overhead.then(measure::counter_overhead_ns);
    let child = match &args.url {
        Some(_) => None,
        None => Some(ChildEmulator::spawn(&emulator_args(&args))?),
    };
    let url = match (&args.url, &child) {
        (Some(url), _) => url.clone(),
        (None, Some(child)) => child.url.clone(),
        (None, None) => anyhow::bail!("no emulator"),
    };
    let compression = compression(&args.compress);
    let queue = LocalIdentifyQueue::builder()
        .max_concurrency(args.shards)
        .window(Duration::from_millis(100))
        .build();
    let plan = Arc::new(Plan {
        url: GatewayUrl::parse(&url).with_context(|| format!("parsing --url {url}"))?,
        shards: args.shards,
        compression,
        subscribe: args.subscribe.clone(),
        events: args.events,
        queue: Arc::new(queue),
    });
    let floor = if args.no_floor {
        None
    } else {
        let config = plan.config(0)?;
        floor::measure(&url, config.core(), args.shards, args.events).await?
    };
    let emulator_before = measure::emulator_stats(&url).await;
    let run = measure::run_shards(args.shards, |id, window, release| {
        shard_task(id, plan.clone(), window, release)
    })
    .await?;
    let measured = Measured {
        client: "discordgateway",
        shards: args.shards as usize,
        compress: args.compress.clone(),
        encoding: args.encoding.clone(),
        subscribe: args.subscribe.clone(),
        run,
        emulator_before,
        emulator: measure::emulator_stats(&url).await,
    };
    report(&args, &measured, floor, fd_limit, overhead_ns)
}

/// Prints the human summary (stderr) and the JSON line (stdout) or a table (stdout).
fn report(
    args: &Args,
    measured: &Measured,
    floor: Option<floor::Floor>,
    fd_limit: u64,
    overhead_ns: Option<f64>,
) -> anyhow::Result<()> {
    let mut json = measured.to_json();
    let floor_eps = floor.map(|f| f.events_per_sec());
    let eps = json["events_per_sec"].as_f64();
    let cpu_ns = json["cpu_ns_per_event"].as_f64();
    let fields = serde_json::json!({
        "floor_events_per_sec": floor_eps,
        "floor_ns_per_event": floor.map(|f| f.ns_per_event()),
        "floor_mb_out_per_sec": floor.map(|f| f.mb_out_per_sec()),
        "floor_mb_in_per_sec": floor.map(|f| f.mb_in_per_sec()),
        "floor_passes": floor.map(|f| f.passes),
        "pipeline_fraction_of_floor": floor.zip(cpu_ns).map(|(f, c)| f.ns_per_event() / c),
        "core_ns_per_event": floor.map(|f| f.core_ns_per_event()),
        "core_fraction_of_floor": floor.map(|f| f.ns_per_event() / f.core_ns_per_event()),
        "pipeline_wall_fraction_of_floor": floor_eps.zip(eps).map(|(f, e)| e / f),
        "alloc_counter_overhead_ns": overhead_ns,
        "fd_limit": fd_limit,
    });
    if let (Some(obj), serde_json::Value::Object(extra)) = (json.as_object_mut(), fields) {
        obj.extend(extra);
    }
    measure::print_report(&json, args.json)?;
    Ok(())
}
