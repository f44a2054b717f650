//! Exact accounting of `discordgateway chaos`: what each shard delivered (per stream
//! position), checked against the emulator's ledger of what each session was sent.
//!
//! A position (the low bits of a tag) is, per shard:
//! - *delivered* when the shard returned it at least once; every extra return is a
//!   duplicate, and a first return below an already delivered position is out of order;
//! - *lost by protocol* when it was not delivered and every session it was sent to was later
//!   invalidated by the server (Discord would not replay it either, GATEWAY.md §3.10) or
//!   never reached the client: a session whose READY the shard never returned (the
//!   connection died first) has an id the client cannot know, so nobody can resume it;
//! - *lost* otherwise: never delivered although a live (or client-ended) session was sent
//!   it, or never generated at all by the end of the run.

use std::collections::HashSet;

use discordgateway_emulator::SessionRecord;
use discordgateway_emulator::workload::split_tag;

/// What one shard delivered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    /// Deliveries per position.
    count: Vec<u32>,
    /// The highest position delivered so far.
    max: Option<u64>,
    /// Deliveries in total (duplicates included).
    pub(crate) delivered: u64,
    /// Extra deliveries of a position.
    pub(crate) duplicated: u64,
    /// First deliveries below an already delivered position.
    pub(crate) out_of_order: u64,
    /// Tags of another shard, or positions beyond the stream.
    pub(crate) foreign: u64,
    /// The ids of the sessions whose READY the shard returned.
    pub(crate) sessions: HashSet<String>,
}

impl Seen {
    /// A record for a stream of `len` positions on shard `shard`.
    pub(crate) fn new(len: u64) -> Self {
        Self {
            count: vec![0; usize::try_from(len).unwrap_or(0)],
            ..Self::default()
        }
    }

    /// Records one delivered tag on `shard`.
    pub(crate) fn record(&mut self, shard: u32, tag: u64) {
        let (tag_shard, position) = split_tag(tag);
        let slot = usize::try_from(position)
            .ok()
            .filter(|_| tag_shard == shard)
            .and_then(|p| self.count.get_mut(p));
        let Some(slot) = slot else {
            self.foreign += 1;
            return;
        };
        self.delivered += 1;
        *slot += 1;
        if *slot > 1 {
            self.duplicated += 1;
        } else if self.max.is_some_and(|m| position < m) {
            self.out_of_order += 1;
        }
        self.max = Some(self.max.map_or(position, |m| m.max(position)));
    }

    /// Whether `position` was delivered.
    fn has(&self, position: usize) -> bool {
        self.count.get(position).is_some_and(|&n| n > 0)
    }
}

/// The fate of a shard's stream, from its [`Seen`] and the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Account {
    /// Distinct positions the emulator generated.
    pub(crate) sent: u64,
    /// Not delivered, and only sent to sessions the server invalidated.
    pub(crate) lost_by_protocol: u64,
    /// Not delivered otherwise (including never generated).
    pub(crate) lost: u64,
    /// The first lost position, for the report.
    pub(crate) first_lost: Option<u64>,
}

/// Per position: 0 never sent, 1 sent to a session the client knew and the server did not
/// invalidate, 2 sent only to server-invalidated or never-known sessions.
fn fates(records: &[SessionRecord], known: &HashSet<String>, shard: u32, len: usize) -> Vec<u8> {
    let mut fate = vec![0_u8; len];
    for r in records.iter().filter(|r| r.shard[0] == shard) {
        let by_server =
            r.invalidated.is_some_and(|i| i.by_server()) || !known.contains(&r.session_id);
        let start = usize::try_from(r.positions.start).unwrap_or(len).min(len);
        let end = usize::try_from(r.positions.end).unwrap_or(len).min(len);
        for f in fate.get_mut(start..end).into_iter().flatten() {
            *f = match (*f, by_server) {
                (_, false) | (1, true) => 1,
                _ => 2,
            };
        }
    }
    fate
}

/// Accounts shard `shard`'s stream of `seen.count.len()` positions.
pub(crate) fn account(seen: &Seen, records: &[SessionRecord], shard: u32) -> Account {
    let fate = fates(records, &seen.sessions, shard, seen.count.len());
    let mut a = Account::default();
    for (p, &f) in fate.iter().enumerate() {
        if f != 0 {
            a.sent += 1;
        }
        if seen.has(p) {
            continue;
        }
        if f == 2 {
            a.lost_by_protocol += 1;
        } else {
            a.lost += 1;
            a.first_lost.get_or_insert(p as u64);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use discordgateway_emulator::Invalidation;
    use discordgateway_emulator::workload::tag;

    use super::*;

    fn record(id: &str, start: u64, end: u64, invalidated: Option<Invalidation>) -> SessionRecord {
        let json = serde_json::json!({
            "session_id": id, "shard": [0, 1], "index": 0,
            "positions": {"start": start, "end": end},
            "invalidated": invalidated,
        });
        serde_json::from_value(json).unwrap_or_else(|e| panic!("record: {e}"))
    }

    #[test]
    fn deliveries_count_duplicates_and_order() {
        let mut seen = Seen::new(10);
        for p in [0, 1, 1, 3, 2, 9] {
            seen.record(0, tag(0, p));
        }
        seen.record(0, tag(1, 4));
        seen.record(0, tag(0, 10));
        assert_eq!(seen.delivered, 6);
        assert_eq!(seen.duplicated, 1);
        assert_eq!(seen.out_of_order, 1, "2 after 3");
        assert_eq!(seen.foreign, 2);
    }

    #[test]
    fn losses_split_by_what_the_server_invalidated() {
        let mut seen = Seen::new(10);
        for p in [0, 1, 2, 6, 7] {
            seen.record(0, tag(0, p));
        }
        for id in ["a", "b", "c"] {
            seen.sessions.insert(id.to_owned());
        }
        let records = [
            record("a", 0, 4, Some(Invalidation::InvalidSession)),
            record("b", 4, 6, Some(Invalidation::ClientClosed { code: 1000 })),
            record("c", 6, 8, None),
            record("never ready", 8, 9, None),
        ];
        let a = account(&seen, &records, 0);
        // 3: invalidated; 4, 5: client-ended; 8: READY never seen; 9: never generated.
        assert_eq!(a.sent, 9);
        assert_eq!(a.lost_by_protocol, 2);
        assert_eq!(a.lost, 3);
        assert_eq!(a.first_lost, Some(4));
    }
}
