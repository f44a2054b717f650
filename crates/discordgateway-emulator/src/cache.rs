//! Generate once, send many: each shard's generated stream, shared by every session on it
//! (issue 4, point 9: the emulator must outrun the clients it benchmarks).
//!
//! Every fresh session on a shard receives the same stream from its beginning (issue 4,
//! point 8), so the events are generated once, [`CHUNK`] at a time, into immutable
//! [`Chunk`]s that every session's [`Cursor`] reads through an `Arc`; the payloads are
//! `Bytes`, so sending and remembering a dispatch for replay copy nothing but the frame.
//! Each cached event also carries its intent gate (GATEWAY.md §9.1), looked up once, so the
//! send path does no name lookup per event.
//!
//! Memory is bounded: the caches of all shards of one emulator stop growing once they hold
//! `EmulatorConfig::stream_cache_bytes` (a shard may overshoot by one chunk). A cursor that reaches the end of
//! its shard's cache clones the generator's state at that point and generates the rest
//! live, in chunks of its own that are dropped once sent. The bytes are the same either way:
//! generation is deterministic (`workload::stream`), so cached and live events are identical.

use std::{
    collections::HashMap,
    ops::Range,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;

use crate::{
    replay::RunEntry,
    state::lock,
    wire::{self, Outbound},
    workload::{EventStream, WorkloadConfig, WorkloadEvent, World},
};

/// Events per chunk: the unit of generation, sharing and batching.
pub(crate) const CHUNK: usize = 256;

/// One generated dispatch, ready to send.
#[derive(Debug)]
pub(crate) struct Event {
    /// The dispatch, as the send path takes it.
    pub(crate) out: Outbound,
    /// The intent bits, any of which lets a session receive it; `None` when ungated.
    gate: Option<u64>,
}

impl Event {
    /// A generated dispatch with its gate looked up.
    fn new(ev: WorkloadEvent) -> Self {
        let out = Outbound::from(ev);
        let gate = wire::gate(out.name.as_str(), out.is_dm);
        Self { out, gate }
    }

    /// The payload a session with `granted` intents gets, or `None` if it gets nothing
    /// (the same answer as [`Outbound::for_intents`], without the name lookup).
    pub(crate) fn for_intents(&self, granted: u64) -> Option<&Bytes> {
        if self.gate.is_some_and(|g| granted & g == 0) {
            return None;
        }
        Some(self.out.for_granted(granted))
    }

    /// Bytes this event keeps alive, for the budget.
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.out.data.len()
            + self.out.data_without_content.as_ref().map_or(0, Bytes::len)
    }
}

/// Consecutive events of one shard's stream.
#[derive(Debug)]
pub(crate) struct Chunk(Vec<Event>);

impl Chunk {
    /// Generates up to `n` events from `stream`, their payloads moved into one buffer: a
    /// payload clone (for replay) then touches one reference count per chunk, not one per
    /// event, which keeps the send path's memory traffic low.
    fn generate(stream: &mut EventStream, n: usize) -> Self {
        let raw: Vec<WorkloadEvent> = stream.take(n).collect();
        let stripped = |e: &WorkloadEvent| e.data_without_content.as_ref().map_or(0, Bytes::len);
        let total = raw.iter().map(|e| e.data.len() + stripped(e)).sum();
        let mut buf = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(raw.len());
        for e in &raw {
            buf.extend_from_slice(&e.data);
            let data_end = buf.len();
            if let Some(s) = &e.data_without_content {
                buf.extend_from_slice(s);
            }
            ends.push((data_end, buf.len()));
        }
        let buf = Bytes::from(buf);
        let mut start = 0;
        let events = raw.into_iter().zip(ends).map(|(mut e, (data_end, end))| {
            e.data = buf.slice(start..data_end);
            if e.data_without_content.is_some() {
                e.data_without_content = Some(buf.slice(data_end..end));
            }
            start = end;
            Event::new(e)
        });
        Self(events.collect())
    }

    /// The events in `range` (empty where it is out of bounds).
    pub(crate) fn events(&self, range: Range<usize>) -> &[Event] {
        self.0.get(range).unwrap_or_default()
    }

