//! The bot's world as the server sees it: its user, guilds, members and the dispatch stream
//! each new session receives.
//!
//! This is a small deterministic stand-in until the seeded workload generator
//! (`workload.rs`) lands; the server only uses the methods below, so switching is local.
//! Guild ids are snowflakes whose timestamp part is consecutive, so `(id >> 22) % total`
//! spreads guilds evenly over shards (GATEWAY.md §6). Every payload is serialized once
//! here; sending one is a reference-count increment.

use std::{fmt::Write as _, sync::Arc};

use bytes::Bytes;

use crate::{
    EmulatorConfig,
    wire::{Name, Outbound},
};

/// The bot user's id (also the application id).
pub(crate) const BOT_ID: u64 = 1_100_000_000_000_000_000;

/// A generated guild.
#[derive(Debug)]
pub(crate) struct Guild {
    /// The guild's snowflake.
    pub(crate) id: u64,
    /// Its members, by ascending id.
    pub(crate) members: Vec<Member>,
    /// Its one voice channel's id (for CHANNEL_INFO).
    pub(crate) voice_channel: u64,
    /// The pre-serialized GUILD_CREATE `d`.
    pub(crate) create_data: Bytes,
}

/// A generated guild member.
#[derive(Debug)]
pub(crate) struct Member {
    /// The user's snowflake.
    pub(crate) id: u64,
    /// The username (op 8 prefix queries match it).
    pub(crate) username: String,
    /// The pre-serialized guild member object.
    pub(crate) json: Bytes,
}

/// Everything generated from the config's seed.
#[derive(Debug)]
pub(crate) struct World {
    /// All guilds, by ascending id.
    guilds: Vec<Guild>,
    /// Dispatches cycled through by [`World::stream`].
    palette: Arc<[Outbound]>,
}

impl World {
    /// Generates the world for `config` (deterministic in `config.seed`).
    pub(crate) fn generate(config: &EmulatorConfig) -> Self {
        let base = 1_400_000_000_000u64 + (config.seed % 1_000_000) * 10_000;
        let guilds: Vec<Guild> = (0..u64::from(config.guilds))
            .map(|i| generate_guild((base + i) << 22, i, config.members_per_guild))
            .collect();
        let palette = guilds
            .iter()
            .flat_map(|g| (0..4).map(move |k| message_create(g, k)))
            .collect::<Vec<_>>()
            .into();
        Self { guilds, palette }
    }

    /// The guilds routed to `shard` of `total`.
    pub(crate) fn guilds_for_shard(&self, shard: u32, total: u32) -> Vec<&Guild> {
        let total = u64::from(total.max(1));
        self.guilds
            .iter()
            .filter(|g| (g.id >> 22) % total == u64::from(shard))
            .collect()
    }

    /// A guild by id.
    pub(crate) fn guild(&self, id: u64) -> Option<&Guild> {
        self.guilds
            .binary_search_by_key(&id, |g| g.id)
            .ok()
            .and_then(|i| self.guilds.get(i))
    }

    /// READY's `d`.
    pub(crate) fn ready_data(
        &self,
        session_id: &str,
        resume_url: &str,
        shard: Option<[u32; 2]>,
        guild_ids: &[u64],
    ) -> Vec<u8> {
        let mut s = String::with_capacity(256 + guild_ids.len() * 48);
        let _ = write!(
            s,
            r#"{{"v":10,"user":{{"id":"{BOT_ID}","username":"emulator-bot","discriminator":"0","global_name":null,"avatar":null,"bot":true}},"guilds":["#
        );
        for (i, id) in guild_ids.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(s, r#"{comma}{{"id":"{id}","unavailable":true}}"#);
        }
        let _ = write!(
            s,
            r#"],"session_id":"{session_id}","resume_gateway_url":"{resume_url}","#
        );
        if let Some([id, total]) = shard {
            let _ = write!(s, r#""shard":[{id},{total}],"#);
        }
        let _ = write!(s, r#""application":{{"id":"{BOT_ID}","flags":0}}}}"#);
        s.into_bytes()
    }

    /// The generated dispatches a new session on `shard` of `total` receives, `count` of them.
    pub(crate) fn stream(
        &self,
        shard: u32,
        total: u32,
        count: u64,
    ) -> Box<dyn Iterator<Item = Outbound> + Send> {
        let total = u64::from(total.max(1));
        let mine: Vec<Outbound> = self
            .palette
            .iter()
            .filter(|e| {
                e.guild_id
                    .is_some_and(|g| (g >> 22) % total == u64::from(shard))
            })
            .cloned()
            .collect();
        if mine.is_empty() {
            return Box::new(std::iter::empty());
        }
        let len = mine.len();
        Box::new((0..count).filter_map(move |i| mine.get(i as usize % len).cloned()))
    }
}

/// Builds guild number `index` with id `id`.
fn generate_guild(id: u64, index: u64, members: u32) -> Guild {
    let voice_channel = id + 2;
    let members: Vec<Member> = (0..u64::from(members))
        .map(|m| {
            let uid = id + 1000 + m;
            let username = format!("user{index}-{m}");
            let json = format!(
                r#"{{"user":{{"id":"{uid}","username":"{username}","discriminator":"0","global_name":null,"avatar":null}},"nick":null,"roles":[],"joined_at":"2024-01-01T00:00:00.000000+00:00","deaf":false,"mute":false,"flags":0}}"#
            );
            Member {
                id: uid,
                username,
                json: Bytes::from(json),
            }
        })
        .collect();
    let mut s = format!(
        r#"{{"id":"{id}","name":"guild {index}","icon":null,"owner_id":"{BOT_ID}","unavailable":false,"large":false,"member_count":{},"joined_at":"2024-01-01T00:00:00.000000+00:00","roles":[],"emojis":[],"features":[],"voice_states":[],"presences":[],"threads":[],"stage_instances":[],"guild_scheduled_events":[],"soundboard_sounds":[],"channels":[{{"id":"{}","type":0,"name":"general","position":0}},{{"id":"{voice_channel}","type":2,"name":"voice","position":1}}],"members":["#,
        members.len(),
        id + 1
    );
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&String::from_utf8_lossy(&m.json));
    }
    s.push_str("]}");
    Guild {
        id,
        members,
        voice_channel,
        create_data: Bytes::from(s),
    }
}

/// A MESSAGE_CREATE in `guild`, and its MESSAGE_CONTENT-less twin.
fn message_create(guild: &Guild, k: u64) -> Outbound {
    let author = guild.members.first().map_or(BOT_ID + 1, |m| m.id);
    let body = |content: &str| {
        Bytes::from(format!(
            r#"{{"id":"{}","channel_id":"{}","guild_id":"{}","author":{{"id":"{author}","username":"author","discriminator":"0","global_name":null,"avatar":null}},"content":"{content}","timestamp":"2024-01-01T00:00:00.000000+00:00","edited_timestamp":null,"tts":false,"mention_everyone":false,"mentions":[],"mention_roles":[],"attachments":[],"embeds":[],"components":[],"pinned":false,"type":0}}"#,
            guild.id + 10_000 + k,
            guild.id + 1,
            guild.id,
        ))
    };
    Outbound {
        name: Name::Static("MESSAGE_CREATE"),
        guild_id: Some(guild.id),
        is_dm: false,
        ungated: false,
        data: body("hello from the emulator"),
        data_without_content: Some(body("")),
    }
}
