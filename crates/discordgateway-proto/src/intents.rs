//! Gateway intents ([`Intents`], GATEWAY.md §9) and their derivation from the events a
//! user declares ([`DeclaredEvents`]), this library's signature.
//!
//! # The derivation
//!
//! The user lists the events they want, split into **guild** events and
//! **direct-message** events, plus explicit extra intents. One table, GATEWAY.md §9.1
//! row by row (bit, name, privileged, scope, events), drives both directions:
//!
//! - **event → intent** ([`EventType::guild_intent`], [`EventType::dm_intent`]): the
//!   first row, in bit order, whose scope matches and which lists the event. Events in no
//!   row need no intent (§9.4) and derive none.
//! - **intent → events** ([`Intents::guild_events`], [`Intents::dm_events`]): the union
//!   of the rows' event lists.
//!
//! Rules where §9.1 leaves a choice:
//!
//! - **Guild vs DM** (§9.1): MESSAGE_*, reactions, typing and polls derive the GUILD_*
//!   intent from the guild set and the DIRECT_MESSAGE_* intent from the DM set;
//!   CHANNEL_PINS_UPDATE derives GUILDS (guild) or DIRECT_MESSAGES (DM).
//! - **THREAD_MEMBERS_UPDATE** derives **GUILDS only**. GUILD_MEMBERS also enables it,
//!   but only widens it to other users, and it is privileged: asking for it silently
//!   could get a bot closed with 4014. Declare GUILD_MEMBERS as an extra (or declare a
//!   GUILD_MEMBER_* event) to get the wide form.
//! - **GUILD_MEMBER_UPDATE** derives GUILD_MEMBERS; updates of the bot's own member
//!   arrive even without it (§9.2).
//! - **A guild-only event declared as a DM event** (GUILD_CREATE, THREAD_*,
//!   MESSAGE_DELETE_BULK, …) derives nothing for DMs, and
//!   [`DeclaredEvents::warnings`] reports it ([`IntentWarning::NotSentInDms`]).
//! - **MESSAGE_CONTENT** is never derived: it gates fields, not events (§9.3). It is an
//!   explicit extra; declaring guild message events without it is reported
//!   ([`IntentWarning::MessageContentMissing`]).
//!
//! ```
//! use discordgateway_proto::event_type::{EventSet, EventType};
//! use discordgateway_proto::intents::{DeclaredEvents, Intents};
//!
//! let declared = DeclaredEvents::new(
//!     EventSet::from_slice(&[EventType::MessageCreate, EventType::GuildCreate]),
//!     EventSet::from_slice(&[EventType::MessageCreate]),
//! )
//! .with_extra(Intents::MESSAGE_CONTENT);
//! assert_eq!(
//!     declared.intents(),
//!     Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::DIRECT_MESSAGES | Intents::MESSAGE_CONTENT
//! );
//! assert!(declared.warnings().is_empty());
//! ```

use std::fmt;
use std::iter::FusedIterator;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event_type::{EventSet, EventType, impl_set_operators};

/// The `intents` bitfield of Identify (GATEWAY.md §9.1): a `Copy` newtype over `u64`.
///
/// Undocumented bits can be held ([`Intents::from_bits_retain`]) so a value read from
/// elsewhere round-trips, but Discord closes with 4013 if they are sent.
///
/// ```
/// use discordgateway_proto::intents::Intents;
///
/// let intents = Intents::GUILDS | Intents::GUILD_MEMBERS;
/// assert!(intents.is_privileged());
/// assert_eq!(intents.bits(), 3);
/// assert_eq!(intents.to_string(), "GUILDS | GUILD_MEMBERS");
/// assert_eq!(Intents::all().bits(), 53_608_447);
/// assert_eq!(Intents::NON_PRIVILEGED.bits(), 53_575_421);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Intents(u64);

/// Whether an intent gates events in guilds or in direct messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Events in guilds.
    Guild,
    /// Events in direct messages.
    Dm,
}

/// One row of GATEWAY.md §9.1.
struct Row {
    /// The single-bit intent.
    flag: Intents,
    /// Its name in the docs.
    name: &'static str,
    /// Whether it gates guild or DM events.
    scope: Scope,
    /// The events the docs list for it.
    events: EventSet,
}

/// Shorthand for building the table.
const fn row(bit: u32, name: &'static str, scope: Scope, events: &[EventType]) -> Row {
    Row {
        flag: Intents(1 << bit),
        name,
        scope,
        events: EventSet::from_slice(events),
    }
}

use EventType as E;
use Scope::{Dm, Guild};

