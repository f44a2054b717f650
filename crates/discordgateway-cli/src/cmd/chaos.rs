//! `discordgateway chaos`: a seeded chaos soak that proves, by exact accounting, that no event
//! is lost, duplicated or reordered while the gateway misbehaves in every way issue 8 lists.
//!
//! Method: an in-process emulator streams tagged dispatches (`shard << 40 | position`,
//! paced so the stream lasts about `--seconds`) to N [`Shard`]s, one tokio task each, sharing
//! one identify queue. The emulator runs with `continue_streams` on, so a new session
//! continues its shard's stream like Discord's world does instead of replaying it. A seeded
//! plan ([`plan`]) injects `--faults` faults of every kind at random times on random shards:
//! TCP drop, half-open, op 7, op 9 resumable and not, closes 4000, 4001, 4002, 4005, 4008,
//! 4003, 4007 and 4009, zombie, skipped and repeated sequence numbers, garbage and oversized
//! frames, a slow consumer (the shard's task stops polling) and an emulator restart that
//! loses every session. Each task records every delivered tag; at the end the emulator's
//! ledger says which positions each session was sent and which sessions the server
//! invalidated, so [`tally`] separates *lost by protocol* (GATEWAY.md §3.10: Discord would not
//! replay them either) from real losses.
//!
//! The run ends when every shard's stream is generated and each position is delivered or lost
//! by protocol, or at the global `--deadline`, which reports the first missing position per
//! shard. With `--json` the last stdout line is one JSON object; the exit status is non-zero
//! if anything was lost, duplicated or out of order, a rate-limit or identify rule was broken,
//! or a shard task panicked.

mod plan;
mod tally;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, bail};
use discordgateway::proto::config::{Config, Limits, ReconnectPolicy};
use discordgateway::{
    Event, EventSet, EventType, GatewayUrl, LocalIdentifyQueue, Notice, Shard, ShardConfig,
    ShardErrorKind, ShardId, ShardStats, Token,
};
use discordgateway_emulator::workload::{Rate, WorkloadConfig, read_tag};
use discordgateway_emulator::{Emulator, EmulatorConfig, EmulatorHandle, SessionRecord};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use self::plan::{FaultKind, KINDS, Planned};
use self::tally::{Account, Seen};

/// Flags of `chaos`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many shards to run.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    shards: u32,
    /// Generated events in total (split evenly between shards).
    #[arg(long, default_value_t = 20_000)]
    events: u64,
    /// Faults to inject in total (every kind in turn).
    #[arg(long, default_value_t = 100)]
    faults: u64,
    /// Seed of the workload and the fault plan.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long the event stream should last (sets the pace); faults are spread over it.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Global deadline in seconds: the run stops and reports what is missing.
    #[arg(long, default_value_t = 120)]
    deadline: u64,
    /// Print the summary as one JSON object on the last stdout line.
    #[arg(long)]
    json: bool,
    /// Transport compression of every shard: none, zlib or zstd.
    #[arg(long, default_value = "none", value_parser = ["none", "zlib", "zstd"])]
    compress: String,
}

/// Heartbeat interval of the soak's emulator: short, so zombies are found in seconds.
const HEARTBEAT: Duration = Duration::from_millis(1_000);
/// Identify window of the soak (Discord's is 5 s); the shared queue uses the same.
const WINDOW: Duration = Duration::from_millis(100);
/// The client's frame and message limit during the soak; oversized frames exceed it.
const CLIENT_LIMIT: usize = 1 << 20;
/// How often completion is checked.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How soon a fault whose shard had no live connection is tried again.
const RETRY: Duration = Duration::from_millis(50);
/// How long a shard task may take to stop once told.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// One shard under test: its task, its record and its pause channel.
struct Runner {
    /// The task; it returns the shard's counters.
    task: JoinHandle<Driven>,
    /// What it delivered (shared so completion can be checked while it runs).
    seen: Arc<Mutex<Seen>>,
    /// Slow-consumer pauses.
    pause: mpsc::UnboundedSender<Duration>,
}

/// What a shard task returns.
#[derive(Debug, Default)]
struct Driven {
    /// The shard's counters.
    stats: ShardStats,
    /// Errors `next_event` returned.
    errors: u64,
}

