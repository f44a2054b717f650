//! The ledger: exact accounting of which generated tags each session was sent and which
//! sessions the server invalidated, so a test harness can tell events Discord itself would not
//! replay (sent to a session that was later invalidated, GATEWAY.md §3.10) from real losses.
//!
//! A session's generated dispatches are always a contiguous run of its shard's stream
//! positions (the stream is consumed in order), so each session keeps one range, widened after
//! every batch: recording costs one short lock per batch, not per dispatch. Replays on Resume
//! and repeated sequence numbers re-send positions already in the range.
//!
//! The ledger also keeps, per `[shard_id, num_shards]`, the furthest-advanced stream, from
//! which a new session continues when [`WorkloadConfig::continue_streams`] is on.
//!
//! [`WorkloadConfig::continue_streams`]: crate::workload::WorkloadConfig::continue_streams

use std::{collections::HashMap, ops::Range};

use serde::{Deserialize, Serialize};

use crate::workload::EventStream;

/// Why the server ended a session so that it can no longer be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Invalidation {
    /// Op 9 Invalid Session with `d: false` (an injected fault).
    InvalidSession,
    /// A Resume named a sequence number whose successors left the replay buffer: op 9 `false`.
    ResumeTooOld,
    /// The server closed with a code that ends the session (4003, 4004, 4007, 4009–4014).
    Closed {
        /// The close code.
        code: u16,
    },
    /// The client closed with 1000 or 1001, ending the session itself (its own choice, so
    /// undelivered events count as lost, not as lost by protocol).
    ClientClosed {
        /// The close code.
        code: u16,
    },
    /// The resume window passed with no connection attached.
    Expired,
    /// [`crate::EmulatorHandle::restart`] forgot every session.
    Restart,
}

impl Invalidation {
    /// Whether Discord itself would not replay this session's undelivered events: every
    /// server-side invalidation; not a session the client ended on purpose.
    #[must_use]
    pub const fn by_server(self) -> bool {
        !matches!(self, Self::ClientClosed { .. })
    }
}

/// What the ledger knows about one session (serializable, so a harness in another process
/// can read it as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session id sent in READY.
    pub session_id: String,
    /// `[shard_id, num_shards]`.
    pub shard: [u32; 2],
    /// Order of creation (0 for the emulator's first session).
    pub index: u64,
    /// The stream positions (the low 40 bits of the tags) generated for this session.
    pub positions: Range<u64>,
    /// Why the server ended it, if it did.
    pub invalidated: Option<Invalidation>,
}

/// The mutable ledger, under one lock in `Shared`.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Records in creation order.
    records: Vec<SessionRecord>,
    /// Index into `records` by session id.
    by_id: HashMap<String, usize>,
    /// The furthest-advanced stream per `[shard_id, num_shards]`.
    high_water: HashMap<[u32; 2], EventStream>,
}

impl Ledger {
    /// Records a new session whose stream starts at `start`.
    pub(crate) fn open(&mut self, session_id: &str, shard: [u32; 2], start: u64) {
        let index = self.records.len();
        self.records.push(SessionRecord {
            session_id: session_id.to_owned(),
            shard,
            index: index as u64,
            positions: start..start,
            invalidated: None,
        });
        self.by_id.insert(session_id.to_owned(), index);
    }

    /// The stream a new session on `shard` continues from, if one exists.
    pub(crate) fn continued(&self, shard: [u32; 2]) -> Option<EventStream> {
        self.high_water.get(&shard).cloned()
    }

    /// Records that `session_id` has been sent every position before `end`, and, given `keep`
    /// (streams continue: the session's live generator, at `end`), keeps it as the shard's
    /// high-water mark when it is the furthest.
    pub(crate) fn generated(
        &mut self,
        session_id: &str,
        shard: [u32; 2],
        end: u64,
        keep: Option<&EventStream>,
    ) {
        if let Some(r) = self
            .by_id
            .get(session_id)
            .and_then(|&i| self.records.get_mut(i))
        {
            r.positions.end = r.positions.end.max(end);
        }
        let Some(stream) = keep else { return };
        let ahead = self
            .high_water
            .get(&shard)
            .is_none_or(|s| s.position() < end);
        if ahead {
            self.high_water.insert(shard, stream.clone());
        }
    }

    /// Marks `session_id` invalidated (the first reason wins).
    pub(crate) fn invalidate(&mut self, session_id: &str, why: Invalidation) {
        if let Some(r) = self
            .by_id
            .get(session_id)
            .and_then(|&i| self.records.get_mut(i))
        {
            r.invalidated.get_or_insert(why);
        }
    }

    /// Every record, in creation order.
    pub(crate) fn records(&self) -> Vec<SessionRecord> {
        self.records.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::workload::{WorkloadConfig, World};

    #[test]
    fn ranges_widen_and_the_high_water_mark_only_advances() {
        let config = WorkloadConfig {
            guilds: 2,
            events_per_shard: Some(100),
            ..WorkloadConfig::default()
        };
        let world = Arc::new(World::generate(&config).expect("world"));
        let mut ledger = Ledger::default();
        let mut a = world.stream(0, 1, &config);
        ledger.open("a", [0, 1], 0);
        a.by_ref().take(10).for_each(drop);
        ledger.generated("a", [0, 1], a.position(), Some(&a));
        let mut b = ledger.continued([0, 1]).expect("high water");
        assert_eq!(b.position(), 10, "b continues where a stopped");
        ledger.open("b", [0, 1], b.position());
        b.by_ref().take(5).for_each(drop);
        ledger.generated("b", [0, 1], b.position(), Some(&b));
        // A behind the mark does not move it back.
        let behind = world.stream(0, 1, &config);
        ledger.generated("a", [0, 1], behind.position(), Some(&behind));
        // Without `keep` (streams restart) the mark is not kept at all.
        ledger.generated("c", [0, 3], behind.position(), None);
        assert!(ledger.continued([0, 3]).is_none());
        assert_eq!(ledger.continued([0, 1]).map(|s| s.position()), Some(15));
        ledger.invalidate("a", Invalidation::InvalidSession);
        ledger.invalidate("a", Invalidation::Restart);
        let records = ledger.records();
        assert_eq!(records[0].positions, 0..10);
        assert_eq!(records[0].invalidated, Some(Invalidation::InvalidSession));
        assert_eq!(records[1].positions, 10..15);
        assert_eq!(records[1].invalidated, None);
        assert!(
            ledger.continued([0, 2]).is_none(),
            "keyed by the shard total"
        );
    }

    #[test]
    fn only_client_closes_are_not_by_server() {
        const CASES: &[(Invalidation, bool)] = &[
            (Invalidation::InvalidSession, true),
            (Invalidation::ResumeTooOld, true),
            (Invalidation::Closed { code: 4009 }, true),
            (Invalidation::Expired, true),
            (Invalidation::Restart, true),
            (Invalidation::ClientClosed { code: 1000 }, false),
        ];
        for &(why, want) in CASES {
            assert_eq!(why.by_server(), want, "case {why:?}");
        }
    }
}
