//! Fetching `GET {api_base}/gateway/bot` (GATEWAY.md §1.1): the URL to connect to, the
//! recommended shard count and the session-start budget.
//!
//! # Why a hand-written HTTP/1.1 GET
//!
//! This crate calls exactly one REST route, once per process start (and again only when the
//! cached URL stops working). A general HTTP client (hyper, reqwest) would bring a second TLS
//! stack or at least a second connection layer and a large share of this crate's compile time
//! for that one request. Instead the request goes over the same TCP/TLS connector as the
//! gateway (see `connect.rs`, same rustls config, same loopback rule for plain `http://`), and
//! the response is parsed with `httparse`: status line and headers, then a body framed by
//! `Content-Length`, by `Transfer-Encoding: chunked`, or by the end of the connection (the
//! request says `Connection: close`). Responses are capped at [`MAX_RESPONSE`] bytes.
//!
//! The API base is overridable, so the same code works against the emulator, e.g.
//! `http://127.0.0.1:PORT/api/v10`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use discordgateway_proto::token::Token;

use crate::connect::{ConnectOptions, Endpoint, open_stream};
use crate::error::{GatewayInfoError, GatewayInfoErrorKind};

/// Discord's REST API base for the API version this crate speaks.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";

/// The largest `/gateway/bot` response accepted, headers included (64 KiB; real ones are ~200 B).
pub const MAX_RESPONSE: usize = 64 * 1024;

/// The answer of `GET /gateway/bot`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct GatewayInfo {
    /// The `wss://` URL to connect to (without query parameters).
    pub url: String,
    /// Discord's recommended shard count.
    pub shards: u32,
    /// The session-start budget and identify concurrency.
    pub session_start_limit: SessionStartLimit,
}

/// The session-start budget of `GET /gateway/bot` (GATEWAY.md §1.1, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SessionStartLimit {
    /// Session starts (Identifies) allowed per window.
    pub total: u32,
    /// Session starts left in the current window.
    pub remaining: u32,
    /// Time until the window resets (sent as milliseconds).
    #[serde(deserialize_with = "millis")]
    pub reset_after: Duration,
    /// Identifies allowed per 5 s (the number of identify buckets).
    pub max_concurrency: u32,
}

/// Deserializes a whole number of milliseconds into a [`Duration`].
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

/// Fetches `GET {api_base}/gateway/bot` with `Authorization: Bot <token>`.
///
/// `api_base` is [`DEFAULT_API_BASE`] for Discord, or the emulator's, e.g.
/// `http://127.0.0.1:PORT/api/v10`. Plain `http://` follows the same rule as `ws://`: loopback
/// hosts only, unless [`ConnectOptions::danger_allow_insecure_ws`] is set. The whole request is
/// bounded by [`ConnectOptions::timeout`].
///
/// # Errors
///
/// [`GatewayInfoErrorKind::TokenRejected`] for HTTP 401 (retrying will not help), `Status` for
/// other failures, `Connect`/`Io`/`Timeout` for the network, `InvalidResponse`,
/// `ResponseTooLarge` or `Deserialize` when the answer is not what Discord sends.
pub async fn fetch_gateway_info(
    api_base: &str,
    token: &Token,
    options: &ConnectOptions,
) -> Result<GatewayInfo, GatewayInfoError> {
    let url = format!("{}/gateway/bot", api_base.trim_end_matches('/'));
    let endpoint = Endpoint::parse(&url, &[("http", false), ("https", true)]).ok_or_else(|| {
        GatewayInfoError::new(GatewayInfoErrorKind::InvalidUrl {
            url: api_base.to_owned(),
        })
    })?;
    endpoint
        .check_secure(options)
        .map_err(|e| GatewayInfoError::with_source(GatewayInfoErrorKind::Connect, e))?;
    let exchange = tokio::time::timeout(options.timeout, get(&endpoint, token.expose_secret()));
    let (status, body) = exchange.await.map_err(|_| {
        GatewayInfoError::new(GatewayInfoErrorKind::Timeout {
            after: options.timeout,
        })
    })??;
    match status {
        200..=299 => serde_json::from_slice(&body)
            .map_err(|e| GatewayInfoError::with_source(GatewayInfoErrorKind::Deserialize, e)),
        401 => Err(GatewayInfoError::new(GatewayInfoErrorKind::TokenRejected)),
        status => Err(GatewayInfoError::new(GatewayInfoErrorKind::Status {
            status,
        })),
    }
}

