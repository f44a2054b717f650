//! A byte-copying TCP proxy that keeps the first bytes the server sent, so a test can look
//! at the wire (e.g. whether the first WebSocket frame after the upgrade is binary).

use std::sync::{Arc, Mutex};

use discordgateway::GatewayUrl;
use discordgateway::proto::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Server bytes kept for inspection.
const KEEP: usize = 4096;

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    /// `ws://` URL of the proxy.
    pub url: GatewayUrl,
    /// The first bytes the server sent on the first connection.
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    /// Whether the first frame after the HTTP upgrade response is binary (`None` if none yet).
    pub fn first_server_frame_is_binary(&self) -> Option<bool> {
        let seen = self.seen.lock().expect("lock");
        let end = seen.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let opcode = seen.get(end)? & 0x0f;
        Some(opcode == 0x2)
    }
}

/// Proxies every connection to the `ws://host:port` in `target`.
pub async fn start(target: &str) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let upstream = target
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host")
        .to_owned();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            tokio::spawn(pipe(client, server, Arc::clone(&keep)));
        }
    });
    Proxy {
        url: GatewayUrl::parse(&url).expect("url"),
        seen,
    }
}

/// Copies both ways, keeping the first server bytes.
async fn pipe(client: TcpStream, server: TcpStream, keep: Arc<Mutex<Vec<u8>>>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
    let mut buf = vec![0; 16 * 1024];
    while let Ok(n) = sr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        {
            let mut kept = keep.lock().expect("lock");
            let room = KEEP.saturating_sub(kept.len()).min(n);
            kept.extend_from_slice(&buf[..room]);
        }
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    up.abort();
}

/// `config` with its default URL moved to `url` (everything else kept).
pub fn retarget(config: Config, url: &GatewayUrl) -> Config {
    let token = config.token().clone();
    Config::builder(token)
        .guild_events(config.delivered_events())
        .extra_intents(config.intents())
        .compression(config.params().compression)
        .default_url(url.clone())
        .build()
        .expect("retargeted config")
}