/// GATEWAY.md §9.1, every row in bit order.
#[rustfmt::skip]
const TABLE: [Row; 21] = [
    row(0, "GUILDS", Guild, &[
        E::GuildCreate, E::GuildUpdate, E::GuildDelete, E::GuildRoleCreate, E::GuildRoleUpdate,
        E::GuildRoleDelete, E::ChannelCreate, E::ChannelUpdate, E::ChannelDelete,
        E::ChannelPinsUpdate, E::ThreadCreate, E::ThreadUpdate, E::ThreadDelete,
        E::ThreadListSync, E::ThreadMemberUpdate, E::ThreadMembersUpdate,
        E::StageInstanceCreate, E::StageInstanceUpdate, E::StageInstanceDelete,
        E::VoiceChannelStatusUpdate, E::VoiceChannelStartTimeUpdate,
    ]),
    row(1, "GUILD_MEMBERS", Guild, &[
        E::GuildMemberCreate, E::GuildMemberUpdate, E::GuildMemberDelete, E::ThreadMembersUpdate,
    ]),
    row(2, "GUILD_MODERATION", Guild, &[
        E::GuildAuditLogEntryCreate, E::GuildBanCreate, E::GuildBanDelete,
    ]),
    row(3, "GUILD_EXPRESSIONS", Guild, &[
        E::GuildEmojisUpdate, E::GuildStickersUpdate, E::GuildSoundboardSoundCreate,
        E::GuildSoundboardSoundUpdate, E::GuildSoundboardSoundDelete,
        E::GuildSoundboardSoundsUpdate,
    ]),
    row(4, "GUILD_INTEGRATIONS", Guild, &[
        E::GuildIntegrationsUpdate, E::IntegrationCreate, E::IntegrationUpdate,
        E::IntegrationDelete,
    ]),
    row(5, "GUILD_WEBHOOKS", Guild, &[E::WebhooksUpdate]),
    row(6, "GUILD_INVITES", Guild, &[E::InviteCreate, E::InviteDelete]),
    row(7, "GUILD_VOICE_STATES", Guild, &[E::VoiceChannelEffectSend, E::VoiceStateUpdate]),
    row(8, "GUILD_PRESENCES", Guild, &[E::PresenceUpdate]),
    row(9, "GUILD_MESSAGES", Guild, &[
        E::MessageCreate, E::MessageUpdate, E::MessageDelete, E::MessageDeleteBulk,
    ]),
    row(10, "GUILD_MESSAGE_REACTIONS", Guild, REACTIONS),
    row(11, "GUILD_MESSAGE_TYPING", Guild, &[E::TypingStart]),
    row(12, "DIRECT_MESSAGES", Dm, &[
        E::MessageCreate, E::MessageUpdate, E::MessageDelete, E::ChannelPinsUpdate,
    ]),
    row(13, "DIRECT_MESSAGE_REACTIONS", Dm, REACTIONS),
    row(14, "DIRECT_MESSAGE_TYPING", Dm, &[E::TypingStart]),
    row(15, "MESSAGE_CONTENT", Guild, &[]),
    row(16, "GUILD_SCHEDULED_EVENTS", Guild, &[
        E::GuildScheduledEventCreate, E::GuildScheduledEventUpdate, E::GuildScheduledEventDelete,
        E::GuildScheduledEventUserCreate, E::GuildScheduledEventUserDelete,
    ]),
    row(20, "AUTO_MODERATION_CONFIGURATION", Guild, &[
        E::AutoModerationRuleCreate, E::AutoModerationRuleUpdate, E::AutoModerationRuleDelete,
    ]),
    row(21, "AUTO_MODERATION_EXECUTION", Guild, &[E::AutoModerationActionExecution]),
    row(24, "GUILD_MESSAGE_POLLS", Guild, POLLS),
    row(25, "DIRECT_MESSAGE_POLLS", Dm, POLLS),
];

/// The reaction events, gated per scope.
const REACTIONS: &[EventType] = &[
    E::MessageReactionCreate,
    E::MessageReactionDelete,
    E::MessageReactionDeleteAll,
    E::MessageReactionDeleteEmoji,
];

/// The poll vote events, gated per scope.
const POLLS: &[EventType] = &[E::MessagePollVoteCreate, E::MessagePollVoteDelete];

/// Guild events whose payload has fields emptied without MESSAGE_CONTENT (§9.3).
const CONTENT_GATED: EventSet = EventSet::from_slice(&[
    E::MessageCreate,
    E::MessageUpdate,
    E::AutoModerationActionExecution,
]);

