//! The send rate limiter (120 commands per 60 s sliding window with a heartbeat reserve):
//! `try_acquire` on an uncongested connection (commands every 600 ms, so old entries expire
//! as new ones arrive) and on a full window (refused), and `next_slot` on a full window.
//! Run with `cargo bench -p discordgateway-proto --bench ratelimit`.

#![allow(missing_docs)] // criterion_main! generates an undocumented `main`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use discordgateway_proto::ratelimit::{LIMIT, Priority, RateLimiter};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ratelimit");
    group.bench_function("try_acquire/steady", |b| {
        let mut limiter = RateLimiter::new();
        limiter.set_heartbeat_interval(Duration::from_millis(41_250));
        let mut now = Instant::now();
        b.iter(|| {
            now += Duration::from_millis(600);
            black_box(limiter.try_acquire(now, Priority::User))
        });
    });
    let start = Instant::now();
    let mut full = RateLimiter::new();
    full.set_heartbeat_interval(Duration::from_millis(41_250));
    for i in 0..LIMIT as u64 {
        full.try_acquire(start + Duration::from_millis(i), Priority::Control);
    }
    let later = start + Duration::from_secs(1);
    group.bench_function("try_acquire/full", |b| {
        let mut limiter = full.clone();
        b.iter(|| black_box(limiter.try_acquire(black_box(later), Priority::User)));
    });
    group.bench_function("next_slot/full", |b| {
        b.iter(|| black_box(full.next_slot(black_box(later), Priority::User)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
