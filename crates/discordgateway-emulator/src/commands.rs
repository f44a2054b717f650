//! Replies to the request commands: Request Guild Members (op 8) → GUILD_MEMBERS_CHUNK,
//! Request Soundboard Sounds (op 31) → SOUNDBOARD_SOUNDS, Request Channel Info (op 43) →
//! CHANNEL_INFO (GATEWAY.md §11.4–§11.6, §5).
//!
//! Op 8 rules: one guild per request; a prefix `query` returns at most `limit` (capped at
//! 100) members whose username starts with it; `user_ids` returns at most 100, listing the
//! unknown ones in `not_found`; `query: ""` with `limit: 0` is "all members", which needs
//! GUILD_MEMBERS (without it the request is an invalid payload: close 4001, our choice, as the
//! docs name no code) and is limited to one per guild per 30 s (over it: a RATE_LIMITED
//! dispatch). Chunks hold at most 1000 members; `presences` are included only when asked and
//! GUILD_PRESENCES is granted; a nonce over 32 bytes is dropped. A guild that is not on the
//! session's shard gets no reply. The members are the workload's real members
//! ([`crate::workload::Guild::members`]); the prefix `query` matches their usernames,
//! ignoring ASCII case (our choice: §11.4 only says "username prefix", and generated usernames
//! are lowercase anyway). Presences carry each member's generated status.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::{
    inject::snowflake,
    state::Shared,
    wire::{self, Outbound, close, intents},
    workload::{Guild, Member},
};

/// Members per GUILD_MEMBERS_CHUNK.
const CHUNK: usize = 1000;
/// Cap for prefix and `user_ids` queries.
const QUERY_CAP: usize = 100;

/// Op 8's `d`.
#[derive(Debug, Deserialize)]
struct RequestMembers {
    /// The guild.
    guild_id: Value,
    /// Username prefix.
    #[serde(default)]
    query: Option<String>,
    /// Max members (0 = all with an empty query).
    #[serde(default)]
    limit: Option<u64>,
    /// Whether to include presences.
    #[serde(default)]
    presences: bool,
    /// One id or a list.
    #[serde(default)]
    user_ids: Option<Value>,
    /// Echoed in every chunk when ≤ 32 bytes.
    #[serde(default)]
    nonce: Option<String>,
}

/// The session facts a reply depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asker {
    /// `[shard_id, num_shards]`.
    pub(crate) shard: [u32; 2],
    /// Granted intents.
    pub(crate) intents: u64,
}

impl Asker {
    /// The guild `id` if it exists and is on this session's shard.
    fn guild<'w>(&self, shared: &'w Shared, id: u64) -> Option<&'w Guild> {
        shared
            .world
            .guild(id)
            .filter(|g| g.shard(self.shard[1]) == self.shard[0])
    }
}

/// Answers op 8: the dispatches to send, or a close code.
pub(crate) fn request_guild_members(
    shared: &Shared,
    asker: Asker,
    d: &[u8],
    now: Instant,
) -> Result<Vec<Outbound>, (u16, &'static str)> {
    let invalid = (
        close::UNKNOWN_OPCODE,
        "invalid request guild members payload",
    );
    let req: RequestMembers = serde_json::from_slice(d).map_err(|_| invalid)?;
    let guild_id = snowflake(Some(&req.guild_id)).ok_or(invalid)?;
    let nonce = req.nonce.filter(|n| n.len() <= 32);
    let Some(guild) = asker.guild(shared, guild_id) else {
        return Ok(Vec::new());
    };
    let presences = req.presences && asker.intents & intents::GUILD_PRESENCES != 0;
    let (members, not_found): (Vec<&Member>, Vec<u64>) = match (&req.user_ids, &req.query) {
        (Some(ids), _) => {
            let ids: Vec<u64> = match ids {
                Value::Array(a) => a.iter().filter_map(|v| snowflake(Some(v))).collect(),
                v => snowflake(Some(v)).into_iter().collect(),
            };
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for id in ids.into_iter().take(QUERY_CAP) {
                match guild.member(id) {
                    Some(m) => found.push(m),
                    None => missing.push(id),
                }
            }
            (found, missing)
        }
        (None, Some(q)) if q.is_empty() && req.limit == Some(0) => {
            if asker.intents & intents::GUILD_MEMBERS == 0 {
                return Err((
                    close::UNKNOWN_OPCODE,
                    "requesting all members needs the GUILD_MEMBERS intent",
                ));
            }
            if let Err(retry) = shared.admit_members_all(guild.id(), now) {
                return Ok(vec![rate_limited(
                    guild.id(),
                    retry.as_secs_f64(),
                    nonce.as_deref(),
                )]);
            }
            (guild.members().iter().collect(), Vec::new())
        }
        (None, Some(q)) => {
            let limit = req
                .limit
                .map_or(QUERY_CAP, |l| (l as usize).clamp(1, QUERY_CAP));
            let found = guild
                .members()
                .iter()
                .filter(|m| starts_with_ignoring_case(m.username(), q))
                .take(limit)
                .collect();
            (found, Vec::new())
        }
        (None, None) => return Err(invalid),
    };
    Ok(chunks(
        guild.id(),
        &members,
        &not_found,
        presences,
        nonce.as_deref(),
    ))
}

