//! Guilds, channels and roles, their generation, and the GUILD_CREATE payload with the member
//! and presence limits of GATEWAY.md §9.2.

use std::sync::OnceLock;

use bytes::Bytes;

use super::config::WorkloadConfig;
use super::json::{
    push_bool, push_id, push_key, push_next_key, push_str, push_timestamp, push_u64,
};
use super::member::{BotUser, Member, Status, finish_member, make_user};
use super::rng::SplitMix64;
use super::text;
use super::world::snowflake;

/// 2016-01-01, the earliest guild creation time generated.
const MS_2016: u64 = 1_451_606_400_000;
/// 2024-01-01, the latest guild creation time generated.
const MS_2024: u64 = 1_704_067_200_000;
/// GATEWAY.md §9.2: above this many members GUILD_CREATE lists only the bot.
const PRESENCE_MEMBER_CAP: usize = 75_000;
/// Permissions of `@everyone` (view channels, send messages, read history, and similar).
const EVERYONE_PERMISSIONS: u64 = 0x0006_3584_0e40;

/// What kind of channel a [`Channel`] is (Discord channel types 0, 2 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelKind {
    /// A text channel (`type` 0).
    Text,
    /// A voice channel (`type` 2).
    Voice,
    /// A category (`type` 4).
    Category,
}

impl ChannelKind {
    /// The channel `type` number on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Voice => 2,
            ChannelKind::Category => 4,
        }
    }
}

/// A guild channel.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Channel {
    /// The channel id.
    pub id: u64,
    /// The channel name.
    pub name: String,
    /// Text, voice or category.
    pub kind: ChannelKind,
    /// The category it sits in, if any.
    pub parent_id: Option<u64>,
    /// Sort position.
    pub position: u32,
}

impl Channel {
    /// Appends the channel object; with `tag`, the `emulator_tag` field is added last.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>, guild_id: u64, tag: Option<u64>) {
        out.push(b'{');
        push_key(out, "id");
        push_id(out, self.id);
        push_next_key(out, "type");
        push_u64(out, u64::from(self.kind.code()));
        push_next_key(out, "guild_id");
        push_id(out, guild_id);
        push_next_key(out, "name");
        push_str(out, &self.name);
        push_next_key(out, "position");
        push_u64(out, u64::from(self.position));
        push_next_key(out, "parent_id");
        match self.parent_id {
            Some(id) => push_id(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"permission_overwrites\":[],\"flags\":0");
        match self.kind {
            ChannelKind::Text => out.extend_from_slice(
                b",\"topic\":null,\"nsfw\":false,\"last_message_id\":null,\"rate_limit_per_user\":0",
            ),
            ChannelKind::Voice => out.extend_from_slice(
                b",\"bitrate\":64000,\"user_limit\":0,\"rtc_region\":null,\"nsfw\":false",
            ),
            ChannelKind::Category => {}
        }
        if let Some(tag) = tag {
            push_tag(out, tag);
        }
        out.push(b'}');
    }
}

/// Appends `,"emulator_tag":N` (the caller closes the object).
pub(crate) fn push_tag(out: &mut Vec<u8>, tag: u64) {
    push_next_key(out, super::TAG_FIELD);
    push_u64(out, tag);
}

/// A guild role.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Role {
    /// The role id (the guild id for `@everyone`).
    pub id: u64,
    /// The role name.
    pub name: String,
    /// RGB color (0 = none).
    pub color: u32,
    /// Sort position (0 for `@everyone`).
    pub position: u32,
    /// Permission bits.
    pub permissions: u64,
}

impl Role {
    /// Appends the role object.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        push_key(out, "id");
        push_id(out, self.id);
        push_next_key(out, "name");
        push_str(out, &self.name);
        push_next_key(out, "color");
        push_u64(out, u64::from(self.color));
        out.extend_from_slice(b",\"colors\":{\"primary_color\":");
        push_u64(out, u64::from(self.color));
        out.extend_from_slice(b",\"secondary_color\":null,\"tertiary_color\":null}");
        push_next_key(out, "hoist");
        push_bool(out, self.position > 0 && self.color != 0);
        out.extend_from_slice(b",\"icon\":null,\"unicode_emoji\":null");
        push_next_key(out, "position");
        push_u64(out, u64::from(self.position));
        push_next_key(out, "permissions");
        out.push(b'"');
        push_u64(out, self.permissions);
        out.push(b'"');
        out.extend_from_slice(b",\"managed\":false,\"mentionable\":false,\"flags\":0}");
    }
}

