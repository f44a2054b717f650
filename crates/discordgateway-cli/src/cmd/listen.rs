//! `discordgateway listen`: connects a bot (token from `DISCORD_TOKEN`) through the shard
//! manager and prints one JSON line per event on stdout:
//!
//! ```text
//! {"shard":0,"event":"MessageCreate","wire":"MESSAGE_CREATE","seq":5,"data":{...}}
//! ```
//!
//! `data` is the payload exactly as received (never re-serialized). Lifecycle notices, errors
//! and the library's `tracing` output (a subscriber at `warn` by default, `RUST_LOG`
//! overrides) go to stderr, so stdout stays pure JSON lines. Ctrl-C closes every shard
//! resumably and, with `--session-file`, saves the sessions so the next run resumes them.
//!
//! Before connecting it reads `GET /gateway/bot` (GATEWAY.md §1.1) from `--api`, which defaults
//! to Discord's for Discord's gateway and to the same host as `--url` otherwise (the emulator
//! serves both): the recommended shard count (without `--shards`), `max_concurrency` and the
//! session-start budget, kept by the identify queue. A rejected token stops here; any other
//! failure is reported and `listen` goes on without the budget.
//!
//! Errors say what to do: no token, a rejected token (401, or close 4004), a privileged
//! intent that is not enabled (close 4014: the message names the intents asked for and their
//! Developer Portal switches), and an exhausted session-start budget (shards that must
//! identify wait for the reset instead of risking a token reset; saved sessions still resume).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use discordgateway::metrics::PrometheusRecorder;
use discordgateway::proto::config::Config;
use discordgateway::proto::url::Compression;
use discordgateway::{
    ConnectOptions, DEFAULT_API_BASE, Event, EventSet, EventType, FileSessionStore, GatewayInfo,
    GatewayInfoErrorKind, GatewayUrl, Intents, LocalIdentifyQueue, ShardErrorKind, ShardFailure,
    ShardManager, Token, fetch_gateway_info,
};

/// Flags of `listen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Gateway URL (Discord's by default; the emulator's from `discordgateway emulate`).
    #[arg(long, default_value = DISCORD_GATEWAY)]
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
    /// Identify concurrency of the bot; default: `max_concurrency` from `/gateway/bot`, else 1.
    #[arg(long)]
    max_concurrency: Option<u32>,
    /// REST API base for `/gateway/bot`; default: Discord's for Discord's gateway, else the
    /// `--url` host over http(s) with `/api/v10`.
    #[arg(long)]
    api: Option<String>,
}

/// Discord's gateway, `--url`'s default.
const DISCORD_GATEWAY: &str = "wss://gateway.discord.gg";

/// Runs `listen`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    init_tracing();
    let token = std::env::var("DISCORD_TOKEN").map_err(|_| {
        anyhow::anyhow!(
            "DISCORD_TOKEN is not set: export DISCORD_TOKEN=<your bot token> (Developer Portal → \
             your application → Bot → Reset Token), or run `discordgateway demo` to try without one"
        )
    })?;
    let token = Token::new(token).context("DISCORD_TOKEN is not a usable token: copy it again")?;
    let info = gateway_info(&args, &token).await?;
    let (range, total) = shard_selection(&args, info.as_ref())?;
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
    let intents = core.clone().build().map(|c| c.intents()).ok();
    let mut builder = ShardManager::builder(core).range(range, total);
    let max_concurrency = args
        .max_concurrency
        .or(info.as_ref().map(|i| i.session_start_limit.max_concurrency))
        .unwrap_or(1)
        .max(1);
    builder = match &info {
        Some(info) => {
            let limit = info.session_start_limit;
            let queue = LocalIdentifyQueue::builder()
                .session_start_limit(limit)
                .max_concurrency(max_concurrency)
                .build();
            builder.identify_queue(Arc::new(queue), max_concurrency)
        }
        None => builder.max_concurrency(max_concurrency),
    };
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
                let advice = advice(&failure, intents);
                if matches!(failure.error.kind(), ShardErrorKind::FatalClose { .. })
                    && !manager.status().shards.iter().any(|s| s.running)
                {
                    bail!("every shard stopped: {failure}{advice}");
                }
                eprintln!("error: {failure}{advice}");
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

