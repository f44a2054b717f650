//! Helpers for driving a [`Shard`] against the in-process emulator over loopback.
//!
//! The emulator runs in the test's own runtime, so `#[tokio::test(start_paused = true)]`
//! pauses both sides' clocks. Paused time auto-advances whenever every task waits, including
//! while a frame is in flight on loopback; tests that are not about heartbeats therefore keep
//! the emulator's default 41.25 s interval, so an auto-advance never reaches a heartbeat.

use std::time::Duration;

use discordgateway::proto::Compression;
use discordgateway::proto::config::{Config, ReconnectPolicy};
use discordgateway::proto::event::{Disconnect, DisconnectCause};
use discordgateway::{
    Dispatch, Event, EventSet, EventType, GatewayUrl, Intents, Notice, Shard, ShardConfig,
    ShardError, Token,
};
use discordgateway_emulator::{Emulator, EmulatorConfig, EmulatorHandle};

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
        events_per_shard: events,
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
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            events: DECLARED,
            extra_intents: Intents::EMPTY,
            compression: Compression::None,
            reconnect: ReconnectPolicy::default(),
            token: TOKEN,
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
    ShardConfig::builder(core_config(emu, knobs))
        .seed(11)
        .connect_timeout(Duration::from_secs(5))
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