    /// `n` events of a small default workload.
    #[cfg(test)]
    pub(crate) fn for_tests(n: usize) -> Self {
        let cfg = WorkloadConfig {
            guilds: 3,
            events_per_shard: Some(n as u64),
            ..WorkloadConfig::default()
        };
        let world = Arc::new(World::generate(&cfg).expect("world"));
        Self::generate(&mut world.stream(0, 1, &cfg), n)
    }
}

/// A run of events handed to a session: a shared chunk and the range of it to send.
#[derive(Debug)]
pub(crate) struct Run {
    /// The chunk.
    chunk: Arc<Chunk>,
    /// The events of it to send.
    range: Range<usize>,
    /// For a whole cached chunk: the shard's cache and the chunk's index.
    whole: Option<(Arc<ShardCache>, usize)>,
}

/// Which wire format a [`WireChunk`] was built for: the frames differ by transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WireKind {
    /// Text frames of plain JSON.
    Plain,
    /// Binary frames of zlib-stream messages from a restarted compressor.
    Zlib,
    /// Binary frames of state-free zstd-stream blocks (`zstd_blocks`).
    Zstd,
}

/// A whole chunk's admitted dispatches as complete, ready-to-write server WebSocket frames
/// (headers included), for sessions of one [`WireKind`] with given intents and `seq`
/// before the chunk: sending it is one buffer to the socket (`conn::splice`).
///
/// On Linux the frames live in a memory file (`memfd`) shared by all shards and go
/// out with `sendfile`, so the kernel sends them without copying them from user memory
/// first (the copy was half of the emulator's cost per event on loopback, measured in
/// `benches/README.md`); elsewhere, or when no memory file can be made, they are `Bytes`.
#[derive(Debug, Clone)]
pub(crate) enum WireChunk {
    /// The frames in memory.
    Bytes(Bytes),
    /// The frames in a memory file, at `offset`.
    File {
        /// The shard's memory file.
        file: Arc<std::fs::File>,
        /// Where the frames start.
        offset: u64,
        /// Their length in bytes.
        len: usize,
    },
}

impl WireChunk {
    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::File { len, .. } => *len,
        }
    }
}

/// A cached chunk's frames are found by chunk index, wire kind, intents and `seq`.
type WireKey = (usize, WireKind, u64, u64);

impl Run {
    /// The events, in order.
    pub(crate) fn events(&self) -> &[Event] {
        self.chunk.events(self.range.clone())
    }

    /// This run's `len` events admitted by `intents`, the first with `first_seq`, as the
    /// replay buffer keeps them.
    pub(crate) fn replay_entry(&self, intents: u64, first_seq: u64, len: usize) -> RunEntry {
        RunEntry {
            chunk: Arc::clone(&self.chunk),
            range: self.range.clone(),
            intents,
            first_seq,
            len,
        }
    }

    /// Whether this run is a whole chunk of the shard's cache (pre-built frames apply).
    pub(crate) fn is_whole_chunk(&self) -> bool {
        self.whole.is_some()
    }

    /// The chunk's frames for a session of `kind` with `intents` whose last `seq` is `seq`,
    /// if a session in the same state built them before.
    pub(crate) fn wire(&self, kind: WireKind, intents: u64, seq: u64) -> Option<WireChunk> {
        let (cache, index) = self.whole.as_ref()?;
        lock(&cache.wire)
            .get(&(*index, kind, intents, seq))
            .cloned()
    }

    /// Keeps the chunk's frames for later sessions in the same state, within the budget;
    /// returns them as they are kept (moved to the shard's memory file where there is one).
    pub(crate) fn store_wire(
        &self,
        kind: WireKind,
        intents: u64,
        seq: u64,
        frames: Bytes,
    ) -> WireChunk {
        let Some((cache, index)) = &self.whole else {
            return WireChunk::Bytes(frames);
        };
        let weight = frames.len() + 64;
        if cache.used.fetch_add(weight, Ordering::Relaxed) >= cache.budget {
            return WireChunk::Bytes(frames);
        }
        let chunk = lock(&cache.file)
            .append(&frames)
            .unwrap_or(WireChunk::Bytes(frames));
        lock(&cache.wire).insert((*index, kind, intents, seq), chunk.clone());
        chunk
    }
}

