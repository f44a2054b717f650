//! Seeded, realistic workloads: a [`World`] of guilds, READY and GUILD_CREATE payloads, and a
//! per-shard [`EventStream`] of tagged dispatches (issue 4, point 8).
//!
//! # How it works
//!
//! [`World::generate`] turns a [`WorkloadConfig`] into guilds, channels, roles and members
//! once, with SplitMix64 seeded from [`WorkloadConfig::seed`] (one independent sub-stream per
//! guild, so a guild's contents do not depend on the sizes of the guilds before it). Every
//! user and member is serialized to JSON fragments at that time; READY
//! (GATEWAY.md §3.5), GUILD_CREATE (§9.2 member and presence limits, cached per variant)
//! and every streamed dispatch are then spliced from those fragments with a hand-written JSON
//! writer, so the emulator never builds a `serde_json::Value` on its hot path.
//!
//! Guild ids are real-looking snowflakes (`timestamp << 22 | low bits`) whose timestamps are
//! random, so `(guild_id >> 22) % total` spreads them evenly across shards (§6).
//!
//! # Tags
//!
//! Every generated dispatch carries its tag inside `d` as the extra field
//! `"emulator_tag": <u64>` ([`TAG_FIELD`]). Discord's docs tell clients to ignore unknown
//! fields (§2.1), so conforming clients are unaffected, and a test can read the tag with
//! [`read_tag`] to prove that each dispatch arrived exactly once. A tag is
//! `shard << 40 | position` ([`tag`], [`split_tag`]): unique per (shard, position in the
//! stream). By default a new session on the same shard replays the workload from its
//! beginning, so the same tags appear again in that new session; within one session they never
//! repeat. With [`WorkloadConfig::continue_streams`] a new session continues where the shard's
//! stream stopped instead, so each tag is generated once per shard (the chaos soak's mode;
//! [`crate::ledger`] records which session was sent which positions).

mod config;
mod guild;
mod json;
mod member;
mod rng;
mod stream;
mod text;
mod world;

pub use config::{Mix, Rate, RateParseError, WorkloadConfig, WorkloadConfigError};
pub use guild::{Channel, ChannelKind, Guild, GuildCreateOptions, Role};
pub use member::{BotUser, Member, Status};
pub use stream::{EventKind, EventStream, WorkloadEvent};
pub use world::World;

/// The field every generated dispatch carries in `d`: its tag, a JSON number.
pub const TAG_FIELD: &str = "emulator_tag";

/// How many low bits of a tag hold the position in the shard's stream.
const POSITION_BITS: u32 = 40;

/// The largest shard number a tag can hold (2^24 - 1).
pub const MAX_SHARD: u32 = (1 << (64 - POSITION_BITS)) - 1;

/// The tag of the event at `position` (0-based) in `shard`'s stream: `shard << 40 | position`.
///
/// Positions wrap after 2^40 events (over a trillion), far beyond any run; shard numbers
/// must be below 2^24 ([`MAX_SHARD`] is the largest), far above Discord's shard counts.
///
/// # Examples
///
/// ```
/// use discordgateway_emulator::workload::{split_tag, tag};
/// assert_eq!(split_tag(tag(3, 17)), (3, 17));
/// ```
#[must_use]
pub const fn tag(shard: u32, position: u64) -> u64 {
    ((shard as u64) << POSITION_BITS) | (position & ((1 << POSITION_BITS) - 1))
}

/// Splits a tag made by [`tag`] into `(shard, position)`.
#[must_use]
pub const fn split_tag(tag: u64) -> (u32, u64) {
    (
        (tag >> POSITION_BITS) as u32,
        tag & ((1 << POSITION_BITS) - 1),
    )
}

/// Reads the `emulator_tag` of a generated payload (`d`, or a whole dispatch frame).
///
/// The generator always writes the tag as the last field of `d`, so this scans from the end
/// and stops at the first match; it returns `None` when the field is absent or not a number.
///
/// # Examples
///
/// ```
/// use discordgateway_emulator::workload::read_tag;
/// assert_eq!(read_tag(br#"{"id":"1","emulator_tag":42}"#), Some(42));
/// assert_eq!(read_tag(br#"{"id":"1"}"#), None);
/// ```
#[must_use]
pub fn read_tag(data: &[u8]) -> Option<u64> {
    const NEEDLE: &[u8] = b"\"emulator_tag\":";
    let at = data.windows(NEEDLE.len()).rposition(|w| w == NEEDLE)?;
    let digits = data.get(at + NEEDLE.len()..)?;
    let digits = &digits[..digits.iter().take_while(|b| b.is_ascii_digit()).count()];
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Writes a full dispatch frame `{"op":0,"s":seq,"t":"name","d":data}` into `out`, replacing
/// its previous contents (so one buffer can be reused for every send).
///
/// `name` must be an upper-snake dispatch name and `data` valid JSON; neither is escaped or
/// checked here, because both come from the workload or from parsed scenario files.
///
/// # Examples
///
/// ```
/// use discordgateway_emulator::workload::write_dispatch;
/// let mut out = Vec::new();
/// write_dispatch(&mut out, 5, "TYPING_START", br#"{"user_id":"1"}"#);
/// assert_eq!(out, br#"{"op":0,"s":5,"t":"TYPING_START","d":{"user_id":"1"}}"#);
/// ```
pub fn write_dispatch(out: &mut Vec<u8>, seq: u64, name: &str, data: &[u8]) {
    out.clear();
    out.reserve(data.len() + name.len() + 40);
    out.extend_from_slice(b"{\"op\":0,\"s\":");
    json::push_u64(out, seq);
    out.extend_from_slice(b",\"t\":\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\",\"d\":");
    out.extend_from_slice(data);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_differ_by_shard() {
        const CASES: &[(u32, u64)] = &[(0, 0), (0, 1), (1, 0), (4095, 123_456_789), (MAX_SHARD, 7)];
        for &(shard, pos) in CASES {
            assert_eq!(
                split_tag(tag(shard, pos)),
                (shard, pos),
                "case {shard}/{pos}"
            );
        }
        assert_ne!(tag(0, 1), tag(1, 1));
    }

    #[test]
    fn read_tag_finds_the_last_field() {
        const CASES: &[(&str, &[u8], Option<u64>)] = &[
            ("plain", br#"{"a":1,"emulator_tag":9}"#, Some(9)),
            ("frame", br#"{"op":0,"d":{"emulator_tag":77}}"#, Some(77)),
            ("absent", br#"{"a":1}"#, None),
            ("not a number", br#"{"emulator_tag":"x"}"#, None),
            ("empty", b"", None),
        ];
        for (name, data, want) in CASES {
            assert_eq!(read_tag(data), *want, "case {name}");
        }
    }

    #[test]
    fn write_dispatch_reuses_the_buffer() {
        let mut out = b"old contents".to_vec();
        write_dispatch(&mut out, 1, "READY", b"{}");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["op"], 0);
        assert_eq!(v["s"], 1);
        assert_eq!(v["t"], "READY");
        assert!(v["d"].as_object().unwrap().is_empty());
    }
}
