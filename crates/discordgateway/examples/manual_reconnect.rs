//! Manual reconnect control, in the shape of the original Go library's `goto reconnect` loop:
//! the shard reports every disconnect as an error carrying the close code, the reason and
//! whether the session can resume, and stays idle until this loop decides what to do.
//!
//! ```text
//! discordgateway emulate                      # first line: ws://127.0.0.1:PORT
//! DISCORD_GATEWAY_URL=ws://127.0.0.1:PORT cargo run -p discordgateway --example manual_reconnect
//! ```
//!
//! Inject faults (`POST /emulator/shards/0/faults`, e.g. `{"kind":"drop"}` or
//! `{"kind":"invalid_session"}`) to watch each branch. The URL may also be the first argument.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use discordgateway::proto::config::{Config, ReconnectPolicy};
use discordgateway::{
    Event, EventSet, EventType, GatewayUrl, Shard, ShardConfig, ShardErrorKind, Token,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DISCORD_GATEWAY_URL").ok())
        .unwrap_or_else(|| "wss://gateway.discord.gg".to_owned());
    let token = std::env::var("DISCORD_TOKEN").unwrap_or_else(|_| "MTAx.emulator.token".to_owned());
    let core = Config::builder(Token::new(token)?)
        .guild_events(EventSet::from_slice(&[EventType::from_wire(
            "MESSAGE_CREATE",
        )]))
        .default_url(GatewayUrl::parse(&url)?)
        .reconnect(ReconnectPolicy::Manual)
        .build()?;
    let mut shard = Shard::new(ShardConfig::builder(core).build()?);

    // reconnect:
    'reconnect: loop {
        loop {
            let error = match shard.next_event().await {
                Ok(Event::Dispatch(d)) => {
                    println!("#{} {}", d.sequence(), d.kind().name());
                    continue;
                }
                Ok(Event::Notice(notice)) => {
                    println!("notice: {notice:?}");
                    continue;
                }
                Err(error) => error,
            };
            let ShardErrorKind::Disconnected {
                code,
                reason,
                resumable,
            } = error.kind()
            else {
                // Fatal close codes and a final close end the program, with the fix in the text.
                return Err(error.into());
            };
            eprintln!("disconnected: code {code:?}, reason {reason:?}, resumable {resumable}");
            tokio::time::sleep(Duration::from_secs(1)).await; // our own, fixed backoff
            if *resumable && shard.resume().is_ok() {
                continue 'reconnect; // goto reconnect (resume)
            }
            shard.identify();
            continue 'reconnect; // goto reconnect (new session)
        }
    }
}
