//! Support of `discordgateway bench`: the emulator child process, the shard tasks, the floor,
//! and the measurement primitives shared with the twilight-gateway peer harness.

pub(crate) mod floor;
#[allow(unreachable_pub)]
pub(crate) mod measure;

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use discordgateway::proto::Compression;
use discordgateway::proto::config::Config;
use discordgateway::{
    Event, EventSet, EventType, GatewayUrl, Intents, LocalIdentifyQueue, Shard, ShardConfig,
    ShardId, Token,
};
use tokio::sync::watch;

use self::measure::{Subscribe, Window, ready_guild_count};

/// The token every bench client sends (the emulator accepts any non-empty token).
pub(crate) const TOKEN: &str = "MTAx.bench.token";

/// An emulator running as a child process (so its CPU is not the client's); killed on drop.
#[derive(Debug)]
pub(crate) struct ChildEmulator {
    /// The child.
    child: Child,
    /// The `ws://` URL it printed.
    pub(crate) url: String,
}

impl ChildEmulator {
    /// Starts `<this executable> emulate <args>` and reads the URL from its first line.
    pub(crate) fn spawn(args: &[String]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding this executable")?;
        let mut child = Command::new(exe)
            .arg("emulate")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the emulator process")?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        let url = line.trim().to_owned();
        let emulator = Self { child, url };
        anyhow::ensure!(
            emulator.url.starts_with("ws://"),
            "the emulator printed {:?} instead of its ws:// URL; run `discordgateway emulate` by hand to see why",
            emulator.url
        );
        Ok(emulator)
    }
}

impl Drop for ChildEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything a shard task needs.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Where to connect.
    pub(crate) url: GatewayUrl,
    /// Shard count.
    pub(crate) shards: u32,
    /// Transport compression.
    pub(crate) compression: Compression,
    /// Declared events.
    pub(crate) subscribe: Subscribe,
    /// Steady-state dispatches each shard waits for.
    pub(crate) events: u64,
    /// Shared identify queue.
    pub(crate) queue: Arc<LocalIdentifyQueue>,
}

impl Plan {
    /// The declared events: READY and GUILD_CREATE always (to find the burst's end), plus
    /// every type (`all`) or the listed ones.
    fn declared(&self) -> EventSet {
        let mut set: EventSet = ["READY", "GUILD_CREATE"]
            .into_iter()
            .map(EventType::from_wire)
            .collect();
        match &self.subscribe {
            Subscribe::All => set.extend(EventType::all().iter().cloned()),
            Subscribe::None => {}
            Subscribe::List(names) => set.extend(names.iter().map(|n| EventType::from_wire(n))),
        }
        set
    }

    /// The shard's config: all intents, so the emulator sends the whole workload whatever
    /// is declared.
    pub(crate) fn config(&self, id: u32) -> anyhow::Result<ShardConfig> {
        let core = Config::builder(Token::new(TOKEN)?)
            .shard(ShardId::new(id, self.shards)?)
            .guild_events(self.declared())
            .extra_intents(Intents::all())
            .compression(self.compression)
            .default_url(self.url.clone())
            .build()?;
        Ok(ShardConfig::builder(core)
            .identify_queue(self.queue.clone())
            .build()?)
    }
}

/// Dispatches seen by `shard` (delivered + dropped).
fn seen(shard: &Shard) -> u64 {
    let stats = shard.stats();
    stats.events_delivered + stats.events_dropped
}

/// One shard: READY and its burst, then `plan.events` dispatches, then idle until
/// `release` turns true.
pub(crate) async fn shard_task(
    id: u32,
    plan: Arc<Plan>,
    window: Arc<Window>,
    mut release: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut shard = Shard::new(plan.config(id)?);
    let mut burst_left: Option<usize> = None;
    while burst_left != Some(0) {
        if let Event::Dispatch(d) = shard.next_event().await? {
            match d.kind().wire_name() {
                "READY" => burst_left = Some(ready_guild_count(d.raw())),
                "GUILD_CREATE" => burst_left = burst_left.map(|n| n.saturating_sub(1)),
                _ => {}
            }
        }
    }
    window.bootstrapped();
    let base = seen(&shard);
    let mut reported = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while reported < plan.events {
        tokio::select! {
            biased;
            event = shard.next_event() => drop(std::hint::black_box(event?)),
            _ = tick.tick() => {}
        }
        let now = seen(&shard) - base;
        window.add(now - reported);
        reported = now;
    }
    window.finished();
    let _ = release.wait_for(|done| *done).await;
    Ok(())
}
