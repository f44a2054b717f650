//! The per-shard stream of tagged dispatches.
//!
//! Each event is drawn from the mix with the shard's own SplitMix64 sub-stream (seed and shard
//! number), then spliced from the world's pre-serialized users, members, contents and embeds.
//! Nothing depends on wall-clock time: event timestamps advance 1 ms per position from
//! 2026-01-01T00:00:00Z, so the same seed gives the same bytes in every run and process.

use std::sync::Arc;

use bytes::Bytes;

use super::guild::{Guild, push_tag};
use super::json::{
    push_bool, push_id, push_key, push_next_key, push_str, push_timestamp, push_u64,
};
use super::member::{Member, Status};
use super::rng::SplitMix64;
use super::text;
use super::world::{World, snowflake};
use super::{WorkloadConfig, tag};

/// 2026-01-01T00:00:00Z in Unix ms: the timestamp of position 0.
const STREAM_BASE_MS: u64 = 1_767_225_600_000;
/// Messages are kept at or below this many bytes (before the tag) when adding extras.
const MESSAGE_BUDGET: usize = 1_900;

/// The kinds of dispatch the workload generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// MESSAGE_CREATE in a guild.
    MessageCreate,
    /// PRESENCE_UPDATE.
    PresenceUpdate,
    /// TYPING_START in a guild.
    TypingStart,
    /// GUILD_MEMBER_UPDATE.
    GuildMemberUpdate,
    /// MESSAGE_REACTION_ADD in a guild.
    MessageReactionAdd,
    /// MESSAGE_UPDATE in a guild.
    MessageUpdate,
    /// MESSAGE_DELETE in a guild.
    MessageDelete,
    /// VOICE_STATE_UPDATE.
    VoiceStateUpdate,
    /// MESSAGE_CREATE in a DM with the bot (no `guild_id`; shard 0 only).
    DmMessageCreate,
    /// MESSAGE_REACTION_REMOVE in a guild.
    MessageReactionRemove,
    /// GUILD_MEMBER_ADD (may name an existing member, as Discord allows).
    GuildMemberAdd,
    /// GUILD_MEMBER_REMOVE (the member stays in the world; only the event is generated).
    GuildMemberRemove,
    /// CHANNEL_UPDATE.
    ChannelUpdate,
    /// GUILD_ROLE_UPDATE.
    GuildRoleUpdate,
}

impl EventKind {
    /// The dispatch name (`t`) on the wire.
    #[must_use]
    pub const fn wire_name(self) -> &'static str {
        match self {
            EventKind::MessageCreate | EventKind::DmMessageCreate => "MESSAGE_CREATE",
            EventKind::PresenceUpdate => "PRESENCE_UPDATE",
            EventKind::TypingStart => "TYPING_START",
            EventKind::GuildMemberUpdate => "GUILD_MEMBER_UPDATE",
            EventKind::MessageReactionAdd => "MESSAGE_REACTION_ADD",
            EventKind::MessageUpdate => "MESSAGE_UPDATE",
            EventKind::MessageDelete => "MESSAGE_DELETE",
            EventKind::VoiceStateUpdate => "VOICE_STATE_UPDATE",
            EventKind::MessageReactionRemove => "MESSAGE_REACTION_REMOVE",
            EventKind::GuildMemberAdd => "GUILD_MEMBER_ADD",
            EventKind::GuildMemberRemove => "GUILD_MEMBER_REMOVE",
            EventKind::ChannelUpdate => "CHANNEL_UPDATE",
            EventKind::GuildRoleUpdate => "GUILD_ROLE_UPDATE",
        }
    }

    /// Whether events of this kind happen in a guild (all but DM messages).
    #[must_use]
    pub const fn is_guild(self) -> bool {
        !matches!(self, EventKind::DmMessageCreate)
    }
}

