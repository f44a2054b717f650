//! Resharding without downtime: deduplication over the overlap of two shard sets.
//!
//! Shard counts are routing only (GATEWAY.md §6): a bot may run sessions with different totals
//! at once, and Discord sends each guild's events to every session whose `[id, total]` routes
//! the guild. So the manager brings up the new set while the old one keeps delivering, and
//! during the overlap most dispatches arrive twice, once per set. This module decides which copy
//! the application gets.
//!
//! # The algorithm
//!
//! A dispatch is identified by a 64-bit hash of its event type and its raw payload. Two
//! multisets of hashes are kept, each bounded to `window` entries (oldest evicted first):
//!
//! - **Overlap** (new set starting, old set current): old-set dispatches are delivered at once.
//!   New-set dispatches are not: one whose hash the old set already delivered is dropped as a
//!   duplicate (consuming that entry); any other is held back in order. An old-set dispatch whose
//!   hash is held back is delivered and its held copy dropped.
//! - **Switch** (every new shard READY and past its guild burst, see
//!   [`ManagerBuilder::guild_burst_quiet`](super::ManagerBuilder::guild_burst_quiet)): the old
//!   set is closed, the held-back dispatches are delivered (they reached only the new set so
//!   far), and from then on the new set is current.
//! - **Drain** (old tasks closing): old-set dispatches still in flight are delivered unless the
//!   new set already delivered the same hash; new-set dispatches are dropped if the old set
//!   already delivered them. When every old task has ended, the old-set hashes are kept for
//!   `window` more new-set dispatches, to catch a new shard that lags behind the old one, then
//!   forgotten.
//!
//! # The guarantee and its bounds
//!
//! Every dispatch that reaches either set is delivered exactly once, provided that:
//!
//! 1. no two *different* dispatches within `window` dispatches of each other have the same
//!    type and byte-identical payload (real payloads carry IDs and timestamps; two identical
//!    ones are delivered once each as long as both sets saw both, thanks to the multiset);
//! 2. the two sets never drift apart by more than `window` dispatches (default 65 536);
//! 3. at most `window` new-set dispatches are held back during the overlap; past that, further
//!    new-set dispatches are delivered at once and may then arrive twice.
//!
//! Order: dispatches of one set keep their order; at the switch the held-back dispatches come
//! after everything the old set delivered before it.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher as _;

use crate::proto::event::Dispatch;

/// The identity of a dispatch for deduplication: a hash of its type and raw payload.
pub(crate) fn fingerprint(dispatch: &Dispatch) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(dispatch.kind().wire_name().as_bytes());
    hasher.write_u8(0);
    hasher.write(dispatch.raw());
    hasher.finish()
}

/// A bounded multiset of hashes, evicting the oldest insertions first.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Count per hash.
    counts: HashMap<u64, u32>,
    /// Insertion order, for eviction (may hold hashes already taken).
    order: VecDeque<u64>,
    /// Bound on `order`.
    capacity: usize,
}

impl Window {
    /// An empty window of `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            counts: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds one `hash`, evicting the oldest entry when full.
    pub(crate) fn insert(&mut self, hash: u64) {
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.take(old);
        }
        *self.counts.entry(hash).or_insert(0) += 1;
        self.order.push_back(hash);
    }

    /// Removes one `hash` if present; whether it was.
    pub(crate) fn take(&mut self, hash: u64) -> bool {
        match self.counts.entry(hash) {
            Entry::Occupied(mut e) => {
                *e.get_mut() -= 1;
                if *e.get() == 0 {
                    e.remove();
                }
                true
            }
            Entry::Vacant(_) => false,
        }
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// Where a resharding is.
#[derive(Debug)]
pub(crate) enum Stage {
    /// The new set is starting; the old one is current.
    Overlap,
    /// The switch happened; old tasks are closing.
    Drain,
    /// Old tasks have ended; old hashes are kept for `remaining` more new dispatches.
    Tail {
        /// New-set dispatches left before the old hashes are forgotten.
        remaining: usize,
    },
}

/// What to do with one dispatch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it now.
    Deliver,
    /// Drop it: the other set delivered it.
    Duplicate,
    /// Hold it back until the switch (new set, overlap).
    Hold,
}

/// The deduplication state of one resharding.
#[derive(Debug)]
pub(crate) struct Dedup<T> {
    /// The stage.
    pub(crate) stage: Stage,
    /// Hashes delivered from the old set.
    old_delivered: Window,
    /// Hashes delivered from the new set since the switch.
    new_delivered: Window,
    /// New-set dispatches held back during the overlap, with their hashes; `None` once
    /// superseded by an old-set copy.
    held: VecDeque<(u64, Option<T>)>,
    /// Count of live entries in `held` per hash.
    held_counts: Window,
    /// The bound of every window.
    window: usize,
    /// Copies dropped so far (second copies of a dispatch both sets received).
    pub(crate) dropped: u64,
}

impl<T> Dedup<T> {
    /// A resharding entering the overlap.
    pub(crate) fn new(window: usize) -> Self {
        Self {
            stage: Stage::Overlap,
            old_delivered: Window::new(window),
            new_delivered: Window::new(window),
            held: VecDeque::new(),
            held_counts: Window::new(window),
            window: window.max(1),
            dropped: 0,
        }
    }

