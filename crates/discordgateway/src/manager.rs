//! [`ShardManager`]: many shards, one merged event stream, sessions that survive deploys, and
//! resharding without downtime.
//!
//! **The manager is the optional part that spawns.** A [`Shard`](crate::Shard) spawns nothing
//! and works inside its caller's `.await`; the manager runs one tokio task per shard (see
//! `task.rs` for why one per shard and not one future for all) and merges their events into one
//! bounded channel that [`ShardManager::next_event`] reads. Back-pressure reaches the shards,
//! while a shard waiting on a slow consumer keeps heartbeating (a per-shard buffer; details in
//! the task module docs).
//!
//! - **Startup** (GATEWAY.md §5, §6): shards start bucket by bucket (`id % max_concurrency`),
//!   in shard order within each bucket, through the shared [`IdentifyQueue`]; shards with a
//!   saved session resume instead and skip the queue (falling back to Identify, through the
//!   queue, if the resume fails).
//! - **Status**: [`ShardManager::status`] and [`StatusWatch`] give each shard's phase, latency
//!   and counters, and an "all ready" computed from the current phases, so it never latches.
//!   The status **leads the stream**: a shard reads ready as soon as its task receives READY,
//!   possibly before the application consumes that notice; so it needs no consumer
//!   ([`StatusWatch::wait_all_ready`] works while nobody reads), and code that must see every
//!   READY counts the notices. The same figures go to the [`metrics`](crate::metrics) facade.
//! - **Sessions** (§3.6, §3.10): [`ShardManager::shutdown`] closes every shard resumably and
//!   saves its session in the [`SessionStore`], with the sequence of the last event the
//!   application actually received, so events still buffered are replayed by the next start.
//! - **Resharding** (§6): [`ShardManager::reshard`] brings up a full new set with the new total
//!   while the old set keeps delivering; the switch happens when every new shard is READY and
//!   its guild burst is over; deduplication over the overlap is documented in `reshard.rs`.

mod builder;
mod error;
mod gate;
mod reshard;
mod status;
mod task;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

pub use builder::{
    DEFAULT_DEDUP_WINDOW, DEFAULT_EVENT_CAPACITY, DEFAULT_GUILD_BURST_QUIET, DEFAULT_SHARD_BUFFER,
    ManagerBuilder,
};
pub use error::{ManagerError, ManagerErrorKind, ShardFailure};
pub use status::{ManagerStatus, ShardStatus, StatusWatch};

use self::builder::Factory;
use self::gate::{GatedQueue, StartupGate, Ticket};
use self::reshard::{Dedup, Verdict, fingerprint};
use self::status::View;
use self::task::{Control, Item, Slot, TaskParts};
use crate::metrics::{ManagerMetrics, ShardMetrics};
use crate::proto::event::{Event, Notice};
use crate::proto::shard::ShardId;
use crate::proto::state::{Phase, Session};
use crate::queue::IdentifyQueue;
use crate::session_store::SessionStore;
use crate::shard::{CloseKind, ShardSender};

/// An event of one shard, from [`ShardManager::next_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEvent {
    /// The shard that received it.
    pub shard: ShardId,
    /// The event.
    pub event: Event,
}

/// The part a set plays in delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// No resharding: the current set.
    Only,
    /// Resharding: the set being replaced.
    Old,
    /// Resharding: the set replacing it.
    New,
    /// A set that is gone.
    Stale,
}

/// A running shard task.
#[derive(Debug)]
struct Handle {
    /// Shared status.
    slot: Arc<Slot>,
    /// Control messages.
    control: mpsc::Sender<Control>,
    /// The task.
    task: JoinHandle<()>,
    /// The shard's command sender.
    sender: ShardSender,
}

/// One set of shards with one total.
#[derive(Debug)]
struct ShardSet {
    /// Tags the set's items in the merged channel.
    generation: u64,
    /// Its shard count.
    total: u32,
    /// Its shards by number.
    shards: BTreeMap<u32, Handle>,
}

impl ShardSet {
    /// The slots, in shard order.
    fn slots(&self) -> Vec<Arc<Slot>> {
        self.shards.values().map(|h| Arc::clone(&h.slot)).collect()
    }

    /// Whether every task has ended (each marks its slot before its last message).
    fn ended(&self) -> bool {
        self.shards.values().all(|h| !h.slot.get().running)
    }
}

