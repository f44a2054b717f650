//! The `discordgateway` command line.
//!
//! Subcommands live in `cmd/`, one file each. Only `emulate` and `bench` exist so far; `demo`,
//! `listen` and `chaos` (DESIGN.md) are added as they are built.

mod bench;
mod cmd;

/// Counts allocations for `bench` (one relaxed atomic add per allocation).
#[global_allocator]
static ALLOCATOR: bench::measure::CountingAlloc = bench::measure::CountingAlloc;

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
    /// Measure throughput, CPU, memory and allocations against the emulator.
    Bench(cmd::bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Emulate(args) => runtime.block_on(cmd::emulate::run(args)),
        // Builds its own runtime (current-thread by default) so every shard shares one thread.
        Command::Bench(args) => cmd::bench::main(args),
    }
}
