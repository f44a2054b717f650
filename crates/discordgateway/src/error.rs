//! Public errors of the tokio driver: each is a struct holding a `kind` and an optional boxed
//! `source`.
//!
//! The shape follows STYLE.md §3: callers match on [`kind()`](ShardError::kind), which is a
//! small `#[non_exhaustive]` enum carrying the numbers a fixer needs, while the underlying
//! error (tokio-websockets, rustls, serde, I/O) stays boxed as `dyn Error + Send + Sync` so
//! those crates never appear in our API. [`into_parts`](ShardError::into_parts) hands back
//! both halves, and never drops the source (a unit test pins that). Every message is
//! lowercase and says what to do.
//!
//! The bot token never appears in any of these errors: no kind has a field that could hold it.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The boxed source every driver error may carry.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Stamps out a public error struct over a kind enum: constructors, `kind()`,
/// `into_source()`, `into_parts()`, `Display` (the kind's message) and `Error::source`.
macro_rules! driver_error {
    ($(#[$meta:meta])* $name:ident => $kind:ident) => {
        $(#[$meta])*
        pub struct $name {
            /// What went wrong, with the details a fixer needs.
            kind: $kind,
            /// The lower-level error that caused it, if any.
            source: Option<BoxError>,
        }

        impl $name {
            /// An error of this kind with no underlying source.
            #[must_use]
            pub fn new(kind: $kind) -> Self {
                Self { kind, source: None }
            }

            /// An error of this kind caused by `source`.
            #[must_use]
            pub fn with_source(kind: $kind, source: impl Into<BoxError>) -> Self {
                Self { kind, source: Some(source.into()) }
            }

            /// What went wrong.
            #[must_use]
            pub const fn kind(&self) -> &$kind {
                &self.kind
            }

            /// The underlying error, consuming this one.
            #[must_use]
            pub fn into_source(self) -> Option<BoxError> {
                self.source
            }

            /// The kind and the underlying error, consuming this one.
            #[must_use]
            pub fn into_parts(self) -> ($kind, Option<BoxError>) {
                (self.kind, self.source)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.kind, f)
            }
        }

        impl Error for $name {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                self.source.as_deref().map(|e| e as &(dyn Error + 'static))
            }
        }

        impl From<$kind> for $name {
            fn from(kind: $kind) -> Self {
                Self::new(kind)
            }
        }
    };
}

driver_error! {
    /// Opening the WebSocket (TCP, TLS and the HTTP upgrade) failed.
    #[derive(Debug)]
    ConnectError => ConnectErrorKind
}

driver_error! {
    /// Fetching `GET /gateway/bot` failed.
    #[derive(Debug)]
    GatewayInfoError => GatewayInfoErrorKind
}

driver_error! {
    /// An identify queue could not hand out a permit.
    #[derive(Debug)]
    IdentifyQueueError => IdentifyQueueErrorKind
}

driver_error! {
    /// `Shard::next_event` stopped: the reason, and what to do about it.
    #[derive(Debug)]
    ShardError => ShardErrorKind
}

driver_error! {
    /// A command sent through a `ShardSender` did not reach the shard's queue.
    #[derive(Debug)]
    SendError => SendErrorKind
}

driver_error! {
    /// A shard configuration was rejected by its builder.
    #[derive(Debug)]
    ConfigError => ConfigErrorKind
}

/// Why opening the WebSocket failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The URL is not a `ws://` or `wss://` URL this client can parse.
    #[error("`{url}` is not a valid ws:// or wss:// url; check the configured gateway url")]
    InvalidUrl {
        /// The offending URL (gateway URLs never contain the token).
        url: String,
    },
    /// `ws://` to a host that is not loopback, without the explicit opt-in.
    #[error(
        "refusing unencrypted ws:// to non-loopback host `{host}`; use wss:// or enable \
         `danger_allow_insecure_ws` if you really mean it"
    )]
    InsecureScheme {
        /// The host that would have been reached without TLS.
        host: String,
    },
    /// The whole connect (DNS, TCP, TLS, upgrade) took longer than the configured timeout.
    #[error("connecting took longer than {after:?}; check the network or raise `connect_timeout`")]
    Timeout {
        /// The configured connect timeout.
        after: Duration,
    },
    /// The host name did not resolve.
    #[error("could not resolve host `{host}`; check the url and your DNS")]
    Resolve {
        /// The host name that did not resolve.
        host: String,
    },
    /// The TCP connection could not be opened.
    #[error("tcp connection to `{host}:{port}` failed; check that the gateway is reachable")]
    Tcp {
        /// The host.
        host: String,
        /// The port.
        port: u16,
    },
    /// The TLS handshake failed (certificate, protocol or name mismatch).
    #[error(
        "tls handshake with `{host}` failed; check the system clock and that the host serves a \
         certificate trusted by the webpki roots"
    )]
    Tls {
        /// The host whose certificate was checked.
        host: String,
    },
    /// The server did not accept the WebSocket upgrade.
    #[error("the websocket upgrade was rejected; check the url's path and query")]
    Handshake,
}