/// Many shards behind one bounded event stream; see the [module docs](self).
///
/// # Examples
///
/// ```no_run
/// use discordgateway::proto::config::Config;
/// use discordgateway::proto::{EventSet, EventType, Token};
/// use discordgateway::{FileSessionStore, ShardManager};
/// use std::sync::Arc;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let core = Config::builder(Token::new(std::env::var("DISCORD_TOKEN")?)?)
///     .guild_events(EventSet::from_slice(&[EventType::from_wire("MESSAGE_CREATE")]));
/// let mut manager = ShardManager::builder(core)
///     .total(16)
///     .max_concurrency(4)
///     .session_store(Arc::new(FileSessionStore::new("sessions.json")))
///     .start()
///     .await?;
/// while let Some(item) = manager.next_event().await {
///     match item {
///         Ok(ev) => println!("{}: {:?}", ev.shard, ev.event),
///         Err(failure) => eprintln!("{failure}"),
///     }
/// #   break;
/// }
/// manager.shutdown().await?; // saves sessions: the next start resumes them
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ShardManager {
    /// Builds shards.
    factory: Factory,
    /// Where sessions go.
    store: Option<Arc<dyn SessionStore>>,
    /// Sending half of the merged channel, cloned into each task.
    tx: mpsc::Sender<Item>,
    /// The merged channel.
    rx: mpsc::Receiver<Item>,
    /// Shared with [`StatusWatch`]es.
    view: Arc<View>,
    /// The set whose events are delivered.
    current: ShardSet,
    /// The set starting during a resharding overlap.
    next: Option<ShardSet>,
    /// The set closing after a switch.
    old: Option<ShardSet>,
    /// Deduplication while resharding.
    dedup: Option<Dedup<ShardEvent>>,
    /// Events ready to return (held-back ones after a switch).
    ready: std::collections::VecDeque<ShardEvent>,
    /// The sequence of the last dispatch (or READY) handed to the application, per shard.
    delivered: HashMap<ShardId, u64>,
    /// The next generation number.
    next_generation: u64,
    /// Options from the builder.
    options: Options,
    /// Manager-wide metrics.
    metrics: ManagerMetrics,
    /// Dispatches dropped as duplicates while resharding, since start.
    duplicates: u64,
    /// How many of the current dedup's drops are in `duplicates` already.
    dedup_counted: u64,
}

/// Builder options kept after start.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// Per-shard buffer.
    shard_buffer: usize,
    /// Guild-burst quiet period.
    guild_burst_quiet: std::time::Duration,
    /// Dedup bound.
    dedup_window: usize,
    /// Whether the manager runs all shards of its total (resharding needs that).
    full: bool,
}

impl ShardManager {
    /// A builder from a core configuration template; see [`ManagerBuilder`].
    pub fn builder(core: crate::proto::config::ConfigBuilder) -> ManagerBuilder {
        ManagerBuilder::new(core)
    }

    /// Starts the shards of `builder` (checked by [`ManagerBuilder::start`]).
    async fn start(builder: ManagerBuilder) -> Result<Self, ManagerError> {
        let saved = load_sessions(builder.store.as_deref(), &builder.range, builder.total).await;
        let (tx, rx) = mpsc::channel(builder.event_capacity);
        let changed_tx = Arc::new(watch::Sender::new(()));
        let view = Arc::new(View {
            current: Mutex::new((builder.total, Vec::new(), None)),
            changed: Arc::clone(&changed_tx),
        });
        let options = Options {
            shard_buffer: builder.shard_buffer,
            guild_burst_quiet: builder.guild_burst_quiet,
            dedup_window: builder.dedup_window,
            full: builder.range == (0..builder.total),
        };
        let mut manager = Self {
            factory: builder.factory,
            store: builder.store,
            tx,
            rx,
            view,
            current: ShardSet {
                generation: 0,
                total: builder.total,
                shards: BTreeMap::new(),
            },
            next: None,
            old: None,
            dedup: None,
            ready: std::collections::VecDeque::new(),
            delivered: HashMap::new(),
            next_generation: 1,
            options,
            metrics: ManagerMetrics::new(),
            duplicates: 0,
            dedup_counted: 0,
        };
        for session in saved.values() {
            manager.delivered.insert(session.shard, session.sequence);
        }
        manager.current = manager.spawn_set(0, builder.total, builder.range, saved)?;
        manager.publish();
        info!(
            total = builder.total,
            shards = manager.current.shards.len(),
            resuming = manager.delivered.len(),
            "shard manager started"
        );
        Ok(manager)
    }

