//! Test helpers: a plain WebSocket client (tokio-websockets), never our shard, and a raw
//! HTTP/1.1 client.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use discordgateway_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle,
    workload::{WorkloadConfig, World},
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

/// A config for tests that do not test heartbeats: a one-hour interval.
pub fn quiet() -> EmulatorConfig {
    EmulatorConfig {
        heartbeat_interval: Duration::from_secs(3600),
        identify_window: Duration::ZERO,
        ..EmulatorConfig::default()
    }
}

/// [`quiet`] with `guilds` guilds of `members` members each (the bot included), none large.
pub fn sized(guilds: u32, members: u32) -> EmulatorConfig {
    let base = quiet();
    EmulatorConfig {
        workload: WorkloadConfig {
            guilds,
            small_members: [members, members],
            ..base.workload.clone()
        },
        ..base
    }
}

/// The world an emulator with `config` serves (generation is deterministic).
pub fn world(config: &EmulatorConfig) -> World {
    World::generate(&config.workload).unwrap()
}

/// Starts an emulator on a free port.
pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start("127.0.0.1:0", config).await.unwrap()
}

/// A plain WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `handle.url()` + `query` (e.g. `/?v=10&encoding=json`).
    pub async fn connect(handle: &EmulatorHandle, query: &str) -> Self {
        let url = format!("{}{}", handle.url(), query);
        let (ws, _) = ClientBuilder::new()
            .uri(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self { ws }
    }

    /// Connects and reads Hello.
    pub async fn hello(handle: &EmulatorHandle) -> Self {
        let mut c = Self::connect(handle, "/?v=10&encoding=json").await;
        let hello = c.recv().await;
        assert_eq!(hello["op"], 10, "first frame is Hello: {hello}");
        c
    }

    /// Connects, identifies with `intents` on `shard`, and reads READY.
    pub async fn ready(
        handle: &EmulatorHandle,
        intents: u64,
        shard: Option<[u32; 2]>,
    ) -> (Self, Value) {
        let mut c = Self::hello(handle).await;
        c.identify("token", intents, shard).await;
        let ready = c.recv().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        (c, ready)
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, v: &Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// Sends Identify.
    pub async fn identify(&mut self, token: &str, intents: u64, shard: Option<[u32; 2]>) {
        let mut d = json!({"token": token, "intents": intents,
            "properties": {"os": "linux", "browser": "test", "device": "test"}});
        if let Some(s) = shard {
            d["shard"] = json!(s);
        }
        self.send(&json!({"op": 2, "d": d})).await;
    }

    /// Receives the next data frame as JSON (panics on close).
    pub async fn recv(&mut self) -> Value {
        loop {
            let m = self.ws.next().await.expect("stream open").expect("frame");
            if let Some(t) = m.as_text() {
                return serde_json::from_str(t).unwrap();
            }
            assert!(!m.is_close(), "unexpected close: {:?}", m.as_close());
        }
    }

    /// Receives the next raw message.
    pub async fn recv_raw(&mut self) -> Option<Message> {
        self.ws.next().await.and_then(Result::ok)
    }

    /// Reads until the server's close frame; returns its code (None if the TCP just ended).
    pub async fn close_code(&mut self) -> Option<u16> {
        while let Some(Ok(m)) = self.ws.next().await {
            if let Some((code, _)) = m.as_close() {
                return Some(u16::from(code));
            }
        }
        None
    }

    /// Receives dispatches until one named `t`, returning all dispatches seen (inclusive).
    pub async fn until(&mut self, t: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = self.recv().await;
            let done = v["t"] == t;
            seen.push(v);
            if done {
                return seen;
            }
        }
    }
}

/// Inflates the messages of one connection's stream (plain, zlib-stream or zstd-stream).
pub enum Inflater {
    Plain,
    Zlib(flate2::Decompress, Vec<u8>),
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
}

impl Inflater {
    /// The inflater for a `compress` query value (`None` = plain).
    pub fn for_query(compress: Option<&str>) -> Self {
        match compress {
            None => Self::Plain,
            Some("zlib-stream") => Self::Zlib(flate2::Decompress::new(true), Vec::new()),
            Some(_) => Self::Zstd(Box::new(zstd::stream::raw::Decoder::new().unwrap())),
        }
    }

    /// The JSON payload of one message (panics if it does not decode).
    pub fn payload(&mut self, msg: &[u8]) -> Value {
        serde_json::from_slice(&self.bytes(msg).unwrap()).unwrap()
    }

    /// The bytes of one message, or why they do not decode.
    pub fn bytes(&mut self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        match self {
            Self::Plain => Ok(msg.to_vec()),
            Self::Zlib(d, buf) => {
                buf.extend_from_slice(msg);
                if !buf.ends_with(&[0, 0, 0xff, 0xff]) {
                    return Err("zlib message does not end with a sync flush".into());
                }
                let mut out = Vec::with_capacity(1 << 20);
                let r = d.decompress_vec(buf, &mut out, flate2::FlushDecompress::Sync);
                buf.clear();
                r.map(|_| out).map_err(|e| e.to_string())
            }
            Self::Zstd(d) => {
                let mut out: Vec<u8> = Vec::with_capacity(msg.len() * 20 + 1024);
                let mut input = InBuffer::around(msg);
                loop {
                    out.reserve(4096);
                    let pos = out.len();
                    let mut o = OutBuffer::around_pos(&mut out, pos);
                    let before = input.pos();
                    d.run(&mut input, &mut o).map_err(|e| e.to_string())?;
                    let produced = o.pos() != pos;
                    if !produced && (input.pos() == msg.len() || input.pos() == before) {
                        break;
                    }
                }
                Ok(out)
            }
        }
    }
}

/// A raw HTTP/1.1 request; returns (status, head, body).
pub async fn http(
    handle: &EmulatorHandle,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> (u16, String, Value) {
    let mut tcp = TcpStream::connect(handle.local_addr()).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    let body = body.unwrap_or("");
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    tcp.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8(resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (
        status,
        head.to_owned(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}
