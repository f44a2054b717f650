//! Gateway URLs: a small validating parser and builder (GATEWAY.md §1.2, §3.6).
//!
//! The URL a client connects to is a user-given or Discord-given base (`wss://host[:port][/path]`,
//! perhaps with a query, perhaps — like READY's `resume_gateway_url` — without) plus three query
//! parameters this library controls: `v`, `encoding` and `compress`. [`GatewayUrl::parse`]
//! splits the base into scheme, host, port, path and query; [`GatewayUrl`]'s `Display` rebuilds
//! it with our parameters first and any other query parameters after them, unchanged.
//!
//! The parser is a hand-written split on the RFC 3986 delimiters, restricted to what a
//! WebSocket URL (RFC 6455 §3) may hold:
//!
//! - scheme `ws` or `wss` (any case); anything else is [`UrlError::UnsupportedScheme`];
//! - host: a DNS name or IPv4 address (letters, digits, `-`, `.`, `_`), or a bracketed IPv6
//!   address (an unbracketed one is rejected); optional port `0..=65535`;
//! - any path (empty means `/`); user info (`user:pass@`) and fragments (`#...`) are
//!   rejected, because WebSocket URLs may not carry fragments and credentials would end up
//!   in logs;
//! - whitespace and control characters anywhere are rejected (after trimming both ends).
//!
//! Existing `v`, `encoding` and `compress` values are read and validated (a typo in a
//! configured URL is an error, not silently replaced); when a key repeats, the last one wins.
//! [`GatewayUrl::with_params`] then replaces them with the values the client really uses.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Discord's public gateway, as returned by `GET /gateway` (GATEWAY.md §1.1).
pub const DISCORD_GATEWAY: &str = "wss://gateway.discord.gg";

/// Why a URL or a query value was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` at the start.
    #[error("the gateway url has no scheme: write it as wss://host[:port][/path]")]
    MissingScheme,
    /// A scheme other than `ws` or `wss`.
    #[error("unsupported url scheme `{scheme}`: the gateway needs ws:// or wss://")]
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
    },
    /// Nothing between `://` and the path.
    #[error("the gateway url has no host: write it as wss://host[:port][/path]")]
    EmptyHost,
    /// A host with characters a DNS name or IP address cannot have, or a bad IPv6 literal.
    #[error("invalid host `{host}` in the gateway url: use a DNS name, an IPv4 address or [IPv6]")]
    InvalidHost {
        /// The host found.
        host: String,
    },
    /// A port that is not a number in `0..=65535`.
    #[error("invalid port `{port}` in the gateway url: use a number from 0 to 65535")]
    InvalidPort {
        /// The port text found.
        port: String,
    },
    /// `user:password@` before the host.
    #[error("the gateway url contains user info (`...@`): remove it, the gateway does not use it")]
    UserInfo,
    /// A `#fragment`.
    #[error(
        "the gateway url contains a fragment (`#...`): remove it, websocket urls cannot have one"
    )]
    Fragment,
    /// Whitespace or a control character inside the URL.
    #[error(
        "the gateway url contains whitespace or a control character at byte {index}: remove it"
    )]
    InvalidCharacter {
        /// Byte offset in the (trimmed) URL.
        index: usize,
    },
    /// A `v` other than 9 or 10.
    #[error("unsupported gateway version `{value}`: use 10 (or 9)")]
    UnsupportedVersion {
        /// The value found.
        value: String,
    },
    /// An `encoding` other than `json` or `etf`.
    #[error("unknown encoding `{value}`: use json or etf")]
    UnknownEncoding {
        /// The value found.
        value: String,
    },
    /// A `compress` other than `zlib-stream`, `zstd-stream` (or `none`).
    #[error("unknown compression `{value}`: use zlib-stream, zstd-stream or none")]
    UnknownCompression {
        /// The value found.
        value: String,
    },
}

/// Defines a fieldless enum with a fixed wire string per variant, `as_str`, `Display` and
/// `FromStr` (failing with the named [`UrlError`] variant).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])* $name:ident, $error:ident,
        { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The value as written in the URL query.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UrlError;

            fn from_str(s: &str) -> Result<Self, UrlError> {
                match s {
                    $( $text => Ok(Self::$variant), )+
                    _ => Err(UrlError::$error { value: s.to_owned() }),
                }
            }
        }
    };
}

wire_enum!(
    /// Gateway API version, the `v` query parameter (GATEWAY.md §1.3).
    ///
    /// Only the two current versions exist here. 6–8 are deprecated and behave
    /// differently (no threads before 9, no MESSAGE_CONTENT gating before 10), and older
    /// ones are discontinued, so they are rejected rather than half supported.
    #[derive(Default)]
    ApiVersion, UnsupportedVersion, {
        /// Version 9.
        V9 => "9",
        /// Version 10, the default.
        #[default]
        V10 => "10",
    }
);