    /// Spawns a set: fresh shards gated into bucket order, saved sessions resumed.
    fn spawn_set(
        &self,
        generation: u64,
        total: u32,
        range: std::ops::Range<u32>,
        mut saved: BTreeMap<u32, Session>,
    ) -> Result<ShardSet, ManagerError> {
        let gate = StartupGate::new(self.factory.max_concurrency);
        let mut positions: HashMap<u32, u32> = HashMap::new();
        let mut set = ShardSet {
            generation,
            total,
            shards: BTreeMap::new(),
        };
        for number in range {
            let id = ShardId::new(number, total).map_err(|e| {
                ManagerError::with_source(
                    ManagerErrorKind::InvalidShards {
                        start: number,
                        end: number + 1,
                        total,
                    },
                    e,
                )
            })?;
            let session = saved.remove(&number);
            let queue: Arc<dyn IdentifyQueue> = if session.is_some() {
                Arc::clone(&self.factory.queue)
            } else {
                let bucket = number % self.factory.max_concurrency;
                let position = positions.entry(bucket).or_insert(0);
                let ticket = Ticket::new(Arc::clone(&gate), bucket, *position);
                *position += 1;
                Arc::new(GatedQueue {
                    inner: Arc::clone(&self.factory.queue),
                    ticket,
                })
            };
            let handle = self.spawn_shard(generation, id, session, queue)?;
            set.shards.insert(number, handle);
        }
        Ok(set)
    }

    /// Builds and spawns one shard task.
    fn spawn_shard(
        &self,
        generation: u64,
        id: ShardId,
        session: Option<Session>,
        queue: Arc<dyn IdentifyQueue>,
    ) -> Result<Handle, ManagerError> {
        let shard = self.factory.build(id, session.clone(), queue)?;
        let sender = shard.sender();
        let slot = Slot::new(id, session);
        let (control, control_rx) = mpsc::channel(4);
        let task = task::spawn(TaskParts {
            generation,
            shard,
            events: self.tx.clone(),
            control: control_rx,
            slot: Arc::clone(&slot),
            changed: Arc::clone(&self.view.changed),
            buffer: self.options.shard_buffer,
            metrics: ShardMetrics::new(id),
        });
        Ok(Handle {
            slot,
            control,
            task,
            sender,
        })
    }

    /// Publishes the current set to the view and the gauges.
    fn publish(&self) {
        let resharding_to = self.next.as_ref().map(|n| n.total);
        self.view
            .set(self.current.total, self.current.slots(), resharding_to);
        #[allow(clippy::cast_precision_loss)] // shard counts are far below 2^52
        self.metrics.total.set(self.current.shards.len() as f64);
    }

    /// The next event of any shard, or a shard's failure. `None` once every shard task has
    /// ended (after `stop` of each, or fatal errors on all).
    ///
    /// Cancel-safe: dropping the future loses no event.
    pub async fn next_event(&mut self) -> Option<Result<ShardEvent, ShardFailure>> {
        loop {
            self.advance_resharding();
            if let Some(event) = self.ready.pop_front() {
                self.note_delivered(&event, None);
                return Some(Ok(event));
            }
            if self.rx.is_empty() && self.all_ended() {
                return None;
            }
            let deadline = self.switch_deadline();
            let item = tokio::select! {
                item = self.rx.recv() => item,
                () = sleep_until_opt(deadline) => continue,
            };
            // The manager holds a sender, so the channel never closes while it lives.
            let item = item?;
            if let Some(out) = self.route(item) {
                return Some(out);
            }
        }
    }

    /// Whether no task of any set runs.
    fn all_ended(&self) -> bool {
        self.current.ended()
            && self.next.as_ref().is_none_or(ShardSet::ended)
            && self.old.as_ref().is_none_or(ShardSet::ended)
    }

    /// Updates the ready gauge from the view.
    fn update_ready_gauge(&self) {
        #[allow(clippy::cast_precision_loss)]
        self.metrics.ready.set(self.view.status().ready() as f64);
    }