/// How the server asks for a GUILD_CREATE: the session's presence intent and
/// `large_threshold` from its Identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuildCreateOptions {
    /// Whether the session has GUILD_PRESENCES (1 << 8).
    pub presences_intent: bool,
    /// Identify's `large_threshold` (50–250; Discord's default is 50).
    pub large_threshold: u32,
}

impl GuildCreateOptions {
    /// Options for a session with or without GUILD_PRESENCES and the given threshold.
    #[must_use]
    pub const fn new(presences_intent: bool, large_threshold: u32) -> Self {
        Self {
            presences_intent,
            large_threshold,
        }
    }
}

impl Default for GuildCreateOptions {
    /// No presence intent, `large_threshold` 50.
    fn default() -> Self {
        Self::new(false, 50)
    }
}

/// Which members and presences a GUILD_CREATE lists (GATEWAY.md §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberSet {
    /// Without GUILD_PRESENCES, or over 75k members: only the bot (no one is in voice).
    BotOnly,
    /// At or below `large_threshold`: every member and every presence.
    ///
    /// ⚠ UNCLEAR in §9.2 whether small guilds list offline presences; we list them, with
    /// status `offline`, since only large guilds are documented to drop them.
    All,
    /// Above `large_threshold`: members who are online, have a role or a nickname (or are the
    /// bot), and only non-offline presences.
    Large,
}

/// One guild of the world.
#[derive(Debug)]
pub struct Guild {
    /// The guild id.
    pub(crate) id: u64,
    /// The guild name.
    pub(crate) name: String,
    /// The owner's user id.
    pub(crate) owner_id: u64,
    /// When the bot joined, Unix ms.
    pub(crate) joined_at_ms: u64,
    /// Channels: categories first, then text and voice.
    pub(crate) channels: Vec<Channel>,
    /// Indices into `channels` of text channels (never empty).
    pub(crate) text_channels: Vec<usize>,
    /// Indices into `channels` of voice channels (never empty).
    pub(crate) voice_channels: Vec<usize>,
    /// Roles, `@everyone` first.
    pub(crate) roles: Vec<Role>,
    /// Members sorted by user id; the bot is first.
    pub(crate) members: Vec<Member>,
    /// Cached GUILD_CREATE payloads, one per (member set, `large` flag).
    cache: [OnceLock<Bytes>; 4],
}

impl Guild {
    /// The guild id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The guild name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shard this guild lives on with `total` shards: `(id >> 22) % total` (GATEWAY.md §6).
    #[must_use]
    pub fn shard(&self, total: u32) -> u32 {
        ((self.id >> 22) % u64::from(total.max(1))) as u32
    }

    /// The guild's channels.
    #[must_use]
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The guild's roles, `@everyone` (id = guild id) first.
    #[must_use]
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// All members, sorted by user id, the bot first; for Request Guild Members.
    #[must_use]
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with this user id, if any (binary search).
    #[must_use]
    pub fn member(&self, user_id: u64) -> Option<&Member> {
        let at = self
            .members
            .binary_search_by_key(&user_id, |m| m.user_id)
            .ok()?;
        self.members.get(at)
    }

    /// The number of members (`member_count`), the bot included.
    #[must_use]
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// GUILD_CREATE's `d` for a session with these options, serialized once per variant and
    /// then shared (cloning the returned [`Bytes`] is cheap).
    ///
    /// `members` and `presences` follow GATEWAY.md §9.2: without GUILD_PRESENCES, or with more
    /// than 75 000 members, only the bot; above `large_threshold`, members who are online,
    /// have a role or a nickname, and only non-offline presences; otherwise everyone.
    /// `large` is `member_count > large_threshold`. Nobody is in voice, so `voice_states` is
    /// empty. GUILD_CREATE carries no `emulator_tag`: it is not part of the tagged stream.
    #[must_use]
    pub fn create_data(&self, bot: &BotUser, opts: GuildCreateOptions) -> Bytes {
        let large = self.members.len() > opts.large_threshold as usize;
        let set = if !opts.presences_intent || self.members.len() > PRESENCE_MEMBER_CAP {
            MemberSet::BotOnly
        } else if large {
            MemberSet::Large
        } else {
            MemberSet::All
        };
        let slot = match (set, large) {
            (MemberSet::BotOnly, false) => 0,
            (MemberSet::BotOnly, true) => 1,
            (MemberSet::All, _) => 2,
            (MemberSet::Large, _) => 3,
        };
        self.cache
            .get(slot)
            .map(|cell| {
                cell.get_or_init(|| self.render_create(bot, set, large))
                    .clone()
            })
            .unwrap_or_else(|| self.render_create(bot, set, large))
    }

