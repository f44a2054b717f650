//! State shared by every connection of one emulator: sessions with their replay buffers, the
//! identify buckets and the session-start budget (GATEWAY.md §5), the live-connection
//! registry used by fault and event injection, and the counters behind `/emulator/stats`.
//!
//! Locks are `std::sync::Mutex`es held for a few instructions and never across an `.await`.
//! A session is an `Arc<Mutex<Session>>` so a connection can keep it across a batch of sends
//! and a Resume on another connection can take it over.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use crate::{
    EmulatorConfig,
    cache::{Cursor, StreamCache},
    faults::Fault,
    ledger::{Invalidation, Ledger, SessionRecord},
    replay::ReplayBuffer,
    wire::Outbound,
    workload::{WorkloadConfigError, World},
};

/// Counters of rule violations by clients, as reported in `/emulator/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Violations {
    /// Connections closed with 4008 for sending more than 120 commands in 60 s.
    pub rate_limit: u64,
    /// Identifies refused with op 9 for exceeding `max_concurrency` per bucket per window.
    pub identify_concurrency: u64,
    /// Identifies refused with op 9 because the session-start budget was used up.
    pub session_start_limit: u64,
    /// Connections closed for not heartbeating within 1.5 × the interval.
    pub heartbeat_timeout: u64,
    /// "All members" requests answered with RATE_LIMITED (1 per guild per 30 s).
    pub request_guild_members: u64,
}

/// A snapshot of the emulator's counters, as served by `GET /emulator/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Sessions that exist now (connected or resumable).
    pub sessions: u64,
    /// Successful Identifies (sessions started).
    pub identifies: u64,
    /// Successful Resumes.
    pub resumes: u64,
    /// Dispatches sent (replays included).
    pub events_sent: u64,
    /// Dispatches per second over the current sending period: from the first dispatch sent
    /// after at least [`SEND_IDLE`] without any, to the latest (so repeated benchmark runs
    /// each get their own rate, not a mean over the gaps between them); 0 before two batches
    /// were sent.
    pub send_rate: f64,
    /// Rule violations by clients.
    pub violations: Violations,
    /// Connections refused (closed at once) during an outage
    /// ([`crate::EmulatorHandle::refuse_connections`]).
    pub refused_connections: u64,
    /// CPU time the emulator's process has used so far (user + system, every thread), in
    /// seconds; `None` where the OS does not tell (it is read from Linux's `/proc`). Two
    /// readings around a run, divided by the events sent, give the emulator's own cost per
    /// event, which is how a benchmark shows it measured the client and not the emulator
    /// (`discordgateway bench` reports it). When the emulator runs in the client's process,
    /// this includes the client.
    pub cpu_seconds: Option<f64>,
}

/// The process's CPU time in seconds, summed over its live threads from
/// `/proc/self/task/*/schedstat` (nanoseconds on CPU, user and kernel), or from
/// `/proc/self/stat` (ticks of 1/100 s) when that is missing; `None` off Linux.
fn process_cpu_seconds() -> Option<f64> {
    let from_schedstat = || -> Option<f64> {
        let mut ns = 0u64;
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(ns as f64 / 1e9)
    };
    let from_stat = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after = stat.get(stat.rfind(')')? + 1..)?;
        let mut fields = after.split_whitespace().skip(11);
        let user: u64 = fields.next()?.parse().ok()?;
        let system: u64 = fields.next()?.parse().ok()?;
        Some((user + system) as f64 / 100.0)
    };
    from_schedstat().or_else(from_stat)
}

/// A pause in sending this long starts a new sending period ([`Stats::send_rate`]).
pub const SEND_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// One period of sending without a pause of [`SEND_IDLE`]: its first and latest batch, and
/// the dispatches sent before it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SendPeriod {
    /// When its first batch started.
    first: Instant,
    /// When its latest batch started.
    last: Instant,
    /// Dispatches counted before its first batch.
    before: u64,
}