    /// Decides what to do with one item of the merged channel.
    fn route(&mut self, item: Item) -> Option<Result<ShardEvent, ShardFailure>> {
        let (generation, shard, event, ready_sequence) = match item {
            Item::Error {
                generation,
                shard,
                error,
            } => {
                let stale = self.role(generation) == Role::Stale;
                return (!stale).then_some(Err(ShardFailure { shard, error }));
            }
            Item::Ended => return None,
            Item::Event {
                generation,
                shard,
                event,
                ready_sequence,
            } => (generation, shard, event, ready_sequence),
        };
        let role = self.role(generation);
        let out = ShardEvent { shard, event };
        let Event::Dispatch(dispatch) = &out.event else {
            if role == Role::New
                && let Some(seq) = ready_sequence
            {
                // Nothing of this new session has been handed out yet.
                self.delivered.insert(shard, seq);
            }
            self.update_ready_gauge();
            // Notices of the set being delivered pass; the others only move the status.
            let current = generation == self.current.generation;
            return current.then(|| self.deliver(out, ready_sequence));
        };
        let (hash, sequence) = (fingerprint(dispatch), dispatch.sequence());
        let dedup = match (role, self.dedup.as_mut()) {
            (Role::Only, _) | (_, None) => return Some(self.deliver(out, None)),
            (Role::Stale, _) => return None,
            (_, Some(dedup)) => dedup,
        };
        let verdict = if role == Role::Old {
            let verdict = dedup.old(hash);
            (verdict == Verdict::Deliver).then_some(out)
        } else {
            match dedup.new_set(hash, out) {
                (Verdict::Deliver, item) => item,
                (Verdict::Duplicate, _) => {
                    // The application has this dispatch (from the old set): count it as
                    // delivered for this shard's session too.
                    self.delivered.insert(shard, sequence);
                    None
                }
                (Verdict::Hold, _) => None,
            }
        };
        self.count_duplicates();
        verdict.map(|out| self.deliver(out, None))
    }

    /// Adds the copies the dedup dropped since the last call to the counter and the metric.
    fn count_duplicates(&mut self) {
        let Some(dedup) = &self.dedup else {
            return;
        };
        let new = dedup.dropped.saturating_sub(self.dedup_counted);
        if new > 0 {
            self.dedup_counted = dedup.dropped;
            self.duplicates += new;
            self.metrics.duplicates.increment(new);
        }
    }

    /// The role of a set's items in the delivery.
    fn role(&self, generation: u64) -> Role {
        let current = generation == self.current.generation;
        if let Some(next) = &self.next {
            if current {
                Role::Old
            } else if next.generation == generation {
                Role::New
            } else {
                Role::Stale
            }
        } else if self.dedup.is_some() {
            if current {
                Role::New
            } else if self
                .old
                .as_ref()
                .is_some_and(|o| o.generation == generation)
            {
                Role::Old
            } else {
                Role::Stale
            }
        } else if current {
            Role::Only
        } else {
            Role::Stale
        }
    }

    /// Records what the application receives and wraps it.
    fn deliver(
        &mut self,
        out: ShardEvent,
        ready_sequence: Option<u64>,
    ) -> Result<ShardEvent, ShardFailure> {
        self.note_delivered(&out, ready_sequence);
        Ok(out)
    }

    /// Remembers the sequence of the last event handed to the application.
    fn note_delivered(&mut self, out: &ShardEvent, ready_sequence: Option<u64>) {
        match (&out.event, ready_sequence) {
            (Event::Dispatch(d), _) => {
                self.delivered.insert(out.shard, d.sequence());
            }
            (Event::Notice(Notice::Ready { .. }), Some(seq)) => {
                self.delivered.insert(out.shard, seq);
            }
            _ => {}
        }
    }

    /// When the pending switch could happen at the earliest (the end of the latest guild-burst
    /// quiet period), if every new shard is ready.
    fn switch_deadline(&self) -> Option<Instant> {
        let next = self.next.as_ref()?;
        let mut latest = None;
        for handle in next.shards.values() {
            let s = handle.slot.get();
            if !(s.running && s.phase == Phase::Active) {
                return None;
            }
            let end = s.last_guild_create.or(s.ready_at)? + self.options.guild_burst_quiet;
            latest = latest.max(Some(end));
        }
        latest
    }

    /// Switches sets when the new one is ready, and ends the resharding when the old one is
    /// gone and the dedup tail is spent.
    fn advance_resharding(&mut self) {
        if self
            .switch_deadline()
            .is_some_and(|at| at <= Instant::now())
        {
            self.switch();
        }
        if let Some(old) = &self.old
            && old.ended()
        {
            info!(total = old.total, "old shard set closed");
            self.old = None;
            if let Some(dedup) = self.dedup.as_mut() {
                dedup.old_ended();
            }
        }
        if self.old.is_none() && self.dedup.as_ref().is_some_and(Dedup::finished) {
            self.dedup = None;
        }
    }

