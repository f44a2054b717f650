//! One tokio task per shard: it drives the [`Shard`] and forwards its events into the
//! manager's merged channel.
//!
//! # Why one task per shard
//!
//! A shard does its heartbeating inside `next_event`. If one future polled every shard (a
//! `select_all` or a `StreamMap`), a burst on one shard, or a slow handler, would delay the
//! polls of all the others and their heartbeats with them. A task per shard lets the runtime
//! run them independently, on all cores.
//!
//! # Back-pressure without starving heartbeats
//!
//! The merged channel is bounded. The task loop `select!`s over three cancel-safe futures:
//! a control message, `reserve()` of a slot in the merged channel (only while it holds events),
//! and `Shard::next_event` (only while its own buffer has room). So while the consumer is slow
//! and the send waits, the shard is still polled: it keeps heartbeating and reading, and what
//! it reads waits in a small per-shard buffer (default 64 events). When that buffer is full the
//! task switches to `Shard::keepalive`: heartbeats and commands go on, nothing more is read, so
//! back-pressure reaches the socket (the server's send buffer fills) while the session stays
//! alive however long the consumer stalls. (Outside a live session — e.g. a reconnect during
//! the stall — keepalive has nothing to do and the task waits for room; a stalled handshake
//! then times out and resumes later, losing nothing.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{Instrument as _, debug, info_span};

use crate::error::ShardError;
use crate::metrics::ShardMetrics;
use crate::proto::event::{Event, Notice};
use crate::proto::shard::ShardId;
use crate::proto::state::{Phase, Session};
use crate::shard::{CloseKind, Latency, Shard, ShardStats};

/// What the manager asks of a shard task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Close the connection (resumably or for good), answer with the session, and end.
    Close(CloseKind, oneshot::Sender<Option<Session>>),
    /// Close resumably and reconnect at once (resuming).
    Restart,
}

/// What a shard task sends into the merged channel.
#[derive(Debug)]
pub(crate) enum Item {
    /// An event of `shard` in set `generation`.
    Event {
        /// The shard set the shard belongs to.
        generation: u64,
        /// The shard.
        shard: ShardId,
        /// The event.
        event: Event,
        /// For a READY notice: the session's sequence right after READY.
        ready_sequence: Option<u64>,
    },
    /// The task ended (its slot says `running: false` already).
    Ended,
    /// `next_event` failed.
    Error {
        /// The shard set.
        generation: u64,
        /// The shard.
        shard: ShardId,
        /// The error.
        error: ShardError,
    },
}

/// What a shard task shares with the manager's status view.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The shard.
    pub(crate) id: ShardId,
    /// Everything else, updated by the task after each event.
    pub(crate) state: Mutex<SlotState>,
}

/// The changing part of a [`Slot`].
#[derive(Debug, Clone)]
pub(crate) struct SlotState {
    /// The shard's phase as of its last event.
    pub(crate) phase: Phase,
    /// Heartbeat round trips.
    pub(crate) latency: Latency,
    /// Counters.
    pub(crate) stats: ShardStats,
    /// Whether the task runs.
    pub(crate) running: bool,
    /// When the current session became ready (READY or RESUMED), if it is.
    pub(crate) ready_at: Option<Instant>,
    /// When the last GUILD_CREATE (or READY) arrived, for the guild-burst rule.
    pub(crate) last_guild_create: Option<Instant>,
    /// The session as of the last event, kept after the task ends.
    pub(crate) session: Option<Session>,
}

impl Slot {
    /// A slot for a shard about to start.
    pub(crate) fn new(id: ShardId, session: Option<Session>) -> Arc<Self> {
        Arc::new(Self {
            id,
            state: Mutex::new(SlotState {
                phase: Phase::Connecting,
                latency: Latency::default(),
                stats: ShardStats::default(),
                running: true,
                ready_at: None,
                last_guild_create: None,
                session,
            }),
        })
    }

