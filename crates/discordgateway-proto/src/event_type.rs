//! Dispatch event names ([`EventType`], GATEWAY.md §10) and a `Copy` bitset of them
//! ([`EventSet`]).
//!
//! Every documented dispatch has a variant with a **CRUD name**: `…_ADD` becomes
//! `…Create`, `…_REMOVE` `…Delete`, `…_REMOVE_ALL` `…DeleteAll`, `…_REMOVE_EMOJI`
//! `…DeleteEmoji`; other names keep their verb (`GUILD_BAN_ADD` is
//! [`EventType::GuildBanCreate`], `TYPING_START` is [`EventType::TypingStart`]). The wire
//! name is always available ([`EventType::wire_name`]).
//!
//! # The hot path
//!
//! The core maps the raw `t` bytes of every dispatch to a known event before touching
//! the payload. [`EventType::from_wire_bytes`] does it without allocating, with a `match`
//! on byte-string literals that compiles to a switch on the length and a few word
//! compares: about 8–13 ns per lookup measured with `-O` (an FNV-1a hash table measured
//! 20–35 ns, a linear scan 50–60 ns). [`EventType::index`] gives each known
//! event a dense index `0..79`, which is the bit [`EventSet`] (a `u128`) tests.
//!
//! # Why `EventType` is not `Copy`
//!
//! An unknown name is kept ([`EventType::Unknown`] holds a `Box<str>`), because §2.1
//! says not to reject unknown `t` values and a user who opted into them wants the name.
//! One enum keeps matching simple (`EventType::MessageCreate`, no wrapper), and cloning
//! a known variant copies a tag. The hot path never clones: it looks up with
//! [`from_wire_bytes`](EventType::from_wire_bytes), filters with [`EventSet`] (which is
//! `Copy`), and allocates a name only for an unknown event that is actually delivered.
//!
//! ```
//! use discordgateway_proto::event_type::{EventSet, EventType};
//!
//! assert_eq!(EventType::from_wire("GUILD_BAN_ADD"), EventType::GuildBanCreate);
//! assert_eq!(EventType::GuildBanCreate.wire_name(), "GUILD_BAN_ADD");
//! assert_eq!(EventType::GuildBanCreate.name(), "GuildBanCreate");
//! assert_eq!("message_create".parse(), Ok(EventType::MessageCreate));
//!
//! let unknown = EventType::from_wire("BRAND_NEW_EVENT");
//! assert_eq!(unknown.wire_name(), "BRAND_NEW_EVENT");
//!
//! const WANTED: EventSet = EventSet::from_slice(&[EventType::Ready, EventType::MessageCreate]);
//! let t = b"MESSAGE_CREATE";
//! assert!(EventType::from_wire_bytes(t).is_some_and(|event| WANTED.contains(&event)));
//! ```