/// Runs the soak.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let per_shard = args.events.div_ceil(u64::from(args.shards));
    let emulator = Emulator::start("127.0.0.1:0", emulator_config(&args, per_shard))
        .await
        .context("could not start the embedded emulator on 127.0.0.1")?;
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let queue = Arc::new(
        LocalIdentifyQueue::builder()
            .max_concurrency(args.shards)
            .window(WINDOW)
            .build(),
    );
    let mut runners = Vec::new();
    for i in 0..args.shards {
        let config = shard_config(&args, &emulator, i, Arc::clone(&queue))?;
        let seen = Arc::new(Mutex::new(Seen::new(per_shard)));
        let (pause, pauses) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(
            Shard::new(config),
            i,
            Arc::clone(&seen),
            pauses,
            stop_rx.clone(),
        ));
        runners.push(Runner { task, seen, pause });
    }
    let span = Duration::from_secs(args.seconds.max(1));
    let plan = plan::plan(args.seed, args.faults, args.shards, span);
    let deadline = started + Duration::from_secs(args.deadline.max(1));
    let outcome = soak(&emulator, &runners, &plan, deadline).await;
    let _ = stop_tx.send(true);
    let mut report = Report::default();
    for r in runners {
        report.collect(r).await;
    }
    report.faults = outcome.injected;
    report.completed = outcome.completed;
    report.finish(&emulator, started.elapsed(), &args);
    emulator.shutdown();
    report
        .print(args.json)
        .context("writing the summary to stdout")?;
    report.verdict()
}

/// The emulator for the soak: one shard count, the shared window, a budget that never runs
/// out, and a paced, continuing stream of `per_shard` events per shard.
fn emulator_config(args: &Args, per_shard: u64) -> EmulatorConfig {
    let rate = per_shard as f64 / args.seconds.max(1) as f64;
    EmulatorConfig {
        shards: args.shards,
        max_concurrency: args.shards,
        identify_window: WINDOW,
        session_start_total: u32::MAX,
        heartbeat_interval: HEARTBEAT,
        workload: WorkloadConfig {
            seed: args.seed,
            guilds: args.shards * 4,
            small_members: [2, 20],
            large_fraction: 0.0,
            events_per_shard: Some(per_shard),
            rate: Rate::PerSecond(rate.max(1.0)),
            continue_streams: true,
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    }
}

/// Shard `i`'s configuration: every event declared, small limits, quick backoff.
fn shard_config(
    args: &Args,
    emulator: &EmulatorHandle,
    i: u32,
    queue: Arc<LocalIdentifyQueue>,
) -> anyhow::Result<ShardConfig> {
    let all = EventSet::from_slice(EventType::all());
    let core = Config::builder(Token::new("MTAx.chaos.token").context("chaos token")?)
        .guild_events(all)
        .dm_events(all)
        .compression(super::bench::compression(&args.compress))
        .shard(ShardId::new(i, args.shards).context("shard id")?)
        .default_url(GatewayUrl::parse(&emulator.url()).context("emulator url")?)
        .limits(Limits {
            max_frame_size: CLIENT_LIMIT,
            max_message_size: CLIENT_LIMIT,
            ..Limits::default()
        })
        .reconnect(ReconnectPolicy::Automatic {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        })
        .build()
        .context("shard config")?;
    ShardConfig::builder(core)
        .identify_queue(queue)
        .max_message_size(CLIENT_LIMIT)
        .hello_timeout(Duration::from_secs(5))
        .ready_timeout(Duration::from_secs(10))
        .seed(args.seed ^ u64::from(i))
        .build()
        .context("shard config")
}

/// Polls one shard until told to stop, recording every tag it delivers.
async fn drive(
    mut shard: Shard,
    number: u32,
    seen: Arc<Mutex<Seen>>,
    mut pauses: mpsc::UnboundedReceiver<Duration>,
    mut stop: watch::Receiver<bool>,
) -> Driven {
    let mut driven = Driven::default();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(pause) = pauses.recv() => {
                // The slow consumer: nothing polls the shard meanwhile.
                tokio::time::sleep(pause).await;
            }
            event = shard.next_event() => match event {
                Ok(Event::Dispatch(d)) => {
                    if let Some(tag) = read_tag(d.raw()) {
                        lock(&seen).record(number, tag);
                    }
                }
                Ok(Event::Notice(Notice::Ready { session_id })) => {
                    lock(&seen).sessions.insert(session_id);
                }
                Ok(_) => {}
                Err(e) => {
                    driven.errors += 1;
                    eprintln!("chaos: shard {number}: {e}");
                    if matches!(e.kind(), ShardErrorKind::FatalClose { .. } | ShardErrorKind::Closed) {
                        break;
                    }
                }
            },
        }
    }
    driven.stats = shard.stats();
    driven
}