/// One generated dispatch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkloadEvent {
    /// Unique per (shard, position): `shard << 40 | position`; also in `data` as
    /// `emulator_tag`. A new session on the shard replays the same tags from the start, unless
    /// `continue_streams` is on (see [`WorkloadConfig::continue_streams`]).
    pub tag: u64,
    /// 0-based position in the shard's stream.
    pub position: u64,
    /// What was generated.
    pub kind: EventKind,
    /// The dispatch name (`t`).
    pub name: &'static str,
    /// The guild the event happened in; `None` for DMs (routed to shard 0).
    pub guild_id: Option<u64>,
    /// Whether it happened in a DM (for the DIRECT_MESSAGE_* vs GUILD_* intent split).
    pub is_dm: bool,
    /// The `d` JSON, ending with the `emulator_tag` field.
    pub data: Bytes,
    /// For MESSAGE_CREATE/UPDATE, `d` as a session without MESSAGE_CONTENT sees it: `content`,
    /// `embeds`, `attachments` and `components` empty and `poll` removed (GATEWAY.md §9.3).
    /// `None` when nothing is stripped: not a message, or an exception applies (the bot
    /// wrote it, it mentions the bot, or it is a DM).
    pub data_without_content: Option<Bytes>,
}

impl WorkloadEvent {
    /// The payload a session should receive, given whether it has MESSAGE_CONTENT.
    #[must_use]
    pub fn data_for(&self, message_content: bool) -> &Bytes {
        match (&self.data_without_content, message_content) {
            (Some(stripped), false) => stripped,
            _ => &self.data,
        }
    }
}

/// The deterministic stream of [`WorkloadEvent`]s for one shard of one session.
///
/// Only guilds on the shard (`(guild_id >> 22) % total == shard`) appear in it, and DM
/// messages only on shard 0. A shard with no guilds yields only DMs (shard 0) or nothing.
/// The stream ends after `events_per_shard` events, or never when that is `None`.
#[derive(Debug, Clone)]
pub struct EventStream {
    /// The world the events are spliced from.
    world: Arc<World>,
    /// This stream's shard.
    shard: u32,
    /// Indices of the shard's guilds in `world.guilds`.
    guilds: Vec<usize>,
    /// Cumulative draw thresholds over the full `u64` range, one per enabled kind.
    table: Vec<(u64, EventKind)>,
    /// The shard's random sub-stream.
    rng: SplitMix64,
    /// Position of the next event.
    position: u64,
    /// Where the stream ends, if it does.
    limit: Option<u64>,
}

impl World {
    /// The event stream for shard `shard` of `total`, with `config`'s seed, count and mix.
    /// Each call starts from the beginning, as a new session does.
    #[must_use]
    pub fn stream(
        self: &Arc<Self>,
        shard: u32,
        total: u32,
        config: &WorkloadConfig,
    ) -> EventStream {
        EventStream::new(Arc::clone(self), shard, total, config)
    }
}

impl EventStream {
    /// The stream for shard `shard` of `total` over `world` (see [`World::stream`]).
    #[must_use]
    pub fn new(world: Arc<World>, shard: u32, total: u32, config: &WorkloadConfig) -> Self {
        let guilds: Vec<usize> = world
            .guilds
            .iter()
            .enumerate()
            .filter(|(_, g)| g.shard(total) == shard)
            .map(|(i, _)| i)
            .collect();
        let enabled = |kind: super::EventKind| {
            if kind.is_guild() {
                !guilds.is_empty()
            } else {
                shard == 0
            }
        };
        let weights: Vec<(super::EventKind, f64)> = config
            .mix
            .weights()
            .into_iter()
            .filter(|&(kind, w)| w.is_finite() && w > 0.0 && enabled(kind))
            .collect();
        let total_weight: f64 = weights.iter().map(|(_, w)| w).sum();
        let mut cumulative = 0.0;
        let mut table: Vec<(u64, EventKind)> = weights
            .iter()
            .map(|&(kind, w)| {
                cumulative += w;
                ((cumulative / total_weight * u64::MAX as f64) as u64, kind)
            })
            .collect();
        if let Some(last) = table.last_mut() {
            last.0 = u64::MAX;
        }
        Self {
            rng: SplitMix64::derive(config.seed ^ 0x5717_ea4d, u64::from(shard)),
            world,
            shard,
            guilds,
            table,
            position: 0,
            limit: config.events_per_shard,
        }
    }

    /// The shard this stream belongs to.
    #[must_use]
    pub fn shard(&self) -> u32 {
        self.shard
    }

