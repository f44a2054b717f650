//! A session's replay buffer: the most recent dispatches it was sent, for Resume
//! (GATEWAY.md §3.7: everything after the client's `seq`, in order).
//!
//! A whole cached chunk sent at once (`cache::WireChunk`) is remembered as one entry — the
//! shared chunk, the intents that filtered it and the `seq` of its first admitted event —
//! instead of one entry per dispatch: remembering 256 events then costs one entry, and
//! evicting them one reference count, where per-event entries cost two cache misses each
//! on the send path (measured in `benches/README.md`). Entries expand back to dispatches
//! only when a Resume or a fault reads them.

use std::{collections::VecDeque, sync::Arc};

use bytes::Bytes;

use crate::{
    cache::{Chunk, Event},
    wire::Name,
};

/// One dispatch kept for replay.
#[derive(Debug, Clone)]
pub(crate) struct Replayed {
    /// Its sequence number.
    pub(crate) seq: u64,
    /// Its name.
    pub(crate) name: Name,
    /// The `d` exactly as it was sent.
    pub(crate) data: Bytes,
}

/// Events of a cached chunk sent together, as a session with `intents` received them.
#[derive(Debug)]
pub(crate) struct RunEntry {
    /// The chunk.
    pub(crate) chunk: Arc<Chunk>,
    /// The chunk's events that were offered (admitted or not by the intents).
    pub(crate) range: std::ops::Range<usize>,
    /// The session's intents, which decide the admitted events and their `d`.
    pub(crate) intents: u64,
    /// The `seq` of the first admitted event.
    pub(crate) first_seq: u64,
    /// Admitted events.
    pub(crate) len: usize,
}

/// One entry: a dispatch, or a run of a chunk's admitted events with consecutive `seq`.
#[derive(Debug)]
enum Entry {
    /// One dispatch.
    One(Replayed),
    /// Admitted events `skip..run.len` of a run (the first `skip` were evicted).
    Run {
        /// The run.
        run: RunEntry,
        /// Admitted events already evicted from its front.
        skip: usize,
    },
}

impl Entry {
    /// Dispatches this entry still holds.
    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Run { run, skip } => run.len - skip,
        }
    }

    /// The `seq` of its oldest dispatch.
    fn first_seq(&self) -> u64 {
        match self {
            Self::One(r) => r.seq,
            Self::Run { run, skip } => run.first_seq + *skip as u64,
        }
    }

    /// Its dispatches, oldest first.
    fn dispatches(&self) -> Box<dyn Iterator<Item = Replayed> + '_> {
        match self {
            Self::One(r) => Box::new(std::iter::once(r.clone())),
            Self::Run { run, skip } => {
                let events = run.chunk.events(run.range.clone());
                let admitted = events.iter().filter_map(|ev: &Event| {
                    ev.for_intents(run.intents)
                        .map(|data| (ev.out.name.clone(), data.clone()))
                });
                Box::new(
                    admitted
                        .enumerate()
                        .skip(*skip)
                        .map(|(i, (name, data))| Replayed {
                            seq: run.first_seq + i as u64,
                            name,
                            data,
                        }),
                )
            }
        }
    }
}

/// The most recent dispatches of a session, oldest first, at most a bound of them.
#[derive(Debug, Default)]
pub(crate) struct ReplayBuffer {
    /// Entries, oldest first.
    entries: VecDeque<Entry>,
    /// Dispatches held over all entries.
    len: usize,
}

impl ReplayBuffer {
    /// Remembers one dispatch, keeping at most `bound` (0: remember nothing).
    pub(crate) fn push(&mut self, bound: usize, r: Replayed) {
        self.push_entry(bound, Entry::One(r));
    }

    /// Remembers a run of a chunk's admitted events, keeping at most `bound` dispatches.
    pub(crate) fn push_run(&mut self, bound: usize, run: RunEntry) {
        if run.len > 0 {
            self.push_entry(bound, Entry::Run { run, skip: 0 });
        }
    }

