//! The emulator's configuration: what Discord would decide for a real bot (shard count,
//! `max_concurrency`, the session-start budget, the heartbeat interval, the privileged intents
//! the app may use) plus the emulator's own knobs (resume window, replay bound, workload).
//!
//! Every default is documented on its field; [`EmulatorConfig::default`] gives a bot with one
//! shard, a few small guilds and Discord's documented limits.

use std::time::Duration;

use crate::{
    scenario::Scenario,
    workload::{Rate, WorkloadConfig},
};

/// Configuration for [`crate::Emulator::start`].
///
/// Build it with struct update syntax over [`EmulatorConfig::default`] (the struct is not
/// `#[non_exhaustive]` so this works; new fields always come with a default):
///
/// ```
/// use std::time::Duration;
/// use discordgateway_emulator::EmulatorConfig;
///
/// use discordgateway_emulator::workload::{Rate, WorkloadConfig};
///
/// let config = EmulatorConfig {
///     shards: 4,
///     heartbeat_interval: Duration::from_millis(500),
///     workload: WorkloadConfig {
///         guilds: 40,
///         events_per_shard: Some(10_000),
///         rate: Rate::PerSecond(500.0),
///         ..EmulatorConfig::default().workload
///     },
///     ..EmulatorConfig::default()
/// };
/// assert_eq!(config.max_concurrency, 1);
/// assert_eq!(config.workload.large_fraction, 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Recommended shard count reported by `/gateway/bot`. Default 1. Clients may still
    /// identify with any total (GATEWAY.md §6: shard counts are routing only).
    pub shards: u32,
    /// The seeded world (guilds, channels, roles, members) and the stream of generated
    /// dispatches each new session receives after its GUILD_CREATE burst (see
    /// [`crate::workload`]). Its seed also seeds session ids.
    ///
    /// Default: [`WorkloadConfig::default`] except a small world so that protocol tests start
    /// fast: 4 guilds of 10–200 members, none large, no generated events (an idle gateway),
    /// rate [`Rate::Max`].
    pub workload: WorkloadConfig,
    /// Scripted dispatches and faults at times (see [`crate::scenario`]). Each step targets
    /// the shard [`crate::scenario::ScenarioStep::target_shard`] names with `shards` as the
    /// total; steps for a shard `>= shards` are skipped with a warning. Each shard's clock
    /// starts when its first session is established (READY), so `at_ms` counts from there.
    /// Default: empty.
    pub scenario: Scenario,
    /// Identify requests allowed per bucket (`shard_id % max_concurrency`) per
    /// [`identify_window`](Self::identify_window). Default 1 (GATEWAY.md §5).
    pub max_concurrency: u32,
    /// The identify concurrency window. Default 5 s (GATEWAY.md §5); shorten it in tests.
    pub identify_window: Duration,
    /// Session starts (successful Identifies) allowed per budget window. Default 1000.
    pub session_start_total: u32,
    /// Length of the session-start budget window. Default 24 h.
    pub session_start_reset: Duration,
    /// The `heartbeat_interval` sent in Hello. Default 41.25 s. A connection that sends no
    /// heartbeat for 1.5 × this is closed with 4000 (resumable).
    pub heartbeat_interval: Duration,
    /// Accepted bot tokens; `None` accepts any non-empty token. Default `None`.
    pub tokens: Option<Vec<String>>,
    /// Privileged intent bits the app is allowed (GUILD_MEMBERS = 2, GUILD_PRESENCES = 256,
    /// MESSAGE_CONTENT = 32768). Default: all three. Others get close 4014.
    pub allowed_privileged_intents: u64,
    /// How long a session whose connection dropped (without a 1000/1001 close) stays
    /// resumable. Default 3 minutes (Discord only says "a few minutes", GATEWAY.md §3.10).
    pub resume_window: Duration,
    /// How many dispatches each session keeps for replay on Resume. Default 10 000. A Resume
    /// whose `seq` is older than the oldest kept dispatch gets op 9 `false`.
    pub replay_bound: usize,
    /// The most bytes the generated streams are cached in (issue 4, point 9): each shard's
    /// stream is generated once and shared by every session on it, up to this many bytes
    /// over all shards (about 1.5 KB per event on the default workload), and generated live
    /// beyond. Default 256 MiB. Raise it so repeated benchmark runs of more events per shard
    /// are served from the cache; 0 turns the cache off.
    pub stream_cache_bytes: usize,
    /// Keep the cache's pre-built frames in a memory file and send them with `sendfile`
    /// (Linux; elsewhere this does nothing). Default `true`: the kernel then sends the frames
    /// without first copying them from the emulator's memory, which halves the emulator's
    /// CPU per plain event on loopback. The client's kernel still copies every byte into the
    /// client, now from memory the emulator did not just write (as a client's data arrives
    /// from a network card), so a client's CPU per event may read higher than with `false`
    /// (measured in the emulator's `benches/README.md`).
    pub send_files: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            shards: 1,
            workload: WorkloadConfig {
                guilds: 4,
                large_fraction: 0.0,
                events_per_shard: Some(0),
                rate: Rate::Max,
                ..WorkloadConfig::default()
            },
            scenario: Scenario::default(),
            max_concurrency: 1,
            identify_window: Duration::from_secs(5),
            session_start_total: 1000,
            session_start_reset: Duration::from_secs(24 * 60 * 60),
            heartbeat_interval: Duration::from_millis(41_250),
            tokens: None,
            allowed_privileged_intents: crate::wire::intents::PRIVILEGED,
            resume_window: Duration::from_secs(180),
            replay_bound: 10_000,
            stream_cache_bytes: 256 << 20,
            send_files: true,
        }
    }
}

impl EmulatorConfig {
    /// Whether `token` (without any `Bot ` prefix) is accepted.
    pub(crate) fn accepts_token(&self, token: &str) -> bool {
        let token = token.strip_prefix("Bot ").unwrap_or(token);
        match &self.tokens {
            None => !token.is_empty(),
            Some(list) => list.iter().any(|t| t == token),
        }
    }

    /// The grace after which a silent connection is closed: 1.5 × the heartbeat interval.
    pub(crate) fn heartbeat_grace(&self) -> Duration {
        self.heartbeat_interval + self.heartbeat_interval / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_acceptance() {
        let any = EmulatorConfig::default();
        let listed = EmulatorConfig {
            tokens: Some(vec!["good".into()]),
            ..EmulatorConfig::default()
        };
        const CASES: &[(&str, bool, bool)] = &[
            ("good", true, true),
            ("Bot good", true, true),
            ("bad", true, false),
            ("", false, false),
            ("Bot ", false, false),
        ];
        for &(token, want_any, want_listed) in CASES {
            assert_eq!(any.accepts_token(token), want_any, "any: {token:?}");
            assert_eq!(
                listed.accepts_token(token),
                want_listed,
                "listed: {token:?}"
            );
        }
    }
}
