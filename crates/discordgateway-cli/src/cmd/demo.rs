//! `discordgateway demo`: the first thing a newcomer runs. Starts the emulator in-process
//! and a shard manager against it, shows a progress bar while the shards identify, then a live
//! one-line view (shards ready, events/s, latency) with sample events, and a summary. No token,
//! no network: everything stays on 127.0.0.1.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use discordgateway::proto::config::Config;
use discordgateway::{Event, Notice};
use discordgateway::{
    EventSet, EventType, GatewayUrl, ManagerStatus, ShardEvent, ShardManager, Token,
};
use discordgateway_emulator::workload::{Rate, WorkloadConfig};
use discordgateway_emulator::{Emulator, EmulatorConfig};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

/// Flags of `demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many shards to run.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    shards: u32,
    /// How long to stream events after all shards are ready; 0 runs until Ctrl-C.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Identify concurrency the emulated bot gets (Discord gives large bots 16 and more).
const MAX_CONCURRENCY: u32 = 4;
/// The demo's identify window: Discord's is 5 s; shortened so the demo starts quickly.
const WINDOW: Duration = Duration::from_millis(1000);

/// Runs the demo.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let emulator = Emulator::start(
        "127.0.0.1:0",
        EmulatorConfig {
            shards: args.shards,
            max_concurrency: MAX_CONCURRENCY,
            identify_window: WINDOW,
            heartbeat_interval: Duration::from_secs(5),
            workload: WorkloadConfig {
                seed: 42,
                guilds: args.shards * 3,
                events_per_shard: Some(u64::MAX / 2),
                rate: Rate::PerSecond(200.0),
                ..EmulatorConfig::default().workload
            },
            ..EmulatorConfig::default()
        },
    )
    .await
    .context("could not start the embedded emulator on 127.0.0.1")?;
    eprintln!(
        "discordgateway demo: a fake Discord gateway is running at {} (in this process)",
        emulator.url()
    );
    eprintln!(
        "starting {} shards, {MAX_CONCURRENCY} at a time, one identify window ({} ms) apart\n",
        args.shards,
        WINDOW.as_millis()
    );
    let core = Config::builder(Token::new("MTAx.demo.token").context("demo token")?)
        .guild_events(EventSet::from_slice(EventType::all()))
        .default_url(GatewayUrl::parse(&emulator.url()).context("emulator url")?);
    let mut manager = ShardManager::builder(core)
        .total(args.shards)
        .identify_window(MAX_CONCURRENCY, WINDOW)
        .start()
        .await
        .context("could not start the shard manager")?;

    let started = Instant::now();
    let mut tally = Tally::default();
    startup(&mut manager, &mut tally, args.shards).await?;
    let ready_after = started.elapsed();
    let streamed = stream(&mut manager, &mut tally, args.seconds).await?;
    let status = manager.status();
    let saved = manager.shutdown().await.unwrap_or(0);
    summary(&tally, &status, ready_after, streamed, saved);
    emulator.shutdown();
    Ok(())
}

/// What the demo counted.
#[derive(Debug, Default)]
struct Tally {
    /// Dispatches by event name.
    by_type: BTreeMap<String, u64>,
    /// Dispatches in total.
    events: u64,
}

impl Tally {
    /// Counts one event; returns the dispatch line to show as a sample, if it is one.
    fn count(&mut self, ev: &ShardEvent) -> Option<String> {
        let Event::Dispatch(d) = &ev.event else {
            return None;
        };
        self.events += 1;
        *self.by_type.entry(d.kind().name().to_owned()).or_insert(0) += 1;
        let raw = String::from_utf8_lossy(d.raw());
        let preview: String = raw.chars().take(70).collect();
        let more = if raw.chars().count() > 70 { "…" } else { "" };
        Some(format!(
            "  shard {:>2} │ {:<22} │ #{:<5} │ {preview}{more}",
            ev.shard.number(),
            d.kind().name(),
            d.sequence()
        ))
    }
}