    /// Appends `entry` and evicts the oldest dispatches beyond `bound`.
    fn push_entry(&mut self, bound: usize, entry: Entry) {
        if bound == 0 {
            return;
        }
        self.len += entry.len();
        self.entries.push_back(entry);
        while self.len > bound {
            let excess = self.len - bound;
            let Some(front) = self.entries.front_mut() else {
                break;
            };
            match front {
                Entry::Run { run, skip } if run.len - *skip > excess => {
                    *skip += excess;
                    self.len -= excess;
                }
                _ => {
                    self.len -= front.len();
                    self.entries.pop_front();
                }
            }
        }
    }

    /// The `seq` of the oldest dispatch kept.
    pub(crate) fn front_seq(&self) -> Option<u64> {
        self.entries.front().map(Entry::first_seq)
    }

    /// The dispatches after `seq`, oldest first.
    pub(crate) fn after(&self, seq: u64) -> Vec<Replayed> {
        let from = self
            .entries
            .iter()
            .rposition(|e| e.first_seq() <= seq)
            .unwrap_or(0);
        self.entries
            .range(from..)
            .flat_map(Entry::dispatches)
            .filter(|r| r.seq > seq)
            .collect()
    }

    /// The newest dispatch.
    pub(crate) fn last(&self) -> Option<Replayed> {
        self.entries.back()?.dispatches().last()
    }

    /// Dispatches held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(seq: u64) -> Replayed {
        Replayed {
            seq,
            name: Name::Static("MESSAGE_CREATE"),
            data: Bytes::from(format!("{{\"n\":{seq}}}")),
        }
    }

    fn seqs(v: &[Replayed]) -> Vec<u64> {
        v.iter().map(|r| r.seq).collect()
    }

    /// A chunk of `n` generated events (all admitted with every intent).
    fn run(first_seq: u64, n: usize) -> RunEntry {
        let chunk = Arc::new(Chunk::for_tests(n));
        RunEntry {
            chunk,
            range: 0..n,
            intents: crate::wire::intents::ALL,
            first_seq,
            len: n,
        }
    }

    #[test]
    fn single_dispatches_are_bounded_and_replayed_in_order() {
        let mut b = ReplayBuffer::default();
        for seq in 1..=10 {
            b.push(4, one(seq));
        }
        assert_eq!(b.len(), 4);
        assert_eq!(b.front_seq(), Some(7));
        assert_eq!(seqs(&b.after(8)), [9, 10]);
        assert_eq!(b.last().map(|r| r.seq), Some(10));
    }

    #[test]
    fn runs_expand_with_consecutive_seq_and_evict_partially() {
        let mut b = ReplayBuffer::default();
        b.push(10, one(1));
        b.push_run(10, run(2, 8)); // seq 2..=9
        b.push(10, one(10));
        assert_eq!(b.len(), 10);
        assert_eq!(seqs(&b.after(0)), (1..=10).collect::<Vec<_>>());
        b.push(10, one(11)); // evicts seq 1
        b.push(10, one(12)); // evicts seq 2 from the run's front
        assert_eq!(b.front_seq(), Some(3));
        assert_eq!(seqs(&b.after(4)), (5..=12).collect::<Vec<_>>());
        b.push_run(10, run(13, 9)); // evicts the rest of the first run but one
        assert_eq!(b.len(), 10);
        assert_eq!(b.front_seq(), Some(12));
        assert_eq!(b.last().map(|r| r.seq), Some(21));
        assert_eq!(seqs(&b.after(11)), (12..=21).collect::<Vec<_>>());
    }

    #[test]
    fn run_entries_replay_the_bytes_that_were_sent() {
        let mut b = ReplayBuffer::default();
        let entry = run(1, 5);
        let want: Vec<Bytes> = entry
            .chunk
            .events(0..5)
            .iter()
            .map(|ev| {
                ev.for_intents(crate::wire::intents::ALL)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        b.push_run(100, entry);
        let got: Vec<Bytes> = b.after(0).into_iter().map(|r| r.data).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_zero_bound_remembers_nothing() {
        let mut b = ReplayBuffer::default();
        b.push(0, one(1));
        b.push_run(0, run(2, 3));
        assert_eq!(b.front_seq(), None);
        assert!(b.after(0).is_empty());
    }
}