/// Sends the GET and reads the response: `(status, body)`.
async fn get(endpoint: &Endpoint, token: &str) -> Result<(u16, Vec<u8>), GatewayInfoError> {
    let mut stream = open_stream(endpoint)
        .await
        .map_err(|e| GatewayInfoError::with_source(GatewayInfoErrorKind::Connect, e))?;
    let host = match (endpoint.host.contains(':'), endpoint.port) {
        (true, port) => format!("[{}]:{port}", endpoint.host),
        (false, port) => format!("{}:{port}", endpoint.host),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bot {token}\r\n\
         User-Agent: DiscordBot ({}, {})\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        endpoint.path,
        env!("CARGO_PKG_REPOSITORY"),
        env!("CARGO_PKG_VERSION"),
    );
    let io = |e| GatewayInfoError::with_source(GatewayInfoErrorKind::Io, e);
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(io)?;
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE {
            return Err(GatewayInfoError::new(
                GatewayInfoErrorKind::ResponseTooLarge { max: MAX_RESPONSE },
            ));
        }
        if let Some(response) = parse_response(&buf, n == 0)? {
            return Ok(response);
        }
        if n == 0 {
            return Err(GatewayInfoError::new(GatewayInfoErrorKind::InvalidResponse));
        }
    }
}

/// Parses a complete HTTP/1.1 response from `buf`, or `None` if more bytes are needed.
/// `eof` says the peer closed, which ends a body that has no other framing.
fn parse_response(buf: &[u8], eof: bool) -> Result<Option<(u16, Vec<u8>)>, GatewayInfoError> {
    let invalid = || GatewayInfoError::new(GatewayInfoErrorKind::InvalidResponse);
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(GatewayInfoError::with_source(
                GatewayInfoErrorKind::InvalidResponse,
                e,
            ));
        }
    };
    let status = response.code.ok_or_else(invalid)?;
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().ends_with(b"chunked"));
    let length = header("content-length")
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(invalid)
        })
        .transpose()?;
    let body = &buf[head_len..];
    let body = if chunked {
        decode_chunked(body).map_err(|()| invalid())?
    } else if let Some(length) = length {
        body.get(..length).map(<[u8]>::to_vec)
    } else {
        eof.then(|| body.to_vec())
    };
    Ok(body.map(|body| (status, body)))
}

