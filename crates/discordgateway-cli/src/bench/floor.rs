//! The physical floor: decompressing the emulator's exact byte stream and doing nothing else.
//!
//! One session of shard 0 is recorded with a plain tokio-websockets client (Hello, Identify,
//! then every WebSocket payload until `--events` dispatches after the GUILD_CREATE burst).
//! Recording is not timed. Then the steady-state payloads are decompressed again and again
//! through the proto crate's [`Inflater`] with the same settings as a shard (one stream
//! context per connection, reset between passes; reused output buffer); the READY + burst
//! prefix is replayed untimed before each pass because the stream context depends on it.
//! The result is events/s and MB/s of decompression alone on one thread
//! (`shared/protocol/GATEWAY.md` §7.1, §7.3).
//!
//! The same frames are also fed, in-process and without sockets, through a `GatewayState`
//! configured like the bench's shards (decompression, envelope scan, sequencing, filtering,
//! delivery into the arena; a fixed `now`, so no clock reads): the core's cost per event,
//! which separates the library's own work from socket, kernel and runtime costs.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use discordgateway::Intents;
use discordgateway::proto::Compression;
use discordgateway::proto::config::{Config, DEFAULT_MAX_MESSAGE_SIZE};
use discordgateway::proto::envelope::scan;
use discordgateway::proto::inflate::{Inflater, ZlibInflater, ZstdInflater};
use discordgateway::proto::state::{Frame, GatewayState};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_websockets::{ClientBuilder, Message};

use super::measure::ready_guild_count;

/// Decompression-only throughput over one recorded session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Floor {
    /// Steady-state dispatches per pass.
    pub(crate) events: u64,
    /// Compressed bytes per pass.
    pub(crate) bytes_in: u64,
    /// Decompressed bytes per pass.
    pub(crate) bytes_out: u64,
    /// Timed passes.
    pub(crate) passes: u32,
    /// Total timed decompression.
    pub(crate) elapsed: Duration,
    /// Timed passes through the core.
    pub(crate) core_passes: u32,
    /// Total time in the core.
    pub(crate) core_elapsed: Duration,
}

impl Floor {
    /// Events per second of decompression alone.
    pub(crate) fn events_per_sec(&self) -> f64 {
        (self.events * u64::from(self.passes)) as f64 / self.elapsed.as_secs_f64()
    }

    /// Nanoseconds of decompression per event.
    pub(crate) fn ns_per_event(&self) -> f64 {
        1e9 / self.events_per_sec()
    }

    /// Nanoseconds per event through the whole core (decompression included).
    pub(crate) fn core_ns_per_event(&self) -> f64 {
        self.core_elapsed.as_secs_f64() * 1e9 / (self.events * u64::from(self.core_passes)) as f64
    }

    /// Decompressed megabytes (10^6) per second.
    pub(crate) fn mb_out_per_sec(&self) -> f64 {
        (self.bytes_out * u64::from(self.passes)) as f64 / 1e6 / self.elapsed.as_secs_f64()
    }

