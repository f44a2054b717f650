//! Commands through [`ShardSender`](discordgateway::ShardSender) against the emulator: a
//! Request Guild Members round trip that returns every chunk, and a flood of user commands
//! that the core's limiter spreads out so the emulator never closes with 4008 while
//! heartbeats keep going.
//!
//! The emulator counts every client frame, heartbeats included, in a fixed 60 s window of
//! 120 (GATEWAY.md §5). The core reserves `ceil(61 s / interval) + 3` slots per sliding
//! 61 s window for heartbeats, Identify/Resume and server-requested beats, and gives user
//! commands the rest.

mod support;

use std::time::Duration;

use discordgateway::proto::Snowflake;
use discordgateway::proto::payload::{RequestGuildMembers, Status, UpdatePresence};
use discordgateway::{Intents, Notice};
use discordgateway_emulator::EmulatorConfig;
use discordgateway_emulator::workload::{Mix, WorkloadConfig};
use support::emu::{self, Knobs, Seen};
use tokio::time::Instant;

/// Members per generated guild: three chunks of at most 1000.
const MEMBERS: u32 = 2500;

#[tokio::test(start_paused = true)]
async fn request_guild_members_returns_every_chunk() {
    let emu = emu::start(EmulatorConfig {
        workload: WorkloadConfig {
            small_members: [MEMBERS, MEMBERS],
            // Only MESSAGE_CREATE, so every generated dispatch is one the tests declare.
            mix: Mix {
                message_create: 1.0,
                ..Mix::none()
            },
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    })
    .await;
    let knobs = Knobs {
        extra_intents: Intents::GUILD_MEMBERS,
        ..Knobs::default()
    };
    let mut shard = discordgateway::Shard::new(emu::shard_config(&emu, &knobs));
    let mut seen = Seen::default();
    emu::until_dispatches(&mut shard, &mut seen, 1).await;
    let guild: serde_json::Value = seen.dispatches[0].deserialize().expect("GUILD_CREATE json");
    let guild_id: u64 = guild["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("guild id");

    let sender = shard.sender();
    let request = RequestGuildMembers::all(Snowflake::new(guild_id)).with_nonce("all-of-them");
    let sent = tokio::spawn(async move { sender.send(request).await });
    let mut chunks = Vec::new();
    while chunks.len() < 3 {
        let event = shard.next_event().await.expect("no error");
        if let Some(d) = event.as_dispatch()
            && d.kind().wire_name() == "GUILD_MEMBERS_CHUNK"
        {
            chunks.push(d.deserialize::<serde_json::Value>().expect("chunk json"));
        }
    }
    sent.await.expect("task").expect("request accepted");
    let mut members = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["chunk_index"], i, "chunks arrive in order");
        assert_eq!(chunk["chunk_count"], 3, "chunk {i}");
        assert_eq!(chunk["nonce"], "all-of-them", "chunk {i} carries the nonce");
        assert_eq!(chunk["guild_id"], guild["id"], "chunk {i}");
        members += chunk["members"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(members, MEMBERS as usize, "every member, once");
}

/// User commands in the flood.
const FLOOD: usize = 300;
/// The emulator's heartbeat interval in the flood test: short, so many beats interleave.
const BEAT: Duration = Duration::from_secs(10);
/// How long the flood test runs (paused time): enough for 300 commands at ~110 per window.
const RUN: Duration = Duration::from_secs(200);

#[tokio::test(start_paused = true)]
async fn a_command_flood_never_triggers_4008_and_heartbeats_keep_going() {
    let emu = emu::start(EmulatorConfig {
        heartbeat_interval: BEAT,
        ..EmulatorConfig::default()
    })
    .await;
    let mut shard = emu::shard(&emu);
    let mut seen = Seen::default();
    emu::until_ready(&mut shard, &mut seen).await;

    let sender = shard.sender();
    let flood = tokio::spawn(async move {
        for i in 0..FLOOD {
            let presence = UpdatePresence::new(if i % 2 == 0 {
                Status::Idle
            } else {
                Status::Online
            });
            sender.send(presence).await?;
        }
        Ok::<(), discordgateway::SendError>(())
    });
    let start = Instant::now();
    let mut samples = Vec::new(); // (time, commands the emulator received)
    while start.elapsed() < RUN {
        // Cancel-safe: a short timeout per poll lets the test sample the emulator's count.
        if let Ok(event) = tokio::time::timeout(Duration::from_secs(1), shard.next_event()).await {
            seen.record(event.expect("no error"));
        }
        samples.push((Instant::now(), emu.sessions()[0].commands));
    }
    flood.await.expect("task").expect("every command accepted");

    assert_eq!(emu.violations().rate_limit, 0, "never closed with 4008");
    assert_eq!(
        emu.violations().heartbeat_timeout,
        0,
        "never timed out heartbeats"
    );
    assert!(
        seen.disconnects().is_empty(),
        "never disconnected: {:?}",
        seen.disconnects()
    );
    let mut busiest = 0;
    for (i, &(t1, c1)) in samples.iter().enumerate() {
        for &(t2, c2) in &samples[i..] {
            if t2.duration_since(t1) <= Duration::from_secs(60) {
                busiest = busiest.max(c2 - c1);
            }
        }
    }
    assert!(busiest <= 120, "{busiest} commands within 60 s");
    assert!(
        busiest >= 110,
        "the flood pressed against the limit: {busiest}"
    );
    let commands = samples.last().map_or(0, |s| s.1);
    let beats = commands.saturating_sub(FLOOD as u64);
    assert!(
        beats >= RUN.as_secs() / BEAT.as_secs() - 1,
        "heartbeats kept going during the flood: {beats} beats"
    );
    assert!(shard.latency().last.is_some(), "heartbeats were ACKed");
    assert_eq!(
        seen.count(|n| matches!(n, Notice::Zombie { .. })),
        0,
        "no beat went un-ACKed"
    );
}
