//! Opening connections: TCP, then TLS for `wss://`/`https://`, then (for the gateway) the
//! WebSocket upgrade with tokio-websockets.
//!
//! - **TLS** is rustls with the `ring` crypto provider chosen here explicitly, so no user ever
//!   meets rustls' "no process-level CryptoProvider" panic and nothing process-wide is installed.
//!   Certificates are verified against the webpki roots; the config is built once per process.
//! - **Plain `ws://`** is allowed to loopback hosts (`localhost`, `127.0.0.0/8`, `::1`), which is
//!   how the emulator is reached, and elsewhere only with
//!   [`ConnectOptions::danger_allow_insecure_ws`].
//! - **One timeout** bounds the whole attempt: DNS, TCP, TLS and the HTTP upgrade.
//! - **Limits**: tokio-websockets enforces one limit, the size of a whole (reassembled) message;
//!   it comes from [`ConnectOptions::max_message_size`]. Discord's largest payloads (READY and
//!   GUILD_CREATE of big guilds, before decompression) stay far below the default.
//!
//! GATEWAY.md §1 lists the URLs and query parameters; the proto crate builds them.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use discordgateway_proto::url::GatewayUrl;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, Limits, MaybeTlsStream, WebSocketStream};

use crate::error::{ConnectError, ConnectErrorKind};

/// A WebSocket over TCP, with or without TLS.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A TCP stream, with or without TLS.
pub(crate) type Stream = MaybeTlsStream<TcpStream>;

/// How connections are opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Bound on one whole connection attempt (DNS, TCP, TLS, upgrade). Default 10 s.
    pub timeout: Duration,
    /// Largest incoming WebSocket message accepted, in bytes. Default 16 MiB.
    pub max_message_size: usize,
    /// Allow unencrypted `ws://`/`http://` to hosts that are not loopback. Default `false`:
    /// the bot token would cross the network in clear text.
    pub danger_allow_insecure_ws: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_message_size: 16 * 1024 * 1024,
            danger_allow_insecure_ws: false,
        }
    }
}

/// Where to open a stream: a gateway URL, or a parsed `http://`/`https://` API base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Whether the scheme asks for TLS (`wss`, `https`).
    pub(crate) tls: bool,
    /// The host, without IPv6 brackets.
    pub(crate) host: String,
    /// The port (explicit, or 443 with TLS and 80 without).
    pub(crate) port: u16,
    /// Path and query, starting with `/`.
    pub(crate) path: String,
}

impl Endpoint {
    /// The endpoint of a gateway URL (already validated by the proto crate's parser).
    pub(crate) fn of_gateway(url: &GatewayUrl) -> Self {
        let host = url.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Self {
            tls: url.is_secure(),
            host: host.to_owned(),
            port: url.port_or_default(),
            path: url.path().to_owned(),
        }
    }

    /// Parses `url`; the scheme must be one of `schemes` (`(name, tls)` pairs).
    pub(crate) fn parse(url: &str, schemes: &[(&str, bool)]) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let &(_, tls) = schemes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(scheme))?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            Some(port) => port.parse().ok()?,
            None if tls => 443,
            None => 80,
        };
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Some(Self {
            tls,
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// Whether the host is this machine (`localhost` or a loopback address).
    pub(crate) fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Fails unless TLS is used, the host is loopback, or insecure connections are allowed.
    pub(crate) fn check_secure(&self, options: &ConnectOptions) -> Result<(), ConnectError> {
        if self.tls || options.danger_allow_insecure_ws || self.is_loopback() {
            Ok(())
        } else {
            Err(ConnectError::new(ConnectErrorKind::InsecureScheme {
                host: self.host.clone(),
            }))
        }
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host, Some(port))),
        Some(_) => None,
        None => Some((authority, None)),
    }
}

/// The process-wide TLS client config: ring provider, webpki roots, TLS 1.2 and 1.3.
fn tls_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::clone(CONFIG.get_or_init(|| Arc::new(config))))
}

/// Opens TCP (trying each resolved address in turn) and, if asked, TLS. No timeout here.
pub(crate) async fn open_stream(endpoint: &Endpoint) -> Result<Stream, ConnectError> {
    let host = endpoint.host.as_str();
    let addrs: Vec<_> = tokio::net::lookup_host((host, endpoint.port))
        .await
        .map_err(|e| ConnectError::with_source(ConnectErrorKind::Resolve { host: host.into() }, e))?
        .collect();
    let mut last_error = None;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let tcp_kind = || ConnectErrorKind::Tcp {
        host: host.into(),
        port: endpoint.port,
    };
    let tcp = match (tcp, last_error) {
        (Some(tcp), _) => tcp,
        (None, Some(e)) => return Err(ConnectError::with_source(tcp_kind(), e)),
        (None, None) => {
            return Err(ConnectError::new(ConnectErrorKind::Resolve {
                host: host.into(),
            }));
        }
    };
    // Gateway frames are small and latency matters more than batching.
    tcp.set_nodelay(true)
        .map_err(|e| ConnectError::with_source(tcp_kind(), e))?;
    if !endpoint.tls {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let tls_kind = || ConnectErrorKind::Tls { host: host.into() };
    let config = tls_config().map_err(|e| ConnectError::with_source(tls_kind(), e))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ConnectError::with_source(tls_kind(), e))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| ConnectError::with_source(tls_kind(), e))?;
    Ok(MaybeTlsStream::Rustls(stream))
}

/// Runs `attempt` under the connect timeout of `options`.
pub(crate) async fn with_timeout<T>(
    options: &ConnectOptions,
    attempt: impl Future<Output = Result<T, ConnectError>>,
) -> Result<T, ConnectError> {
    tokio::time::timeout(options.timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(ConnectError::new(ConnectErrorKind::Timeout {
                after: options.timeout,
            }))
        })
}