impl Intents {
    /// Bit 0: guilds, channels, roles, threads, stage instances, voice channel status.
    pub const GUILDS: Self = Self(1 << 0);
    /// Bit 1 (**privileged**): member joins, updates and leaves.
    pub const GUILD_MEMBERS: Self = Self(1 << 1);
    /// Bit 2: audit log entries and bans.
    pub const GUILD_MODERATION: Self = Self(1 << 2);
    /// Bit 3: emojis, stickers and soundboard sounds.
    pub const GUILD_EXPRESSIONS: Self = Self(1 << 3);
    /// Bit 4: integrations.
    pub const GUILD_INTEGRATIONS: Self = Self(1 << 4);
    /// Bit 5: webhooks.
    pub const GUILD_WEBHOOKS: Self = Self(1 << 5);
    /// Bit 6: invites.
    pub const GUILD_INVITES: Self = Self(1 << 6);
    /// Bit 7: voice states and voice channel effects.
    pub const GUILD_VOICE_STATES: Self = Self(1 << 7);
    /// Bit 8 (**privileged**): presences.
    pub const GUILD_PRESENCES: Self = Self(1 << 8);
    /// Bit 9: messages in guilds.
    pub const GUILD_MESSAGES: Self = Self(1 << 9);
    /// Bit 10: reactions in guilds.
    pub const GUILD_MESSAGE_REACTIONS: Self = Self(1 << 10);
    /// Bit 11: typing in guilds.
    pub const GUILD_MESSAGE_TYPING: Self = Self(1 << 11);
    /// Bit 12: messages (and pins) in direct messages.
    pub const DIRECT_MESSAGES: Self = Self(1 << 12);
    /// Bit 13: reactions in direct messages.
    pub const DIRECT_MESSAGE_REACTIONS: Self = Self(1 << 13);
    /// Bit 14: typing in direct messages.
    pub const DIRECT_MESSAGE_TYPING: Self = Self(1 << 14);
    /// Bit 15 (**privileged**): message content fields; enables no event (§9.3).
    pub const MESSAGE_CONTENT: Self = Self(1 << 15);
    /// Bit 16: scheduled events.
    pub const GUILD_SCHEDULED_EVENTS: Self = Self(1 << 16);
    /// Bit 20: auto moderation rules.
    pub const AUTO_MODERATION_CONFIGURATION: Self = Self(1 << 20);
    /// Bit 21: auto moderation executions.
    pub const AUTO_MODERATION_EXECUTION: Self = Self(1 << 21);
    /// Bit 24: poll votes in guilds.
    pub const GUILD_MESSAGE_POLLS: Self = Self(1 << 24);
    /// Bit 25: poll votes in direct messages.
    pub const DIRECT_MESSAGE_POLLS: Self = Self(1 << 25);

    /// No intent.
    pub const EMPTY: Self = Self(0);
    /// The privileged intents: GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT. They
    /// must be enabled in the Developer Portal, or Identify is closed with 4014.
    pub const PRIVILEGED: Self =
        Self(Self::GUILD_MEMBERS.0 | Self::GUILD_PRESENCES.0 | Self::MESSAGE_CONTENT.0);
    /// Every documented intent that is not privileged (53575421).
    pub const NON_PRIVILEGED: Self = Self::all().difference(Self::PRIVILEGED);

