//! One TCP port for everything: the HTTP/1.1 request head is read and parsed here
//! (`httparse`), then the request is routed.
//!
//! - A request with an `Upgrade: websocket` header, on **any path**, is the gateway. The head
//!   is replayed into tokio-websockets' server handshake through [`Rewind`], and the query
//!   string (`v`, `encoding`, `compress`) goes to [`crate::conn`].
//! - `GET /gateway`, `/gateway/bot`, `/users/@me`, `/oauth2/applications/@me`, with or without
//!   an `/api/vN` prefix, are the REST routes clients call first (GATEWAY.md §1.1). Those that
//!   need a token answer 401 with a JSON body unless `Authorization: Bot <token>` is accepted.
//! - `POST /emulator/shards/{id}/faults`, `POST /emulator/dispatch` and `GET /emulator/stats`
//!   drive and observe the emulator from any language.
//!
//! Every response is `Content-Type: application/json` with `Connection: close`.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::TcpStream,
    time::Instant,
};

use crate::{
    conn::{self, Params},
    faults::Fault,
    inject,
    state::{Control, Shared},
};

/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// Serves one accepted TCP connection.
pub(crate) async fn serve(shared: Arc<Shared>, mut tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(head) = read_head(&mut tcp).await else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = req.parse(&head) else {
        let _ = respond(&mut tcp, 400, &json!({"message": "malformed HTTP request"})).await;
        return;
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let path = req.path.unwrap_or("/").to_owned();
    if header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        let params = Params::from_path(&path);
        conn::accept(shared, Rewind::new(head, tcp), params).await;
        return;
    }
    let method = req.method.unwrap_or("GET").to_owned();
    let auth = header("authorization").map(str::to_owned);
    let len: usize = header("content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        let _ = respond(
            &mut tcp,
            413,
            &json!({"message": "request body over 1 MiB"}),
        )
        .await;
        return;
    }
    let mut body = head.get(head_len..).unwrap_or_default().to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 8192];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    body.truncate(len);
    let (status, value) = route(&shared, &method, &path, auth.as_deref(), &body);
    let _ = respond(&mut tcp, status, &value).await;
}