impl SendPeriod {
    /// The period after a batch starting at `now`, with `before` dispatches counted before
    /// the batch: `current` extended, or a new period after a pause.
    fn record(current: Option<Self>, before: u64, now: Instant) -> Self {
        match current {
            Some(p) if now.saturating_duration_since(p.last) < SEND_IDLE => Self { last: now, ..p },
            _ => Self {
                first: now,
                last: now,
                before,
            },
        }
    }

    /// Dispatches per second in the period, given `total` dispatches counted so far.
    fn rate(self, total: u64) -> f64 {
        let span = self
            .last
            .saturating_duration_since(self.first)
            .as_secs_f64();
        if span > 0.0 {
            total.saturating_sub(self.before) as f64 / span
        } else {
            0.0
        }
    }
}

/// What happened to one Identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentifyOutcome {
    /// A session started.
    Accepted,
    /// Refused with op 9: the bucket already identified within the window.
    ConcurrencyExceeded,
    /// Refused with op 9: the session-start budget was used up.
    BudgetExhausted,
}

/// One entry of the identify log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentifyRecord {
    /// When the Identify arrived (tokio's clock, so paused-time tests can compare).
    pub at: Instant,
    /// The `[shard_id, num_shards]` it named (`[0, 1]` when it named none).
    pub shard: [u32; 2],
    /// What the emulator did with it.
    pub outcome: IdentifyOutcome,
}

/// Per-session counters, for observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id sent in READY.
    pub session_id: String,
    /// `[shard_id, num_shards]`.
    pub shard: [u32; 2],
    /// The intents it identified with.
    pub intents: u64,
    /// The last sequence number sent.
    pub seq: u64,
    /// Whether a connection is attached now.
    pub connected: bool,
    /// WebSocket frames received from clients over the session's life.
    pub frames_received: u64,
    /// Gateway commands (any opcode, heartbeats included) received.
    pub commands: u64,
    /// Frames sent to clients (dispatches and other opcodes).
    pub frames_sent: u64,
}

/// A message to one live connection's task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Inject this fault.
    Fault(Fault),
    /// Send this dispatch (subject to the session's intents).
    Dispatch(Outbound),
    /// The session was resumed elsewhere: close this connection without ending it.
    Superseded,
    /// The emulator restarts: cut the connection; its session is already forgotten.
    Restart,
}

pub(crate) use crate::replay::Replayed;

/// A gateway session: survives its connection until expired or ended.
pub(crate) struct Session {
    /// The session id.
    pub(crate) id: String,
    /// `[shard_id, num_shards]`.
    pub(crate) shard: [u32; 2],
    /// Granted intents.
    pub(crate) intents: u64,
    /// The last sequence number used.
    pub(crate) seq: u64,
    /// The most recent dispatches, oldest first, at most `replay_bound` of them.
    pub(crate) replay: ReplayBuffer,
    /// The generated dispatches not yet sent: a cursor in the shard's shared stream.
    pub(crate) stream: Cursor,
    /// The connection attached now, if any.
    pub(crate) conn: Option<u64>,
    /// When the last connection went away (for the resume window).
    pub(crate) detached_at: Option<Instant>,
    /// Counters.
    pub(crate) frames_received: u64,
    /// Commands received.
    pub(crate) commands: u64,
    /// Frames sent.
    pub(crate) frames_sent: u64,
}

impl Session {
    /// A snapshot for observation.
    fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            shard: self.shard,
            intents: self.intents,
            seq: self.seq,
            connected: self.conn.is_some(),
            frames_received: self.frames_received,
            commands: self.commands,
            frames_sent: self.frames_sent,
        }
    }
}

/// A shared, lockable session.
pub(crate) type SessionRef = Arc<Mutex<Session>>;

/// Locks a mutex, ignoring poisoning (a panicked connection task must not stop the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One live connection in the registry.
#[derive(Debug)]
struct ConnEntry {
    /// The shard it identified or resumed as, once known.
    shard: Option<[u32; 2]>,
    /// Its control channel.
    tx: mpsc::UnboundedSender<Control>,
}

