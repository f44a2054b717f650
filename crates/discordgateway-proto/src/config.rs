//! Configuration of one gateway session: [`Config`], built and checked by [`ConfigBuilder`].
//!
//! Intents are not set directly: the user declares the events it wants in guilds and in
//! direct messages, plus extra intents (principle 2 of the design, `intents` module), and
//! only declared events are delivered. Limits and the reconnect policy are part of it too.

use std::time::Duration;

use crate::event_type::EventSet;
use crate::intents::{DeclaredEvents, IntentWarning, Intents};
use crate::payload::{CommandError, Identify, IdentifyProperties, Outgoing, UpdatePresence};
use crate::shard::ShardId;
use crate::token::Token;
use crate::url::{ApiVersion, Compression, DISCORD_GATEWAY, Encoding, GatewayParams, GatewayUrl};

/// Default [`Limits::max_message_size`]: 32 MiB (a READY or GUILD_CREATE of a very large bot
/// can reach several MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;
/// Default [`Limits::queue_capacity`]: 128 user commands waiting for a rate-limit slot.
pub const DEFAULT_QUEUE_CAPACITY: usize = 128;

/// What the core does after a connection ends.
///
/// The default is [`ReconnectPolicy::Automatic`] with a 1 s base and a 60 s cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectPolicy {
    /// Reconnect by itself: the first attempt after a disconnect goes immediately, each
    /// further consecutive attempt waits a random delay in `[0, min(cap, base × 2^(n-1)))`
    /// ("exponential backoff with full jitter"), drawn from the state's seed. A READY or
    /// RESUMED resets the attempt count.
    Automatic {
        /// Backoff of the second attempt; doubles with each further attempt.
        base: Duration,
        /// Largest backoff.
        cap: Duration,
    },
    /// Report every disconnect (code, reason, whether the session can resume) and stay idle
    /// until the application calls `reconnect`, `resume` or `identify`.
    Manual,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self::Automatic {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

/// Size limits that protect the process from a misbehaving peer or caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest WebSocket frame accepted as input, in bytes; a larger one closes the
    /// connection resumably. Default 32 MiB.
    pub max_frame_size: usize,
    /// Largest decompressed message, in bytes (also bounds buffered zlib input). Default
    /// [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub max_message_size: usize,
    /// User commands that may wait for a rate-limit slot; `send` fails beyond. Default
    /// [`DEFAULT_QUEUE_CAPACITY`].
    pub queue_capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

/// Why a [`ConfigBuilder`] could not build a [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The Identify payload the config describes is invalid (e.g. `large_threshold` out of
    /// 50–250, a bad presence).
    #[error("the identify payload is invalid: {0}")]
    Identify(#[from] CommandError),
    /// The encoding is not supported by the core yet.
    #[error("encoding `{0}` is not supported by the core yet: use json")]
    UnsupportedEncoding(Encoding),
    /// A limit is zero.
    #[error("limit `{name}` is 0: use a positive value")]
    ZeroLimit {
        /// Which limit.
        name: &'static str,
    },
    /// The backoff cap is below its base, or the base is zero.
    #[error("reconnect backoff needs 0 < base <= cap (base {base:?}, cap {cap:?})")]
    InvalidBackoff {
        /// The base given.
        base: Duration,
        /// The cap given.
        cap: Duration,
    },
}

/// A checked configuration for one [`GatewayState`](crate::state::GatewayState).
///
/// The token never appears in `Debug` (the [`Token`] type redacts itself).
#[derive(Debug, Clone)]
pub struct Config {
    /// The Identify payload sent for a new session.
    identify: Identify,
    /// Declared events and extra intents.
    events: DeclaredEvents,
    /// Version, encoding and compression of every connection.
    params: GatewayParams,
    /// The cached Get Gateway URL, for fresh sessions.
    default_url: GatewayUrl,
    /// Size limits.
    limits: Limits,
    /// Reconnect behaviour.
    reconnect: ReconnectPolicy,
    /// Whether dispatches with an unknown `t` are delivered as [`EventType::Unknown`].
    ///
    /// [`EventType::Unknown`]: crate::EventType::Unknown
    unknown_events: bool,
}

impl Config {
    /// Starts a builder for `token` with no declared events.
    pub fn builder(token: Token) -> ConfigBuilder {
        ConfigBuilder::new(token)
    }

    /// The bot token.
    #[must_use]
    pub fn token(&self) -> &Token {
        &self.identify.token
    }

    /// The shard this session identifies as.
    #[must_use]
    pub fn shard(&self) -> ShardId {
        self.identify.shard.unwrap_or(ShardId::ONE)
    }

    /// The Identify payload (intents derived from the declared events).
    #[must_use]
    pub fn identify(&self) -> &Identify {
        &self.identify
    }

    /// The intents sent in Identify.
    #[must_use]
    pub fn intents(&self) -> Intents {
        self.events.intents()
    }

    /// The events delivered to the application; everything else is dropped unparsed.
    #[must_use]
    pub fn delivered_events(&self) -> EventSet {
        self.events.events()
    }

    /// Declarations that will not do what they seem to (log them at startup).
    #[must_use]
    pub fn warnings(&self) -> Vec<IntentWarning> {
        self.events.warnings()
    }

    /// Query parameters of every connection.
    #[must_use]
    pub fn params(&self) -> GatewayParams {
        self.params
    }

    /// The URL new sessions connect to, with parameters.
    #[must_use]
    pub fn default_url(&self) -> &GatewayUrl {
        &self.default_url
    }

    /// Size limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Reconnect behaviour.
    #[must_use]
    pub fn reconnect(&self) -> ReconnectPolicy {
        self.reconnect
    }

    /// Whether dispatches whose `t` is not a known event are delivered as
    /// [`EventType::Unknown`](crate::EventType::Unknown) (see
    /// [`ConfigBuilder::unknown_events`]).
    #[must_use]
    pub fn unknown_events(&self) -> bool {
        self.unknown_events
    }
}

/// Builds a [`Config`]; every setter documents its default.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    /// The Identify payload being assembled.
    identify: Identify,
    /// Declared events and extras.
    events: DeclaredEvents,
    /// Connection parameters.
    params: GatewayParams,
    /// The default URL, without parameters.
    default_url: Option<GatewayUrl>,
    /// Limits.
    limits: Limits,
    /// Reconnect policy.
    reconnect: ReconnectPolicy,
    /// Deliver unknown events.
    unknown_events: bool,
}

