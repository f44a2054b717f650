//! Generation speed of the workload: events/s and bytes/s of one shard's stream, and the cost
//! of framing a dispatch. Run with `cargo bench -p discordgateway-emulator --bench workload`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use discordgateway_emulator::workload::{WorkloadConfig, World, write_dispatch};

/// Events generated per iteration.
const EVENTS: u64 = 10_000;

fn config() -> WorkloadConfig {
    WorkloadConfig {
        events_per_shard: None,
        ..WorkloadConfig::default()
    }
}

fn bench_stream(c: &mut Criterion) {
    let config = config();
    let world = Arc::new(World::generate(&config).expect("valid config"));
    let bytes: u64 = world
        .stream(0, 1, &config)
        .take(EVENTS as usize)
        .map(|e| e.data.len() as u64)
        .sum();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("events", |b| {
        b.iter(|| {
            for e in world.stream(0, 1, &config).take(EVENTS as usize) {
                black_box(e);
            }
        });
    });
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("bytes", |b| {
        b.iter(|| {
            for e in world.stream(0, 1, &config).take(EVENTS as usize) {
                black_box(e);
            }
        });
    });
    group.finish();
}

fn bench_frame(c: &mut Criterion) {
    let config = config();
    let world = Arc::new(World::generate(&config).expect("valid config"));
    let events: Vec<_> = world.stream(0, 1, &config).take(EVENTS as usize).collect();
    let mut out = Vec::new();
    let mut group = c.benchmark_group("write_dispatch");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("frames", |b| {
        b.iter(|| {
            for (seq, e) in events.iter().enumerate() {
                write_dispatch(&mut out, seq as u64 + 2, e.name, &e.data);
                black_box(&out);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_stream, bench_frame);
criterion_main!(benches);
