//! Allocation counts on the zstd receive path, steady state (DESIGN.md, performance design):
//! 0 per dropped event, at most 1 per delivered event.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use discordgateway_proto::state::Frame;
use discordgateway_proto::testing::{Harness, ZstdCompressor, dispatch, ready};
use discordgateway_proto::url::Compression;

/// Counts every allocation and reallocation made through the global allocator.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is upheld by `System`; the counter is a relaxed atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A ~1 KB message payload.
fn payload(i: u64) -> String {
    format!(
        r#"{{"id":"{i}","channel_id":"1400000000000000002","content":"{}","author":{{"id":"1","username":"u"}}}}"#,
        "lorem ipsum ".repeat(80)
    )
}

/// Feeds `frames` and returns (allocations, delivered dispatches).
fn measure(h: &mut Harness, frames: &[Vec<u8>]) -> (usize, usize) {
    let mut delivered = 0;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for f in frames {
        h.state.handle_frame(h.now, Frame::Binary(f));
        while let Some(e) = h.state.poll_event() {
            delivered += usize::from(e.as_dispatch().is_some());
        }
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before, delivered)
}

#[test]
fn zstd_path_allocates_nothing_for_dropped_and_at_most_one_per_delivered_event() {
    const N: u64 = 2000;
    let config = Harness::config()
        .compression(Compression::ZstdStream)
        .build()
        .expect("config");
    let mut h = Harness::new(config, 1);
    let mut z = ZstdCompressor::default();
    h.connected();
    h.recv_binary(&z.compress(br#"{"op":10,"d":{"heartbeat_interval":41250}}"#));
    h.grant();
    h.recv_binary(&z.compress(ready(1, "s", "wss://r.example").as_bytes()));
    h.clear();
    let mut seq = 1;
    let mut frames = |name: &str, n: u64| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                seq += 1;
                z.compress(dispatch(seq, name, &payload(i)).as_bytes())
            })
            .collect()
    };
    let warm = frames("MESSAGE_CREATE", 200);
    let dropped = frames("TYPING_START", N);
    let delivered = frames("MESSAGE_CREATE", N);
    measure(&mut h, &warm);

    let (allocs, got) = measure(&mut h, &dropped);
    assert_eq!(got, 0);
    println!("dropped: {allocs} allocations for {N} events");
    assert_eq!(allocs, 0, "dropped events must not allocate");

    let (allocs, got) = measure(&mut h, &delivered);
    assert_eq!(got, usize::try_from(N).expect("small"));
    println!("delivered: {allocs} allocations for {N} events");
    assert!(
        allocs <= got,
        "{allocs} allocations for {got} delivered events"
    );
}
