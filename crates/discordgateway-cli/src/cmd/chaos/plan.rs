//! The seeded fault plan of `discordgateway chaos`: which fault, on which shard, when.
//!
//! Every kind of issue 8 point 1 is one [`FaultKind`]; the plan draws `faults` entries with
//! SplitMix64 from the seed, cycling through the kinds so each gets `faults / KINDS` (± 1),
//! at uniform random times over the stream's expected duration and on uniform random shards.
//! The same seed gives the same plan.

use std::time::Duration;

use discordgateway_emulator::Fault;

/// How long a half-open or zombie fault lasts: over two heartbeat intervals of the soak, so
/// the client must notice the missing ACK and reconnect.
const STALL: Duration = Duration::from_millis(2_500);

/// One kind of fault the soak injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FaultKind {
    /// TCP cut with no close frame.
    Drop,
    /// The emulator stops reading (a half-open connection).
    HalfOpen,
    /// Op 7 Reconnect.
    Reconnect,
    /// Op 9, resumable.
    InvalidSessionResumable,
    /// Op 9, not resumable.
    InvalidSession,
    /// A server close with this code.
    Close(u16),
    /// ACKs withheld.
    Zombie,
    /// A gap in sequence numbers.
    SkipSeq,
    /// The last dispatch again with its sequence number.
    RepeatSeq,
    /// An undecodable frame.
    Garbage,
    /// A frame over the client's limit.
    Oversized,
    /// The harness stops reading its shard for a while.
    SlowConsumer,
    /// The emulator forgets every session and cuts every connection.
    Restart,
}

/// Every kind, in report order.
pub(crate) const KINDS: &[FaultKind] = &[
    FaultKind::Drop,
    FaultKind::HalfOpen,
    FaultKind::Reconnect,
    FaultKind::InvalidSessionResumable,
    FaultKind::InvalidSession,
    FaultKind::Close(4000),
    FaultKind::Close(4001),
    FaultKind::Close(4002),
    FaultKind::Close(4005),
    FaultKind::Close(4008),
    FaultKind::Close(4003),
    FaultKind::Close(4007),
    FaultKind::Close(4009),
    FaultKind::Zombie,
    FaultKind::SkipSeq,
    FaultKind::RepeatSeq,
    FaultKind::Garbage,
    FaultKind::Oversized,
    FaultKind::SlowConsumer,
    FaultKind::Restart,
];

impl FaultKind {
    /// The name in the JSON report.
    pub(crate) fn name(self) -> String {
        match self {
            Self::Drop => "tcp_drop".into(),
            Self::HalfOpen => "half_open".into(),
            Self::Reconnect => "op7_reconnect".into(),
            Self::InvalidSessionResumable => "op9_resumable".into(),
            Self::InvalidSession => "op9_not_resumable".into(),
            Self::Close(code) => format!("close_{code}"),
            Self::Zombie => "zombie".into(),
            Self::SkipSeq => "skip_seq".into(),
            Self::RepeatSeq => "repeat_seq".into(),
            Self::Garbage => "garbage".into(),
            Self::Oversized => "oversized".into(),
            Self::SlowConsumer => "slow_consumer".into(),
            Self::Restart => "emulator_restart".into(),
        }
    }

    /// The emulator fault, for kinds the emulator injects into one shard's connection.
    pub(crate) fn fault(self, oversized: usize) -> Option<Fault> {
        let stall = u64::try_from(STALL.as_millis()).unwrap_or(u64::MAX);
        Some(match self {
            Self::Drop => Fault::Drop,
            Self::HalfOpen => Fault::HalfOpen { duration_ms: stall },
            Self::Reconnect => Fault::Reconnect,
            Self::InvalidSessionResumable => Fault::InvalidSession { resumable: true },
            Self::InvalidSession => Fault::InvalidSession { resumable: false },
            Self::Close(code) => Fault::Close { code, reason: None },
            Self::Zombie => Fault::Zombie { duration_ms: stall },
            Self::SkipSeq => Fault::SkipSeq { count: 3 },
            Self::RepeatSeq => Fault::RepeatSeq,
            Self::Garbage => Fault::Garbage,
            Self::Oversized => Fault::Oversized { bytes: oversized },
            Self::SlowConsumer | Self::Restart => return None,
        })
    }
}

/// One planned fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    /// When, from the start of the stream.
    pub(crate) at: Duration,
    /// Which shard (ignored by [`FaultKind::Restart`]).
    pub(crate) shard: u32,
    /// What.
    pub(crate) kind: FaultKind,
    /// For a slow consumer: how long the harness stops reading.
    pub(crate) pause: Duration,
}

/// SplitMix64: small, seeded, good enough to spread faults.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// `faults` faults over `span` (after a short start-up grace) on `shards` shards, sorted by
/// time. Kinds cycle through [`KINDS`], so each kind appears `faults / KINDS.len()` times or
/// once more.
pub(crate) fn plan(seed: u64, faults: u64, shards: u32, span: Duration) -> Vec<Planned> {
    let mut rng = Rng::new(seed ^ 0xc4a0_5eed);
    let grace = Duration::from_millis(300).min(span / 4);
    let window = u64::try_from((span - grace).as_micros()).unwrap_or(u64::MAX);
    let mut out: Vec<Planned> = (0..faults)
        .map(|i| {
            let kind = KINDS[usize::try_from(i % KINDS.len() as u64).unwrap_or(0)];
            Planned {
                at: grace + Duration::from_micros(rng.below(window)),
                shard: u32::try_from(rng.below(u64::from(shards))).unwrap_or(0),
                kind,
                pause: Duration::from_millis(200 + rng.below(2_800)),
            }
        })
        .collect();
    out.sort_by_key(|p| p.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_seeded_sorted_in_range_and_covers_every_kind() {
        let span = Duration::from_secs(10);
        let a = plan(1, 200, 8, span);
        assert_eq!(a, plan(1, 200, 8, span), "same seed, same plan");
        assert_ne!(a, plan(2, 200, 8, span), "another seed, another plan");
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at), "sorted");
        assert!(a.iter().all(|p| p.at < span && p.shard < 8), "in range");
        for kind in KINDS {
            let n = a.iter().filter(|p| p.kind == *kind).count();
            assert_eq!(n, 10, "kind {}", kind.name());
        }
    }

    #[test]
    fn every_injected_kind_maps_to_its_emulator_fault() {
        const CASES: &[(FaultKind, Option<&str>)] = &[
            (FaultKind::Drop, Some(r#"{"kind":"drop"}"#)),
            (
                FaultKind::Close(4009),
                Some(r#"{"kind":"close","code":4009,"reason":null}"#),
            ),
            (FaultKind::SkipSeq, Some(r#"{"kind":"skip_seq","count":3}"#)),
            (FaultKind::SlowConsumer, None),
            (FaultKind::Restart, None),
        ];
        for (kind, want) in CASES {
            let got = kind
                .fault(64)
                .map(|f| serde_json::to_string(&f).unwrap_or_default());
            assert_eq!(got.as_deref(), *want, "case {}", kind.name());
        }
        let names: std::collections::BTreeSet<String> = KINDS.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), KINDS.len(), "names are unique");
    }
}
