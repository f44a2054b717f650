//! [`ShardConfig`]: the sans-IO core's [`Config`] plus what only a real connection needs
//! (timeouts, TLS policy, the identify queue, the command channel).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use discordgateway_proto::config::Config;

use crate::connect::ConnectOptions;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::queue::{IdentifyQueue, LocalIdentifyQueue};

/// Default [`ShardConfigBuilder::hello_timeout`]: 20 s.
pub const DEFAULT_HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// Default [`ShardConfigBuilder::ready_timeout`]: 30 s.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ShardConfigBuilder::command_queue_capacity`]: 64 commands.
pub const DEFAULT_COMMAND_QUEUE_CAPACITY: usize = 64;

/// Everything a [`Shard`](crate::Shard) needs; build it with [`ShardConfig::builder`].
///
/// The token lives in the core [`Config`] and is redacted in `Debug`.
#[derive(Clone)]
pub struct ShardConfig {
    /// The sans-IO core's configuration (token, events, shard, URL, reconnect policy).
    pub(crate) core: Config,
    /// How sockets are opened.
    pub(crate) connect: ConnectOptions,
    /// Bound on waiting for Hello after the socket opened.
    pub(crate) hello_timeout: Duration,
    /// Bound on waiting for READY after Identify, or RESUMED after Resume.
    pub(crate) ready_timeout: Duration,
    /// Who grants Identify.
    pub(crate) queue: Arc<dyn IdentifyQueue>,
    /// Capacity of the channel behind [`ShardSender`](crate::ShardSender).
    pub(crate) command_queue_capacity: usize,
    /// Seed of the core's jitter; random when `None`.
    pub(crate) seed: Option<u64>,
}

impl ShardConfig {
    /// A builder around a checked core configuration, with the defaults listed on each setter.
    pub fn builder(core: Config) -> ShardConfigBuilder {
        ShardConfigBuilder {
            config: Self {
                core,
                connect: ConnectOptions::default(),
                hello_timeout: DEFAULT_HELLO_TIMEOUT,
                ready_timeout: DEFAULT_READY_TIMEOUT,
                queue: Arc::new(LocalIdentifyQueue::new(1)),
                command_queue_capacity: DEFAULT_COMMAND_QUEUE_CAPACITY,
                seed: None,
            },
        }
    }

    /// The core configuration.
    #[must_use]
    pub fn core(&self) -> &Config {
        &self.core
    }
}

impl fmt::Debug for ShardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardConfig")
            .field("core", &self.core)
            .field("connect", &self.connect)
            .field("hello_timeout", &self.hello_timeout)
            .field("ready_timeout", &self.ready_timeout)
            .field("queue", &self.queue)
            .field("command_queue_capacity", &self.command_queue_capacity)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ShardConfig`]; [`build`](Self::build) checks it.
#[derive(Debug, Clone)]
#[must_use = "call `build` to get the config"]
pub struct ShardConfigBuilder {
    /// The config being built.
    config: ShardConfig,
}

impl ShardConfigBuilder {
    /// Bound on one connection attempt (DNS, TCP, TLS, upgrade). Default 10 s; must be > 0.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect.timeout = timeout;
        self
    }

    /// Bound on waiting for Hello once the socket is open. The core enforces it (its Hello
    /// deadline is set from this value, so there is one deadline): on expiry the connection is
    /// closed resumably with `DisconnectCause::HelloTimeout` and the reconnect policy applies.
    /// Default 20 s; must be > 0.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.config.hello_timeout = timeout;
        self
    }

    /// Bound on waiting for READY after Identify was sent, or RESUMED after Resume (the wait
    /// for the identify queue does not count). Default 30 s; must be > 0.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.config.ready_timeout = timeout;
        self
    }

    /// Largest incoming WebSocket message, in bytes. Default 16 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.connect.max_message_size = bytes;
        self
    }

    /// Allow unencrypted `ws://` to hosts that are not loopback. Default `false`: the token
    /// would cross the network in clear text. Loopback (the emulator) is always allowed.
    pub fn danger_allow_insecure_ws(mut self, allow: bool) -> Self {
        self.config.connect.danger_allow_insecure_ws = allow;
        self
    }

    /// The identify queue. Default: a private [`LocalIdentifyQueue`] with one bucket and no
    /// budget. **Share one queue between all shards of a bot**, built from
    /// `/gateway/bot`'s `session_start_limit`, or they will identify too fast.
    pub fn identify_queue(mut self, queue: Arc<dyn IdentifyQueue>) -> Self {
        self.config.queue = queue;
        self
    }

    /// Commands [`ShardSender::send`](crate::ShardSender::send) may queue before it
    /// answers `QueueFull`. Default 64; must be ≥ 1.
    pub fn command_queue_capacity(mut self, capacity: usize) -> Self {
        self.config.command_queue_capacity = capacity;
        self
    }

    /// Seed of the heartbeat jitter and backoff. Default: random per shard. Fix it in tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// The checked config.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::ZeroTimeout`] for a zero timeout,
    /// [`ConfigErrorKind::ZeroQueueCapacity`] for a zero command queue.
    pub fn build(self) -> Result<ShardConfig, ConfigError> {
        let config = self.config;
        for (name, value) in [
            ("connect_timeout", config.connect.timeout),
            ("hello_timeout", config.hello_timeout),
            ("ready_timeout", config.ready_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigErrorKind::ZeroTimeout { name }.into());
            }
        }
        if config.command_queue_capacity == 0 {
            return Err(ConfigErrorKind::ZeroQueueCapacity.into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discordgateway_proto::token::Token;

    fn core() -> Config {
        let token = Token::new("MTAx.secret.token").expect("token");
        Config::builder(token).build().expect("core config")
    }

    #[test]
    fn rejects_zero_settings() {
        type Case = (
            &'static str,
            fn(ShardConfigBuilder) -> ShardConfigBuilder,
            ConfigErrorKind,
        );
        const CASES: &[Case] = &[
            (
                "connect",
                |b| b.connect_timeout(Duration::ZERO),
                ConfigErrorKind::ZeroTimeout {
                    name: "connect_timeout",
                },
            ),
            (
                "hello",
                |b| b.hello_timeout(Duration::ZERO),
                ConfigErrorKind::ZeroTimeout {
                    name: "hello_timeout",
                },
            ),
            (
                "ready",
                |b| b.ready_timeout(Duration::ZERO),
                ConfigErrorKind::ZeroTimeout {
                    name: "ready_timeout",
                },
            ),
            (
                "queue",
                |b| b.command_queue_capacity(0),
                ConfigErrorKind::ZeroQueueCapacity,
            ),
        ];
        for (name, change, want) in CASES {
            let err = change(ShardConfig::builder(core()))
                .build()
                .expect_err(name);
            assert_eq!(err.kind(), want, "case {name}");
        }
        assert!(ShardConfig::builder(core()).build().is_ok());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let config = ShardConfig::builder(core()).build().expect("config");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }
}
