//! A minimal bot: prints every MESSAGE_CREATE and answers nothing.
//!
//! Against the emulator:
//!
//! ```text
//! discordgateway emulate                      # first line: ws://127.0.0.1:PORT
//! DISCORD_GATEWAY_URL=ws://127.0.0.1:PORT cargo run -p discordgateway --example minimal_bot
//! ```
//!
//! The URL may also be the first argument. `DISCORD_TOKEN` is the bot token (any token the
//! emulator accepts; a real one against Discord, where the URL defaults to
//! `wss://gateway.discord.gg`).
#![allow(clippy::print_stdout)]

use discordgateway::proto::config::Config;
use discordgateway::{Event, EventSet, EventType, GatewayUrl, Intents, Shard, ShardConfig, Token};

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
        .extra_intents(Intents::MESSAGE_CONTENT)
        .default_url(GatewayUrl::parse(&url)?)
        .build()?;
    let mut shard = Shard::new(ShardConfig::builder(core).build()?);
    loop {
        if let Event::Dispatch(message) = shard.next_event().await? {
            println!(
                "#{} {}",
                message.sequence(),
                String::from_utf8_lossy(message.raw())
            );
        }
    }
}