    /// The switch: the new set becomes current, the old one is closed for good.
    fn switch(&mut self) {
        let Some(next) = self.next.take() else {
            return;
        };
        let old = std::mem::replace(&mut self.current, next);
        info!(
            from = old.total,
            to = self.current.total,
            "resharding: switching to the new shard set"
        );
        for handle in old.shards.values() {
            let (reply, _) = oneshot::channel();
            // A full control channel means a close is already queued.
            let _ = handle
                .control
                .try_send(Control::Close(CloseKind::Final, reply));
        }
        self.old = Some(old);
        if let Some(dedup) = self.dedup.as_mut() {
            self.ready.extend(dedup.switch());
        }
        // Old sessions are useless now; forget them so a restart uses the new total. In a
        // task of its own, so `next_event` stays cancel-safe.
        if let (Some(store), Some(old)) = (&self.store, &self.old) {
            let ids: Vec<ShardId> = old.shards.values().map(|h| h.slot.id).collect();
            let store = Arc::clone(store);
            tokio::spawn(async move {
                if let Err(e) = store.remove(&ids).await {
                    warn!(error = %e, "could not remove the old set's sessions from the store");
                }
            });
        }
        self.publish();
    }

    /// Starts resharding to `total` shards: a full new set comes up while the current one
    /// keeps delivering; [`next_event`](Self::next_event) switches over once every new shard
    /// is READY and past its guild burst, then closes the old set. No event is lost across the
    /// switch and none is delivered twice, within the bounds documented in `reshard.rs`
    /// (byte-identical dispatches within the dedup window, drift below the window).
    ///
    /// # Errors
    ///
    /// [`ManagerErrorKind::Resharding`] while one is under way;
    /// [`ManagerErrorKind::InvalidReshard`] for the same total or a manager running a range;
    /// [`ManagerErrorKind::Config`] when a new shard's config is rejected.
    pub fn reshard(&mut self, total: u32) -> Result<(), ManagerError> {
        if let Some(next) = &self.next {
            return Err(ManagerError::new(ManagerErrorKind::Resharding {
                total: next.total,
            }));
        }
        if self.old.is_some() || self.dedup.is_some() {
            return Err(ManagerError::new(ManagerErrorKind::Resharding {
                total: self.current.total,
            }));
        }
        if total == 0 || total == self.current.total || !self.options.full {
            return Err(ManagerError::new(ManagerErrorKind::InvalidReshard {
                from: self.current.total,
                to: total,
            }));
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        info!(
            from = self.current.total,
            to = total,
            "resharding: starting the new shard set"
        );
        let set = self.spawn_set(generation, total, 0..total, BTreeMap::new())?;
        self.next = Some(set);
        self.dedup = Some(Dedup::new(self.options.dedup_window));
        self.dedup_counted = 0;
        self.publish();
        Ok(())
    }

    /// How many dispatches were dropped as duplicates over resharding overlaps since start
    /// (also the [`DUPLICATES`](crate::metrics::DUPLICATES) counter): a dispatch both sets
    /// received is delivered once and its second copy counted here.
    #[must_use]
    pub fn duplicates_dropped(&self) -> u64 {
        self.duplicates
    }

    /// A snapshot of every shard of the current set.
    #[must_use]
    pub fn status(&self) -> ManagerStatus {
        self.view.status()
    }

    /// A handle to watch the status from another task.
    #[must_use]
    pub fn watch(&self) -> StatusWatch {
        StatusWatch {
            view: Arc::clone(&self.view),
            rx: self.view.changed.subscribe(),
        }
    }

    /// The command sender of shard `number` of the current set.
    #[must_use]
    pub fn sender(&self, number: u32) -> Option<ShardSender> {
        self.current.shards.get(&number).map(|h| h.sender.clone())
    }

    /// Restarts shard `number`: closes its connection resumably and reconnects (resuming).
    /// A stopped shard is started again, resuming its last session if it has one.
    ///
    /// # Errors
    ///
    /// [`ManagerErrorKind::UnknownShard`]; [`ManagerErrorKind::Config`] when a stopped shard
    /// cannot be rebuilt.
    pub fn restart(&mut self, number: u32) -> Result<(), ManagerError> {
        let handle = self
            .current
            .shards
            .get(&number)
            .ok_or_else(|| ManagerError::new(ManagerErrorKind::UnknownShard { number }))?;
        if !handle.task.is_finished() && handle.control.try_send(Control::Restart).is_ok() {
            return Ok(());
        }
        let (id, session) = (handle.slot.id, handle.slot.get().session);
        let queue = Arc::clone(&self.factory.queue);
        let handle = self.spawn_shard(self.current.generation, id, session, queue)?;
        self.current.shards.insert(number, handle);
        self.publish();
        Ok(())
    }

    /// Stops shard `number`: closes it (`Resumable` keeps its session for [`restart`](Self::restart)
    /// or a later start) and ends its task. Returns its session.
    ///
    /// # Errors
    ///
    /// [`ManagerErrorKind::UnknownShard`].
    pub async fn stop(
        &mut self,
        number: u32,
        kind: CloseKind,
    ) -> Result<Option<Session>, ManagerError> {
        let handle = self
            .current
            .shards
            .get(&number)
            .ok_or_else(|| ManagerError::new(ManagerErrorKind::UnknownShard { number }))?;
        let session = close_task(handle, kind).await;
        Ok(session.or_else(|| handle.slot.get().session))
    }

    /// Graceful shutdown: closes every shard resumably, saves each session in the store (with
    /// the sequence of the last event this manager handed out, so buffered events are
    /// replayed next time) and returns how many were saved. A resharding under way is
    /// abandoned (its new shards are closed for good).
    ///
    /// # Errors
    ///
    /// [`ManagerErrorKind::Store`] when the store could not be written.
    pub async fn shutdown(self) -> Result<usize, ManagerError> {
        let Self {
            tx,
            mut rx,
            current,
            next,
            old,
            mut delivered,
            store,
            ..
        } = self;
        // Without our sender, the channel closes once every task has flushed and ended.
        drop(tx);
        for (set, kind) in [
            (Some(&current), CloseKind::Resumable),
            (next.as_ref(), CloseKind::Final),
            (old.as_ref(), CloseKind::Final),
        ] {
            for handle in set.into_iter().flat_map(|s| s.shards.values()) {
                // The slot keeps the session after the close; the answer is not needed.
                let (reply, _) = oneshot::channel();
                let _ = handle.control.send(Control::Close(kind, reply)).await;
            }
        }
        // Whatever is still in flight was never handed out; a READY among it moves the point
        // to resume from to the start of that session.
        while let Some(item) = rx.recv().await {
            if let Item::Event {
                shard,
                ready_sequence: Some(seq),
                generation,
                ..
            } = item
                && generation == current.generation
            {
                delivered.insert(shard, seq);
            }
        }
        let mut sessions = Vec::new();
        for handle in current.shards.values() {
            if let Some(mut session) = handle.slot.get().session {
                if let Some(&seq) = delivered.get(&session.shard) {
                    session.sequence = session.sequence.min(seq);
                }
                sessions.push(session);
            }
        }
        let saved = sessions.len();
        if let Some(store) = &store {
            store
                .save(&sessions)
                .await
                .map_err(|e| ManagerError::with_source(ManagerErrorKind::Store, e))?;
        }
        info!(saved, "shard manager shut down");
        Ok(saved)
    }
}

/// Asks a task to close and waits for its session. The task answers before it flushes its
/// buffer, so this never waits on the consumer.
async fn close_task(handle: &Handle, kind: CloseKind) -> Option<Session> {
    if handle.task.is_finished() {
        return None;
    }
    let (reply, answer) = oneshot::channel();
    handle
        .control
        .send(Control::Close(kind, reply))
        .await
        .ok()?;
    answer.await.ok().flatten()
}

/// Loads the saved sessions of `range` of `total` from `store`, by shard number.
async fn load_sessions(
    store: Option<&dyn SessionStore>,
    range: &std::ops::Range<u32>,
    total: u32,
) -> BTreeMap<u32, Session> {
    let Some(store) = store else {
        return BTreeMap::new();
    };
    match store.load_all().await {
        Ok(sessions) => sessions
            .into_iter()
            .filter(|s| s.shard.total() == total && range.contains(&s.shard.number()))
            .map(|s| (s.shard.number(), s))
            .collect(),
        Err(e) => {
            warn!(error = %e, "could not load saved sessions; every shard will identify");
            BTreeMap::new()
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