use std::fmt;
use std::iter::FusedIterator;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Generates [`EventType`], its dense index ([`Known`]), the wire-name table and the
/// name conversions from one list of `Variant = "WIRE_NAME"` rows.
macro_rules! event_types {
    ( $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+ ) => {
        /// A dispatch event (`t` of an op 0 message), GATEWAY.md §10.
        ///
        /// Known events are unit variants with CRUD names; any other name is kept in
        /// [`EventType::Unknown`]. See the [module docs](self) for the naming rule and why
        /// this type is `Clone` but not `Copy`.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$vmeta])* #[doc = concat!("On the wire: `", stringify!($wire), "`.")] $variant, )+
            /// A dispatch this library does not know; holds its wire name as received.
            ///
            /// Build it with [`EventType::from_wire`], which never puts a known name here.
            Unknown(Box<str>),
        }

        /// Dense index of each known event, in declaration order.
        #[derive(Clone, Copy)]
        #[repr(u8)]
        enum Known {
            $( $variant, )+
        }

        /// Every known event, indexed by [`Known`].
        static ALL: [EventType; EventType::COUNT] = [$( EventType::$variant ),+];

        /// Wire name of every known event, indexed by [`Known`]. (The rows give byte
        /// strings so that [`EventType::from_wire_bytes`] can match on them; a non-UTF-8
        /// row would stop compilation, never a running program.)
        const WIRE: [&str; EventType::COUNT] = [$(
            match std::str::from_utf8($wire) {
                Ok(name) => name,
                Err(_) => panic!("event wire names are ASCII"),
            }
        ),+];

        /// CRUD name of every known event, indexed by [`Known`].
        const NAMES: [&str; EventType::COUNT] = [$( stringify!($variant) ),+];

        impl EventType {
            /// The dense index `0..EventType::COUNT` of a known event; `None` for
            /// [`EventType::Unknown`]. It is the event's bit in an [`EventSet`].
            #[must_use]
            pub const fn index(&self) -> Option<usize> {
                match self {
                    $( Self::$variant => Some(Known::$variant as usize), )+
                    Self::Unknown(_) => None,
                }
            }

            /// The known event for a wire name given as raw bytes, without allocating;
            /// `None` when the name is unknown. Case-sensitive, like the wire.
            #[must_use]
            pub const fn from_wire_bytes(name: &[u8]) -> Option<Self> {
                // A match on byte-string literals compiles to a switch on the length
                // followed by word compares; it measured faster than a hash table.
                match name {
                    $( $wire => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    // Session / control
    Ready = b"READY",
    Resumed = b"RESUMED",
    RateLimited = b"RATE_LIMITED",
    // Application commands
    ApplicationCommandPermissionsUpdate = b"APPLICATION_COMMAND_PERMISSIONS_UPDATE",
    // Auto moderation
    AutoModerationRuleCreate = b"AUTO_MODERATION_RULE_CREATE",
    AutoModerationRuleUpdate = b"AUTO_MODERATION_RULE_UPDATE",
    AutoModerationRuleDelete = b"AUTO_MODERATION_RULE_DELETE",
    AutoModerationActionExecution = b"AUTO_MODERATION_ACTION_EXECUTION",
    // Channels and threads
    ChannelCreate = b"CHANNEL_CREATE",
    ChannelUpdate = b"CHANNEL_UPDATE",
    ChannelDelete = b"CHANNEL_DELETE",
    ChannelInfo = b"CHANNEL_INFO",
    ChannelPinsUpdate = b"CHANNEL_PINS_UPDATE",
    ThreadCreate = b"THREAD_CREATE",
    ThreadUpdate = b"THREAD_UPDATE",
    ThreadDelete = b"THREAD_DELETE",
    ThreadListSync = b"THREAD_LIST_SYNC",
    ThreadMemberUpdate = b"THREAD_MEMBER_UPDATE",
    ThreadMembersUpdate = b"THREAD_MEMBERS_UPDATE",
    // Entitlements
    EntitlementCreate = b"ENTITLEMENT_CREATE",
    EntitlementUpdate = b"ENTITLEMENT_UPDATE",
    EntitlementDelete = b"ENTITLEMENT_DELETE",
    // Guilds
    GuildCreate = b"GUILD_CREATE",
    GuildUpdate = b"GUILD_UPDATE",
    GuildDelete = b"GUILD_DELETE",
    GuildAuditLogEntryCreate = b"GUILD_AUDIT_LOG_ENTRY_CREATE",
    GuildBanCreate = b"GUILD_BAN_ADD",
    GuildBanDelete = b"GUILD_BAN_REMOVE",
    GuildEmojisUpdate = b"GUILD_EMOJIS_UPDATE",
    GuildStickersUpdate = b"GUILD_STICKERS_UPDATE",
    GuildIntegrationsUpdate = b"GUILD_INTEGRATIONS_UPDATE",
    GuildMemberCreate = b"GUILD_MEMBER_ADD",
    GuildMemberDelete = b"GUILD_MEMBER_REMOVE",
    GuildMemberUpdate = b"GUILD_MEMBER_UPDATE",
    GuildMembersChunk = b"GUILD_MEMBERS_CHUNK",
    GuildRoleCreate = b"GUILD_ROLE_CREATE",
    GuildRoleUpdate = b"GUILD_ROLE_UPDATE",
    GuildRoleDelete = b"GUILD_ROLE_DELETE",
    GuildScheduledEventCreate = b"GUILD_SCHEDULED_EVENT_CREATE",
    GuildScheduledEventUpdate = b"GUILD_SCHEDULED_EVENT_UPDATE",
    GuildScheduledEventDelete = b"GUILD_SCHEDULED_EVENT_DELETE",
    GuildScheduledEventUserCreate = b"GUILD_SCHEDULED_EVENT_USER_ADD",
    GuildScheduledEventUserDelete = b"GUILD_SCHEDULED_EVENT_USER_REMOVE",
    GuildSoundboardSoundCreate = b"GUILD_SOUNDBOARD_SOUND_CREATE",
    GuildSoundboardSoundUpdate = b"GUILD_SOUNDBOARD_SOUND_UPDATE",
    GuildSoundboardSoundDelete = b"GUILD_SOUNDBOARD_SOUND_DELETE",
    GuildSoundboardSoundsUpdate = b"GUILD_SOUNDBOARD_SOUNDS_UPDATE",
    SoundboardSounds = b"SOUNDBOARD_SOUNDS",
    // Integrations
    IntegrationCreate = b"INTEGRATION_CREATE",
    IntegrationUpdate = b"INTEGRATION_UPDATE",
    IntegrationDelete = b"INTEGRATION_DELETE",
    // Interactions
    InteractionCreate = b"INTERACTION_CREATE",
    // Invites
    InviteCreate = b"INVITE_CREATE",
    InviteDelete = b"INVITE_DELETE",
    // Messages
    MessageCreate = b"MESSAGE_CREATE",
    MessageUpdate = b"MESSAGE_UPDATE",
    MessageDelete = b"MESSAGE_DELETE",
    MessageDeleteBulk = b"MESSAGE_DELETE_BULK",
    MessageReactionCreate = b"MESSAGE_REACTION_ADD",
    MessageReactionDelete = b"MESSAGE_REACTION_REMOVE",
    MessageReactionDeleteAll = b"MESSAGE_REACTION_REMOVE_ALL",
    MessageReactionDeleteEmoji = b"MESSAGE_REACTION_REMOVE_EMOJI",
    MessagePollVoteCreate = b"MESSAGE_POLL_VOTE_ADD",
    MessagePollVoteDelete = b"MESSAGE_POLL_VOTE_REMOVE",
    // Presence, typing, user
    PresenceUpdate = b"PRESENCE_UPDATE",
    TypingStart = b"TYPING_START",
    UserUpdate = b"USER_UPDATE",
    // Stage instances
    StageInstanceCreate = b"STAGE_INSTANCE_CREATE",
    StageInstanceUpdate = b"STAGE_INSTANCE_UPDATE",
    StageInstanceDelete = b"STAGE_INSTANCE_DELETE",
    // Subscriptions
    SubscriptionCreate = b"SUBSCRIPTION_CREATE",
    SubscriptionUpdate = b"SUBSCRIPTION_UPDATE",
    SubscriptionDelete = b"SUBSCRIPTION_DELETE",
    // Voice
    VoiceChannelEffectSend = b"VOICE_CHANNEL_EFFECT_SEND",
    VoiceChannelStartTimeUpdate = b"VOICE_CHANNEL_START_TIME_UPDATE",
    VoiceChannelStatusUpdate = b"VOICE_CHANNEL_STATUS_UPDATE",
    VoiceStateUpdate = b"VOICE_STATE_UPDATE",
    VoiceServerUpdate = b"VOICE_SERVER_UPDATE",
    // Webhooks
    WebhooksUpdate = b"WEBHOOKS_UPDATE",
}

impl EventType {
    /// The number of known events: 79.
    pub const COUNT: usize = 79;

    /// Every known event, in the order of GATEWAY.md §10 (which is [`index`](Self::index)
    /// order).
    #[must_use]
    pub fn all() -> &'static [Self] {
        &ALL
    }

    /// The known event with this dense index, if any.
    #[must_use]
    pub fn from_index(index: usize) -> Option<Self> {
        ALL.get(index).cloned()
    }

    /// The event for a wire name. Never fails: an unknown name becomes
    /// [`EventType::Unknown`] holding it (that case allocates).
    #[must_use]
    pub fn from_wire(name: &str) -> Self {
        Self::from_wire_bytes(name.as_bytes()).unwrap_or_else(|| Self::Unknown(name.into()))
    }

    /// The name on the wire, e.g. `"GUILD_BAN_ADD"`; for an unknown event, the name as
    /// received.
    #[must_use]
    pub fn wire_name(&self) -> &str {
        match self.index() {
            Some(index) => WIRE[index],
            None => self.unknown_name(),
        }
    }

    /// The CRUD name, e.g. `"GuildBanCreate"`; for an unknown event, its wire name (no
    /// CRUD name is known for it).
    #[must_use]
    pub fn name(&self) -> &str {
        match self.index() {
            Some(index) => NAMES[index],
            None => self.unknown_name(),
        }
    }

    /// Whether this is one of the documented events (not [`EventType::Unknown`]).
    #[must_use]
    pub const fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }

    /// The text held by [`EventType::Unknown`], or `""` for a known event.
    fn unknown_name(&self) -> &str {
        match self {
            Self::Unknown(name) => name,
            _ => "",
        }
    }
}

/// Shows the CRUD name (for an unknown event, its wire name).
impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a name given by a user (e.g. the CLI's `--events`).
///
/// Accepts the wire name (`GUILD_BAN_ADD`) or the CRUD name (`GuildBanCreate`), ignoring
/// ASCII case (`guild_ban_add`, `guildbancreate`). Unlike [`EventType::from_wire`], an
/// unknown name is an error, so a typo is caught instead of silently matching nothing.
impl FromStr for EventType {
    type Err = ParseEventTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        (0..Self::COUNT)
            .find(|&i| WIRE[i].eq_ignore_ascii_case(text) || NAMES[i].eq_ignore_ascii_case(text))
            .and_then(Self::from_index)
            .ok_or_else(|| ParseEventTypeError::UnknownName { name: text.into() })
    }
}

/// A name given by a user is not a known event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseEventTypeError {
    /// The name is neither a wire name nor a CRUD name of a known event.
    #[error(
        "unknown event name `{name}`: use a wire name such as MESSAGE_CREATE or a CRUD name such as MessageCreate"
    )]
    UnknownName {
        /// The name as given (trimmed).
        name: Box<str>,
    },
}