/// The mutable part of [`Shared`].
#[derive(Default)]
struct Inner {
    /// Sessions by id.
    sessions: HashMap<String, SessionRef>,
    /// Last accepted Identify per bucket (`shard_id % max_concurrency`).
    buckets: HashMap<u32, Instant>,
    /// Session starts used in the current budget window, and when the window started.
    budget_used: u32,
    /// When the budget window started (`None` until the first Identify).
    budget_since: Option<Instant>,
    /// Every Identify, in arrival order.
    identify_log: Vec<IdentifyRecord>,
    /// Live connections by id.
    conns: HashMap<u64, ConnEntry>,
    /// Faults for a shard that had no live connection, applied to the next new connection.
    pending_faults: VecDeque<Fault>,
    /// Last "all members" request per guild.
    members_all: HashMap<u64, Instant>,
    /// The current sending period, for the send rate.
    sending: Option<SendPeriod>,
    /// Counter for session ids.
    next_session: u64,
}

/// Everything the connections of one emulator share.
pub(crate) struct Shared {
    /// The configuration.
    pub(crate) config: EmulatorConfig,
    /// The generated world.
    pub(crate) world: Arc<World>,
    /// The shards' generated streams, generated once for all sessions.
    cache: StreamCache,
    /// The listening address (for URLs).
    pub(crate) addr: SocketAddr,
    /// Mutable state.
    inner: Mutex<Inner>,
    /// Successful Identifies.
    identifies: AtomicU64,
    /// Successful Resumes.
    resumes: AtomicU64,
    /// Dispatches sent.
    events_sent: AtomicU64,
    /// Next connection id.
    next_conn: AtomicU64,
    /// Violation counters, under one lock (they are rare).
    violations: Mutex<Violations>,
    /// Shard ids on which a session has been established (starts scenario clocks).
    started: watch::Sender<BTreeSet<u32>>,
    /// Which tags each session was sent, and which sessions were invalidated. Lock order:
    /// `inner`, then a session, then the ledger.
    ledger: Mutex<Ledger>,
    /// New connections are refused until then (an outage).
    refuse_until: Mutex<Option<Instant>>,
    /// Connections refused during outages.
    refused: AtomicU64,
}

impl Shared {
    /// Creates the shared state for a server on `addr`, generating the workload's world.
    pub(crate) fn new(
        config: EmulatorConfig,
        addr: SocketAddr,
    ) -> Result<Self, WorkloadConfigError> {
        let world = Arc::new(World::generate(&config.workload)?);
        let cache = StreamCache::new(
            Arc::clone(&world),
            config.workload.clone(),
            config.stream_cache_bytes,
            config.send_files,
        );
        Ok(Self {
            config,
            world,
            cache,
            addr,
            inner: Mutex::new(Inner::default()),
            identifies: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
            events_sent: AtomicU64::new(0),
            next_conn: AtomicU64::new(0),
            violations: Mutex::new(Violations::default()),
            started: watch::Sender::new(BTreeSet::new()),
            ledger: Mutex::new(Ledger::default()),
            refuse_until: Mutex::new(None),
            refused: AtomicU64::new(0),
        })
    }

    /// The `ws://host:port` URL of the gateway.
    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Counts one violation.
    pub(crate) fn violation(&self, bump: impl FnOnce(&mut Violations)) {
        bump(&mut lock(&self.violations));
    }