    /// Every documented intent (53608447).
    #[must_use]
    pub const fn all() -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < TABLE.len() {
            bits |= TABLE[i].flag.0;
            i += 1;
        }
        Self(bits)
    }

    /// No intent.
    #[must_use]
    pub const fn empty() -> Self {
        Self::EMPTY
    }

    /// The intents of `bits` if every set bit is documented, else `None`.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        if bits & !Self::all().0 == 0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The intents of `bits`, keeping undocumented bits.
    #[must_use]
    pub const fn from_bits_retain(bits: u64) -> Self {
        Self(bits)
    }

    /// The intents of `bits`, dropping undocumented bits.
    #[must_use]
    pub const fn from_bits_truncate(bits: u64) -> Self {
        Self(bits & Self::all().0)
    }

    /// The bitfield sent in Identify.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every intent of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share an intent.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether any intent in `self` is privileged.
    #[must_use]
    pub const fn is_privileged(self) -> bool {
        self.intersects(Self::PRIVILEGED)
    }

    /// The privileged intents in `self` (to name in a 4014 message).
    #[must_use]
    pub const fn privileged(self) -> Self {
        self.intersection(Self::PRIVILEGED)
    }

    /// The bits of `self` that are not documented intents (Discord closes with 4013).
    #[must_use]
    pub const fn undocumented(self) -> Self {
        self.difference(Self::all())
    }

    /// The docs' name of a single documented intent, e.g. `"GUILD_MESSAGES"`; `None`
    /// for an empty, combined or undocumented value.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        let mut i = 0;
        while i < TABLE.len() {
            if TABLE[i].flag.0 == self.0 {
                return Some(TABLE[i].name);
            }
            i += 1;
        }
        None
    }

    /// Each set bit as a single-bit value, lowest first (undocumented bits included).
    #[must_use]
    pub const fn iter(self) -> IntentsIter {
        IntentsIter(self.0)
    }

    /// The events these intents enable in guilds (§9.1; THREAD_MEMBERS_UPDATE for both
    /// GUILDS and GUILD_MEMBERS).
    #[must_use]
    pub const fn guild_events(self) -> EventSet {
        self.events_in(Guild)
    }

    /// The events these intents enable in direct messages (§9.1).
    #[must_use]
    pub const fn dm_events(self) -> EventSet {
        self.events_in(Dm)
    }

    /// The events these intents enable anywhere.
    #[must_use]
    pub const fn events(self) -> EventSet {
        self.guild_events().union(self.dm_events())
    }

    /// The union of the event lists of the rows of `scope` whose flag is in `self`.
    const fn events_in(self, scope: Scope) -> EventSet {
        let mut events = EventSet::EMPTY;
        let mut i = 0;
        while i < TABLE.len() {
            let row = &TABLE[i];
            if self.contains(row.flag) && row.scope as u8 == scope as u8 {
                events = events.union(row.events);
            }
            i += 1;
        }
        events
    }

    /// The intents derived from guild events: each event's [`EventType::guild_intent`].
    #[must_use]
    pub const fn for_guild_events(events: EventSet) -> Self {
        Self::derive(events, Guild)
    }

    /// The intents derived from direct-message events: each event's
    /// [`EventType::dm_intent`].
    #[must_use]
    pub const fn for_dm_events(events: EventSet) -> Self {
        Self::derive(events, Dm)
    }

    /// For every event of `events`, the flag of the first row of `scope` listing it.
    const fn derive(events: EventSet, scope: Scope) -> Self {
        let mut intents = Self::EMPTY;
        let mut index = 0;
        while index < EventType::COUNT {
            if events.contains_index(index)
                && let Some(flag) = first_row_listing(index, scope)
            {
                intents = intents.union(flag);
            }
            index += 1;
        }
        intents
    }
}

/// The flag of the first row of `scope`, in bit order, whose events include the event
/// with dense index `index`.
const fn first_row_listing(index: usize, scope: Scope) -> Option<Intents> {
    let mut i = 0;
    while i < TABLE.len() {
        let row = &TABLE[i];
        if row.scope as u8 == scope as u8 && row.events.contains_index(index) {
            return Some(row.flag);
        }
        i += 1;
    }
    None
}

impl EventType {
    /// The intent that makes Discord send this event in guilds; `None` if no intent is
    /// needed there (§9.4) or the event is unknown. THREAD_MEMBERS_UPDATE gives GUILDS
    /// (see the [module docs](crate::intents)).
    #[must_use]
    pub const fn guild_intent(&self) -> Option<Intents> {
        match self.index() {
            Some(index) => first_row_listing(index, Guild),
            None => None,
        }
    }

    /// The intent that makes Discord send this event in direct messages; `None` if no
    /// intent is needed, the event is unknown, or it never happens in DMs.
    #[must_use]
    pub const fn dm_intent(&self) -> Option<Intents> {
        match self.index() {
            Some(index) => first_row_listing(index, Dm),
            None => None,
        }
    }

    /// Whether Discord sends this event only to clients with some intent (in guilds or
    /// DMs). `false` for the events of §9.4 and for unknown events. GUILD_MEMBER_UPDATE
    /// needs one, although updates of the bot's own member arrive without it.
    #[must_use]
    pub const fn needs_intent(&self) -> bool {
        self.guild_intent().is_some() || self.dm_intent().is_some()
    }
}

/// What a user declares: the events wanted in guilds and in direct messages, and extra
/// intents (e.g. [`Intents::MESSAGE_CONTENT`]). See the [module docs](crate::intents)
/// for the derivation rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeclaredEvents {
    /// Events wanted when they happen in guilds.
    pub guild: EventSet,
    /// Events wanted when they happen in direct messages.
    pub dm: EventSet,
    /// Intents sent in addition to the derived ones.
    pub extra: Intents,
}

impl DeclaredEvents {
    /// Declares guild and DM events, with no extra intent.
    #[must_use]
    pub const fn new(guild: EventSet, dm: EventSet) -> Self {
        Self {
            guild,
            dm,
            extra: Intents::EMPTY,
        }
    }