/// Serializes as the wire name string.
impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.wire_name())
    }
}

/// Deserializes from the wire name; unknown names become [`EventType::Unknown`].
impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(WireNameVisitor)
    }
}

/// Serde visitor reading a wire name.
struct WireNameVisitor;

impl Visitor<'_> for WireNameVisitor {
    type Value = EventType;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dispatch event name such as \"MESSAGE_CREATE\"")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<EventType, E> {
        Ok(EventType::from_wire(name))
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<EventType, E> {
        Ok(EventType::from_wire_bytes(name.as_bytes())
            .unwrap_or_else(|| EventType::Unknown(name.into_boxed_str())))
    }
}

/// Implements, for a newtype over an integer bitset: `const fn union`,
/// `intersection`, `difference`, `is_empty`, and the operators `|`, `|=`, `&` and `-`.
/// Shared with [`crate::intents`].
macro_rules! impl_set_operators {
    ($ty:ident) => {
        impl $ty {
            /// Members of either.
            #[must_use]
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// Members of both.
            #[must_use]
            pub const fn intersection(self, other: Self) -> Self {
                Self(self.0 & other.0)
            }

            /// Members of `self` that are not in `other`.
            #[must_use]
            pub const fn difference(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }

            /// Whether there is no member.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl std::ops::BitOr for $ty {
            type Output = Self;

            fn bitor(self, other: Self) -> Self {
                self.union(other)
            }
        }

        impl std::ops::BitOrAssign for $ty {
            fn bitor_assign(&mut self, other: Self) {
                *self = self.union(other);
            }
        }

        impl std::ops::BitAnd for $ty {
            type Output = Self;

            fn bitand(self, other: Self) -> Self {
                self.intersection(other)
            }
        }

        impl std::ops::Sub for $ty {
            type Output = Self;

            fn sub(self, other: Self) -> Self {
                self.difference(other)
            }
        }
    };
}