/// The progress bar while the shards identify.
async fn startup(manager: &mut ShardManager, tally: &mut Tally, shards: u32) -> anyhow::Result<()> {
    let bar = ProgressBar::new(u64::from(shards));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner:.green} identifying  [{bar:32.cyan/blue}] {pos}/{len} shards ready  {elapsed}",
        )
        .context("progress template")?
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    // The status leads the stream (a shard reads ready before its READY notice is consumed),
    // so wait for both: every shard ready now, and every READY notice shown.
    let mut identified = std::collections::BTreeSet::new();
    while !(identified.len() == shards as usize && manager.status().all_ready()) {
        match manager.next_event().await {
            Some(Ok(ev)) => {
                if let Event::Notice(Notice::Ready { .. }) = ev.event {
                    say(&bar, format!("  ✓ shard {} identified", ev.shard));
                    identified.insert(ev.shard.number());
                }
                tally.count(&ev);
            }
            Some(Err(failure)) => say(&bar, format!("  ✗ {failure}")),
            None => anyhow::bail!("every shard stopped before becoming ready"),
        }
        bar.set_position(identified.len() as u64);
    }
    bar.finish_with_message("done");
    Ok(())
}

/// The live one-line view with sample events; returns how long it streamed.
async fn stream(
    manager: &mut ShardManager,
    tally: &mut Tally,
    seconds: u64,
) -> anyhow::Result<Duration> {
    let line = ProgressBar::new_spinner();
    line.set_style(ProgressStyle::with_template("{spinner:.green} {msg}").context("template")?);
    line.enable_steady_tick(Duration::from_millis(100));
    let start = Instant::now();
    let end = (seconds > 0).then(|| start + Duration::from_secs(seconds));
    let mut refresh = tokio::time::interval(Duration::from_millis(250));
    let mut sample = Instant::now();
    let (mut window_start, mut window_events) = (Instant::now(), tally.events);
    let mut rate = 0.0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            item = manager.next_event() => match item {
                Some(Ok(ev)) => {
                    if let Some(text) = tally.count(&ev)
                        && sample.elapsed() >= Duration::from_millis(700)
                    {
                        say(&line, text);
                        sample = Instant::now();
                    }
                }
                Some(Err(failure)) => say(&line, format!("  ✗ {failure}")),
                None => break,
            },
            _ = refresh.tick() => {
                let elapsed = window_start.elapsed().as_secs_f64();
                if elapsed >= 1.0 {
                    rate = (tally.events - window_events) as f64 / elapsed;
                    (window_start, window_events) = (Instant::now(), tally.events);
                }
                line.set_message(live_line(&manager.status(), tally.events, rate));
                if end.is_some_and(|end| Instant::now() >= end) {
                    break;
                }
            }
            _ = &mut ctrl_c => break,
        }
    }
    line.finish_and_clear();
    Ok(start.elapsed())
}

/// Prints a line above the bar, or plainly when the bar is hidden (stderr is not a terminal).
fn say(bar: &ProgressBar, text: String) {
    if bar.is_hidden() {
        eprintln!("{text}");
    } else {
        bar.println(text);
    }
}

/// `shards 4/4 ready │ 12 345 events │ 812 events/s │ latency 0.4 ms`.
fn live_line(status: &ManagerStatus, events: u64, rate: f64) -> String {
    let latency = status.mean_latency().map_or_else(
        || "—".to_owned(),
        |l| format!("{:.1} ms", l.as_secs_f64() * 1000.0),
    );
    format!(
        "shards {}/{} ready │ {events} events │ {rate:.0} events/s │ heartbeat latency {latency}",
        status.ready(),
        status.shards.len(),
    )
}

/// The closing summary.
fn summary(
    tally: &Tally,
    status: &ManagerStatus,
    ready_after: Duration,
    streamed: Duration,
    saved: usize,
) {
    let secs = streamed.as_secs_f64().max(0.001);
    eprintln!("\nsummary");
    let rounds = status.shards.len().div_ceil(MAX_CONCURRENCY as usize);
    eprintln!(
        "  {} shards ready after {:.1} s (floor: {rounds} identify round{})",
        status.shards.len(),
        ready_after.as_secs_f64(),
        if rounds == 1 { "" } else { "s" }
    );
    eprintln!(
        "  {} events in {:.1} s ({:.0} events/s)",
        tally.events,
        secs,
        tally.events as f64 / secs
    );
    let mut top: Vec<_> = tally.by_type.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    for (name, count) in top.into_iter().take(6) {
        eprintln!("    {name:<24} {count}");
    }
    if let Some(latency) = status.mean_latency() {
        eprintln!(
            "  heartbeat latency {:.2} ms (mean of last samples)",
            latency.as_secs_f64() * 1000.0
        );
    }
    eprintln!("  {saved} sessions closed resumably on shutdown");
    eprintln!("\nnext: `discordgateway emulate` runs the fake gateway on its own;");
    eprintln!(
        "      `DISCORD_TOKEN=… discordgateway listen` prints a real bot's events as JSON lines."
    );
}