/// Reads until the end of the request head (`\r\n\r\n`), keeping any bytes after it.
async fn read_head(tcp: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let start = buf.len().saturating_sub(3);
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf
            .get(start..)
            .is_some_and(|tail| tail.windows(4).any(|w| w == b"\r\n\r\n"))
        {
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

/// Writes a JSON response and closes.
async fn respond(tcp: &mut TcpStream, status: u16, body: &Value) -> io::Result<()> {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body.as_bytes()).await?;
    tcp.shutdown().await
}

/// The path without its query string and without an `/api` or `/api/vN` prefix.
fn route_path(path: &str) -> &str {
    let path = path.split('?').next().unwrap_or("/");
    let Some(rest) = path.strip_prefix("/api") else {
        return path;
    };
    match rest.strip_prefix("/v") {
        Some(v) => {
            let digits = v.bytes().take_while(u8::is_ascii_digit).count();
            v.get(digits..).unwrap_or("/")
        }
        None => rest,
    }
}

/// Routes a non-WebSocket request; returns the status and JSON body.
fn route(
    shared: &Shared,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let path = route_path(path).trim_end_matches('/');
    let authorized = || {
        auth.and_then(|a| a.strip_prefix("Bot "))
            .is_some_and(|t| shared.config.accepts_token(t))
    };
    let unauthorized = (401, json!({"message": "401: Unauthorized", "code": 0}));
    let is_get = method.eq_ignore_ascii_case("GET");
    let is_post = method.eq_ignore_ascii_case("POST");
    match path {
        "/gateway" if is_get => (200, json!({"url": shared.ws_url()})),
        "/gateway/bot" if is_get => {
            if !authorized() {
                return unauthorized;
            }
            let (remaining, reset) = shared.budget(Instant::now());
            (
                200,
                json!({
                    "url": shared.ws_url(),
                    "shards": shared.config.shards,
                    "session_start_limit": {
                        "total": shared.config.session_start_total,
                        "remaining": remaining,
                        "reset_after": u64::try_from(reset.as_millis()).unwrap_or(u64::MAX),
                        "max_concurrency": shared.config.max_concurrency,
                    }
                }),
            )
        }
        "/users/@me" if is_get => {
            if !authorized() {
                return unauthorized;
            }
            (200, bot_user(shared))
        }
        "/oauth2/applications/@me" if is_get => {
            if !authorized() {
                return unauthorized;
            }
            (
                200,
                json!({
                    "id": shared.world.application_id().to_string(),
                    "name": shared.world.bot().username(), "icon": null,
                    "description": "", "bot_public": true, "bot_require_code_grant": false,
                    "flags": 0, "bot": bot_user(shared),
                }),
            )
        }
        "/emulator/stats" if is_get => (
            200,
            serde_json::to_value(shared.stats(Instant::now())).unwrap_or(Value::Null),
        ),
        "/emulator/dispatch" if is_post => control_dispatch(shared, body),
        p if is_post && p.starts_with("/emulator/shards/") && p.ends_with("/faults") => {
            control_fault(shared, p, body)
        }
        "/gateway"
        | "/gateway/bot"
        | "/users/@me"
        | "/oauth2/applications/@me"
        | "/emulator/stats"
        | "/emulator/dispatch" => (
            405,
            json!({"message": "405: Method Not Allowed", "code": 0}),
        ),
        _ => (404, json!({"message": "404: Not Found", "code": 0})),
    }
}

/// The bot's user object, as the workload generated it (the same one READY carries).
fn bot_user(shared: &Shared) -> Value {
    serde_json::from_slice(shared.world.bot().json()).unwrap_or(Value::Null)
}

/// `POST /emulator/shards/{id}/faults` with a [`Fault`] body.
fn control_fault(shared: &Shared, path: &str, body: &[u8]) -> (u16, Value) {
    let id = path
        .trim_start_matches("/emulator/shards/")
        .trim_end_matches("/faults")
        .parse::<u32>();
    let Ok(id) = id else {
        return (
            400,
            json!({"message": "the shard id in the path must be an integer"}),
        );
    };
    match serde_json::from_slice::<Fault>(body) {
        Ok(fault) => {
            let n = shared.to_shard(id, || Control::Fault(fault.clone()));
            (200, json!({"delivered": n, "queued": n == 0}))
        }
        Err(e) => (
            400,
            json!({"message": format!("invalid fault body: {e}; expected e.g. {{\"kind\":\"reconnect\"}}")}),
        ),
    }
}

/// The body of `POST /emulator/dispatch`.
#[derive(Debug, Deserialize)]
struct DispatchBody {
    /// The event name (`t`), also accepted as `type`.
    #[serde(alias = "type")]
    t: String,
    /// The payload (`d`), also accepted as `data`.
    #[serde(alias = "data", default)]
    d: Value,
    /// The guild it routes by (default: `d.guild_id`).
    #[serde(default)]
    guild_id: Option<Value>,
    /// Send to this shard only, ignoring routing.
    #[serde(default)]
    shard: Option<u32>,
    /// Whether it happened in a DM (default: when it has no guild).
    #[serde(default)]
    dm: Option<bool>,
}

/// `POST /emulator/dispatch`.
fn control_dispatch(shared: &Shared, body: &[u8]) -> (u16, Value) {
    match serde_json::from_slice::<DispatchBody>(body) {
        Ok(b) => {
            let event = inject::outbound(
                shared.world.bot().id(),
                &b.t,
                &b.d,
                inject::snowflake(b.guild_id.as_ref()),
                b.dm,
            );
            let n = shared.route(&event, b.shard);
            (200, json!({"delivered": n}))
        }
        Err(e) => (
            400,
            json!({"message": format!("invalid dispatch body: {e}; expected {{\"t\":\"NAME\",\"d\":{{...}}}}")}),
        ),
    }
}

/// A stream that first yields bytes already read (the request head), then the socket's.
#[derive(Debug)]
pub(crate) struct Rewind<S> {
    /// Bytes to replay.
    prefix: Vec<u8>,
    /// How many of them were replayed.
    pos: usize,
    /// The socket.
    inner: S,
}

impl<S> Rewind<S> {
    /// Replays `prefix` before reading `inner`.
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            pos: 0,
            inner,
        }
    }

    /// The socket.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(rest) = self.prefix.get(self.pos..)
            && !rest.is_empty()
        {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(rest.get(..n).unwrap_or_default());
            self.pos += n;
            if self.pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefixes_are_optional() {
        const CASES: &[(&str, &str)] = &[
            ("/api/v10/gateway/bot", "/gateway/bot"),
            ("/api/v9/gateway", "/gateway"),
            ("/api/gateway", "/gateway"),
            ("/gateway?x=1", "/gateway"),
            ("/users/@me", "/users/@me"),
        ];
        for (path, want) in CASES {
            assert_eq!(route_path(path), *want, "case {path}");
        }
    }
}