/// Installs the stderr `tracing` subscriber: `warn` unless `RUST_LOG` says otherwise.
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Fails only when a subscriber is already installed, which is then kept.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The REST API base: `--api`, Discord's for Discord's gateway, else `--url`'s host.
fn api_base(args: &Args) -> String {
    if let Some(api) = &args.api {
        return api.clone();
    }
    let url = args.url.trim_end_matches('/');
    if url == DISCORD_GATEWAY {
        return DEFAULT_API_BASE.to_owned();
    }
    let (scheme, rest) = match url.split_once("://") {
        Some(("wss", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => ("http", url),
    };
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{host}/api/v10")
}

/// Reads `/gateway/bot`; a rejected token is an error, anything else a warning (`None`).
/// Warns when the session-start budget is used up.
async fn gateway_info(args: &Args, token: &Token) -> anyhow::Result<Option<GatewayInfo>> {
    let api = api_base(args);
    let info = match fetch_gateway_info(&api, token, &ConnectOptions::default()).await {
        Ok(info) => info,
        Err(e) if matches!(e.kind(), GatewayInfoErrorKind::TokenRejected) => bail!(
            "the gateway rejected DISCORD_TOKEN (HTTP 401 from {api}/gateway/bot, close code 4004 \
             on the gateway): copy the token again (Developer Portal → your application → Bot → \
             Reset Token) and export it as DISCORD_TOKEN"
        ),
        Err(e) => {
            eprintln!(
                "warning: could not read {api}/gateway/bot ({e}); going on without the \
                 session-start budget (pass --api to point at the right REST API)"
            );
            return Ok(None);
        }
    };
    let limit = info.session_start_limit;
    if limit.remaining <= (limit.total / 100).max(1) {
        let wait = limit.reset_after.as_secs();
        eprintln!(
            "warning: the session start budget is used up ({} of {} left, resets in {}h{:02}m): \
             shards that must identify wait for the reset instead of risking a token reset; \
             shards with a saved session (--session-file) still resume. Stop other processes \
             using this token, or wait (Ctrl-C to stop).",
            limit.remaining,
            limit.total,
            wait / 3600,
            wait % 3600 / 60
        );
    }
    Ok(Some(info))
}

/// What to do about a shard failure, beyond its own message (empty when it says enough).
fn advice(failure: &ShardFailure, intents: Option<Intents>) -> String {
    let ShardErrorKind::FatalClose { code, .. } = failure.error.kind() else {
        return String::new();
    };
    match code {
        4004 => " — copy the token again (Developer Portal → your application → Bot → Reset \
                  Token) and export it as DISCORD_TOKEN"
            .to_owned(),
        4014 => {
            let asked = intents.map(Intents::privileged).unwrap_or(Intents::EMPTY);
            let switches: Vec<String> = asked
                .iter()
                .map(|i| {
                    let name = i.name().unwrap_or("?");
                    format!("{name} (\"{}\")", portal_switch(i))
                })
                .collect();
            if switches.is_empty() {
                " — the events asked for need no privileged intent; check --events".to_owned()
            } else {
                format!(
                    " — enable {} in the Developer Portal (your application → Bot → Privileged \
                     Gateway Intents), or drop the events that need it from --events/--dm-events",
                    switches.join(", ")
                )
            }
        }
        _ => String::new(),
    }
}

/// The Developer Portal switch of a privileged intent.
fn portal_switch(intent: Intents) -> &'static str {
    if intent == Intents::GUILD_MEMBERS {
        "Server Members Intent"
    } else if intent == Intents::GUILD_PRESENCES {
        "Presence Intent"
    } else {
        "Message Content Intent"
    }
}

/// `--shards N` or `--shard-range A..B/TOTAL`; by default all of `/gateway/bot`'s recommended
/// count, or shard 0 of 1 without it.
fn shard_selection(
    args: &Args,
    info: Option<&GatewayInfo>,
) -> anyhow::Result<(std::ops::Range<u32>, u32)> {
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
    let total = args.shards.or(info.map(|i| i.shards)).unwrap_or(1).max(1);
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