/// Locks a record, ignoring poisoning (a panicked task is counted, not fatal).
fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How the soak phase ended.
struct Outcome {
    /// Faults injected, per kind.
    injected: BTreeMap<FaultKind, u64>,
    /// Whether every stream completed before the deadline.
    completed: bool,
}

/// Applies the plan and waits until every stream is accounted for, or the deadline.
async fn soak(
    emulator: &EmulatorHandle,
    runners: &[Runner],
    plan: &[Planned],
    deadline: Instant,
) -> Outcome {
    let start = Instant::now();
    let mut injected: BTreeMap<FaultKind, u64> = BTreeMap::new();
    let mut next: VecDeque<Planned> = plan.iter().copied().collect();
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        let due = next.front().map(|p| start + p.at);
        tokio::select! {
            () = sleep_until(due.unwrap_or(deadline)), if due.is_some() => {
                if let Some(mut p) = next.pop_front() {
                    if apply(emulator, runners, &p) {
                        *injected.entry(p.kind).or_default() += 1;
                    } else {
                        // The shard is between connections: try again shortly.
                        p.at = start.elapsed() + RETRY;
                        let at = next.partition_point(|q| q.at <= p.at);
                        next.insert(at, p);
                    }
                }
            }
            _ = check.tick() => {
                if next.is_empty() && complete(emulator, runners) {
                    return Outcome { injected, completed: true };
                }
            }
            () = sleep_until(deadline) => {
                eprintln!("chaos: the deadline passed before every stream was accounted for");
                return Outcome { injected, completed: false };
            }
        }
    }
}

/// Injects one planned fault; `false` when its shard has no live connection right now (the
/// fault is not queued: a queued fault would land on any shard's next connection).
fn apply(emulator: &EmulatorHandle, runners: &[Runner], p: &Planned) -> bool {
    match p.kind {
        FaultKind::Restart => {
            emulator.restart();
            true
        }
        FaultKind::SlowConsumer => runners
            .get(p.shard as usize)
            .is_some_and(|r| r.pause.send(p.pause).is_ok()),
        kind => kind
            .fault(2 * CLIENT_LIMIT)
            .is_some_and(|fault| emulator.inject_fault_live(p.shard, fault) > 0),
    }
}

/// Whether every shard's stream is generated to its end and every position is delivered or
/// lost by protocol.
fn complete(emulator: &EmulatorHandle, runners: &[Runner]) -> bool {
    let records = emulator.ledger();
    runners.iter().enumerate().all(|(i, r)| {
        let a = tally::account(&lock(&r.seen), &records, i as u32);
        a.lost == 0
    })
}

/// The soak's result.
#[derive(Debug, Default)]
struct Report {
    /// What each shard delivered, by shard number.
    seen: Vec<Seen>,
    /// Client-side counters, summed.
    stats: ShardStats,
    /// Errors from `next_event`.
    errors: u64,
    /// Tasks that panicked.
    panics: u64,
    /// Tasks that did not stop in time.
    stuck: u64,
    /// Faults per kind.
    faults: BTreeMap<FaultKind, u64>,
    /// Whether every stream was accounted for before the deadline.
    completed: bool,
    /// The JSON object, once finished.
    json: serde_json::Value,
    /// Why the run fails, if it does.
    failures: Vec<String>,
}

impl Report {
    /// Stops one runner and adds its record.
    async fn collect(&mut self, r: Runner) {
        let Runner { task, seen, .. } = r;
        let abort = task.abort_handle();
        match tokio::time::timeout(STOP_TIMEOUT, task).await {
            Ok(Ok(driven)) => {
                add_stats(&mut self.stats, driven.stats);
                self.errors += driven.errors;
            }
            Ok(Err(e)) if e.is_panic() => self.panics += 1,
            Ok(Err(_)) => {}
            Err(_) => {
                abort.abort();
                self.stuck += 1;
            }
        }
        self.seen.push(lock(&seen).clone());
    }