    /// Position of the next event (how many were generated so far).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many events remain; `None` for an endless stream.
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        if self.table.is_empty() {
            return Some(0);
        }
        self.limit.map(|limit| limit.saturating_sub(self.position))
    }

    /// Generates the event at the current position.
    fn generate(&mut self) -> Option<WorkloadEvent> {
        let draw = self.rng.next_u64();
        let kind = self.table.iter().find(|(t, _)| draw <= *t)?.1;
        let position = self.position;
        let mut ctx = Ctx {
            world: &self.world,
            rng: &mut self.rng,
            tag: tag(self.shard, position),
            now_ms: STREAM_BASE_MS + position,
            low: u64::from(self.shard),
        };
        let (guild_id, data, stripped) = if kind == EventKind::DmMessageCreate {
            let (data, _) = ctx.dm_message();
            (None, data, None)
        } else {
            let guild = self
                .guilds
                .get(ctx.rng.index(self.guilds.len()))
                .and_then(|&i| ctx.world.guilds.get(i))?;
            let (data, stripped) = ctx.guild_event(kind, guild);
            (Some(guild.id), data, stripped)
        };
        Some(WorkloadEvent {
            tag: ctx.tag,
            position,
            kind,
            name: kind.wire_name(),
            guild_id,
            is_dm: guild_id.is_none(),
            data,
            data_without_content: stripped,
        })
    }
}

impl Iterator for EventStream {
    type Item = WorkloadEvent;

    fn next(&mut self) -> Option<WorkloadEvent> {
        if self.remaining() == Some(0) {
            return None;
        }
        let event = self.generate()?;
        self.position += 1;
        Some(event)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.remaining() {
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                (n, Some(n))
            }
            None => (usize::MAX, None),
        }
    }
}

/// What one event's generation needs.
struct Ctx<'a> {
    /// The world.
    world: &'a World,
    /// The shard's random sub-stream.
    rng: &'a mut SplitMix64,
    /// This event's tag.
    tag: u64,
    /// This event's timestamp, Unix ms.
    now_ms: u64,
    /// Low snowflake bits for ids minted by this shard's stream.
    low: u64,
}

/// What a message is made of, drawn once and written twice (full and stripped).
struct Message<'a> {
    /// Message id.
    id: u64,
    /// Channel id.
    channel_id: u64,
    /// The guild, or `None` for a DM.
    guild_id: Option<u64>,
    /// The author (with member fields in guilds).
    author: &'a Member,
    /// `content`.
    content: &'a str,
    /// A mentioned member, if any.
    mention: Option<&'a Member>,
    /// One embed, if any.
    embed: Option<&'a [u8]>,
    /// An attachment's (id, size), if any.
    attachment: Option<(u64, u64)>,
    /// Whether it has a poll.
    poll: bool,
    /// Whether it has a button row (bot-authored messages only).
    components: bool,
    /// `edited_timestamp` for MESSAGE_UPDATE.
    edited_ms: Option<u64>,
    /// `timestamp`.
    sent_ms: u64,
}