/// Why fetching `GET /gateway/bot` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayInfoErrorKind {
    /// The API base is not an `http://` or `https://` URL this client can parse.
    #[error("`{url}` is not a valid http:// or https:// api base; check `api_base`")]
    InvalidUrl {
        /// The offending API base.
        url: String,
    },
    /// The API could not be reached (the source is a [`ConnectError`]).
    #[error("could not reach the api; check the network and `api_base`")]
    Connect,
    /// Reading or writing the HTTP exchange failed midway.
    #[error("the connection to the api broke during the request; try again")]
    Io,
    /// The whole request took longer than the timeout.
    #[error("the api did not answer within {after:?}; try again later or raise the timeout")]
    Timeout {
        /// The timeout that expired.
        after: Duration,
    },
    /// HTTP 401: the token is wrong.
    #[error("the api rejected the bot token (http 401); check it, retrying will not help")]
    TokenRejected,
    /// Any other non-success status.
    #[error("the api answered http {status}; check `api_base`, then try again later")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The response is not well-formed HTTP/1.1.
    #[error(
        "the api sent a malformed http response; check that `api_base` points at discord's rest api"
    )]
    InvalidResponse,
    /// The response body is larger than this client accepts.
    #[error("the api response is larger than {max} bytes; check that `api_base` is right")]
    ResponseTooLarge {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The body is not the JSON `/gateway/bot` documents.
    #[error(
        "the /gateway/bot body did not parse; check that `api_base` points at discord's rest api"
    )]
    Deserialize,
}

/// Why an identify queue could not hand out a permit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyQueueErrorKind {
    /// The queue's backend (for instance a shared store) failed; the source says how.
    #[error("the identify queue's backend failed; check it, the shard will ask again")]
    Backend,
}

/// Why `Shard::next_event` returned an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardErrorKind {
    /// Discord closed the connection with a code after which reconnecting cannot help.
    #[error("the gateway closed the connection with code {code}: {remedy}")]
    FatalClose {
        /// The close code (4004, 4010–4014, …).
        code: u16,
        /// What to change before trying again (from the close code's documentation).
        remedy: &'static str,
    },
    /// Manual reconnect mode: the connection ended and the shard waits for the caller.
    #[error(
        "disconnected (close code {code:?}, reason {reason:?}); the session {}: call `resume`, \
         `identify` or `reconnect` on the shard to continue",
        if *resumable { "can resume" } else { "cannot resume" }
    )]
    Disconnected {
        /// The close code, or `None` when the connection dropped without a close frame.
        code: Option<u16>,
        /// The close reason text (often empty).
        reason: String,
        /// Whether the session can be resumed.
        resumable: bool,
    },
    /// The shard was closed for good with `close(CloseKind::Final)`.
    #[error("the shard was closed for good; create a new shard to connect again")]
    Closed,
    /// The identify queue failed (the source is an [`IdentifyQueueError`]).
    #[error("the identify queue failed; check it, then call `next_event` again to retry")]
    IdentifyQueue,
    /// Fetching `/gateway/bot` failed (the source is a [`GatewayInfoError`]).
    #[error("could not fetch the gateway url; check the token and `api_base`, then retry")]
    GatewayInfo,
}

/// Why a command did not reach the shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// The command failed validation (the source says which rule); fix it before sending again.
    #[error("the command is invalid; fix it, sending it again will fail the same way")]
    Invalid,
    /// The bounded command queue is full.
    #[error(
        "the command queue is full ({capacity} commands); poll the shard so it drains, or raise \
         `command_queue_capacity`"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The shard was dropped or closed for good; nothing will read this command.
    #[error("the shard is gone (dropped or closed); commands cannot reach it")]
    ShardGone,
}