/// An append-only memory file of pre-built frames (Linux), created on first use; one per
/// emulator, shared by its shards (one descriptor, whatever the shard count).
#[derive(Debug)]
struct WireFile {
    /// The file and its length; `None` before the first append.
    file: Option<(Arc<std::fs::File>, u64)>,
    /// Creating the file failed (or this is not Linux): frames stay in memory.
    unavailable: bool,
}

impl WireFile {
    /// Appends `frames`; `None` when there is no memory file.
    fn append(&mut self, frames: &[u8]) -> Option<WireChunk> {
        if self.unavailable {
            return None;
        }
        if self.file.is_none() {
            self.file = memory_file().map(|f| (Arc::new(f), 0));
            self.unavailable = self.file.is_none();
        }
        let (file, end) = self.file.as_mut()?;
        let offset = *end;
        if write_at(file, frames, offset).is_err() {
            // A full tmpfs, say: keep later frames in memory.
            self.unavailable = true;
            return None;
        }
        *end += frames.len() as u64;
        Some(WireChunk::File {
            file: Arc::clone(file),
            offset,
            len: frames.len(),
        })
    }
}

/// A new anonymous memory file (`memfd_create`), closed on exec.
#[cfg(target_os = "linux")]
fn memory_file() -> Option<std::fs::File> {
    use rustix::fs::{MemfdFlags, memfd_create};
    memfd_create("discordgateway-emulator-frames", MemfdFlags::CLOEXEC)
        .ok()
        .map(std::fs::File::from)
}

/// No memory files off Linux.
#[cfg(not(target_os = "linux"))]
fn memory_file() -> Option<std::fs::File> {
    None
}

