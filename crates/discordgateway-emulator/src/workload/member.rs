//! Users and members with their JSON pre-serialized: the bot, guild members and DM users.

use super::json::{
    push_id, push_id_array, push_key, push_next_key, push_opt_str, push_str, push_timestamp,
    push_u64,
};
use super::rng::SplitMix64;
use super::text;
use super::world::snowflake;

/// When the bot's account was created (2015-06-01); earlier than every generated user.
pub(crate) const BOT_CREATED_MS: u64 = 1_433_116_800_000;

/// The bot user the emulator identifies clients as.
#[derive(Debug)]
pub struct BotUser {
    /// The bot's user id (also its application id).
    pub(crate) id: u64,
    /// The bot's username.
    pub(crate) username: String,
    /// The user object, pre-serialized (with `"bot":true`).
    pub(crate) json: Box<[u8]>,
}

impl BotUser {
    /// The bot's user id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The bot's username.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The bot's user object as JSON, for READY and `GET /users/@me`.
    #[must_use]
    pub fn json(&self) -> &[u8] {
        &self.json
    }
}

/// A member's online status, as in presences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// `online`
    Online,
    /// `idle`
    Idle,
    /// `dnd`
    Dnd,
    /// `offline`
    Offline,
}

impl Status {
    /// The wire string.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Idle => "idle",
            Status::Dnd => "dnd",
            Status::Offline => "offline",
        }
    }

    /// 15 % online, 5 % idle, 5 % dnd, the rest offline.
    pub(crate) fn draw(rng: &mut SplitMix64) -> Self {
        match rng.below(100) {
            0..15 => Status::Online,
            15..20 => Status::Idle,
            20..25 => Status::Dnd,
            _ => Status::Offline,
        }
    }
}

/// A guild member (or, for DM users, a user with no guild fields), with its JSON pre-serialized.
#[derive(Debug)]
pub struct Member {
    /// The user's id.
    pub(crate) user_id: u64,
    /// The user's username.
    pub(crate) username: String,
    /// The member's nickname, if any.
    pub(crate) nick: Option<String>,
    /// Role ids (never `@everyone`).
    pub(crate) roles: Vec<u64>,
    /// When the member joined, Unix ms.
    pub(crate) joined_at_ms: u64,
    /// The member's status.
    pub(crate) status: Status,
    /// Index into [`text::GAMES`] of the game being played, if any.
    pub(crate) game: Option<usize>,
    /// Whether this is the bot.
    pub(crate) is_bot: bool,
    /// The user object.
    pub(crate) user_json: Box<[u8]>,
    /// The member fields other than `user`, without braces (`"roles":[..],"nick":..`).
    pub(crate) fields_json: Box<[u8]>,
}

impl Member {
    /// The user's id.
    #[must_use]
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The username (lowercase), which Request Guild Members' `query` matches as a prefix.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The member's nickname in this guild.
    #[must_use]
    pub fn nick(&self) -> Option<&str> {
        self.nick.as_deref()
    }

    /// The member's role ids.
    #[must_use]
    pub fn roles(&self) -> &[u64] {
        &self.roles
    }

    /// The member's presence status.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether the member is the bot itself.
    #[must_use]
    pub fn is_bot(&self) -> bool {
        self.is_bot
    }

    /// The user object as JSON.
    #[must_use]
    pub fn user_json(&self) -> &[u8] {
        &self.user_json
    }