impl Ctx<'_> {
    /// A snowflake minted at `ms` by this shard.
    fn id_at(&self, ms: u64) -> u64 {
        snowflake(ms, self.low)
    }

    /// The id of an earlier message (1 s to 1 h ago).
    fn old_message_id(&mut self) -> u64 {
        let back = self.rng.range(1_000, 3_600_000);
        self.id_at(self.now_ms - back)
    }

    /// A random member other than the bot.
    fn member<'g>(&mut self, guild: &'g Guild) -> &'g Member {
        let n = guild.members.len();
        let i = if n > 1 { 1 + self.rng.index(n - 1) } else { 0 };
        &guild.members[i.min(n.saturating_sub(1))]
    }

    /// A text channel id of the guild.
    fn text_channel(&mut self, guild: &Guild) -> u64 {
        let i = guild
            .text_channels
            .get(self.rng.index(guild.text_channels.len()));
        i.and_then(|&i| guild.channels.get(i))
            .map_or(guild.id, |c| c.id)
    }

    /// Generates a guild event's `d` (and its stripped form for messages).
    fn guild_event(&mut self, kind: EventKind, guild: &Guild) -> (Bytes, Option<Bytes>) {
        let mut out = Vec::with_capacity(1_024);
        match kind {
            EventKind::MessageCreate | EventKind::MessageUpdate | EventKind::DmMessageCreate => {
                return self.guild_message(guild, kind == EventKind::MessageUpdate);
            }
            EventKind::PresenceUpdate => {
                let member = self.member(guild);
                let status = Status::draw(self.rng);
                member.write_presence(&mut out, Some(guild.id), status, true);
            }
            EventKind::TypingStart => self.typing(&mut out, guild),
            EventKind::GuildMemberUpdate => {
                let m = self.member(guild);
                open_with_user(&mut out, guild.id, m);
                out.push(b',');
                out.extend_from_slice(&m.fields_json);
            }
            EventKind::MessageReactionAdd | EventKind::MessageReactionRemove => {
                self.reaction(&mut out, guild, kind == EventKind::MessageReactionAdd);
            }
            EventKind::MessageDelete => {
                out.push(b'{');
                push_key(&mut out, "id");
                push_id(&mut out, self.old_message_id());
                push_next_key(&mut out, "channel_id");
                push_id(&mut out, self.text_channel(guild));
                push_next_key(&mut out, "guild_id");
                push_id(&mut out, guild.id);
            }
            EventKind::VoiceStateUpdate => self.voice_state(&mut out, guild),
            EventKind::GuildMemberAdd => {
                let m = self.member(guild);
                m.write_json(&mut out);
                out.pop();
                push_next_key(&mut out, "guild_id");
                push_id(&mut out, guild.id);
            }
            EventKind::GuildMemberRemove => {
                let m = self.member(guild);
                open_with_user(&mut out, guild.id, m);
            }
            EventKind::ChannelUpdate => {
                let channel = &guild.channels[self.rng.index(guild.channels.len())];
                channel.write_json(&mut out, guild.id, Some(self.tag));
                return (Bytes::from(out), None);
            }
            EventKind::GuildRoleUpdate => {
                let role = &guild.roles[self.rng.index(guild.roles.len())];
                out.push(b'{');
                push_key(&mut out, "guild_id");
                push_id(&mut out, guild.id);
                push_next_key(&mut out, "role");
                role.write_json(&mut out);
            }
        }
        push_tag(&mut out, self.tag);
        out.push(b'}');
        (Bytes::from(out), None)
    }

    /// TYPING_START in a text channel.
    fn typing(&mut self, out: &mut Vec<u8>, guild: &Guild) {
        let m = self.member(guild);
        out.push(b'{');
        push_key(out, "user_id");
        push_id(out, m.user_id);
        push_next_key(out, "timestamp");
        push_u64(out, self.now_ms / 1000);
        push_next_key(out, "member");
        m.write_json(out);
        push_next_key(out, "channel_id");
        push_id(out, self.text_channel(guild));
        push_next_key(out, "guild_id");
        push_id(out, guild.id);
    }

    /// MESSAGE_REACTION_ADD (with `member` and `message_author_id`) or _REMOVE.
    fn reaction(&mut self, out: &mut Vec<u8>, guild: &Guild, add: bool) {
        let m = self.member(guild);
        out.push(b'{');
        push_key(out, "user_id");
        push_id(out, m.user_id);
        out.extend_from_slice(b",\"type\":0");
        push_next_key(out, "message_id");
        push_id(out, self.old_message_id());
        if add {
            push_next_key(out, "message_author_id");
            let author = self.member(guild).user_id;
            push_id(out, author);
            push_next_key(out, "member");
            m.write_json(out);
        }
        out.extend_from_slice(b",\"emoji\":{\"id\":null,\"name\":");
        push_str(out, text::pick(self.rng, text::EMOJIS));
        out.push(b'}');
        push_next_key(out, "channel_id");
        push_id(out, self.text_channel(guild));
        out.extend_from_slice(b",\"burst\":false");
        if add {
            out.extend_from_slice(b",\"burst_colors\":[]");
        }
        push_next_key(out, "guild_id");
        push_id(out, guild.id);
    }

    /// VOICE_STATE_UPDATE: a member joins a voice channel (or leaves, 30 %).
    fn voice_state(&mut self, out: &mut Vec<u8>, guild: &Guild) {
        let m = self.member(guild);
        let channel = guild
            .voice_channels
            .get(self.rng.index(guild.voice_channels.len()))
            .and_then(|&i| guild.channels.get(i));
        let leaving = self.rng.chance(0.3);
        out.push(b'{');
        push_key(out, "member");
        m.write_json(out);
        push_next_key(out, "user_id");
        push_id(out, m.user_id);
        out.extend_from_slice(b",\"suppress\":false,\"session_id\":\"");
        let session = self.rng.next_u64();
        out.extend_from_slice(format!("{session:016x}{:016x}", session.rotate_left(17)).as_bytes());
        out.extend_from_slice(b"\",\"self_video\":false,\"self_mute\":");
        push_bool(out, self.rng.chance(0.3));
        out.extend_from_slice(b",\"self_deaf\":");
        push_bool(out, self.rng.chance(0.1));
        out.extend_from_slice(
            b",\"request_to_speak_timestamp\":null,\"mute\":false,\"deaf\":false",
        );
        push_next_key(out, "guild_id");
        push_id(out, guild.id);
        push_next_key(out, "channel_id");
        match channel {
            Some(c) if !leaving => push_id(out, c.id),
            _ => out.extend_from_slice(b"null"),
        }
    }

    /// A guild MESSAGE_CREATE or MESSAGE_UPDATE, with its stripped form unless exempt.
    fn guild_message(&mut self, guild: &Guild, edited: bool) -> (Bytes, Option<Bytes>) {
        let by_bot = self.rng.chance(0.02);
        let author = if by_bot {
            &guild.members[0]
        } else {
            self.member(guild)
        };
        let mention_bot = self.rng.chance(0.03);
        let mention = if mention_bot {
            Some(&guild.members[0])
        } else if self.rng.chance(0.15) {
            Some(self.member(guild))
        } else {
            None
        };
        let channel_id = self.text_channel(guild);
        let id = if edited {
            self.old_message_id()
        } else {
            self.id_at(self.now_ms)
        };
        let mut msg = self.draw_message(id, channel_id, Some(guild.id), author, mention);
        msg.components = by_bot;
        msg.edited_ms = edited.then_some(self.now_ms);
        let full = self.write_message(&msg, false);
        // §9.3 exceptions: the app's own messages and messages that mention the app. The
        // mention may have been dropped by the size budget, so ask the drawn message.
        let exempt = by_bot || msg.mention.is_some_and(|m| m.is_bot);
        let stripped = (!exempt).then(|| self.write_message(&msg, true));
        (full, stripped)
    }

    /// A MESSAGE_CREATE in a DM with the bot (never stripped: DMs are exempt).
    fn dm_message(&mut self) -> (Bytes, Option<Bytes>) {
        let users = &self.world.dm_users;
        let Some((author, channel_id)) = users.get(self.rng.index(users.len())) else {
            return (Bytes::new(), None);
        };
        let id = self.id_at(self.now_ms);
        let msg = self.draw_message(id, *channel_id, None, author, None);
        (self.write_message(&msg, false), None)
    }

    /// Draws content and extras within the 0.5–2 KB budget.
    fn draw_message<'w>(
        &mut self,
        id: u64,
        channel_id: u64,
        guild_id: Option<u64>,
        author: &'w Member,
        mention: Option<&'w Member>,
    ) -> Message<'w>
    where
        Self: 'w,
    {
        let world: &'w World = self.world;
        let content = world
            .contents
            .get(self.rng.index(world.contents.len()))
            .map_or("", |c| c);
        let mut size = 620 + author.user_json.len() + author.fields_json.len() + content.len();
        let mention = mention.filter(|m| {
            let len = m.user_json.len() + m.fields_json.len() + 16;
            size + len <= MESSAGE_BUDGET && {
                size += len;
                true
            }
        });
        let mut extra = |rng: &mut SplitMix64, p: f64, len: usize| {
            let take = rng.chance(p) && size + len <= MESSAGE_BUDGET;
            if take {
                size += len;
            }
            take
        };
        let embed = world
            .embeds
            .get(self.rng.index(world.embeds.len()))
            .map(|e| &e[..]);
        let embed = embed.filter(|e| extra(self.rng, 0.15, e.len()));
        let attachment = extra(self.rng, 0.05, 420)
            .then(|| (self.id_at(self.now_ms), self.rng.range(10_000, 8_000_000)));
        let poll = extra(self.rng, 0.01, 330);
        Message {
            id,
            channel_id,
            guild_id,
            author,
            content,
            mention,
            embed,
            attachment,
            poll,
            components: false,
            edited_ms: None,
            sent_ms: self.now_ms,
        }
    }

    /// Writes a message object; `strip` applies GATEWAY.md §9.3.
    fn write_message(&self, msg: &Message<'_>, strip: bool) -> Bytes {
        let mut out = Vec::with_capacity(2_048);
        out.extend_from_slice(b"{\"type\":0,\"tts\":false,\"timestamp\":");
        push_timestamp(&mut out, msg.sent_ms);
        out.extend_from_slice(b",\"pinned\":false,\"nonce\":");
        push_id(&mut out, msg.id);
        out.extend_from_slice(b",\"mentions\":[");
        if let Some(m) = msg.mention {
            if msg.guild_id.is_some() {
                m.write_mention_json(&mut out);
            } else {
                out.extend_from_slice(&m.user_json);
            }
        }
        out.extend_from_slice(b"],\"mention_roles\":[],\"mention_everyone\":false");
        if msg.guild_id.is_some() {
            push_next_key(&mut out, "member");
            msg.author.write_partial_json(&mut out);
        }
        push_next_key(&mut out, "id");
        push_id(&mut out, msg.id);
        out.extend_from_slice(b",\"flags\":0,\"embeds\":[");
        if let (Some(embed), false) = (msg.embed, strip) {
            out.extend_from_slice(embed);
        }
        out.extend_from_slice(b"],\"edited_timestamp\":");
        match msg.edited_ms {
            Some(ms) => push_timestamp(&mut out, ms),
            None => out.extend_from_slice(b"null"),
        }
        push_next_key(&mut out, "content");
        push_str(&mut out, if strip { "" } else { msg.content });
        out.extend_from_slice(b",\"components\":[");
        if msg.components && !strip {
            out.extend_from_slice(
                br#"{"type":1,"id":1,"components":[{"type":2,"id":2,"style":1,"label":"Open","custom_id":"open"}]}"#,
            );
        }
        out.extend_from_slice(b"],\"channel_type\":");
        out.push(if msg.guild_id.is_some() { b'0' } else { b'1' });
        push_next_key(&mut out, "channel_id");
        push_id(&mut out, msg.channel_id);
        push_next_key(&mut out, "author");
        out.extend_from_slice(&msg.author.user_json);
        out.extend_from_slice(b",\"attachments\":[");
        if let (Some((id, size)), false) = (msg.attachment, strip) {
            write_attachment(&mut out, msg.channel_id, id, size);
        }
        out.push(b']');
        if let Some(guild_id) = msg.guild_id {
            push_next_key(&mut out, "guild_id");
            push_id(&mut out, guild_id);
        }
        if msg.poll && !strip {
            push_next_key(&mut out, "poll");
            write_poll(&mut out, msg.sent_ms + 86_400_000);
        }
        push_tag(&mut out, self.tag);
        out.push(b'}');
        Bytes::from(out)
    }
}