impl ConfigBuilder {
    /// A builder for `token`: no events, shard `[0, 1]`, `large_threshold` 50, API v10, JSON,
    /// no compression, Discord's gateway URL, default limits, automatic reconnects.
    pub fn new(token: Token) -> Self {
        Self {
            identify: Identify::new(token, Intents::EMPTY),
            events: DeclaredEvents::default(),
            params: GatewayParams::default(),
            default_url: None,
            limits: Limits::default(),
            reconnect: ReconnectPolicy::default(),
            unknown_events: false,
        }
    }

    /// Deliver dispatches whose `t` is not a documented event (Discord adds events without
    /// notice, GATEWAY.md §2.1) as [`EventType::Unknown`](crate::EventType::Unknown) with the
    /// raw `d`, instead of dropping them. Never an error either way: an unknown event is
    /// counted as dropped when this is off.
    ///
    /// Default `false`: only declared events are delivered, and an unknown event cannot be
    /// declared (an [`EventSet`] has no bit for it), so the default drops them unparsed.
    /// Declared known events are delivered as before whichever the setting.
    pub fn unknown_events(mut self, deliver: bool) -> Self {
        self.unknown_events = deliver;
        self
    }

    /// Events wanted in guilds (default none).
    pub fn guild_events(mut self, events: EventSet) -> Self {
        self.events.guild = events;
        self
    }

    /// Events wanted in direct messages (default none).
    pub fn dm_events(mut self, events: EventSet) -> Self {
        self.events.dm = events;
        self
    }

    /// Intents sent on top of the derived ones, e.g. `MESSAGE_CONTENT` (default none).
    pub fn extra_intents(mut self, intents: Intents) -> Self {
        self.events.extra = intents;
        self
    }

    /// The shard (default `[0, 1]`).
    pub fn shard(mut self, shard: ShardId) -> Self {
        self.identify.shard = Some(shard);
        self
    }

    /// Identify `properties` (default: this library's OS and name).
    pub fn properties(mut self, properties: IdentifyProperties) -> Self {
        self.identify.properties = properties;
        self
    }

    /// Initial presence (default none).
    pub fn presence(mut self, presence: UpdatePresence) -> Self {
        self.identify.presence = Some(presence);
        self
    }

    /// `large_threshold`, 50–250 (default 50; checked by [`build`](Self::build)).
    pub fn large_threshold(mut self, value: u32) -> Self {
        self.identify.large_threshold = value;
        self
    }

    /// API version (default 10).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.params.version = version;
        self
    }

    /// Encoding (default JSON; ETF is rejected by [`build`](Self::build) for now).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.params.encoding = encoding;
        self
    }

    /// Transport compression (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.params.compression = compression;
        self
    }

    /// The cached Get Gateway URL (default `wss://gateway.discord.gg`).
    pub fn default_url(mut self, url: GatewayUrl) -> Self {
        self.default_url = Some(url);
        self
    }

    /// Size limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Reconnect policy (default automatic, 1 s base, 60 s cap).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Checks everything and builds the config.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what to change.
    pub fn build(mut self) -> Result<Config, ConfigError> {
        if self.params.encoding != Encoding::Json {
            return Err(ConfigError::UnsupportedEncoding(self.params.encoding));
        }
        let limits = self.limits;
        for (name, value) in [
            ("max_frame_size", limits.max_frame_size),
            ("max_message_size", limits.max_message_size),
            ("queue_capacity", limits.queue_capacity),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit { name });
            }
        }
        if let ReconnectPolicy::Automatic { base, cap } = self.reconnect
            && (base.is_zero() || cap < base)
        {
            return Err(ConfigError::InvalidBackoff { base, cap });
        }
        self.identify.intents = self.events.intents();
        self.identify.validate()?;
        let default_url = match self.default_url {
            Some(url) => url,
            None => GatewayUrl::parse(DISCORD_GATEWAY)
                .unwrap_or_else(|_| unreachable!("the built-in gateway URL parses")),
        };
        Ok(Config {
            identify: self.identify,
            events: self.events,
            default_url: default_url.with_params(self.params),
            params: self.params,
            limits: self.limits,
            reconnect: self.reconnect,
            unknown_events: self.unknown_events,
        })
    }
}
