//! The `discordgateway` command line.
//!
//! Subcommands live in `cmd/`, one file each: `bench`, `chaos`, `demo`, `emulate` and
//! `listen` (DESIGN.md's contract).

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
    /// Try it now: a fake gateway and a shard manager in this process, no token, no network.
    Demo(cmd::demo::Args),
    /// Run a fake Discord gateway; the first stdout line is its ws:// URL.
    Emulate(cmd::emulate::Args),
    /// Measure throughput, CPU, memory and allocations against the emulator.
    Bench(cmd::bench::Args),
    /// Connect a bot (token from DISCORD_TOKEN) and print one JSON line per event.
    Listen(cmd::listen::Args),
    /// Soak N shards in seeded faults against the emulator and prove nothing is lost.
    Chaos(cmd::chaos::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Demo(args) => runtime.block_on(cmd::demo::run(args)),
        Command::Emulate(args) => runtime.block_on(cmd::emulate::run(args)),
        // Builds its own runtime (current-thread by default) so every shard shares one thread.
        Command::Bench(args) => cmd::bench::main(args),
        Command::Listen(args) => runtime.block_on(cmd::listen::run(args)),
        Command::Chaos(args) => runtime.block_on(cmd::chaos::run(args)),
    }
}