    /// Compressed megabytes (10^6) per second.
    pub(crate) fn mb_in_per_sec(&self) -> f64 {
        (self.bytes_in * u64::from(self.passes)) as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

/// A fresh inflater for `compression` (`None` for no compression: no floor to measure).
fn inflater(compression: Compression) -> Option<Inflater> {
    match compression {
        Compression::ZlibStream => {
            Some(Inflater::Zlib(ZlibInflater::new(DEFAULT_MAX_MESSAGE_SIZE)))
        }
        Compression::ZstdStream => {
            Some(Inflater::Zstd(ZstdInflater::new(DEFAULT_MAX_MESSAGE_SIZE)))
        }
        _ => None,
    }
}

/// One recorded session: every payload, and where the steady state begins.
struct Recording {
    /// Every WebSocket payload received, in order.
    frames: Vec<Vec<u8>>,
    /// Index of the first frame after the GUILD_CREATE burst.
    steady_from: usize,
    /// Steady-state dispatches recorded.
    events: u64,
}

/// Records one session of shard `[0, total]` and times decompression of it (while a bare
/// session of every other shard warms the emulator up); `None` without compression or when
/// `events` is 0.
pub(crate) async fn measure(
    ws_url: &str,
    config: &Config,
    total: u32,
    events: u64,
) -> anyhow::Result<Option<Floor>> {
    let compression = config.params().compression;
    if events == 0 {
        return Ok(None);
    }
    // The other shards' sessions only warm the emulator up (its stream cache and pre-built
    // frames), so the measured sessions read what these built, as shard 0's does.
    let others = futures_util::future::try_join_all(
        (1..total).map(|shard| record(ws_url, compression, shard, total, events, false)),
    );
    if inflater(compression).is_none() {
        // No floor without compression, but the session still warms the emulator up.
        let first = record(ws_url, compression, 0, total, events, false);
        futures_util::future::try_join(first, others)
            .await
            .context("warming the emulator up")?;
        return Ok(None);
    }
    let first = record(ws_url, compression, 0, total, events, true);
    let (recording, _) = futures_util::future::try_join(first, others)
        .await
        .context("recording the floor session")?;
    let mut floor = time(&recording, compression)?;
    while floor.core_passes < 3
        || (floor.core_elapsed < Duration::from_secs(1) && floor.core_passes < 100)
    {
        floor.core_elapsed += core_pass(&recording, config);
        floor.core_passes += 1;
    }
    Ok(Some(floor))
}

/// One pass of the recording through a fresh `GatewayState`; returns the steady-state time.
fn core_pass(rec: &Recording, config: &Config) -> Duration {
    let now = Instant::now();
    let mut state = GatewayState::new(config.clone(), now, 1);
    while state.poll_transmit().is_some() {}
    state.handle_connected(now);
    let (prefix, steady) = rec.frames.split_at(rec.steady_from);
    for frame in prefix {
        state.handle_frame(now, Frame::Binary(frame));
        if state.wants_identify() {
            state.grant_identify(now);
        }
        while state.poll_transmit().is_some() {}
        while state.poll_event().is_some() {}
    }
    let start = Instant::now();
    for frame in steady {
        state.handle_frame(now, Frame::Binary(frame));
        while let Some(event) = state.poll_event() {
            drop(std::hint::black_box(event));
        }
    }
    start.elapsed()
}

/// Decompresses the recording's steady state for at least a second (3 to 100 passes).
fn time(rec: &Recording, compression: Compression) -> anyhow::Result<Floor> {
    let mut inf = inflater(compression).context("no compression")?;
    let (prefix, steady) = rec.frames.split_at(rec.steady_from);
    let mut floor = Floor {
        events: rec.events,
        bytes_in: steady.iter().map(|f| f.len() as u64).sum(),
        bytes_out: 0,
        passes: 0,
        elapsed: Duration::ZERO,
        core_passes: 0,
        core_elapsed: Duration::ZERO,
    };
    while floor.passes < 3 || (floor.elapsed < Duration::from_secs(1) && floor.passes < 100) {
        inf.reset();
        for frame in prefix {
            inf.feed(frame)?;
        }
        let mut out = 0u64;
        let start = Instant::now();
        for frame in steady {
            if let Some(msg) = inf.feed(frame)? {
                out += std::hint::black_box(msg).len() as u64;
            }
        }
        floor.elapsed += start.elapsed();
        floor.bytes_out = out;
        floor.passes += 1;
    }
    Ok(floor)
}

/// Connects with a bare WebSocket, identifies as shard `[shard, total]` and reads until
/// `events` dispatches followed the burst, keeping every payload if `keep`.
async fn record(
    ws_url: &str,
    compression: Compression,
    shard: u32,
    total: u32,
    events: u64,
    keep: bool,
) -> anyhow::Result<Recording> {
    let base = ws_url
        .split('?')
        .next()
        .unwrap_or(ws_url)
        .trim_end_matches('/');
    let compress = match compression {
        Compression::ZlibStream => "&compress=zlib-stream",
        Compression::ZstdStream => "&compress=zstd-stream",
        _ => "",
    };
    let uri = format!("{base}/?v=10&encoding=json{compress}");
    let (mut ws, _) = ClientBuilder::new().uri(&uri)?.connect().await?;
    let mut inf = inflater(compression);
    let mut rec = Recording {
        frames: Vec::new(),
        steady_from: usize::MAX,
        events: 0,
    };
    let mut burst_left: Option<usize> = None;
    while rec.events < events {
        let msg = ws
            .next()
            .await
            .context("the emulator closed the floor session early")??;
        if !msg.is_binary() && !msg.is_text() {
            continue;
        }
        let payload: &[u8] = msg.as_payload();
        if keep {
            rec.frames.push(payload.to_vec());
        }
        let plain = match &mut inf {
            Some(inf) => match inf.feed(payload)? {
                Some(plain) => plain,
                None => continue,
            },
            None => payload,
        };
        let envelope = scan(plain)?;
        match (envelope.op, envelope.event_name) {
            (10, _) => {
                let identify = serde_json::json!({"op": 2, "d": {
                    "token": super::TOKEN,
                    "intents": Intents::all().bits(),
                    "properties": {"os": "linux", "browser": "discordgateway-bench", "device": "discordgateway-bench"},
                    "shard": [shard, total],
                }});
                ws.send(Message::text(identify.to_string())).await?;
            }
            (0, Some("READY")) => {
                burst_left = Some(ready_guild_count(envelope.data_in(plain).unwrap_or(b"")));
            }
            (0, Some("GUILD_CREATE")) if burst_left.is_some_and(|n| n > 0) => {
                burst_left = burst_left.map(|n| n - 1);
            }
            (0, _) if burst_left == Some(0) => rec.events += 1,
            _ => {}
        }
        if burst_left == Some(0) && rec.steady_from == usize::MAX {
            rec.steady_from = rec.frames.len();
        }
    }
    let _ = ws.close().await;
    Ok(rec)
}