    /// Serializes one GUILD_CREATE variant.
    fn render_create(&self, bot: &BotUser, set: MemberSet, large: bool) -> Bytes {
        let listed: Vec<&Member> = match set {
            MemberSet::BotOnly => self
                .members
                .iter()
                .filter(|m| m.user_id == bot.id)
                .collect(),
            MemberSet::All => self.members.iter().collect(),
            MemberSet::Large => self
                .members
                .iter()
                .filter(|m| {
                    m.is_bot
                        || m.status != Status::Offline
                        || !m.roles.is_empty()
                        || m.nick.is_some()
                })
                .collect(),
        };
        let mut out = Vec::with_capacity(2_048 + listed.len() * 700);
        self.write_create_header(&mut out, large);
        out.extend_from_slice(b",\"members\":[");
        for (i, m) in listed.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            m.write_json(&mut out);
        }
        out.extend_from_slice(b"],\"channels\":[");
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            c.write_json(&mut out, self.id, None);
        }
        out.extend_from_slice(b"],\"threads\":[],\"presences\":[");
        let mut first = true;
        for m in listed
            .iter()
            .filter(|m| set != MemberSet::Large || m.status != Status::Offline)
        {
            if !first {
                out.push(b',');
            }
            first = false;
            m.write_presence_json(&mut out);
        }
        out.extend_from_slice(
            b"],\"stage_instances\":[],\"guild_scheduled_events\":[],\"soundboard_sounds\":[],\"lazy\":true}",
        );
        Bytes::from(out)
    }

    /// Writes GUILD_CREATE from `{` up to and including `voice_states`.
    fn write_create_header(&self, out: &mut Vec<u8>, large: bool) {
        out.push(b'{');
        push_key(out, "id");
        push_id(out, self.id);
        push_next_key(out, "name");
        push_str(out, &self.name);
        out.extend_from_slice(
            b",\"icon\":null,\"description\":null,\"splash\":null,\"discovery_splash\":null,\
\"banner\":null,\"features\":[\"COMMUNITY\",\"NEWS\"]",
        );
        push_next_key(out, "owner_id");
        push_id(out, self.owner_id);
        out.extend_from_slice(
            b",\"afk_channel_id\":null,\"afk_timeout\":300,\"widget_enabled\":false,\
\"verification_level\":1,\"default_message_notifications\":1,\"explicit_content_filter\":2,\
\"mfa_level\":0,\"application_id\":null",
        );
        push_next_key(out, "system_channel_id");
        let system = self
            .text_channels
            .first()
            .and_then(|&i| self.channels.get(i));
        match system {
            Some(c) => push_id(out, c.id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(
            b",\"system_channel_flags\":0,\"rules_channel_id\":null,\"max_presences\":null,\
\"max_members\":500000,\"vanity_url_code\":null,\"premium_tier\":0,\
\"premium_subscription_count\":0,\"preferred_locale\":\"en-US\",\
\"public_updates_channel_id\":null,\"max_video_channel_users\":25,\"nsfw_level\":0,\
\"premium_progress_bar_enabled\":false,\"safety_alerts_channel_id\":null,\"roles\":[",
        );
        for (i, r) in self.roles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            r.write_json(out);
        }
        out.extend_from_slice(b"],\"emojis\":[],\"stickers\":[]");
        push_next_key(out, "joined_at");
        push_timestamp(out, self.joined_at_ms);
        push_next_key(out, "large");
        push_bool(out, large);
        out.extend_from_slice(b",\"unavailable\":false");
        push_next_key(out, "member_count");
        push_u64(out, self.members.len() as u64);
        out.extend_from_slice(b",\"voice_states\":[]");
    }
}

/// A member count: uniform over the large range for large guilds, log-uniform otherwise.
fn draw_size(rng: &mut SplitMix64, config: &WorkloadConfig) -> usize {
    if rng.chance(config.large_fraction) {
        let [min, max] = config.large_members;
        return rng.range(u64::from(min), u64::from(max)) as usize;
    }
    let [min, max] = config.small_members;
    let (lo, hi) = (f64::from(min).ln(), f64::from(max).ln());
    let size = (lo + rng.unit() * (hi - lo)).exp().round() as u64;
    size.clamp(u64::from(min), u64::from(max)) as usize
}