    /// Adds extra intents.
    #[must_use]
    pub const fn with_extra(mut self, extra: Intents) -> Self {
        self.extra = self.extra.union(extra);
        self
    }

    /// The intents to send in Identify: derived from both sets, plus the extras.
    #[must_use]
    pub const fn intents(&self) -> Intents {
        Intents::for_guild_events(self.guild)
            .union(Intents::for_dm_events(self.dm))
            .union(self.extra)
    }

    /// Every declared event, guild or DM: the set a client lets through. (Telling a
    /// guild dispatch from a DM one needs the payload, so filtering uses the union.)
    #[must_use]
    pub const fn events(&self) -> EventSet {
        self.guild.union(self.dm)
    }

    /// Declarations that will not do what they seem to, for the caller to log.
    #[must_use]
    pub fn warnings(&self) -> Vec<IntentWarning> {
        let mut warnings = Vec::new();
        let gated = self.guild.intersection(CONTENT_GATED);
        if !gated.is_empty() && !self.extra.contains(Intents::MESSAGE_CONTENT) {
            warnings.push(IntentWarning::MessageContentMissing { events: gated });
        }
        let not_in_dms: EventSet = self
            .dm
            .iter()
            .filter(|event| event.needs_intent() && event.dm_intent().is_none())
            .collect();
        if !not_in_dms.is_empty() {
            warnings.push(IntentWarning::NotSentInDms { events: not_in_dms });
        }
        let undocumented = self.extra.undocumented();
        if !undocumented.is_empty() {
            warnings.push(IntentWarning::UndocumentedIntents {
                intents: undocumented,
            });
        }
        warnings
    }
}

/// A declaration that will not do what it seems to ([`DeclaredEvents::warnings`]).
/// `Display` says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntentWarning {
    /// Guild events with content fields were declared without MESSAGE_CONTENT: their
    /// `content`, `embeds`, `attachments` and `components` arrive empty (§9.3), except
    /// for messages that mention the bot or that it sent. DMs are not affected.
    MessageContentMissing {
        /// The declared guild events that are affected.
        events: EventSet,
    },
    /// Events declared as DM events that Discord only sends for guilds; they derive no
    /// intent for DMs.
    NotSentInDms {
        /// The events concerned.
        events: EventSet,
    },
    /// The extra intents hold undocumented bits; Discord will close with 4013.
    UndocumentedIntents {
        /// The undocumented bits.
        intents: Intents,
    },
}

impl fmt::Display for IntentWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageContentMissing { events } => write!(
                f,
                "{events:?} in guilds will arrive with empty content, embeds, attachments and components: \
                 add the MESSAGE_CONTENT intent (and enable it in the Developer Portal) if you read them"
            ),
            Self::NotSentInDms { events } => write!(
                f,
                "{events:?} never happen in direct messages: declare them as guild events instead"
            ),
            Self::UndocumentedIntents { intents } => write!(
                f,
                "extra intents hold undocumented bits ({intents}) and discord will close with 4013: remove them"
            ),
        }
    }
}

/// Iterator over the set bits of an [`Intents`], as single-bit values, lowest first.
#[derive(Clone, Debug)]
pub struct IntentsIter(u64);

impl Iterator for IntentsIter {
    type Item = Intents;

    fn next(&mut self) -> Option<Intents> {
        if self.0 == 0 {
            return None;
        }
        let lowest = self.0 & self.0.wrapping_neg();
        self.0 &= !lowest;
        Some(Intents(lowest))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.0.count_ones() as usize;
        (len, Some(len))
    }
}

impl ExactSizeIterator for IntentsIter {}

impl FusedIterator for IntentsIter {}

impl IntoIterator for Intents {
    type Item = Intents;
    type IntoIter = IntentsIter;

    fn into_iter(self) -> IntentsIter {
        self.iter()
    }
}

impl FromIterator<Intents> for Intents {
    fn from_iter<I: IntoIterator<Item = Intents>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::union)
    }
}

/// Names joined by `" | "`, e.g. `GUILDS | GUILD_MESSAGES`; undocumented bits as
/// `1 << n`; `(none)` when empty.
impl fmt::Display for Intents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(none)");
        }
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            match flag.name() {
                Some(name) => f.write_str(name)?,
                None => write!(f, "1 << {}", flag.0.trailing_zeros())?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Intents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Intents({self})")
    }
}

impl_set_operators!(Intents);

/// Serializes as the integer bitfield.
impl Serialize for Intents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

/// Deserializes from the integer bitfield, keeping undocumented bits.
impl<'de> Deserialize<'de> for Intents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Self)
    }
}