/// Opens a WebSocket to a gateway URL, bounded by the connect timeout.
///
/// # Errors
///
/// A [`ConnectError`] whose kind names the step that failed: insecure scheme, DNS, TCP, TLS,
/// the upgrade, or the timeout.
pub(crate) async fn connect(
    url: &GatewayUrl,
    options: &ConnectOptions,
) -> Result<WsStream, ConnectError> {
    let endpoint = Endpoint::of_gateway(url);
    endpoint.check_secure(options)?;
    let full = url.to_string();
    let builder = ClientBuilder::new()
        .uri(&full)
        .map_err(|e| {
            ConnectError::with_source(ConnectErrorKind::InvalidUrl { url: full.clone() }, e)
        })?
        .limits(Limits::default().max_payload_len(Some(options.max_message_size)));
    with_timeout(options, async {
        let stream = open_stream(&endpoint).await?;
        let (ws, _response) = builder
            .connect_on(stream)
            .await
            .map_err(|e| ConnectError::with_source(ConnectErrorKind::Handshake, e))?;
        Ok(ws)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    const HTTP: &[(&str, bool)] = &[("http", false), ("https", true)];

    /// A gateway URL from a test string.
    fn gw(url: &str) -> GatewayUrl {
        GatewayUrl::parse(url).expect("valid test url")
    }

    #[test]
    fn parses_api_bases() {
        type Case = (
            &'static str,
            &'static str,
            Option<(bool, &'static str, u16, &'static str)>,
        );
        const CASES: &[Case] = &[
            (
                "discord",
                "https://discord.com/api/v10",
                Some((true, "discord.com", 443, "/api/v10")),
            ),
            (
                "query without path",
                "https://x?a=1",
                Some((true, "x", 443, "/?a=1")),
            ),
            (
                "emulator",
                "http://127.0.0.1:8080/api/v10",
                Some((false, "127.0.0.1", 8080, "/api/v10")),
            ),
            (
                "ipv6",
                "http://[::1]:9/api",
                Some((false, "::1", 9, "/api")),
            ),
            (
                "ipv6 default port",
                "http://[::1]",
                Some((false, "::1", 80, "/")),
            ),
            (
                "upper-case scheme",
                "HTTPS://x",
                Some((true, "x", 443, "/")),
            ),
            ("ws is not an api base", "ws://x", None),
            ("no scheme", "discord.com", None),
            ("empty host", "http://:80/", None),
            ("bad port", "http://x:port/", None),
            ("userinfo", "http://a@x/", None),
        ];
        for &(name, url, want) in CASES {
            let got = Endpoint::parse(url, HTTP).map(|e| (e.tls, e.host, e.port, e.path));
            let want = want.map(|(t, h, p, path)| (t, h.to_owned(), p, path.to_owned()));
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn plain_ws_only_to_loopback_unless_allowed() {
        const CASES: &[(&str, &str, bool, bool)] = &[
            ("localhost", "ws://localhost:1/", false, true),
            ("ipv4 loopback", "ws://127.0.0.2:1/", false, true),
            ("ipv6 loopback", "ws://[::1]:1/", false, true),
            ("remote", "ws://gateway.discord.gg/", false, false),
            ("remote ip", "ws://10.0.0.1/", false, false),
            ("remote allowed", "ws://gateway.discord.gg/", true, true),
            ("tls", "wss://gateway.discord.gg/", false, true),
        ];
        for &(name, url, allow, ok) in CASES {
            let options = ConnectOptions {
                danger_allow_insecure_ws: allow,
                ..ConnectOptions::default()
            };
            let endpoint = Endpoint::of_gateway(&gw(url));
            assert_eq!(endpoint.check_secure(&options).is_ok(), ok, "case {name}");
        }
    }

    #[tokio::test]
    async fn insecure_remote_is_refused_before_any_io() {
        let err = connect(&gw("ws://gateway.discord.gg/"), &ConnectOptions::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(err.kind(), ConnectErrorKind::InsecureScheme { host } if host == "gateway.discord.gg")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_hits_the_connect_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = gw(&format!("ws://{}/", listener.local_addr().expect("addr")));
        let accept = tokio::spawn(async move { listener.accept().await });
        let options = ConnectOptions {
            timeout: Duration::from_secs(3),
            ..ConnectOptions::default()
        };
        let err = connect(&url, &options).await.expect_err("times out");
        assert_eq!(
            err.kind(),
            &ConnectErrorKind::Timeout {
                after: Duration::from_secs(3)
            }
        );
        drop(accept);
    }

    /// A loopback server that answers the first connection with `reply`; returns its port.
    async fn serve_once(reply: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(reply).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn a_non_tls_server_fails_the_tls_handshake_without_panicking() {
        let port = serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let url = gw(&format!("wss://localhost:{port}/"));
        let err = connect(&url, &ConnectOptions::default())
            .await
            .expect_err("not tls");
        assert!(
            matches!(err.kind(), ConnectErrorKind::Tls { host } if host == "localhost"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_upgrade_is_a_handshake_error() {
        let port = serve_once(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        let err = connect(
            &gw(&format!("ws://127.0.0.1:{port}/")),
            &ConnectOptions::default(),
        )
        .await
        .expect_err("no upgrade");
        assert_eq!(err.kind(), &ConnectErrorKind::Handshake, "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_port_is_a_tcp_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let err = connect(
            &gw(&format!("ws://127.0.0.1:{port}/")),
            &ConnectOptions::default(),
        )
        .await
        .expect_err("refused");
        assert!(
            matches!(err.kind(), ConnectErrorKind::Tcp { .. }),
            "{err:?}"
        );
    }
}
