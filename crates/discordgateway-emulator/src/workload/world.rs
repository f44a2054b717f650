//! The generated world: the bot and its guilds, and the READY payload (GATEWAY.md §3.5).

use bytes::Bytes;

use super::WorkloadConfigError;
use super::config::WorkloadConfig;
use super::guild::{Guild, GuildCreateOptions, make_guild};
use super::json::{push_id, push_key, push_next_key, push_str, push_u64};
use super::member::{BOT_CREATED_MS, BotUser, Member, make_bot, make_user};
use super::rng::SplitMix64;
use super::text;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds; snowflakes count from it.
pub(crate) const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// The low snowflake bits reserved for DM users (no guild has this index).
const DM_INDEX: u64 = 0x3f_ffff;
/// How many users DM the bot.
const DM_USERS: usize = 64;

/// Builds a snowflake from a Unix-millisecond timestamp and 22 low bits.
pub(crate) const fn snowflake(unix_ms: u64, low: u64) -> u64 {
    (unix_ms.saturating_sub(DISCORD_EPOCH_MS) << 22) | (low & 0x3f_ffff)
}

/// Everything the emulator serves, generated once from a [`WorkloadConfig`].
///
/// Share it with `Arc<World>`: streams hold a reference to it, and its GUILD_CREATE caches
/// fill lazily behind `OnceLock`s, so it is `Send + Sync`.
#[derive(Debug)]
pub struct World {
    /// The bot user.
    pub(crate) bot: BotUser,
    /// Every guild, in generation order.
    pub(crate) guilds: Vec<Guild>,
    /// Users who DM the bot, with their DM channel ids.
    pub(crate) dm_users: Vec<(Member, u64)>,
    /// Message contents the stream draws from.
    pub(crate) contents: Vec<Box<str>>,
    /// Pre-serialized embeds the stream draws from.
    pub(crate) embeds: Vec<Box<[u8]>>,
}

impl World {
    /// Generates the world for `config`: the bot, `config.guilds` guilds with channels (5–50),
    /// roles (3–30) and members, and the text pools for the stream.
    ///
    /// # Errors
    ///
    /// [`WorkloadConfigError`] when [`WorkloadConfig::validate`] rejects the configuration.
    pub fn generate(config: &WorkloadConfig) -> Result<Self, WorkloadConfigError> {
        config.validate()?;
        let mut rng = SplitMix64::derive(config.seed, 0);
        let bot = make_bot(&mut rng);
        let contents = text::content_pool(&mut rng, 512);
        let embeds = text::embed_pool(&mut rng, 64);
        let dm_users = (0..DM_USERS as u64)
            .map(|i| {
                let created = BOT_CREATED_MS + 86_400_000 + i * 3_600_000;
                let user = make_user(&mut rng, snowflake(created, DM_INDEX), false);
                let dm_channel = snowflake(created + 1, DM_INDEX);
                let member = Member {
                    joined_at_ms: created,
                    fields_json: Box::default(),
                    ..user
                };
                (member, dm_channel)
            })
            .collect();
        let guilds = (0..config.guilds)
            .map(|index| make_guild(config, index, &bot))
            .collect();
        Ok(Self {
            bot,
            guilds,
            dm_users,
            contents,
            embeds,
        })
    }

    /// The bot user.
    #[must_use]
    pub fn bot(&self) -> &BotUser {
        &self.bot
    }

    /// The application id (equal to the bot's user id, as for modern applications).
    #[must_use]
    pub fn application_id(&self) -> u64 {
        self.bot.id
    }

    /// Every guild.
    #[must_use]
    pub fn guilds(&self) -> &[Guild] {
        &self.guilds
    }

    /// The guild with this id, if any.
    #[must_use]
    pub fn guild(&self, id: u64) -> Option<&Guild> {
        self.guilds.iter().find(|g| g.id == id)
    }

    /// The guilds shard `shard` of `total` receives: those with `(id >> 22) % total == shard`.
    pub fn guilds_for_shard(&self, shard: u32, total: u32) -> impl Iterator<Item = &Guild> + '_ {
        self.guilds.iter().filter(move |g| g.shard(total) == shard)
    }

    /// READY's `d` (GATEWAY.md §3.5): `v`, the bot `user`, `guilds` as unavailable guilds,
    /// `session_id`, `resume_gateway_url`, `shard` when Identify sent one, and `application`
    /// `{id, flags}`, plus the empty lists real READYs carry.
    #[must_use]
    pub fn ready_data(
        &self,
        version: u8,
        session_id: &str,
        resume_gateway_url: &str,
        shard: Option<[u32; 2]>,
        guild_ids: impl IntoIterator<Item = u64>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(1_024);
        out.push(b'{');
        push_key(&mut out, "v");
        push_u64(&mut out, u64::from(version));
        push_next_key(&mut out, "user");
        out.extend_from_slice(&self.bot.json);
        out.extend_from_slice(
            b",\"user_settings\":{},\"private_channels\":[],\"relationships\":[]",
        );
        out.extend_from_slice(b",\"presences\":[],\"guild_join_requests\":[],\"guilds\":[");
        for (i, id) in guild_ids.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            push_id(&mut out, id);
            out.extend_from_slice(b",\"unavailable\":true}");
        }
        out.push(b']');
        push_next_key(&mut out, "session_id");
        push_str(&mut out, session_id);
        push_next_key(&mut out, "session_type");
        push_str(&mut out, "normal");
        push_next_key(&mut out, "resume_gateway_url");
        push_str(&mut out, resume_gateway_url);
        if let Some([id, total]) = shard {
            out.extend_from_slice(b",\"shard\":[");
            push_u64(&mut out, u64::from(id));
            out.push(b',');
            push_u64(&mut out, u64::from(total));
            out.push(b']');
        }
        out.extend_from_slice(b",\"application\":{\"id\":");
        push_id(&mut out, self.bot.id);
        out.extend_from_slice(
            b",\"flags\":8953856},\"geo_ordered_rtc_regions\":[\"us-east\",\"us-central\"]}",
        );
        out
    }

    /// GUILD_CREATE's `d` for `guild` (see [`Guild::create_data`]).
    #[must_use]
    pub fn guild_create_data(&self, guild: &Guild, opts: GuildCreateOptions) -> Bytes {
        guild.create_data(&self.bot, opts)
    }
}