    /// Accounts every shard against the ledger and builds the JSON object.
    fn finish(&mut self, emulator: &EmulatorHandle, took: Duration, args: &Args) {
        let records = emulator.ledger();
        let mut total = Account::default();
        let (mut delivered, mut duplicated, mut out_of_order, mut foreign) = (0, 0, 0, 0);
        for (i, seen) in self.seen.iter().enumerate() {
            let a = tally::account(seen, &records, i as u32);
            explain_losses(i as u32, seen, &a, &records);
            total.sent += a.sent;
            total.lost += a.lost;
            total.lost_by_protocol += a.lost_by_protocol;
            delivered += seen.delivered;
            duplicated += seen.duplicated;
            out_of_order += seen.out_of_order;
            foreign += seen.foreign;
        }
        let stats = emulator.stats();
        let v = stats.violations;
        let identify_violations = v.identify_concurrency + v.session_start_limit;
        if identify_violations > 0 {
            explain_identifies(emulator);
        }
        let by_kind: serde_json::Map<String, serde_json::Value> = KINDS
            .iter()
            .map(|k| (k.name(), json!(self.faults.get(k).copied().unwrap_or(0))))
            .collect();
        let checks = [
            ("lost", total.lost),
            ("duplicated", duplicated),
            ("out_of_order", out_of_order),
            ("foreign", foreign),
            ("rate_limit_violations", v.rate_limit),
            ("identify_violations", identify_violations),
            ("panics", self.panics),
            ("stuck", self.stuck),
        ];
        self.failures = checks
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} = {n}"))
            .collect();
        if !self.completed {
            self.failures.push("the deadline passed".into());
        }
        self.json = json!({
            "shards": args.shards,
            "seed": args.seed,
            "events_sent": total.sent,
            "events_delivered": delivered,
            "lost": total.lost,
            "duplicated": duplicated,
            "out_of_order": out_of_order,
            "lost_by_protocol": total.lost_by_protocol,
            "foreign": foreign,
            "faults_injected": self.faults.values().sum::<u64>(),
            "faults_by_kind": by_kind,
            "reconnects": self.stats.reconnects,
            "resumes": self.stats.resumes,
            "identifies": self.stats.identifies,
            "rate_limit_violations": v.rate_limit,
            "identify_violations": identify_violations,
            "heartbeat_timeouts": v.heartbeat_timeout,
            "shard_errors": self.errors,
            "panics": self.panics,
            "stuck": self.stuck,
            "completed": self.completed,
            "emulator_dispatches": stats.events_sent,
            "emulator_identifies": stats.identifies,
            "emulator_resumes": stats.resumes,
            "seconds": (took.as_secs_f64() * 100.0).round() / 100.0,
        });
    }

    /// Prints the summary: readable lines, or one JSON line last on stdout.
    fn print(&self, json: bool) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        if json {
            return writeln!(out, "{}", self.json);
        }
        if let Some(map) = self.json.as_object() {
            for (k, v) in map {
                writeln!(out, "{k:>22}  {v}")?;
            }
        }
        Ok(())
    }

    /// `Err` naming every failed check.
    fn verdict(&self) -> anyhow::Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        bail!("chaos soak failed: {}", self.failures.join(", "))
    }
}

/// Prints shard `shard`'s first lost position and the sessions it was sent in (stderr).
fn explain_losses(shard: u32, seen: &Seen, a: &Account, records: &[SessionRecord]) {
    let Some(p) = a.first_lost else {
        return;
    };
    eprintln!(
        "chaos: shard {shard}: {} events lost, the first at position {p}",
        a.lost
    );
    let holders = records
        .iter()
        .filter(|r| r.shard[0] == shard && r.positions.contains(&p));
    for r in holders {
        let known = seen.sessions.contains(&r.session_id);
        eprintln!("chaos:   sent in {r:?} (READY seen: {known})");
    }
}

/// Prints the emulator's identify log, for a run with identify violations (stderr).
fn explain_identifies(emulator: &EmulatorHandle) {
    let log = emulator.identify_log();
    let first = log.first().map(|r| r.at);
    for r in &log {
        let ms = first.map_or(0, |f| r.at.duration_since(f).as_millis());
        eprintln!(
            "chaos: identify at {ms} ms: shard {:?} {:?}",
            r.shard, r.outcome
        );
    }
}

/// Adds one shard's counters to the sum.
fn add_stats(sum: &mut ShardStats, s: ShardStats) {
    sum.events_delivered += s.events_delivered;
    sum.events_dropped += s.events_dropped;
    sum.reconnects += s.reconnects;
    sum.resumes += s.resumes;
    sum.identifies += s.identifies;
}