/// Whether `name` starts with `prefix`, ignoring ASCII case.
fn starts_with_ignoring_case(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Splits `members` into GUILD_MEMBERS_CHUNK dispatches of at most [`CHUNK`].
fn chunks(
    guild: u64,
    members: &[&Member],
    not_found: &[u64],
    presences: bool,
    nonce: Option<&str>,
) -> Vec<Outbound> {
    let count = members.len().div_ceil(CHUNK).max(1);
    let nonce = nonce.map(|n| Value::String(n.to_owned()).to_string());
    (0..count)
        .map(|index| {
            let part = members
                .get(index * CHUNK..((index + 1) * CHUNK).min(members.len()))
                .unwrap_or_default();
            let mut out = Vec::with_capacity(64 + part.len() * if presences { 900 } else { 600 });
            out.extend_from_slice(b"{\"guild_id\":\"");
            wire::write_u64(&mut out, guild);
            out.extend_from_slice(b"\",\"members\":");
            push_members(&mut out, part, Member::write_json);
            out.extend_from_slice(b",\"chunk_index\":");
            wire::write_u64(&mut out, index as u64);
            out.extend_from_slice(b",\"chunk_count\":");
            wire::write_u64(&mut out, count as u64);
            if !not_found.is_empty() {
                out.extend_from_slice(b",\"not_found\":[");
                for (i, id) in not_found.iter().enumerate() {
                    out.extend_from_slice(if i == 0 { b"\"" } else { b",\"" });
                    wire::write_u64(&mut out, *id);
                    out.push(b'"');
                }
                out.push(b']');
            }
            if presences {
                out.extend_from_slice(b",\"presences\":");
                push_members(&mut out, part, Member::write_presence_json);
            }
            if let Some(n) = &nonce {
                out.extend_from_slice(b",\"nonce\":");
                out.extend_from_slice(n.as_bytes());
            }
            out.push(b'}');
            Outbound::reply("GUILD_MEMBERS_CHUNK", Bytes::from(out))
        })
        .collect()
}

/// Appends a JSON array with one value per member, written by `write`.
fn push_members(out: &mut Vec<u8>, members: &[&Member], write: fn(&Member, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(m, out);
    }
    out.push(b']');
}

/// The RATE_LIMITED dispatch for an "all members" request.
fn rate_limited(guild: u64, retry_after: f64, nonce: Option<&str>) -> Outbound {
    let mut meta = serde_json::json!({"guild_id": guild.to_string()});
    if let (Some(n), Some(obj)) = (nonce, meta.as_object_mut()) {
        obj.insert("nonce".into(), Value::String(n.to_owned()));
    }
    let d = serde_json::json!({"opcode": 8, "retry_after": retry_after, "meta": meta});
    Outbound::reply("RATE_LIMITED", Bytes::from(d.to_string()))
}

/// Answers op 31: one SOUNDBOARD_SOUNDS per known guild of this shard.
pub(crate) fn request_soundboard_sounds(
    shared: &Shared,
    asker: Asker,
    d: &[u8],
) -> Result<Vec<Outbound>, (u16, &'static str)> {
    /// Op 31's `d`.
    #[derive(Deserialize)]
    struct Req {
        /// The guilds.
        guild_ids: Vec<Value>,
    }
    let req: Req = serde_json::from_slice(d).map_err(|_| {
        (
            close::UNKNOWN_OPCODE,
            "invalid request soundboard sounds payload",
        )
    })?;
    Ok(req
        .guild_ids
        .iter()
        .filter_map(|v| asker.guild(shared, snowflake(Some(v))?))
        .map(|g| {
            let d = format!(r#"{{"guild_id":"{}","soundboard_sounds":[]}}"#, g.id());
            Outbound::reply("SOUNDBOARD_SOUNDS", Bytes::from(d))
        })
        .collect())
}

/// Answers op 43: one CHANNEL_INFO with the guild's voice channel, or nothing.
pub(crate) fn request_channel_info(
    shared: &Shared,
    asker: Asker,
    d: &[u8],
) -> Result<Vec<Outbound>, (u16, &'static str)> {
    /// Op 43's `d`.
    #[derive(Deserialize)]
    struct Req {
        /// The guild.
        guild_id: Value,
        /// Requested fields.
        #[serde(default)]
        fields: Vec<String>,
    }
    let invalid = (
        close::UNKNOWN_OPCODE,
        "invalid request channel info payload",
    );
    let req: Req = serde_json::from_slice(d).map_err(|_| invalid)?;
    let id = snowflake(Some(&req.guild_id)).ok_or(invalid)?;
    let Some(g) = asker.guild(shared, id) else {
        return Ok(Vec::new());
    };
    let voice = g
        .voice_channels
        .first()
        .and_then(|&i| g.channels().get(i))
        .map_or(g.id(), |c| c.id);
    let mut channel = format!(r#"{{"id":"{voice}""#);
    if req.fields.iter().any(|f| f == "status") {
        channel.push_str(r#","status":"emulated""#);
    }
    if req.fields.iter().any(|f| f == "voice_start_time") {
        channel.push_str(r#","voice_start_time":1785000000"#);
    }
    let d = format!(r#"{{"guild_id":"{}","channels":[{channel}}}]}}"#, g.id());
    Ok(vec![Outbound::reply("CHANNEL_INFO", Bytes::from(d))])
}