/// Generates guild `index` from its own sub-stream of the seed.
pub(crate) fn make_guild(config: &WorkloadConfig, index: u32, bot: &BotUser) -> Guild {
    let mut rng = SplitMix64::derive(config.seed, u64::from(index) + 1);
    let low = u64::from(index);
    let created = rng.range(MS_2016, MS_2024);
    let id = snowflake(created, low);
    let size = draw_size(&mut rng, config);
    let name = text::guild_name(&mut rng);
    let (channels, text_channels, voice_channels) = make_channels(&mut rng, created, low);
    let roles = make_roles(&mut rng, id, created, low);
    let joined_at_ms = created + rng.range(3_600_000, 30 * 86_400_000);
    let members = make_members(&mut rng, size, &roles, created, low, bot, joined_at_ms);
    let owner_id = members.get(1).map_or(bot.id, |m| m.user_id);
    Guild {
        id,
        name,
        owner_id,
        joined_at_ms,
        channels,
        text_channels,
        voice_channels,
        roles,
        members,
        cache: Default::default(),
    }
}

/// Channels (5–50): a few categories, then text and voice channels (at least one of each).
fn make_channels(
    rng: &mut SplitMix64,
    created: u64,
    low: u64,
) -> (Vec<Channel>, Vec<usize>, Vec<usize>) {
    let count = rng.range(5, 50) as usize;
    let categories = (count / 6).max(1);
    let mut channels = Vec::with_capacity(count);
    let (mut text_idx, mut voice_idx) = (Vec::new(), Vec::new());
    for i in 0..count {
        let id = snowflake(created + 1 + i as u64, low);
        let kind = if i < categories {
            ChannelKind::Category
        } else if i == categories || (i > categories + 1 && rng.chance(0.7)) {
            ChannelKind::Text
        } else {
            ChannelKind::Voice
        };
        let parent_id = match kind {
            ChannelKind::Category => None,
            _ => channels.get(rng.index(categories)).map(|c: &Channel| c.id),
        };
        let stem = text::pick(rng, text::CHANNEL_NAMES);
        let name = match kind {
            ChannelKind::Category => stem.to_uppercase(),
            ChannelKind::Text => format!("{stem}-{i}"),
            ChannelKind::Voice => format!("Voice {i}"),
        };
        match kind {
            ChannelKind::Text => text_idx.push(i),
            ChannelKind::Voice => voice_idx.push(i),
            ChannelKind::Category => {}
        }
        channels.push(Channel {
            id,
            name,
            kind,
            parent_id,
            position: i as u32,
        });
    }
    (channels, text_idx, voice_idx)
}

/// Roles (3–30): `@everyone` (id = guild id) first, then named roles.
fn make_roles(rng: &mut SplitMix64, guild_id: u64, created: u64, low: u64) -> Vec<Role> {
    let count = rng.range(3, 30) as usize;
    let mut roles = Vec::with_capacity(count);
    roles.push(Role {
        id: guild_id,
        name: "@everyone".to_owned(),
        color: 0,
        position: 0,
        permissions: EVERYONE_PERMISSIONS,
    });
    for i in 1..count {
        roles.push(Role {
            id: snowflake(created + 100 + i as u64, low),
            name: text::pick(rng, text::ROLE_NAMES).to_owned(),
            color: if rng.chance(0.6) {
                rng.below(0x0100_0000) as u32
            } else {
                0
            },
            position: i as u32,
            permissions: EVERYONE_PERMISSIONS | (rng.next_u64() & 0x0000_0000_3fff_0000),
        });
    }
    roles
}

/// Members: the bot first, then `size - 1` users with strictly increasing ids.
fn make_members(
    rng: &mut SplitMix64,
    size: usize,
    roles: &[Role],
    created: u64,
    low: u64,
    bot: &BotUser,
    bot_joined_ms: u64,
) -> Vec<Member> {
    let mut members = Vec::with_capacity(size);
    let bot_role = roles.last().map(|r| r.id).into_iter().collect();
    let mut bot_member = make_user(rng, bot.id, true);
    bot_member.username.clone_from(&bot.username);
    bot_member.user_json = bot.json.clone();
    bot_member.status = Status::Online;
    members.push(finish_member(bot_member, None, bot_role, bot_joined_ms));
    let mut user_ms = created + 86_400_000 + rng.below(86_400_000);
    for _ in 1..size {
        user_ms += rng.range(1, 30_000);
        let user = make_user(rng, snowflake(user_ms, low), false);
        let nick = rng.chance(0.15).then(|| text::display_name(rng));
        let role_count = if rng.chance(0.4) {
            rng.range(1, 3) as usize
        } else {
            0
        };
        let mut member_roles: Vec<u64> = (0..role_count)
            .filter_map(|_| {
                roles
                    .get(1 + rng.index(roles.len().saturating_sub(1)))
                    .map(|r| r.id)
            })
            .collect();
        member_roles.sort_unstable();
        member_roles.dedup();
        let joined = user_ms + rng.range(1_000, 86_400_000);
        members.push(finish_member(user, nick, member_roles, joined));
    }
    members
}