/// Decodes a chunked body: `Ok(None)` while incomplete, `Err` when malformed.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let mut out = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(data) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(()),
        };
        data = &data[start..];
        if size == 0 {
            // Optional trailers, then an empty line.
            let done = data.starts_with(b"\r\n") || data.windows(4).any(|w| w == b"\r\n\r\n");
            return Ok(done.then_some(out));
        }
        let size = usize::try_from(size).map_err(|_| ())?;
        let Some(chunk) = data.get(..size) else {
            return Ok(None);
        };
        match data.get(size..size + 2) {
            None | Some(b"\r") => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return Err(()),
        }
        out.extend_from_slice(chunk);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    const BODY: &str = r#"{"url":"ws://127.0.0.1:1","shards":2,"session_start_limit":{"total":1000,"remaining":999,"reset_after":1000,"max_concurrency":16}}"#;

    #[test]
    fn frames_bodies_by_length_chunks_or_eof() {
        type Case = (
            &'static str,
            &'static str,
            bool,
            Result<Option<(u16, &'static str)>, ()>,
        );
        const CASES: &[Case] = &[
            (
                "length",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                false,
                Ok(Some((200, "{}"))),
            ),
            (
                "length, more to come",
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
                false,
                Ok(None),
            ),
            (
                "head incomplete",
                "HTTP/1.1 200 OK\r\nContent-Le",
                false,
                Ok(None),
            ),
            (
                "chunked",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\":\r\n0\r\n\r\n",
                false,
                Ok(Some((200, "{\"a\":"))),
            ),
            (
                "chunked with trailer",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\n\r\n",
                false,
                Ok(Some((200, "x"))),
            ),
            (
                "chunked, half a chunk",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                false,
                Ok(None),
            ),
            (
                "chunked, bad terminator",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz",
                false,
                Err(()),
            ),
            (
                "until eof, open",
                "HTTP/1.1 200 OK\r\n\r\n{}",
                false,
                Ok(None),
            ),
            (
                "until eof, closed",
                "HTTP/1.1 200 OK\r\n\r\n{}",
                true,
                Ok(Some((200, "{}"))),
            ),
            (
                "status kept",
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
                false,
                Ok(Some((401, ""))),
            ),
            (
                "bad length",
                "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                false,
                Err(()),
            ),
            ("not http", "SSH-2.0-OpenSSH\r\n\r\n", false, Err(())),
        ];
        for &(name, raw, eof, want) in CASES {
            let got = parse_response(raw.as_bytes(), eof)
                .map(|r| r.map(|(status, body)| (status, String::from_utf8(body).expect("utf-8"))))
                .map_err(|_| ());
            let want = want.map(|r| r.map(|(status, body)| (status, body.to_owned())));
            assert_eq!(got, want, "case {name}");
        }
    }

    /// A token for tests.
    fn token(secret: &str) -> Token {
        Token::new(secret).expect("valid test token")
    }

    /// Serves one canned HTTP response on loopback; returns the API base and the request seen.
    async fn serve(response: String) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}/api/v10", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut chunk = [0_u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = socket.read(&mut chunk).await.expect("read");
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
            socket.write_all(response.as_bytes()).await.expect("write");
            String::from_utf8(request).expect("utf-8 request")
        });
        (base, task)
    }

    #[tokio::test]
    async fn fetches_and_sends_the_bot_token() {
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
            BODY.len()
        );
        let (base, server) = serve(response).await;
        let info = fetch_gateway_info(&base, &token("secret.token"), &ConnectOptions::default())
            .await
            .expect("fetched");
        assert_eq!(info.url, "ws://127.0.0.1:1");
        assert_eq!(info.session_start_limit.max_concurrency, 16);
        let request = server.await.expect("server");
        assert!(
            request.starts_with("GET /api/v10/gateway/bot HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("\r\nAuthorization: Bot secret.token\r\n"),
            "{request}"
        );
        assert!(
            request.contains("\r\nUser-Agent: DiscordBot ("),
            "{request}"
        );
    }

    #[tokio::test]
    async fn failures_are_typed() {
        const CASES: &[(&str, &str, GatewayInfoErrorKind)] = &[
            (
                "401",
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
                GatewayInfoErrorKind::TokenRejected,
            ),
            (
                "500",
                "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
                GatewayInfoErrorKind::Status { status: 500 },
            ),
            (
                "not json",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n<>",
                GatewayInfoErrorKind::Deserialize,
            ),
            (
                "garbage",
                "\u{1}\u{2}\r\n\r\n",
                GatewayInfoErrorKind::InvalidResponse,
            ),
            (
                "cut short",
                "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{",
                GatewayInfoErrorKind::InvalidResponse,
            ),
        ];
        for (name, response, want) in CASES {
            let (base, server) = serve((*response).to_owned()).await;
            let err = fetch_gateway_info(&base, &token("t"), &ConnectOptions::default())
                .await
                .expect_err(name);
            assert_eq!(err.kind(), want, "case {name}");
            drop(server.await);
        }
    }

    #[tokio::test]
    async fn an_oversized_response_is_refused() {
        let response = format!("HTTP/1.1 200 OK\r\n\r\n{}", "x".repeat(MAX_RESPONSE + 1));
        let (base, _server) = serve(response).await;
        let err = fetch_gateway_info(&base, &token("t"), &ConnectOptions::default())
            .await
            .expect_err("too large");
        assert_eq!(
            err.kind(),
            &GatewayInfoErrorKind::ResponseTooLarge { max: MAX_RESPONSE }
        );
    }

    #[tokio::test]
    async fn plain_http_to_a_remote_host_is_refused() {
        let err = fetch_gateway_info(
            "http://discord.com/api/v10",
            &token("t"),
            &ConnectOptions::default(),
        )
        .await
        .expect_err("insecure");
        assert_eq!(err.kind(), &GatewayInfoErrorKind::Connect);
    }

    #[test]
    fn parses_the_documented_example() {
        let body = r#"{ "url": "wss://gateway.discord.gg", "shards": 4,
            "session_start_limit": { "total": 1000, "remaining": 997, "reset_after": 52340000,
                                     "max_concurrency": 1 }, "unknown": true }"#;
        let info: GatewayInfo = serde_json::from_str(body).expect("documented shape");
        assert_eq!(info.url, "wss://gateway.discord.gg");
        assert_eq!(info.shards, 4);
        assert_eq!(
            info.session_start_limit,
            SessionStartLimit {
                total: 1000,
                remaining: 997,
                reset_after: Duration::from_millis(52_340_000),
                max_concurrency: 1,
            }
        );
    }
}