/// Why a shard configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The sans-IO core's configuration was rejected (the source says which field).
    #[error("the gateway configuration is invalid; fix the field the source names")]
    Core,
    /// A timeout is zero, which would make every attempt fail at once.
    #[error("`{name}` must be greater than zero")]
    ZeroTimeout {
        /// The setting's name.
        name: &'static str,
    },
    /// The command queue cannot hold a single command.
    #[error("`command_queue_capacity` must be at least 1")]
    ZeroQueueCapacity,
    /// Neither a gateway URL nor gateway info was given.
    #[error("no gateway url: set `gateway_url` or pass the result of `fetch_gateway_info`")]
    MissingGatewayUrl,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn into_parts_keeps_the_source() {
        let err = ShardError::with_source(
            ShardErrorKind::IdentifyQueue,
            IdentifyQueueError::new(IdentifyQueueErrorKind::Backend),
        );
        let (kind, source) = err.into_parts();
        assert_eq!(kind, ShardErrorKind::IdentifyQueue);
        let source = source.expect("into_parts must keep the source");
        let inner = source
            .downcast_ref::<IdentifyQueueError>()
            .expect("the source keeps its type");
        assert_eq!(inner.kind(), &IdentifyQueueErrorKind::Backend);
    }

    #[test]
    fn into_source_and_error_source_agree() {
        let err = ConnectError::with_source(
            ConnectErrorKind::Tcp {
                host: "127.0.0.1".into(),
                port: 1,
            },
            io::Error::new(io::ErrorKind::ConnectionRefused, "refused"),
        );
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        let source = err.into_source().expect("source kept");
        assert_eq!(source.to_string(), "refused");
        assert!(SendError::new(SendErrorKind::ShardGone).source().is_none());
    }

    #[test]
    fn messages_are_lowercase_and_say_what_to_do() {
        const CASES: &[(&str, &str)] = &[
            ("token rejected", "check it, retrying will not help"),
            ("queue full", "raise `command_queue_capacity`"),
            ("insecure", "danger_allow_insecure_ws"),
            ("connect timeout", "raise `connect_timeout`"),
            ("closed", "create a new shard"),
            (
                "manual disconnect",
                "call `resume`, `identify` or `reconnect`",
            ),
            ("fatal", "check the token; reconnecting will not help"),
        ];
        let messages = [
            GatewayInfoError::new(GatewayInfoErrorKind::TokenRejected).to_string(),
            SendError::new(SendErrorKind::QueueFull { capacity: 8 }).to_string(),
            ConnectError::new(ConnectErrorKind::InsecureScheme {
                host: "example.com".into(),
            })
            .to_string(),
            ConnectError::new(ConnectErrorKind::Timeout {
                after: Duration::from_secs(10),
            })
            .to_string(),
            ShardError::new(ShardErrorKind::Closed).to_string(),
            ShardError::new(ShardErrorKind::Disconnected {
                code: Some(4000),
                reason: String::new(),
                resumable: true,
            })
            .to_string(),
            ShardError::new(ShardErrorKind::FatalClose {
                code: 4004,
                remedy: "check the token; reconnecting will not help",
            })
            .to_string(),
        ];
        for ((name, needle), message) in CASES.iter().zip(messages) {
            assert!(message.contains(needle), "case {name}: {message}");
            let first = message.chars().next().unwrap_or('a');
            assert!(!first.is_uppercase(), "case {name}: starts lowercase");
        }
    }

    #[test]
    fn fatal_closes_carry_the_close_codes_remedy() {
        use discordgateway_proto::close_code::CloseCode;
        const CASES: &[(&str, u16, &str)] = &[
            ("4004 bad token", 4004, "reconnecting will not help"),
            (
                "4014 privileged intent",
                4014,
                "enable it in the Developer Portal",
            ),
            ("4013 invalid intents", 4013, "send only documented intents"),
            ("4011 sharding", 4011, "connect with more shards"),
        ];
        for &(name, code, needle) in CASES {
            let remedy = CloseCode::from(code)
                .remedy()
                .expect("fatal codes have a remedy");
            let message = ShardError::new(ShardErrorKind::FatalClose { code, remedy }).to_string();
            assert!(message.contains(needle), "case {name}: {message}");
            assert!(
                message.contains(&code.to_string()),
                "case {name}: names the code"
            );
        }
    }

    #[test]
    fn errors_are_send_sync_and_static() {
        fn check<T: Error + Send + Sync + 'static>() {}
        check::<ConnectError>();
        check::<GatewayInfoError>();
        check::<IdentifyQueueError>();
        check::<ShardError>();
        check::<SendError>();
        check::<ConfigError>();
    }
}
