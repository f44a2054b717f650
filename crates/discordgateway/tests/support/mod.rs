//! A scripted loopback gateway for the shard's tests: just enough of Discord's side (Hello,
//! ACKs, READY, dispatches, closes) to drive one session deterministically.
//!
//! The full emulator (`discordgateway-emulator`) covers the protocol broadly; this script
//! exists so a test can control byte-level timing (half a frame, then the rest).

#![allow(dead_code, unreachable_pub)]

pub mod emu;
pub mod proxy;

use std::sync::{Arc, Mutex};

use discordgateway::proto::config::Config;
use discordgateway::{EventSet, EventType, GatewayUrl, ShardConfig, Token};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{CloseCode, Message, ServerBuilder, WebSocketStream};

/// The token the tests use; it must never show up in logs.
pub const TOKEN: &str = "MTAx.super-secret.token-value";

/// A server-side WebSocket.
pub type ServerWs = WebSocketStream<TcpStream>;

/// Binds a loopback listener and returns it with its gateway URL.
pub async fn listen() -> (TcpListener, GatewayUrl) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    (listener, GatewayUrl::parse(&url).expect("url"))
}

/// Accepts one WebSocket.
pub async fn accept(listener: &TcpListener) -> ServerWs {
    let (tcp, _) = listener.accept().await.expect("accept");
    tcp.set_nodelay(true).expect("nodelay"); // as Discord's edge does; avoids 40 ms delayed ACKs
    let (_request, ws) = ServerBuilder::new().accept(tcp).await.expect("upgrade");
    ws
}

/// A shard config for `url` declaring MESSAGE_CREATE and GUILD_MEMBERS_CHUNK.
pub fn config(url: &GatewayUrl) -> ShardConfig {
    let events = EventSet::from_slice(&[
        EventType::from_wire("MESSAGE_CREATE"),
        EventType::from_wire("GUILD_MEMBERS_CHUNK"),
    ]);
    let core = Config::builder(Token::new(TOKEN).expect("token"))
        .guild_events(events)
        .default_url(url.clone())
        .build()
        .expect("core config");
    ShardConfig::builder(core).seed(7).build().expect("config")
}

/// Sends a text frame.
pub async fn send(ws: &mut ServerWs, json: &str) {
    ws.send(Message::text(json.to_owned())).await.expect("send");
}

/// Sends Hello with a 41.25 s interval.
pub async fn hello(ws: &mut ServerWs) {
    send(
        ws,
        r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#,
    )
    .await;
}

/// READY with sequence 1.
pub const READY: &str = r#"{"op":0,"s":1,"t":"READY","d":{"v":10,"user":{"id":"1","username":"bot"},"guilds":[],"session_id":"sess-1","resume_gateway_url":"ws://127.0.0.1:1","application":{"id":"1","flags":0}}}"#;

/// READY with sequence 1 whose resume URL is `url`.
pub fn ready_resuming_at(url: &GatewayUrl) -> String {
    READY.replace(
        "ws://127.0.0.1:1",
        &format!("ws://{}:{}", url.host(), url.port_or_default()),
    )
}

/// A MESSAGE_CREATE dispatch with sequence `seq`.
pub fn message(seq: u64) -> String {
    format!(r#"{{"op":0,"s":{seq},"t":"MESSAGE_CREATE","d":{{"id":"{seq}","content":"hi"}}}}"#)
}

/// Reads client frames until one with `"op":N` arrives (heartbeats are ACKed on the way);
/// returns its text.
pub async fn expect_op(ws: &mut ServerWs, op: u8) -> String {
    let needle = format!(r#""op":{op}"#);
    while let Some(Ok(message)) = ws.next().await {
        let Some(text) = message.as_text() else {
            continue;
        };
        let text = text.to_owned();
        if text.contains(r#""op":1,"#) && op != 1 {
            send(ws, r#"{"op":11}"#).await;
            continue;
        }
        if text.contains(&needle) {
            return text;
        }
    }
    panic!("connection ended before op {op}");
}

/// Reads (ACKing heartbeats) until the client goes away.
pub async fn drain(ws: &mut ServerWs) {
    while let Some(Ok(message)) = ws.next().await {
        if message.as_text().is_some_and(|t| t.contains(r#""op":1,"#)) {
            send(ws, r#"{"op":11}"#).await;
        }
    }
}

/// Hello, wait for Identify, READY.
pub async fn handshake(ws: &mut ServerWs) -> String {
    hello(ws).await;
    let identify = expect_op(ws, 2).await;
    send(ws, READY).await;
    identify
}

/// Closes with `code`.
pub async fn close(ws: &mut ServerWs, code: u16, reason: &str) {
    let _ = ws
        .send(Message::close(CloseCode::try_from(code).ok(), reason))
        .await;
}

/// Writes one unmasked server text frame in two parts, waiting for `go` in between.
pub async fn split_frame(
    ws: &mut ServerWs,
    json: &str,
    half_sent: mpsc::Sender<()>,
    mut go: mpsc::Receiver<()>,
) {
    let payload = json.as_bytes();
    // Server frames are unmasked; the length uses the shortest encoding (RFC 6455 §5.2).
    let mut frame = vec![0x81];
    match u8::try_from(payload.len()) {
        Ok(len) if len < 126 => frame.push(len),
        _ => {
            let len = u16::try_from(payload.len()).expect("short frame");
            frame.push(126);
            frame.extend_from_slice(&len.to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    let (first, rest) = frame.split_at(frame.len() / 2);
    let tcp = ws.get_mut();
    tcp.write_all(first).await.expect("write");
    tcp.flush().await.expect("flush");
    half_sent.send(()).await.expect("signal");
    go.recv().await;
    let tcp = ws.get_mut();
    tcp.write_all(rest).await.expect("write");
    tcp.flush().await.expect("flush");
}

/// A `tracing` writer that keeps everything written, for checking log contents.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Captures every TRACE line of this thread until the guard drops.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(capture.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