    /// Appends the guild member object `{"user":{..},"roles":[..],..}` (as in GUILD_CREATE
    /// and GUILD_MEMBERS_CHUNK `members`).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"user\":");
        out.extend_from_slice(&self.user_json);
        out.push(b',');
        out.extend_from_slice(&self.fields_json);
        out.push(b'}');
    }

    /// Appends the member object without `user` (as in MESSAGE_CREATE `member`).
    pub(crate) fn write_partial_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        out.extend_from_slice(&self.fields_json);
        out.push(b'}');
    }

    /// Appends the user object with a nested partial `member` (as in message `mentions`).
    pub(crate) fn write_mention_json(&self, out: &mut Vec<u8>) {
        let user = self.user_json.strip_suffix(b"}").unwrap_or(&self.user_json);
        out.extend_from_slice(user);
        out.extend_from_slice(b",\"member\":");
        self.write_partial_json(out);
        out.push(b'}');
    }

    /// Appends the presence object (as in GUILD_CREATE and GUILD_MEMBERS_CHUNK `presences`);
    /// with `guild_id`, the field is included as in PRESENCE_UPDATE. Leaves the object open
    /// when `open` is true, so a caller can append more fields and the closing brace.
    pub(crate) fn write_presence(
        &self,
        out: &mut Vec<u8>,
        guild_id: Option<u64>,
        status: Status,
        open: bool,
    ) {
        out.extend_from_slice(b"{\"user\":{\"id\":");
        push_id(out, self.user_id);
        out.push(b'}');
        if let Some(guild_id) = guild_id {
            push_next_key(out, "guild_id");
            push_id(out, guild_id);
        }
        push_next_key(out, "status");
        push_str(out, status.as_str());
        push_next_key(out, "client_status");
        if status == Status::Offline {
            out.extend_from_slice(b"{},\"activities\":[]");
        } else {
            out.extend_from_slice(b"{\"desktop\":");
            push_str(out, status.as_str());
            out.extend_from_slice(b"},\"activities\":[");
            if let Some(game) = self.game {
                out.extend_from_slice(b"{\"name\":");
                push_str(out, text::GAMES.get(game).copied().unwrap_or("Chess"));
                out.extend_from_slice(b",\"type\":0,\"created_at\":");
                push_u64(out, self.joined_at_ms);
                out.push(b'}');
            }
            out.push(b']');
        }
        if !open {
            out.push(b'}');
        }
    }

    /// Appends the presence object with no `guild_id`, as GUILD_CREATE and
    /// GUILD_MEMBERS_CHUNK carry it.
    pub fn write_presence_json(&self, out: &mut Vec<u8>) {
        self.write_presence(out, None, self.status, false);
    }
}

/// The bot user, created before every other user.
pub(crate) fn make_bot(rng: &mut SplitMix64) -> BotUser {
    let id = snowflake(BOT_CREATED_MS + rng.below(86_400_000), 0);
    let username = "emulator-bot".to_owned();
    let mut json = Vec::with_capacity(256);
    write_user(&mut json, id, &username, None, None, true);
    BotUser {
        id,
        username,
        json: json.into_boxed_slice(),
    }
}

/// Appends a user object.
fn write_user(
    out: &mut Vec<u8>,
    id: u64,
    username: &str,
    global_name: Option<&str>,
    avatar: Option<&str>,
    bot: bool,
) {
    out.push(b'{');
    push_key(out, "id");
    push_id(out, id);
    push_next_key(out, "username");
    push_str(out, username);
    out.extend_from_slice(b",\"discriminator\":\"0\"");
    push_next_key(out, "global_name");
    push_opt_str(out, global_name);
    push_next_key(out, "avatar");
    push_opt_str(out, avatar);
    if bot {
        out.extend_from_slice(b",\"bot\":true,\"verified\":true,\"flags\":0,\"mfa_enabled\":true");
    }
    out.extend_from_slice(
        b",\"public_flags\":0,\"banner\":null,\"accent_color\":null,\"avatar_decoration_data\":null,\
\"collectibles\":null,\"primary_guild\":null}",
    );
}

/// A user (as a [`Member`] without guild fields yet).
pub(crate) fn make_user(rng: &mut SplitMix64, id: u64, is_bot: bool) -> Member {
    let username = text::username(rng);
    let global_name = rng.chance(0.6).then(|| text::display_name(rng));
    let avatar = rng
        .chance(0.7)
        .then(|| format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()));
    let mut user_json = Vec::with_capacity(320);
    write_user(
        &mut user_json,
        id,
        &username,
        global_name.as_deref(),
        avatar.as_deref(),
        is_bot,
    );
    let status = Status::draw(rng);
    let game = rng.chance(0.4).then(|| rng.index(text::GAMES.len()));
    Member {
        user_id: id,
        username,
        nick: None,
        roles: Vec::new(),
        joined_at_ms: 0,
        status,
        game,
        is_bot,
        user_json: user_json.into_boxed_slice(),
        fields_json: Box::default(),
    }
}

/// Fills in a member's guild fields and their JSON.
pub(crate) fn finish_member(
    mut m: Member,
    nick: Option<String>,
    roles: Vec<u64>,
    joined_at_ms: u64,
) -> Member {
    let mut f = Vec::with_capacity(256);
    push_key(&mut f, "roles");
    push_id_array(&mut f, &roles);
    push_next_key(&mut f, "nick");
    push_opt_str(&mut f, nick.as_deref());
    f.extend_from_slice(b",\"avatar\":null,\"banner\":null");
    push_next_key(&mut f, "joined_at");
    push_timestamp(&mut f, joined_at_ms);
    f.extend_from_slice(
        b",\"premium_since\":null,\"deaf\":false,\"mute\":false,\"flags\":0,\"pending\":false,\
\"communication_disabled_until\":null",
    );
    m.fields_json = f.into_boxed_slice();
    m.nick = nick;
    m.roles = roles;
    m.joined_at_ms = joined_at_ms;
    m
}