impl ApiVersion {
    /// The version number.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::V9 => 9,
            Self::V10 => 10,
        }
    }
}

wire_enum!(
    /// Encoding of the frames the server sends, the `encoding` query parameter.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    Encoding, UnknownEncoding, {
        /// JSON text, the default.
        #[default]
        Json => "json",
        /// Erlang External Term Format.
        Etf => "etf",
    }
);

wire_enum!(
    /// Transport compression of server→client data, the `compress` query parameter (§7).
    ///
    /// [`Compression::None`] is written by leaving `compress` out; `compress=none` is accepted
    /// when parsing (it is not a Discord value, but it is what a user would type).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    Compression, UnknownCompression, {
        /// No transport compression, the default.
        #[default]
        None => "none",
        /// One zlib stream per connection, messages end with `00 00 FF FF`.
        ZlibStream => "zlib-stream",
        /// One zstd stream per connection, one message per WebSocket frame.
        ZstdStream => "zstd-stream",
    }
);

/// The query parameters this library sets on every gateway connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GatewayParams {
    /// `v`, default 10.
    pub version: ApiVersion,
    /// `encoding`, default JSON.
    pub encoding: Encoding,
    /// `compress`, default none.
    pub compression: Compression,
}

/// A validated gateway URL; `Display` writes it with `v`, `encoding` and `compress`.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::url::{Compression, GatewayParams, GatewayUrl};
///
/// let params = GatewayParams { compression: Compression::ZstdStream, ..GatewayParams::default() };
/// let url = GatewayUrl::parse("wss://gateway-us-east1-b.discord.gg")?.with_params(params);
/// assert_eq!(
///     url.to_string(),
///     "wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json&compress=zstd-stream"
/// );
/// assert!(!url.is_loopback());
/// # Ok::<(), discordgateway_proto::url::UrlError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GatewayUrl {
    /// `wss` (true) or `ws` (false).
    secure: bool,
    /// Host as given; IPv6 literals keep their brackets.
    host: String,
    /// Explicit port, if any.
    port: Option<u16>,
    /// Path, at least `/`.
    path: String,
    /// Query parameters other than ours, `&`-joined, in their original order.
    extra_query: String,
    /// Our parameters.
    params: GatewayParams,
}

impl GatewayUrl {
    /// Parses and validates a gateway URL; see the [module docs](self) for the rules.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming the part that is wrong.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let input = input.trim();
        if let Some((index, _)) = input
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(UrlError::InvalidCharacter { index });
        }
        let (scheme, rest) = input.split_once("://").ok_or(UrlError::MissingScheme)?;
        let secure = if scheme.eq_ignore_ascii_case("wss") {
            true
        } else if scheme.eq_ignore_ascii_case("ws") {
            false
        } else {
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            });
        };
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut url = Self {
            secure,
            host: host.to_owned(),
            port,
            path: if path.is_empty() { "/" } else { path }.to_owned(),
            extra_query: String::new(),
            params: GatewayParams::default(),
        };
        url.read_query(query)?;
        Ok(url)
    }

    /// Reads our parameters out of `query` and keeps the others.
    fn read_query(&mut self, query: &str) -> Result<(), UrlError> {
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "v" => self.params.version = value.parse()?,
                "encoding" => self.params.encoding = value.parse()?,
                "compress" => self.params.compression = value.parse()?,
                _ => {
                    if !self.extra_query.is_empty() {
                        self.extra_query.push('&');
                    }
                    self.extra_query.push_str(pair);
                }
            }
        }
        Ok(())
    }

    /// The same URL with `params` replacing the `v`, `encoding` and `compress` it had.
    #[must_use]
    pub fn with_params(mut self, params: GatewayParams) -> Self {
        self.params = params;
        self
    }

    /// The `v`, `encoding` and `compress` values (defaults for those the URL lacked).
    #[must_use]
    pub fn params(&self) -> GatewayParams {
        self.params
    }

    /// Whether the scheme is `wss`.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host; an IPv6 literal keeps its brackets (`[::1]`).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, if the URL had one.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to connect to: the explicit one, else 443 for `wss` and 80 for `ws`.
    #[must_use]
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 443 } else { 80 })
    }

    /// The path, at least `/`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the host is this machine: `localhost`, `127.0.0.0/8`, `[::1]` or an
    /// IPv4-mapped loopback. The tokio layer allows unencrypted `ws://` only for these.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        if self.host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        if let Ok(v4) = self.host.parse::<Ipv4Addr>() {
            return v4.is_loopback();
        }
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|v6| {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            })
    }
}

