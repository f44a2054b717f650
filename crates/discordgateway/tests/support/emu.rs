//! Helpers for driving a [`Shard`] against the in-process emulator over loopback.
//!
//! The emulator runs in the test's own runtime, so `#[tokio::test(start_paused = true)]`
//! pauses both sides' clocks. Paused time auto-advances whenever every task waits, including
//! while a frame is in flight on loopback; tests that are not about heartbeats therefore keep
//! the emulator's default 41.25 s interval, so an auto-advance never reaches a heartbeat.

use std::sync::Arc;
use std::time::Duration;

use discordgateway::proto::Compression;
use discordgateway::proto::config::{Config, ReconnectPolicy};
use discordgateway::proto::event::{Disconnect, DisconnectCause};
use discordgateway::{
    Dispatch, Event, EventSet, EventType, GatewayUrl, IdentifyQueue, Intents, Notice, Shard,
    ShardConfig, ShardError, Token,
};
use discordgateway_emulator::workload::read_tag;
use discordgateway_emulator::workload::{Mix, Rate, WorkloadConfig};
use discordgateway_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Fault, IdentifyOutcome};

use super::TOKEN;

/// The events every emulator test declares: the generated stream (MESSAGE_CREATE), the
/// per-guild burst (GUILD_CREATE) and member chunks, so every dispatch after READY is delivered.
pub const DECLARED: &[&str] = &["MESSAGE_CREATE", "GUILD_CREATE", "GUILD_MEMBERS_CHUNK"];

/// Starts an emulator on a free loopback port that accepts only [`TOKEN`].
pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    let config = EmulatorConfig {
        tokens: Some(vec![TOKEN.to_owned()]),
        ..config
    };
    Emulator::start("127.0.0.1:0", config)
        .await
        .expect("emulator starts")
}
/// An emulator whose every new session streams `events` generated MESSAGE_CREATEs.
pub async fn streaming(events: u64) -> EmulatorHandle {
    start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: Some(events),
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

/// Knobs of the shard config the tests vary.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Guild events declared.
    pub events: &'static [&'static str],
    /// Intents on top of those derived from the events.
    pub extra_intents: Intents,
    /// Transport compression.
    pub compression: Compression,
    /// Reconnect policy.
    pub reconnect: ReconnectPolicy,
    /// The token sent.
    pub token: &'static str,
    /// An identify queue to share between shards (default: each shard its own).
    pub queue: Option<Arc<dyn IdentifyQueue>>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            events: DECLARED,
            extra_intents: Intents::EMPTY,
            compression: Compression::None,
            reconnect: ReconnectPolicy::default(),
            token: TOKEN,
            queue: None,
        }
    }
}

/// The core config for a shard of `emu` with `knobs`.
pub fn core_config(emu: &EmulatorHandle, knobs: &Knobs) -> Config {
    let events: Vec<EventType> = knobs
        .events
        .iter()
        .map(|e| EventType::from_wire(e))
        .collect();
    Config::builder(Token::new(knobs.token).expect("token"))
        .guild_events(EventSet::from_slice(&events))
        .extra_intents(knobs.extra_intents)
        .compression(knobs.compression)
        .reconnect(knobs.reconnect)
        .default_url(GatewayUrl::parse(&emu.url()).expect("emulator url"))
        .build()
        .expect("core config")
}

/// The shard config for `emu` with `knobs` (seeded; short connect timeout).
pub fn shard_config(emu: &EmulatorHandle, knobs: &Knobs) -> ShardConfig {
    let builder = ShardConfig::builder(core_config(emu, knobs))
        .seed(11)
        .connect_timeout(Duration::from_secs(5));
    match &knobs.queue {
        Some(queue) => builder.identify_queue(Arc::clone(queue)),
        None => builder,
    }
    .build()
    .expect("shard config")
}

/// A shard of `emu` with the default knobs.
pub fn shard(emu: &EmulatorHandle) -> Shard {
    Shard::new(shard_config(emu, &Knobs::default()))
}

/// Everything a shard returned, for assertions.
#[derive(Debug, Default)]
pub struct Seen {
    /// Dispatches, in order.
    pub dispatches: Vec<Dispatch>,
    /// Notices, in order.
    pub notices: Vec<Notice>,
}

