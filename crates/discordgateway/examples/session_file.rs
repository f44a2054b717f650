//! Resuming after a restart: on Ctrl-C (or after 20 events) the shard closes resumably and
//! writes its session to a file; the next run resumes it directly (no Identify, no queue), and
//! falls back to a fresh Identify if the session is gone.
//!
//! ```text
//! discordgateway emulate                      # first line: ws://127.0.0.1:PORT
//! DISCORD_GATEWAY_URL=ws://127.0.0.1:PORT cargo run -p discordgateway --example session_file
//! # run it again: it resumes, replaying what it missed
//! ```
//!
//! `SESSION_FILE` names the file (default `session.json`); the URL may also be the first argument.
#![allow(clippy::print_stdout)]

use discordgateway::proto::config::Config;
use discordgateway::{
    CloseKind, Event, EventSet, EventType, GatewayUrl, Notice, Session, Shard, ShardConfig, Token,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DISCORD_GATEWAY_URL").ok())
        .unwrap_or_else(|| "wss://gateway.discord.gg".to_owned());
    let token = std::env::var("DISCORD_TOKEN").unwrap_or_else(|_| "MTAx.emulator.token".to_owned());
    let path = std::env::var("SESSION_FILE").unwrap_or_else(|_| "session.json".to_owned());
    let core = Config::builder(Token::new(token)?)
        .guild_events(EventSet::from_slice(&[EventType::from_wire(
            "MESSAGE_CREATE",
        )]))
        .default_url(GatewayUrl::parse(&url)?)
        .build()?;
    let config = ShardConfig::builder(core).build()?;
    let saved: Option<Session> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut shard = match saved {
        Some(session) => {
            println!("resuming session {} at #{}", session.id, session.sequence);
            Shard::from_session(config, session)
        }
        None => Shard::new(config),
    };
    let mut seen = 0;
    while seen < 20 {
        tokio::select! {
            event = shard.next_event() => match event? {
                Event::Dispatch(d) => {
                    seen += 1;
                    println!("#{} {}", d.sequence(), d.kind().name());
                }
                Event::Notice(notice @ (Notice::Ready { .. } | Notice::Resumed { .. })) => println!("{notice:?}"),
                Event::Notice(_) => {}
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    shard.close(CloseKind::Resumable).await;
    if let Some(session) = shard.session() {
        std::fs::write(&path, serde_json::to_vec(&session)?)?;
        println!(
            "saved session {} at #{} to {path}",
            session.id, session.sequence
        );
    }
    Ok(())
}
