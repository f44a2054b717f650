//! The `discordgateway` command line.
//!
//! Subcommands live in `cmd/`, one file each. Only `emulate` exists so far; `demo`,
//! `listen`, `bench` and `chaos` (DESIGN.md) are added as they are built.

mod cmd;

use clap::{Parser, Subcommand};

/// A toolkit for Discord's real-time gateway.
#[derive(Debug, Parser)]
#[command(name = "discordgateway", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a fake Discord gateway; the first stdout line is its ws:// URL.
    Emulate(cmd::emulate::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Emulate(args) => runtime.block_on(cmd::emulate::run(args)),
    }
}
