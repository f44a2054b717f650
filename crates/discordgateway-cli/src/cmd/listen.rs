//! `discordgateway listen`: connects a bot (token from `DISCORD_TOKEN`) through the shard
//! manager and prints one JSON line per event on stdout:
//!
//! ```text
//! {"shard":0,"event":"MessageCreate","wire":"MESSAGE_CREATE","seq":5,"data":{...}}
//! ```
//!
//! `data` is the payload exactly as received (never re-serialized). Lifecycle notices and
//! errors go to stderr, so stdout stays machine-readable. Ctrl-C closes every shard resumably
//! and, with `--session-file`, saves the sessions so the next run resumes them.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use discordgateway::metrics::PrometheusRecorder;
use discordgateway::proto::config::Config;
use discordgateway::proto::url::Compression;
use discordgateway::{
    Event, EventSet, EventType, FileSessionStore, GatewayUrl, ShardErrorKind, ShardManager, Token,
};

/// Flags of `listen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Gateway URL (Discord's by default; the emulator's from `discordgateway emulate`).
    #[arg(long, default_value = "wss://gateway.discord.gg")]
    url: String,
    /// Guild events to receive, comma-separated, in CRUD or wire names, or `all`.
    #[arg(long, default_value = "MessageCreate")]
    events: String,
    /// Direct-message events to receive, same syntax.
    #[arg(long, default_value = "")]
    dm_events: String,
    /// Transport compression: zstd, zlib or none.
    #[arg(long, default_value = "zstd")]
    compress: String,
    /// Run all of N shards.
    #[arg(long, conflicts_with = "shard_range")]
    shards: Option<u32>,
    /// Run shards A..B of TOTAL, e.g. `0..8/16`.
    #[arg(long)]
    shard_range: Option<String>,
    /// Save sessions here on Ctrl-C and resume them on the next run.
    #[arg(long)]
    session_file: Option<std::path::PathBuf>,
    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9000.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Identify concurrency of the bot (Discord's `max_concurrency`).
    #[arg(long, default_value_t = 1)]
    max_concurrency: u32,
}

/// Runs `listen`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let token = std::env::var("DISCORD_TOKEN").map_err(|_| {
        anyhow::anyhow!(
            "DISCORD_TOKEN is not set: export DISCORD_TOKEN=<your bot token> (Developer Portal → \
             your application → Bot → Reset Token), or run `discordgateway demo` to try without one"
        )
    })?;
    let token = Token::new(token).context("DISCORD_TOKEN is not a usable token: copy it again")?;
    let (range, total) = shard_selection(&args)?;
    let core = Config::builder(token)
        .guild_events(parse_events(&args.events).context("--events")?)
        .dm_events(parse_events(&args.dm_events).context("--dm-events")?)
        .compression(parse_compression(&args.compress)?)
        .default_url(GatewayUrl::parse(&args.url).context("--url is not a ws:// or wss:// url")?);
    if let Some(addr) = args.metrics {
        let recorder = PrometheusRecorder::new();
        metrics::set_global_recorder(recorder.clone())
            .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
        discordgateway::metrics::describe();
        let (bound, _task) = recorder
            .serve(addr)
            .await
            .with_context(|| format!("--metrics {addr}"))?;
        eprintln!("metrics: http://{bound}/metrics");
    }
    let mut builder = ShardManager::builder(core)
        .range(range, total)
        .max_concurrency(args.max_concurrency);
    if let Some(path) = &args.session_file {
        builder = builder.session_store(Arc::new(FileSessionStore::new(path)));
    }
    let mut manager = builder.start().await?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    loop {
        let item = tokio::select! {
            item = manager.next_event() => item,
            _ = &mut ctrl_c => break,
        };
        match item {
            Some(Ok(ev)) => match &ev.event {
                Event::Dispatch(d) => {
                    write!(
                        out,
                        "{{\"shard\":{},\"event\":\"{}\",\"wire\":\"{}\",\"seq\":{},\"data\":",
                        ev.shard.number(),
                        d.kind().name(),
                        d.kind().wire_name(),
                        d.sequence()
                    )?;
                    out.write_all(d.raw())?;
                    out.write_all(b"}\n")?;
                    out.flush()?;
                }
                Event::Notice(n) => eprintln!("shard {}: {n:?}", ev.shard),
            },
            Some(Err(failure)) => {
                eprintln!("error: {failure}");
                if matches!(failure.error.kind(), ShardErrorKind::FatalClose { .. })
                    && !manager.status().shards.iter().any(|s| s.running)
                {
                    bail!("every shard stopped: {failure}");
                }
            }
            None => bail!("every shard stopped"),
        }
    }
    drop(out);
    let saved = manager.shutdown().await?;
    if args.session_file.is_some() {
        eprintln!("saved {saved} sessions; the next run resumes them");
    }
    Ok(())
}

/// `--shards N` or `--shard-range A..B/TOTAL` (default: shard 0 of 1).
fn shard_selection(args: &Args) -> anyhow::Result<(std::ops::Range<u32>, u32)> {
    if let Some(text) = &args.shard_range {
        let parse = || -> Option<(u32, u32, u32)> {
            let (range, total) = text.split_once('/')?;
            let (a, b) = range.split_once("..")?;
            Some((
                a.trim().parse().ok()?,
                b.trim().parse().ok()?,
                total.trim().parse().ok()?,
            ))
        };
        let (a, b, total) = parse().with_context(|| {
            format!("--shard-range {text:?}: write it as A..B/TOTAL, e.g. 0..8/16")
        })?;
        return Ok((a..b, total));
    }
    let total = args.shards.unwrap_or(1);
    Ok((0..total, total))
}

/// A comma-separated list of event names (CRUD or wire), or `all`; empty is none.
pub(crate) fn parse_events(text: &str) -> anyhow::Result<EventSet> {
    let mut set = EventSet::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.eq_ignore_ascii_case("all") {
            return Ok(EventSet::from_slice(EventType::all()));
        }
        let event: EventType = name.parse().with_context(|| {
            format!("unknown event {name:?}: use names like MessageCreate or MESSAGE_CREATE")
        })?;
        set.insert(event);
    }
    Ok(set)
}

/// `zstd`, `zlib` (or their `-stream` names) or `none`.
fn parse_compression(text: &str) -> anyhow::Result<Compression> {
    Ok(match text {
        "zstd" | "zstd-stream" => Compression::ZstdStream,
        "zlib" | "zlib-stream" => Compression::ZlibStream,
        "none" => Compression::None,
        other => bail!("--compress {other:?}: use zstd, zlib or none"),
    })
}