    /// A copy of the state.
    pub(crate) fn get(&self) -> SlotState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the state.
    fn update(&self, change: impl FnOnce(&mut SlotState)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Everything a shard task needs.
pub(crate) struct TaskParts {
    /// The shard set.
    pub(crate) generation: u64,
    /// The shard, built.
    pub(crate) shard: Shard,
    /// The merged channel.
    pub(crate) events: mpsc::Sender<Item>,
    /// Control messages.
    pub(crate) control: mpsc::Receiver<Control>,
    /// The shared status.
    pub(crate) slot: Arc<Slot>,
    /// Nudged whenever the status changes.
    pub(crate) changed: Arc<watch::Sender<()>>,
    /// Events buffered in the task while the merged channel is full.
    pub(crate) buffer: usize,
    /// Metric handles.
    pub(crate) metrics: ShardMetrics,
}

/// Spawns the task of one shard, in a `shard{id,total}` span.
pub(crate) fn spawn(parts: TaskParts) -> tokio::task::JoinHandle<()> {
    let id = parts.slot.id;
    let span = info_span!("shard_task", id = id.number(), total = id.total());
    tokio::spawn(run(parts).instrument(span))
}

/// The task loop; see the module docs.
async fn run(parts: TaskParts) {
    let TaskParts {
        generation,
        mut shard,
        events,
        mut control,
        slot,
        changed,
        buffer,
        metrics,
    } = parts;
    let id = slot.id;
    let mut pending: VecDeque<Item> = VecDeque::with_capacity(buffer);
    let mut last_latency = None;
    loop {
        // Room in the buffer: read the next event. Full: keep the session alive without
        // reading (heartbeats, commands), so nothing is buffered and nothing zombies while the
        // consumer is slow. One branch, since both borrow the shard.
        let read = pending.len() < buffer;
        let drive = read || shard.can_keepalive();
        tokio::select! {
            biased;
            message = control.recv() => match message {
                Some(Control::Close(kind, reply)) => {
                    shard.close(kind).await;
                    let _ = reply.send(shard.session());
                    break;
                }
                Some(Control::Restart) => {
                    debug!("restart: closing resumably and reconnecting");
                    shard.close(CloseKind::Resumable).await;
                    shard.reconnect();
                }
                // The manager is gone: drop the shard (the socket drops, the session stays
                // resumable for a few minutes).
                None => break,
            },
            permit = events.reserve(), if !pending.is_empty() => match (permit, pending.pop_front()) {
                (Ok(permit), Some(item)) => permit.send(item),
                // The consumer dropped the manager.
                (Err(_), _) => break,
                (Ok(_), None) => {}
            },
            next = async {
                if read {
                    Some(shard.next_event().await)
                } else {
                    shard.keepalive().await;
                    None
                }
            }, if drive => {
                // Keepalive ended (an event is waiting, or the session left the live state).
                let Some(result) = next else { continue };
                let stop = result.is_err() && shard.status() == Phase::Stopped;
                let item = observe(generation, &shard, result, &slot, &metrics, &mut last_latency);
                pending.push_back(item);
                changed.send_replace(());
                if stop {
                    break;
                }
            }
        }
    }
    // Hand over what is still buffered (best effort: the consumer may be gone).
    for item in pending {
        if events.send(item).await.is_err() {
            break;
        }
    }
    let session = shard.session();
    slot.update(|s| {
        s.running = false;
        s.phase = shard.status();
        s.ready_at = None;
        s.session = session;
    });
    metrics.set_ready(false);
    changed.send_replace(());
    let _ = events.send(Item::Ended).await;
    debug!(shard = %id, "shard task ended");
}

/// Updates the slot and metrics from one `next_event` result and wraps it for the channel.
fn observe(
    generation: u64,
    shard: &Shard,
    result: Result<Event, ShardError>,
    slot: &Slot,
    metrics: &ShardMetrics,
    last_latency: &mut Option<Duration>,
) -> Item {
    let id = slot.id;
    let now = Instant::now();
    let phase = shard.status();
    let latency = shard.latency();
    if latency.last != *last_latency {
        if let Some(rtt) = latency.last {
            metrics.latency(rtt);
        }
        *last_latency = latency.last;
    }
    let mut ready_sequence = None;
    slot.update(|s| {
        s.phase = phase;
        s.latency = latency;
        s.stats = shard.stats();
        s.session = shard.session();
        if phase != Phase::Active {
            s.ready_at = None;
        }
        match &result {
            Ok(Event::Notice(Notice::Ready { .. })) => {
                s.ready_at = Some(now);
                s.last_guild_create = Some(now);
                ready_sequence = s.session.as_ref().map(|x| x.sequence);
            }
            Ok(Event::Notice(Notice::Resumed { .. })) => s.ready_at = Some(now),
            Ok(Event::Dispatch(d)) if d.kind().wire_name() == "GUILD_CREATE" => {
                s.last_guild_create = Some(now);
            }
            _ => {}
        }
    });
    metrics.set_ready(phase == Phase::Active);
    match result {
        Ok(event) => {
            match &event {
                Event::Dispatch(_) => metrics.event(),
                Event::Notice(Notice::Ready { .. }) => metrics.identified(),
                Event::Notice(Notice::Resumed { .. }) => metrics.resumed(),
                Event::Notice(Notice::Disconnected(_)) => metrics.reconnect(),
                Event::Notice(_) => {}
            }
            Item::Event {
                generation,
                shard: id,
                event,
                ready_sequence,
            }
        }
        Err(error) => Item::Error {
            generation,
            shard: id,
            error,
        },
    }
}