impl Seen {
    /// Records one event.
    pub fn record(&mut self, event: Event) {
        match event {
            Event::Dispatch(d) => self.dispatches.push(d),
            Event::Notice(n) => self.notices.push(n),
        }
    }

    /// Sequence numbers of the dispatches, in delivery order.
    pub fn sequences(&self) -> Vec<u64> {
        self.dispatches.iter().map(Dispatch::sequence).collect()
    }

    /// The disconnect notices.
    pub fn disconnects(&self) -> Vec<&Disconnect> {
        self.notices
            .iter()
            .filter_map(|n| match n {
                Notice::Disconnected(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// How many notices match `pred`.
    pub fn count(&self, pred: impl Fn(&Notice) -> bool) -> usize {
        self.notices.iter().filter(|n| pred(n)).count()
    }

    /// Asserts that every dispatch was delivered exactly once and in order: strictly
    /// increasing sequence numbers, no reported gap, and `want` dispatches in all.
    pub fn assert_exactly_once(&self, want: usize, case: &str) {
        let seqs = self.sequences();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{case}: sequence numbers strictly increase"
        );
        assert_eq!(
            self.count(|n| matches!(n, Notice::SequenceGap { .. })),
            0,
            "{case}: no gap"
        );
        assert_eq!(seqs.len(), want, "{case}: every dispatch once");
        // Generated dispatches carry `emulator_tag` once the seeded workload drives the
        // server; each tag must then arrive exactly once too.
        let mut tags: Vec<u64> = self
            .dispatches
            .iter()
            .filter_map(|d| read_tag(d.raw()))
            .collect();
        let tagged = tags.len();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), tagged, "{case}: no tag delivered twice");
    }
}

/// Polls `shard`, recording everything, until `stop` holds for the last event.
pub async fn run_until(
    shard: &mut Shard,
    seen: &mut Seen,
    mut stop: impl FnMut(&Event) -> bool,
) -> Result<(), ShardError> {
    loop {
        let event = shard.next_event().await?;
        let done = stop(&event);
        seen.record(event);
        if done {
            return Ok(());
        }
    }
}

/// Polls until `n` dispatches were recorded in all.
pub async fn until_dispatches(shard: &mut Shard, seen: &mut Seen, n: usize) {
    if seen.dispatches.len() >= n {
        return;
    }
    let mut count = seen.dispatches.len();
    run_until(shard, seen, |e| {
        count += usize::from(matches!(e, Event::Dispatch(_)));
        count >= n
    })
    .await
    .expect("no shard error");
}

/// Polls until a notice matching `pred` arrives.
pub async fn until_notice(shard: &mut Shard, seen: &mut Seen, pred: impl Fn(&Notice) -> bool) {
    run_until(shard, seen, |e| matches!(e, Event::Notice(n) if pred(n)))
        .await
        .expect("no shard error");
}

/// Polls until READY.
pub async fn until_ready(shard: &mut Shard, seen: &mut Seen) {
    until_notice(shard, seen, |n| matches!(n, Notice::Ready { .. })).await;
}

/// Polls until the first error and returns it.
pub async fn until_error(shard: &mut Shard, seen: &mut Seen) -> ShardError {
    run_until(shard, seen, |_| false)
        .await
        .expect_err("the shard ends with an error")
}

/// Whether `n` is a disconnect with `cause`.
pub fn is_disconnect(n: &Notice, cause: &DisconnectCause) -> bool {
    matches!(n, Notice::Disconnected(d) if &d.cause == cause)
}

/// Generated events per session in the fault tests.
pub const STREAM: u64 = 3000;
/// Dispatches per session in the fault tests: one GUILD_CREATE per guild, then the stream.
pub const PER_SESSION: usize = 4 + STREAM as usize;
/// Dispatches delivered before the fault is injected.
pub const FAULT_AFTER: usize = 300;

/// Pace of the stream in the fault tests (paused time makes it instant in real time). Paced,
/// the emulator is still generating when the fault hits; at full speed the whole stream would
/// already sit in the socket buffers and the fault would come after the last dispatch.
pub const STREAM_RATE: f64 = 1000.0;

/// Starts a paced streaming emulator and a shard, and lets `FAULT_AFTER` dispatches through
/// while the emulator is still generating the rest.
pub async fn mid_stream(knobs: &Knobs) -> (EmulatorHandle, Shard, Seen) {
    let emu = start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: Some(STREAM),
            rate: Rate::PerSecond(STREAM_RATE),
            // Only MESSAGE_CREATE, so every generated dispatch is one the tests declare.
            mix: Mix {
                message_create: 1.0,
                ..Mix::none()
            },
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = Shard::new(shard_config(&emu, knobs));
    let mut seen = Seen::default();
    until_dispatches(&mut shard, &mut seen, FAULT_AFTER).await;
    (emu, shard, seen)
}

/// [`mid_stream`], then injects `fault`.
pub async fn fault_mid_stream(fault: Fault, knobs: &Knobs) -> (EmulatorHandle, Shard, Seen) {
    let (emu, shard, seen) = mid_stream(knobs).await;
    assert_eq!(
        emu.inject_fault(0, fault),
        1,
        "one live connection got the fault"
    );
    (emu, shard, seen)
}

/// Runs the shard to the end of the stream and asserts it resumed once, with every dispatch
/// delivered exactly once, after a disconnect with `cause`.
pub async fn assert_resumed(
    case: &str,
    emu: &EmulatorHandle,
    shard: &mut Shard,
    seen: &mut Seen,
    cause: &DisconnectCause,
) {
    until_dispatches(shard, seen, PER_SESSION).await;
    seen.assert_exactly_once(PER_SESSION, case);
    let disconnects = seen.disconnects();
    assert_eq!(disconnects.len(), 1, "{case}: one disconnect");
    assert_eq!(&disconnects[0].cause, cause, "{case}: cause");
    assert!(disconnects[0].can_resume, "{case}: resumable");
    assert_eq!(
        seen.count(|n| matches!(n, Notice::Resumed { .. })),
        1,
        "{case}: one RESUMED"
    );
    assert_eq!(
        (emu.stats().identifies, emu.stats().resumes),
        (1, 1),
        "{case}: emulator"
    );
    let stats = shard.stats();
    assert_eq!(
        (stats.identifies, stats.resumes, stats.reconnects),
        (1, 1, 1),
        "{case}: shard"
    );
    let session = shard.session().expect("session");
    assert_eq!(session.sequence, emu.sessions()[0].seq, "{case}: caught up");
}

/// Runs the shard until the second session delivered its whole stream and asserts that the
/// old session was given up for a fresh Identify (no Resume), admitted by the emulator.
pub async fn assert_new_session(
    case: &str,
    emu: &EmulatorHandle,
    shard: &mut Shard,
    seen: &mut Seen,
) {
    until_notice(shard, seen, |n| matches!(n, Notice::Ready { .. })).await;
    let before = seen.dispatches.len();
    until_dispatches(shard, seen, before + PER_SESSION).await;
    let fresh: Vec<u64> = seen.dispatches[before..]
        .iter()
        .map(Dispatch::sequence)
        .collect();
    assert_eq!(
        fresh,
        (2..=PER_SESSION as u64 + 1).collect::<Vec<_>>(),
        "{case}: the new session's dispatches, once each, after its READY (seq 1)"
    );
    assert_eq!(
        seen.count(|n| matches!(n, Notice::Resumed { .. })),
        0,
        "{case}: no resume"
    );
    let log = emu.identify_log();
    assert_eq!(log.len(), 2, "{case}: two identifies");
    assert!(
        log.iter().all(|r| r.outcome == IdentifyOutcome::Accepted),
        "{case}: the identify queue spaced them as the emulator requires: {log:?}"
    );
    assert_eq!(
        (shard.stats().identifies, shard.stats().resumes),
        (2, 0),
        "{case}: shard"
    );
    let sessions = emu.sessions();
    assert_eq!(sessions.len(), 1, "{case}: the old session is gone");
    assert_eq!(
        shard.session().map(|s| s.id),
        Some(sessions[0].session_id.clone()),
        "{case}: the shard holds the new session"
    );
}