pub(crate) use impl_set_operators;

/// A set of known events: a `Copy` bitset over `u128`, one bit per
/// [`EventType::index`].
///
/// [`EventType::Unknown`] cannot be a member: inserting it does nothing and
/// `contains` says `false`.
///
/// ```
/// use discordgateway_proto::event_type::{EventSet, EventType};
///
/// const MESSAGES: EventSet = EventSet::from_slice(&[EventType::MessageCreate, EventType::MessageUpdate]);
/// let mut set = EventSet::new();
/// set.insert(EventType::Ready);
/// let set = set | MESSAGES;
/// assert_eq!(set.len(), 3);
/// assert!(set.contains(&EventType::MessageUpdate));
/// assert_eq!(set.iter().next(), Some(EventType::Ready));
/// assert!(EventSet::ALL.contains(&EventType::WebhooksUpdate));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EventSet(u128);

impl EventSet {
    /// No events.
    pub const EMPTY: Self = Self(0);

    /// Every known event.
    pub const ALL: Self = Self((1 << EventType::COUNT) - 1);

    /// An empty set.
    #[must_use]
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// The set of the given events (usable in `const`).
    #[must_use]
    pub const fn from_slice(events: &[EventType]) -> Self {
        let mut set = Self::EMPTY;
        let mut i = 0;
        while i < events.len() {
            if let Some(index) = events[i].index() {
                set.0 |= 1 << index;
            }
            i += 1;
        }
        set
    }