    /// Registers a new connection; returns its id, its control receiver and any fault that
    /// was waiting for a connection.
    pub(crate) fn register(&self) -> (u64, mpsc::UnboundedReceiver<Control>, Option<Fault>) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = lock(&self.inner);
        inner.conns.insert(id, ConnEntry { shard: None, tx });
        (id, rx, inner.pending_faults.pop_front())
    }

    /// Records that a session on `shard` was established (its READY is queued).
    pub(crate) fn mark_started(&self, shard: u32) {
        self.started.send_if_modified(|set| set.insert(shard));
    }

    /// Watches the shards on which a session has been established.
    pub(crate) fn started_shards(&self) -> watch::Receiver<BTreeSet<u32>> {
        self.started.subscribe()
    }

    /// Removes a connection from the registry.
    pub(crate) fn unregister(&self, id: u64) {
        lock(&self.inner).conns.remove(&id);
    }

    /// Records the shard a connection now serves.
    pub(crate) fn set_conn_shard(&self, id: u64, shard: [u32; 2]) {
        if let Some(c) = lock(&self.inner).conns.get_mut(&id) {
            c.shard = Some(shard);
        }
    }

    /// Sends a control message to every live connection of shard `shard_id`; returns how many
    /// got it. A fault for a shard with no live connection waits for the next connection.
    pub(crate) fn to_shard(&self, shard_id: u32, make: impl Fn() -> Control) -> usize {
        self.to_shard_or(shard_id, true, make)
    }

    /// [`to_shard`](Self::to_shard); with `queue` false, a fault for a shard with no live
    /// connection is dropped instead of waiting.
    pub(crate) fn to_shard_or(
        &self,
        shard_id: u32,
        queue: bool,
        make: impl Fn() -> Control,
    ) -> usize {
        let mut inner = lock(&self.inner);
        let n = inner
            .conns
            .values()
            .filter(|c| c.shard.is_some_and(|[id, _]| id == shard_id))
            .filter(|c| c.tx.send(make()).is_ok())
            .count();
        if n == 0
            && queue
            && let Control::Fault(f) = make()
        {
            inner.pending_faults.push_back(f);
        }
        n
    }

    /// Sends a dispatch to every live connection whose shard it routes to
    /// (`(guild_id >> 22) % total`, guild-less events to shard 0); returns how many got it.
    pub(crate) fn route(&self, event: &Outbound, only_shard: Option<u32>) -> usize {
        let inner = lock(&self.inner);
        inner
            .conns
            .values()
            .filter(|c| {
                c.shard
                    .is_some_and(|[id, total]| match (only_shard, event.guild_id) {
                        (Some(s), _) => s == id,
                        (None, Some(g)) => (g >> 22) % u64::from(total.max(1)) == u64::from(id),
                        (None, None) => id == 0,
                    })
            })
            .filter(|c| c.tx.send(Control::Dispatch(event.clone())).is_ok())
            .count()
    }

    /// Decides an Identify for `shard` at `now`: concurrency bucket, then budget. Logs it.
    pub(crate) fn admit_identify(&self, shard: [u32; 2], now: Instant) -> IdentifyOutcome {
        let config = &self.config;
        let mut inner = lock(&self.inner);
        let bucket = shard[0] % config.max_concurrency.max(1);
        let outcome = if inner
            .buckets
            .get(&bucket)
            .is_some_and(|last| now.duration_since(*last) < config.identify_window)
        {
            IdentifyOutcome::ConcurrencyExceeded
        } else {
            if inner
                .budget_since
                .is_none_or(|since| now.duration_since(since) >= config.session_start_reset)
            {
                inner.budget_since = Some(now);
                inner.budget_used = 0;
            }
            if inner.budget_used >= config.session_start_total {
                IdentifyOutcome::BudgetExhausted
            } else {
                inner.budget_used += 1;
                inner.buckets.insert(bucket, now);
                IdentifyOutcome::Accepted
            }
        };
        inner.identify_log.push(IdentifyRecord {
            at: now,
            shard,
            outcome,
        });
        drop(inner);
        match outcome {
            IdentifyOutcome::Accepted => {
                self.identifies.fetch_add(1, Ordering::Relaxed);
            }
            IdentifyOutcome::ConcurrencyExceeded => {
                self.violation(|v| v.identify_concurrency += 1);
            }
            IdentifyOutcome::BudgetExhausted => self.violation(|v| v.session_start_limit += 1),
        }
        outcome
    }

    /// `(remaining, reset_after)` of the session-start budget at `now`.
    pub(crate) fn budget(&self, now: Instant) -> (u32, std::time::Duration) {
        let inner = lock(&self.inner);
        let reset = self.config.session_start_reset;
        match inner.budget_since {
            Some(since) if now.duration_since(since) < reset => (
                self.config
                    .session_start_total
                    .saturating_sub(inner.budget_used),
                reset - now.duration_since(since),
            ),
            _ => (self.config.session_start_total, reset),
        }
    }

    /// Creates and stores a new session; returns it.
    pub(crate) fn new_session(&self, shard: [u32; 2], intents: u64, conn: u64) -> SessionRef {
        let mut inner = lock(&self.inner);
        inner.next_session += 1;
        let id = session_id(self.config.workload.seed, inner.next_session);
        let mut ledger = lock(&self.ledger);
        // Streams that continue across sessions (the soak) run live from the ledger's
        // high-water mark, so the mark can be kept; restarting streams (the default, and what
        // benchmarks use) read the shard's shared cache from the start.
        let stream = if self.config.workload.continue_streams {
            let live = ledger
                .continued(shard)
                .unwrap_or_else(|| self.world.stream(shard[0], shard[1], &self.config.workload));
            self.cache.live_cursor(shard[0], shard[1], live)
        } else {
            self.cache.cursor(shard[0], shard[1])
        };
        ledger.open(&id, shard, stream.position());
        drop(ledger);
        let session = Arc::new(Mutex::new(Session {
            id: id.clone(),
            shard,
            intents,
            seq: 0,
            replay: ReplayBuffer::default(),
            stream,
            conn: Some(conn),
            detached_at: None,
            frames_received: 0,
            commands: 0,
            frames_sent: 0,
        }));
        inner.sessions.insert(id, Arc::clone(&session));
        session
    }

    /// Finds a resumable session (purging it if its window has passed).
    pub(crate) fn find_session(&self, id: &str, now: Instant) -> Option<SessionRef> {
        let mut inner = lock(&self.inner);
        let session = Arc::clone(inner.sessions.get(id)?);
        let expired = lock(&session)
            .detached_at
            .is_some_and(|t| now.duration_since(t) >= self.config.resume_window);
        if expired {
            inner.sessions.remove(id);
            self.invalidate(id, Invalidation::Expired);
            return None;
        }
        Some(session)
    }

    /// Tells a connection it lost its session to a Resume elsewhere.
    pub(crate) fn supersede(&self, conn: u64) {
        if let Some(c) = lock(&self.inner).conns.get(&conn) {
            let _ = c.tx.send(Control::Superseded);
        }
    }

    /// Ends a session: it can no longer be resumed.
    pub(crate) fn end_session(&self, id: &str, why: Invalidation) {
        lock(&self.inner).sessions.remove(id);
        self.invalidate(id, why);
    }

    /// Records in the ledger that session `id` was invalidated.
    pub(crate) fn invalidate(&self, id: &str, why: Invalidation) {
        lock(&self.ledger).invalidate(id, why);
    }

    /// Records in the ledger the positions `session` has been sent so far.
    pub(crate) fn generated(&self, session: &Session) {
        let keep = self.config.workload.continue_streams;
        lock(&self.ledger).generated(
            &session.id,
            session.shard,
            session.stream.position(),
            session.stream.live_stream().filter(|_| keep),
        );
    }

    /// The ledger's records, in creation order.
    pub(crate) fn ledger(&self) -> Vec<SessionRecord> {
        lock(&self.ledger).records()
    }

    /// Forgets every session (recording [`Invalidation::Restart`]) and cuts every live
    /// connection; returns how many connections were cut.
    pub(crate) fn restart(&self) -> usize {
        let mut inner = lock(&self.inner);
        let ids: Vec<String> = inner.sessions.drain().map(|(id, _)| id).collect();
        let cut = inner
            .conns
            .values()
            .filter(|c| c.tx.send(Control::Restart).is_ok())
            .count();
        drop(inner);
        let mut ledger = lock(&self.ledger);
        for id in ids {
            ledger.invalidate(&id, Invalidation::Restart);
        }
        cut
    }

    /// Refuses new connections until `until`.
    pub(crate) fn refuse_until(&self, until: Instant) {
        *lock(&self.refuse_until) = Some(until);
    }

    /// Whether a connection arriving at `now` is refused; counts it if so.
    pub(crate) fn refuses(&self, now: Instant) -> bool {
        let refused = lock(&self.refuse_until).is_some_and(|t| now < t);
        if refused {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        refused
    }

    /// Counts a successful Resume.
    pub(crate) fn count_resume(&self) {
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` dispatches sent at `now`.
    pub(crate) fn count_sent(&self, n: u64, now: Instant) {
        if n == 0 {
            return;
        }
        let before = self.events_sent.fetch_add(n, Ordering::Relaxed);
        let mut inner = lock(&self.inner);
        inner.sending = Some(SendPeriod::record(inner.sending, before, now));
    }

    /// Checks the "all members" limit for `guild` at `now`: `Err(retry_after)` if refused.
    pub(crate) fn admit_members_all(
        &self,
        guild: u64,
        now: Instant,
    ) -> Result<(), std::time::Duration> {
        const WINDOW: std::time::Duration = std::time::Duration::from_secs(30);
        let mut inner = lock(&self.inner);
        if let Some(last) = inner.members_all.get(&guild)
            && now.duration_since(*last) < WINDOW
        {
            let retry = WINDOW - now.duration_since(*last);
            drop(inner);
            self.violation(|v| v.request_guild_members += 1);
            return Err(retry);
        }
        inner.members_all.insert(guild, now);
        Ok(())
    }

    /// The stats snapshot at `now`.
    pub(crate) fn stats(&self, now: Instant) -> Stats {
        let mut inner = lock(&self.inner);
        let window = self.config.resume_window;
        let mut expired = Vec::new();
        inner.sessions.retain(|id, s| {
            let keep = lock(s)
                .detached_at
                .is_none_or(|t| now.duration_since(t) < window);
            if !keep {
                expired.push(id.clone());
            }
            keep
        });
        for id in &expired {
            self.invalidate(id, Invalidation::Expired);
        }
        let events_sent = self.events_sent.load(Ordering::Relaxed);
        let send_rate = inner.sending.map_or(0.0, |p| p.rate(events_sent));
        Stats {
            sessions: inner.sessions.len() as u64,
            identifies: self.identifies.load(Ordering::Relaxed),
            resumes: self.resumes.load(Ordering::Relaxed),
            events_sent,
            send_rate,
            violations: *lock(&self.violations),
            refused_connections: self.refused.load(Ordering::Relaxed),
            cpu_seconds: process_cpu_seconds(),
        }
    }

    /// The identify log so far.
    pub(crate) fn identify_log(&self) -> Vec<IdentifyRecord> {
        lock(&self.inner).identify_log.clone()
    }

    /// The violation counters.
    pub(crate) fn violations(&self) -> Violations {
        *lock(&self.violations)
    }

    /// Observation of every session.
    pub(crate) fn sessions(&self) -> Vec<SessionInfo> {
        lock(&self.inner)
            .sessions
            .values()
            .map(|s| lock(s).info())
            .collect()
    }
}

/// A 32-hex-digit session id, deterministic in the seed and a counter.
fn session_id(seed: u64, n: u64) -> String {
    // SplitMix64 over (seed, n): distinct, stable, random-looking.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    format!(
        "{:016x}{:016x}",
        mix(seed ^ n),
        mix(n.wrapping_mul(31) ^ !seed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_send_rate_covers_the_current_period_only() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        // 1000 dispatches in batches of 100 over 0.9 s.
        let mut p = None;
        for i in 0..10u64 {
            p = Some(SendPeriod::record(p, i * 100, at(i * 100)));
        }
        let first = p.unwrap();
        assert_eq!(first.first, t0);
        assert!((first.rate(1000) - 1000.0 / 0.9).abs() < 1e-6);
        // A pause of SEND_IDLE, then 400 more over 0.1 s: a new period.
        let resume = 900 + SEND_IDLE.as_millis() as u64;
        let mut q = Some(SendPeriod::record(p, 1000, at(resume)));
        q = Some(SendPeriod::record(q, 1200, at(resume + 100)));
        let second = q.unwrap();
        assert_eq!(second.before, 1000);
        assert!(
            (second.rate(1400) - 4000.0).abs() < 1e-6,
            "{}",
            second.rate(1400)
        );
        // A single batch has no span yet.
        assert_eq!(SendPeriod::record(None, 0, t0).rate(100), 0.0);
    }
}