impl FromStr for GatewayUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, UrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for GatewayUrl {
    /// The full URL: `scheme://host[:port]path?v=..&encoding=..[&compress=..][&others]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let GatewayParams {
            version,
            encoding,
            compression,
        } = self.params;
        write!(f, "{}?v={version}&encoding={encoding}", self.path)?;
        if compression != Compression::None {
            write!(f, "&compress={compression}")?;
        }
        if !self.extra_query.is_empty() {
            write!(f, "&{}", self.extra_query)?;
        }
        Ok(())
    }
}

/// Splits `host[:port]` or `[v6][:port]` and validates both.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    let invalid_host = || UrlError::InvalidHost {
        host: authority.to_owned(),
    };
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or_else(invalid_host)?;
        let (host, after) = authority.split_at(end + 1);
        if host[1..end].parse::<Ipv6Addr>().is_err() {
            return Err(invalid_host());
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or_else(invalid_host)?),
            ),
        }
    } else if authority.matches(':').count() > 1 {
        return Err(invalid_host());
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(UrlError::EmptyHost);
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if !host.chars().all(valid) {
            return Err(invalid_host());
        }
        (host, port)
    };
    let port = port
        .map(|port| {
            let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
            digits
                .then(|| port.parse::<u16>().ok())
                .flatten()
                .ok_or_else(|| UrlError::InvalidPort {
                    port: port.to_owned(),
                })
        })
        .transpose()?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse, apply the default params, print.
    fn rebuilt(input: &str) -> Result<String, UrlError> {
        GatewayUrl::parse(input).map(|url| url.with_params(GatewayParams::default()).to_string())
    }

    #[test]
    fn rebuilds_with_our_params() {
        const CASES: &[(&str, &str, &str)] = &[
            (
                "bare host",
                "wss://gateway.discord.gg",
                "wss://gateway.discord.gg/?v=10&encoding=json",
            ),
            (
                "trailing slash",
                "wss://gateway.discord.gg/",
                "wss://gateway.discord.gg/?v=10&encoding=json",
            ),
            (
                "replaces ours",
                "wss://g.example/?v=9&encoding=etf&compress=zlib-stream",
                "wss://g.example/?v=10&encoding=json",
            ),
            (
                "keeps others",
                "wss://g.example/?x=1&v=9&y",
                "wss://g.example/?v=10&encoding=json&x=1&y",
            ),
            (
                "empty pairs",
                "wss://g.example/?&&v=9&",
                "wss://g.example/?v=10&encoding=json",
            ),
            (
                "query no path",
                "wss://g.example?v=9",
                "wss://g.example/?v=10&encoding=json",
            ),
            (
                "port and path",
                "ws://127.0.0.1:8080/gw/x",
                "ws://127.0.0.1:8080/gw/x?v=10&encoding=json",
            ),
            (
                "ipv6 with port",
                "ws://[::1]:9000",
                "ws://[::1]:9000/?v=10&encoding=json",
            ),
            (
                "ipv6 no port",
                "wss://[2001:db8::1]/p",
                "wss://[2001:db8::1]/p?v=10&encoding=json",
            ),
            (
                "scheme case",
                "WSS://Gateway.Discord.gg",
                "wss://Gateway.Discord.gg/?v=10&encoding=json",
            ),
            (
                "trimmed",
                "  wss://g.example \n",
                "wss://g.example/?v=10&encoding=json",
            ),
            (
                "port 0",
                "ws://localhost:0",
                "ws://localhost:0/?v=10&encoding=json",
            ),
        ];
        for (name, input, want) in CASES {
            assert_eq!(rebuilt(input).as_deref(), Ok(*want), "case {name}");
        }
    }

    #[test]
    fn rejects_bad_urls() {
        let host = |h: &str| UrlError::InvalidHost { host: h.to_owned() };
        let port = |p: &str| UrlError::InvalidPort { port: p.to_owned() };
        let cases: &[(&str, &str, UrlError)] = &[
            ("no scheme", "gateway.discord.gg", UrlError::MissingScheme),
            (
                "https",
                "https://g.example",
                UrlError::UnsupportedScheme {
                    scheme: "https".into(),
                },
            ),
            (
                "empty scheme",
                "://g.example",
                UrlError::UnsupportedScheme {
                    scheme: String::new(),
                },
            ),
            ("empty host", "wss://", UrlError::EmptyHost),
            ("empty host with path", "wss:///gw", UrlError::EmptyHost),
            ("only port", "wss://:443", UrlError::EmptyHost),
            ("bad host char", "wss://g*x.example", host("g*x.example")),
            ("bad ipv6", "ws://[::g]:1", host("[::g]:1")),
            ("unclosed ipv6", "ws://[::1", host("[::1")),
            ("junk after ipv6", "ws://[::1]x", host("[::1]x")),
            ("bare ipv6", "ws://::1", host("::1")),
            ("port too big", "ws://h:65536", port("65536")),
            ("empty port", "ws://h:", port("")),
            ("signed port", "ws://h:+80", port("+80")),
            ("two colons", "ws://h:1:2", host("h:1:2")),
            ("user info", "wss://user:pw@g.example", UrlError::UserInfo),
            ("fragment", "wss://g.example/#top", UrlError::Fragment),
            (
                "inner space",
                "wss://g.example/a b",
                UrlError::InvalidCharacter { index: 17 },
            ),
            (
                "bad v",
                "wss://g.example/?v=8",
                UrlError::UnsupportedVersion { value: "8".into() },
            ),
            (
                "empty v",
                "wss://g.example/?v",
                UrlError::UnsupportedVersion {
                    value: String::new(),
                },
            ),
            (
                "bad encoding",
                "wss://g.example/?encoding=xml",
                UrlError::UnknownEncoding {
                    value: "xml".into(),
                },
            ),
            (
                "bad compress",
                "wss://g.example/?compress=gzip",
                UrlError::UnknownCompression {
                    value: "gzip".into(),
                },
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(GatewayUrl::parse(input).as_ref(), Err(want), "case {name}");
        }
    }

    #[test]
    fn reads_existing_params() {
        let url =
            GatewayUrl::parse("ws://h/?encoding=etf&v=9&compress=zstd-stream&v=10").expect("valid");
        let want = GatewayParams {
            version: ApiVersion::V10,
            encoding: Encoding::Etf,
            compression: Compression::ZstdStream,
        };
        assert_eq!(url.params(), want, "last v wins");
        assert_eq!(
            url.to_string(),
            "ws://h/?v=10&encoding=etf&compress=zstd-stream"
        );
        let none = GatewayUrl::parse("ws://h/?compress=none").expect("valid");
        assert_eq!(none.params().compression, Compression::None);
    }

    #[test]
    fn parts_and_loopback() {
        // (url, host, port_or_default, path, secure, loopback)
        const CASES: &[(&str, &str, u16, &str, bool, bool)] = &[
            (
                "wss://gateway.discord.gg",
                "gateway.discord.gg",
                443,
                "/",
                true,
                false,
            ),
            (
                "ws://localhost:1234/x",
                "localhost",
                1234,
                "/x",
                false,
                true,
            ),
            ("ws://LOCALHOST", "LOCALHOST", 80, "/", false, true),
            ("ws://127.0.0.1", "127.0.0.1", 80, "/", false, true),
            ("ws://127.8.9.10:5", "127.8.9.10", 5, "/", false, true),
            ("ws://[::1]", "[::1]", 80, "/", false, true),
            (
                "ws://[::ffff:127.0.0.1]",
                "[::ffff:127.0.0.1]",
                80,
                "/",
                false,
                true,
            ),
            ("ws://10.0.0.1", "10.0.0.1", 80, "/", false, false),
            ("ws://[2001:db8::1]", "[2001:db8::1]", 80, "/", false, false),
            (
                "ws://localhost.example",
                "localhost.example",
                80,
                "/",
                false,
                false,
            ),
        ];
        for &(input, host, port, path, secure, loopback) in CASES {
            let url = GatewayUrl::parse(input).expect(input);
            assert_eq!(url.host(), host, "{input}");
            assert_eq!(url.port_or_default(), port, "{input}");
            assert_eq!(url.path(), path, "{input}");
            assert_eq!(url.is_secure(), secure, "{input}");
            assert_eq!(url.is_loopback(), loopback, "{input}");
        }
    }

    #[test]
    fn enums_round_trip_their_wire_strings() {
        for v in [ApiVersion::V9, ApiVersion::V10] {
            assert_eq!(v.as_str().parse::<ApiVersion>(), Ok(v));
            assert_eq!(v.as_str(), v.number().to_string());
        }
        for e in [Encoding::Json, Encoding::Etf] {
            assert_eq!(e.as_str().parse::<Encoding>(), Ok(e));
            let json = serde_json::to_string(&e).expect("ser");
            assert_eq!(json, format!("\"{e}\""));
        }
        for c in [
            Compression::None,
            Compression::ZlibStream,
            Compression::ZstdStream,
        ] {
            assert_eq!(c.as_str().parse::<Compression>(), Ok(c));
            let json = serde_json::to_string(&c).expect("ser");
            assert_eq!(serde_json::from_str::<Compression>(&json).expect("de"), c);
            assert_eq!(json, format!("\"{c}\""));
        }
        assert!(
            "JSON".parse::<Encoding>().is_err(),
            "values are case-sensitive"
        );
    }
}