    /// The set whose members are the set bits of `bits`; bits above the known events
    /// are dropped.
    #[must_use]
    pub const fn from_bits_truncate(bits: u128) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// The bitset: bit `i` is set when the event with index `i` is a member.
    #[must_use]
    pub const fn bits(self) -> u128 {
        self.0
    }

    /// Whether `event` is a member (always `false` for [`EventType::Unknown`]).
    #[must_use]
    pub const fn contains(&self, event: &EventType) -> bool {
        match event.index() {
            Some(index) => self.contains_index(index),
            None => false,
        }
    }

    /// Whether the event with this dense index is a member.
    #[must_use]
    pub const fn contains_index(&self, index: usize) -> bool {
        index < EventType::COUNT && self.0 & (1 << index) != 0
    }

    /// Adds `event`; returns whether it was newly added (`false` for unknown events).
    pub fn insert(&mut self, event: EventType) -> bool {
        let was = self.contains(&event);
        *self = self.union(Self::from_slice(std::slice::from_ref(&event)));
        !was && event.is_known()
    }

    /// Removes `event`; returns whether it was a member.
    pub fn remove(&mut self, event: &EventType) -> bool {
        let was = self.contains(event);
        *self = self.difference(Self::from_slice(std::slice::from_ref(event)));
        was
    }

    /// Known events not in `self`.
    #[must_use]
    pub const fn complement(self) -> Self {
        Self::ALL.difference(self)
    }

    /// The number of members.
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The members, in index order.
    #[must_use]
    pub const fn iter(self) -> EventSetIter {
        EventSetIter(self.0)
    }
}

impl fmt::Debug for EventSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl_set_operators!(EventSet);

impl FromIterator<EventType> for EventSet {
    fn from_iter<I: IntoIterator<Item = EventType>>(events: I) -> Self {
        let mut set = Self::EMPTY;
        set.extend(events);
        set
    }
}

impl Extend<EventType> for EventSet {
    fn extend<I: IntoIterator<Item = EventType>>(&mut self, events: I) {
        for event in events {
            self.insert(event);
        }
    }
}

impl IntoIterator for EventSet {
    type Item = EventType;
    type IntoIter = EventSetIter;

    fn into_iter(self) -> EventSetIter {
        self.iter()
    }
}

/// Iterator over the members of an [`EventSet`], in index order.
#[derive(Clone, Debug)]
pub struct EventSetIter(u128);

impl Iterator for EventSetIter {
    type Item = EventType;

    fn next(&mut self) -> Option<EventType> {
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        EventType::from_index(index)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.0.count_ones() as usize;
        (len, Some(len))
    }
}

impl ExactSizeIterator for EventSetIter {}

impl FusedIterator for EventSetIter {}