/// Writes all of `buf` at `offset`.
#[cfg(unix)]
fn write_at(file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Never called: there are no memory files off Unix.
#[cfg(not(unix))]
fn write_at(_: &std::fs::File, _: &[u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The cached prefix of one shard's stream.
#[derive(Debug)]
struct Filled {
    /// Full chunks (the last may be short if the stream ended), in order.
    chunks: Vec<Arc<Chunk>>,
    /// The generator's state after the last cached chunk.
    tail: EventStream,
    /// No more chunks will be cached (the budget ran out).
    closed: bool,
}

/// One shard's cache, shared by the cursors of its sessions.
#[derive(Debug)]
pub(crate) struct ShardCache {
    /// The cached prefix.
    filled: Mutex<Filled>,
    /// Pre-built frames of whole chunks.
    wire: Mutex<HashMap<WireKey, WireChunk>>,
    /// The emulator's memory file the frames are kept in.
    file: Arc<Mutex<WireFile>>,
    /// Bytes cached by all shards of the emulator.
    used: Arc<AtomicUsize>,
    /// The most bytes all shards may cache.
    budget: usize,
}

/// What a cursor finds at a chunk index.
enum Lookup {
    /// The chunk, cached.
    Cached(Arc<Chunk>),
    /// Not cached: the generator's state at the chunk's start.
    Live(Box<EventStream>),
}

impl ShardCache {
    /// The chunk at `index`, generating and caching it if it is the next one and the budget
    /// allows. Cursors only move forward, one chunk at a time, so `index` is never beyond
    /// the next chunk to generate.
    fn chunk(&self, index: usize) -> Lookup {
        let mut f = lock(&self.filled);
        if let Some(chunk) = f.chunks.get(index) {
            return Lookup::Cached(Arc::clone(chunk));
        }
        if f.closed || self.used.load(Ordering::Relaxed) >= self.budget {
            f.closed = true;
            return Lookup::Live(Box::new(f.tail.clone()));
        }
        let chunk = Arc::new(Chunk::generate(&mut f.tail, CHUNK));
        let weight: usize = chunk.0.iter().map(Event::weight).sum();
        self.used.fetch_add(weight, Ordering::Relaxed);
        f.chunks.push(Arc::clone(&chunk));
        Lookup::Cached(chunk)
    }
}

/// The stream caches of one emulator, one per `[shard, total]`.
pub(crate) struct StreamCache {
    /// The world the streams come from.
    world: Arc<World>,
    /// The workload (seed, mix, count).
    config: WorkloadConfig,
    /// The shards' caches.
    shards: Mutex<HashMap<[u32; 2], Arc<ShardCache>>>,
    /// Bytes cached by all shards.
    used: Arc<AtomicUsize>,
    /// The most bytes all shards may cache.
    budget: usize,
    /// The memory file of pre-built frames (`EmulatorConfig::send_files`).
    file: Arc<Mutex<WireFile>>,
}

impl std::fmt::Debug for StreamCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCache")
            .field("used", &self.used.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl StreamCache {
    /// An empty cache for `world` and `config` that holds at most `budget` bytes.
    /// With `files`, pre-built frames are kept in memory files (`WireChunk::File`).
    pub(crate) fn new(
        world: Arc<World>,
        config: WorkloadConfig,
        budget: usize,
        files: bool,
    ) -> Self {
        Self {
            world,
            config,
            shards: Mutex::new(HashMap::new()),
            used: Arc::new(AtomicUsize::new(0)),
            budget,
            file: Arc::new(Mutex::new(WireFile {
                file: None,
                unavailable: !files,
            })),
        }
    }

    /// A cursor that generates live from `stream` (already at its position), bypassing the
    /// cache: streams that continue across sessions start mid-stream.
    pub(crate) fn live_cursor(&self, shard: u32, total: u32, stream: EventStream) -> Cursor {
        let mut cursor = self.cursor(shard, total);
        cursor.position = usize::try_from(stream.position()).unwrap_or(usize::MAX);
        cursor.live = Some(Box::new(stream));
        cursor
    }

    /// A cursor at the start of the stream of `shard` of `total`, as a fresh session gets.
    pub(crate) fn cursor(&self, shard: u32, total: u32) -> Cursor {
        let cache = Arc::clone(lock(&self.shards).entry([shard, total]).or_insert_with(|| {
            Arc::new(ShardCache {
                filled: Mutex::new(Filled {
                    chunks: Vec::new(),
                    tail: self.world.stream(shard, total, &self.config),
                    closed: false,
                }),
                wire: Mutex::new(HashMap::new()),
                file: Arc::clone(&self.file),
                used: Arc::clone(&self.used),
                budget: self.budget,
            })
        }));
        Cursor {
            cache,
            position: 0,
            live: None,
        }
    }
}

/// A session's place in its shard's stream.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// The shard's cache.
    cache: Arc<ShardCache>,
    /// Position of the next event.
    position: usize,
    /// Past the cache: the generator, at `position`.
    live: Option<Box<EventStream>>,
}

impl Cursor {
    /// Position of the next event in the shard's stream.
    pub(crate) fn position(&self) -> u64 {
        self.live
            .as_ref()
            .map_or(self.position as u64, |live| EventStream::position(live))
    }

    /// The live generator, once the cursor has left the cache (or never used it).
    pub(crate) fn live_stream(&self) -> Option<&EventStream> {
        self.live.as_deref()
    }

    /// The next run of at most `max` (> 0) events; `None` when the stream has ended.
    pub(crate) fn next_run(&mut self, max: usize) -> Option<Run> {
        if let Some(live) = &mut self.live {
            let chunk = Chunk::generate(live, max.min(CHUNK));
            let n = chunk.0.len();
            self.position += n;
            return (n > 0).then(|| Run {
                chunk: Arc::new(chunk),
                range: 0..n,
                whole: None,
            });
        }
        match self.cache.chunk(self.position / CHUNK) {
            Lookup::Cached(chunk) => {
                let start = self.position % CHUNK;
                let end = chunk.0.len().min(start + max);
                if start >= end {
                    return None;
                }
                self.position += end - start;
                let whole = (start == 0 && end == CHUNK)
                    .then(|| (Arc::clone(&self.cache), self.position / CHUNK - 1));
                Some(Run {
                    chunk,
                    range: start..end,
                    whole,
                })
            }
            Lookup::Live(stream) => {
                self.live = Some(stream);
                self.next_run(max)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(events: u64) -> WorkloadConfig {
        WorkloadConfig {
            guilds: 3,
            events_per_shard: Some(events),
            ..WorkloadConfig::default()
        }
    }

    /// An empty cache over a stream of `events`, and the tags of shard 0 of 1 as generated.
    fn cache_and_tags(events: u64) -> (StreamCache, Vec<u64>) {
        let cfg = config(events);
        let world = Arc::new(World::generate(&cfg).expect("world"));
        let want: Vec<u64> = world
            .stream(0, 1, &cfg)
            .map(|e| crate::workload::read_tag(&e.data).unwrap_or(u64::MAX))
            .collect();
        (StreamCache::new(world, cfg, 256 << 20, true), want)
    }

    /// Reads a cursor to the end in runs of `step`, returning the tags.
    fn drain(cursor: &mut Cursor, step: usize) -> Vec<u64> {
        let mut tags = Vec::new();
        while let Some(run) = cursor.next_run(step) {
            assert!(run.events().len() <= step);
            tags.extend(
                run.events()
                    .iter()
                    .map(|e| crate::workload::read_tag(&e.out.data).unwrap_or(u64::MAX)),
            );
        }
        tags
    }

    #[test]
    fn cursors_see_the_generated_stream_whatever_the_cache_holds() {
        // Streams shorter than, equal to and longer than a chunk, and several chunks.
        const CASES: &[(&str, u64, usize)] = &[
            ("short", 10, 3),
            ("one chunk", CHUNK as u64, 100),
            ("several chunks", 3 * CHUNK as u64 + 7, CHUNK),
            ("odd steps", 2 * CHUNK as u64 + 1, 97),
        ];
        for &(name, events, step) in CASES {
            let (cache, want) = cache_and_tags(events);
            for session in 0..2 {
                let got = drain(&mut cache.cursor(0, 1), step);
                assert_eq!(got, want, "case {name}, session {session}");
            }
        }
    }

    #[test]
    fn sessions_share_the_generated_chunks() {
        let (cache, _) = cache_and_tags(2 * CHUNK as u64);
        let (mut a, mut b) = (cache.cursor(0, 1), cache.cursor(0, 1));
        for i in 0..2 {
            let (ra, rb) = (a.next_run(CHUNK), b.next_run(CHUNK));
            let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));
            assert!(
                Arc::ptr_eq(&ra.chunk, &rb.chunk),
                "chunk {i} generated once"
            );
        }
        assert!(cache.used.load(Ordering::Relaxed) > 0, "the budget counts");
    }

    #[test]
    fn past_the_budget_cursors_generate_live_from_where_the_cache_ends() {
        let (cache, want) = cache_and_tags(3 * CHUNK as u64);
        let mut first = cache.cursor(0, 1);
        let run = first.next_run(CHUNK).expect("first chunk");
        assert_eq!(run.events().len(), CHUNK);
        // Exhaust the budget: no further chunk is cached.
        cache.used.store(cache.budget, Ordering::Relaxed);
        let mut rest = drain(&mut first, 50);
        let mut got: Vec<u64> = want.get(..CHUNK).expect("chunk").to_vec();
        got.append(&mut rest);
        assert_eq!(got, want, "first session");
        assert_eq!(
            lock(&first.cache.filled).chunks.len(),
            1,
            "one chunk cached"
        );
        assert_eq!(drain(&mut cache.cursor(0, 1), 64), want, "second session");
    }

    #[test]
    fn gates_agree_with_the_name_lookup() {
        let cfg = config(2_000);
        let world = Arc::new(World::generate(&cfg).expect("world"));
        const GRANTS: &[u64] = &[
            0,
            1 << 9,
            1 << 12,
            1 << 15,
            1 << 8 | 1 << 1,
            wire::intents::ALL,
        ];
        for ev in world.stream(0, 1, &cfg).map(Event::new) {
            for &granted in GRANTS {
                assert_eq!(
                    ev.for_intents(granted),
                    ev.out.for_intents(granted),
                    "case {} granted {granted}",
                    ev.out.name.as_str()
                );
            }
        }
    }
}