    /// Decides about an old-set dispatch.
    pub(crate) fn old(&mut self, hash: u64) -> Verdict {
        match self.stage {
            Stage::Overlap => {
                if self.held_counts.take(hash) {
                    // The new set got it first; the old copy goes out now, the held one never.
                    if let Some(slot) = self
                        .held
                        .iter_mut()
                        .find(|(h, t)| *h == hash && t.is_some())
                    {
                        slot.1 = None;
                        self.dropped += 1;
                    }
                } else {
                    self.old_delivered.insert(hash);
                }
                Verdict::Deliver
            }
            Stage::Drain | Stage::Tail { .. } => {
                if self.new_delivered.take(hash) {
                    self.dropped += 1;
                    Verdict::Duplicate
                } else {
                    self.old_delivered.insert(hash);
                    Verdict::Deliver
                }
            }
        }
    }

    /// Decides about a new-set dispatch; a `Hold` verdict keeps `item` (else it is returned).
    pub(crate) fn new_set(&mut self, hash: u64, item: T) -> (Verdict, Option<T>) {
        if self.old_delivered.take(hash) {
            self.count_tail();
            self.dropped += 1;
            return (Verdict::Duplicate, Some(item));
        }
        match self.stage {
            Stage::Overlap => {
                if self.held.len() >= self.window {
                    // Over the bound: release the oldest held one (see the module docs, 3.).
                    return (Verdict::Deliver, Some(item));
                }
                self.held_counts.insert(hash);
                self.held.push_back((hash, Some(item)));
                (Verdict::Hold, None)
            }
            Stage::Drain => {
                self.new_delivered.insert(hash);
                (Verdict::Deliver, Some(item))
            }
            Stage::Tail { .. } => {
                self.count_tail();
                (Verdict::Deliver, Some(item))
            }
        }
    }

    /// Counts one new-set dispatch in the tail stage.
    fn count_tail(&mut self) {
        if let Stage::Tail { remaining } = &mut self.stage {
            *remaining = remaining.saturating_sub(1);
        }
    }

    /// The switch: returns the held-back dispatches to deliver, in order, and enters the drain.
    pub(crate) fn switch(&mut self) -> Vec<T> {
        self.stage = Stage::Drain;
        let held = std::mem::take(&mut self.held);
        self.held_counts = Window::new(self.window);
        held.into_iter()
            .filter_map(|(hash, item)| {
                let item = item?;
                self.new_delivered.insert(hash);
                Some(item)
            })
            .collect()
    }

    /// Every old task has ended: keep the old hashes for one more window of new dispatches.
    pub(crate) fn old_ended(&mut self) {
        self.stage = Stage::Tail {
            remaining: self.window,
        };
        self.new_delivered = Window::new(1);
    }

    /// Whether the resharding is over (the tail is spent or nothing is left to match).
    pub(crate) fn finished(&self) -> bool {
        matches!(self.stage, Stage::Tail { remaining } if remaining == 0 || self.old_delivered.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `script` (`'o'`/`'n'` + hash, `'S'` switch, `'E'` old ended) and returns the
    /// delivered hashes in order.
    fn run(script: &[(char, u64)]) -> Vec<u64> {
        let mut d: Dedup<u64> = Dedup::new(16);
        let mut out = Vec::new();
        for &(op, h) in script {
            match op {
                'o' => {
                    if d.old(h) == Verdict::Deliver {
                        out.push(h);
                    }
                }
                'n' => {
                    if let (Verdict::Deliver, Some(x)) = d.new_set(h, h) {
                        out.push(x);
                    }
                }
                'S' => out.extend(d.switch()),
                _ => d.old_ended(),
            }
        }
        out
    }

    #[test]
    fn every_hash_delivered_once_whatever_the_interleaving() {
        type Case = (&'static str, &'static [(char, u64)], &'static [u64]);
        const CASES: &[Case] = &[
            (
                "old first",
                &[('o', 1), ('n', 1), ('o', 2), ('n', 2), ('S', 0), ('n', 3)],
                &[1, 2, 3],
            ),
            (
                "new first",
                &[('n', 1), ('o', 1), ('n', 2), ('S', 0), ('o', 2), ('E', 0)],
                &[1, 2],
            ),
            (
                "only new before switch",
                &[('o', 1), ('n', 9), ('S', 0), ('E', 0), ('n', 3)],
                &[1, 9, 3],
            ),
            (
                "old in flight at switch",
                &[('o', 1), ('S', 0), ('n', 2), ('o', 2), ('o', 4), ('E', 0)],
                &[1, 2, 4],
            ),
            (
                "new lags after drain",
                &[
                    ('o', 1),
                    ('o', 2),
                    ('S', 0),
                    ('E', 0),
                    ('n', 1),
                    ('n', 2),
                    ('n', 5),
                ],
                &[1, 2, 5],
            ),
            (
                "identical payload twice",
                &[('o', 7), ('o', 7), ('n', 7), ('n', 7), ('S', 0), ('n', 8)],
                &[7, 7, 8],
            ),
        ];
        for (name, script, want) in CASES {
            assert_eq!(run(script), *want, "case {name}");
        }
    }

    #[test]
    fn tail_ends_after_a_window_or_when_nothing_is_left() {
        let mut d: Dedup<u64> = Dedup::new(2);
        d.old(1);
        d.switch();
        d.old_ended();
        assert!(!d.finished(), "an old hash is still unmatched");
        let _ = d.new_set(5, 5);
        let _ = d.new_set(6, 6);
        assert!(d.finished(), "a window of new dispatches has passed");
    }

    #[test]
    fn window_evicts_the_oldest() {
        let mut w = Window::new(2);
        w.insert(1);
        w.insert(2);
        w.insert(3);
        assert!(!w.take(1), "1 was evicted");
        assert!(w.take(2) && w.take(3));
        assert!(w.is_empty());
    }
}