/// Opens an object with `guild_id` and `user` (GUILD_MEMBER_UPDATE and _REMOVE).
fn open_with_user(out: &mut Vec<u8>, guild_id: u64, m: &Member) {
    out.push(b'{');
    push_key(out, "guild_id");
    push_id(out, guild_id);
    push_next_key(out, "user");
    out.extend_from_slice(&m.user_json);
}

/// Appends an image attachment object.
fn write_attachment(out: &mut Vec<u8>, channel_id: u64, id: u64, size: u64) {
    out.extend_from_slice(b"{\"id\":");
    push_id(out, id);
    out.extend_from_slice(b",\"filename\":\"image.png\",\"size\":");
    push_u64(out, size);
    for (key, host) in [
        ("url", "cdn.discordapp.com"),
        ("proxy_url", "media.discordapp.net"),
    ] {
        push_next_key(out, key);
        out.extend_from_slice(b"\"https://");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"/attachments/");
        push_u64(out, channel_id);
        out.push(b'/');
        push_u64(out, id);
        out.extend_from_slice(b"/image.png\"");
    }
    out.extend_from_slice(
        b",\"width\":1280,\"height\":720,\"content_type\":\"image/png\",\"placeholder\":\"3PcNDQJ4eIiHd4iIeHeIiHiHeA\",\"placeholder_version\":1}",
    );
}

/// Appends a two-answer poll object expiring at `expiry_ms`.
fn write_poll(out: &mut Vec<u8>, expiry_ms: u64) {
    out.extend_from_slice(
        br#"{"question":{"text":"Which one?"},"answers":[{"answer_id":1,"poll_media":{"text":"This one"}},{"answer_id":2,"poll_media":{"text":"That one"}}],"expiry":"#,
    );
    push_timestamp(out, expiry_ms);
    out.extend_from_slice(
        br#","allow_multiselect":false,"layout_type":1,"results":{"is_finalized":false,"answer_counts":[]}}"#,
    );
}
