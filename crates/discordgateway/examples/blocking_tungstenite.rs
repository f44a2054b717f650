//! The sans-IO core driven by a different WebSocket library, with no async runtime at all:
//! blocking `tungstenite` on a plain thread.
//!
//! This is the proof that `GatewayState` does not depend on tokio: the whole driver is the
//! loop below — do the socket work the core asks for, hand it the frames it receives, and
//! sleep (here: a socket read timeout) until the core's next deadline.
//!
//! Against the emulator (plain `ws://`; this example enables no TLS):
//!
//! ```text
//! discordgateway emulate                      # first line: ws://127.0.0.1:PORT
//! cargo run -p discordgateway --example blocking_tungstenite -- ws://127.0.0.1:PORT
//! ```
//!
//! `DISCORD_TOKEN` is the token (any non-empty token for the emulator). It prints each
//! MESSAGE_CREATE's sequence number and size, and every lifecycle notice, for `SECONDS`
//! seconds (second argument, default 10), then closes the session for good.
#![allow(clippy::print_stdout)]

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use discordgateway::proto::close_code::ClientClose;
use discordgateway::proto::config::Config;
use discordgateway::proto::event::Event;
use discordgateway::proto::state::{CloseFrame, Frame, GatewayState, Transmit};
use discordgateway::{EventSet, EventType, GatewayUrl, Token};
use tungstenite::protocol::CloseFrame as WsCloseFrame;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// One open socket.
type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DISCORD_GATEWAY_URL").ok())
        .ok_or("pass the emulator's ws:// URL as the first argument")?;
    let seconds: u64 = std::env::args().nth(2).map_or(Ok(10), |s| s.parse())?;
    let token = std::env::var("DISCORD_TOKEN").unwrap_or_else(|_| "MTAx.emulator.token".into());
    let config = Config::builder(Token::new(token)?)
        .guild_events(EventSet::from_slice(&[EventType::from_wire(
            "MESSAGE_CREATE",
        )]))
        .default_url(GatewayUrl::parse(&url)?)
        .build()?;

    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut core = GatewayState::new(config, start, 0x5eed);
    let mut socket: Option<Socket> = None;
    let mut closing = false;

    loop {
        // 1. Socket work, in the order the core asks for it.
        while let Some(transmit) = core.poll_transmit() {
            match transmit {
                Transmit::Connect { url } => match tungstenite::connect(url.to_string()) {
                    Ok((ws, _response)) => {
                        socket = Some(ws);
                        core.handle_connected(Instant::now());
                    }
                    Err(error) => {
                        println!("connect failed: {error}");
                        core.handle_disconnected(Instant::now(), None);
                    }
                },
                Transmit::Text(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let sent = socket.as_mut().map(|ws| ws.send(Message::text(text)));
                    if !matches!(sent, Some(Ok(()))) {
                        socket = None;
                        core.handle_disconnected(Instant::now(), None);
                    }
                }
                Transmit::Close(frame) => {
                    if let Some(mut ws) = socket.take() {
                        let close = WsCloseFrame {
                            code: frame.code.into(),
                            reason: frame.reason.into(),
                        };
                        // Best effort: the core has already moved on.
                        let _ = ws.close(Some(close));
                        let _ = ws.flush();
                    }
                }
            }
        }
        // 2. Events for the application.
        while let Some(event) = core.poll_event() {
            match event {
                Event::Dispatch(d) => {
                    println!("#{} {} ({} bytes)", d.sequence(), d.kind(), d.raw().len());
                }
                Event::Notice(notice) => println!("notice: {notice:?}"),
            }
        }
        // The identify queue of this tiny driver: always yes (one shard, one process).
        if core.wants_identify() {
            core.grant_identify(Instant::now());
            continue;
        }
        if Instant::now() >= stop_at && !closing {
            closing = true;
            core.close(Instant::now(), ClientClose::EndSession);
            continue;
        }
        let Some(ws) = socket.as_mut() else {
            if closing {
                return Ok(());
            }
            // Not connected (backoff): sleep until the core's next deadline.
            let deadline = core.poll_timeout().unwrap_or(stop_at).min(stop_at);
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            core.handle_timeout(Instant::now());
            continue;
        };
        // 3. Wait for one input: a frame, or the next deadline (as a read timeout).
        let deadline = core.poll_timeout().unwrap_or(stop_at).min(stop_at);
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if let MaybeTlsStream::Plain(tcp) = ws.get_mut() {
            tcp.set_read_timeout(Some(wait))?;
        }
        match ws.read() {
            Ok(Message::Text(text)) => core.handle_frame(Instant::now(), Frame::Text(&text)),
            Ok(Message::Binary(bytes)) => core.handle_frame(Instant::now(), Frame::Binary(&bytes)),
            Ok(Message::Close(frame)) => {
                socket = None;
                let frame = frame.map(|f| CloseFrame {
                    code: f.code.into(),
                    reason: f.reason.to_string(),
                });
                core.handle_disconnected(Instant::now(), frame);
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                core.handle_timeout(Instant::now());
            }
            Err(error) => {
                println!("socket error: {error}");
                socket = None;
                core.handle_disconnected(Instant::now(), None);
            }
        }
    }
}
