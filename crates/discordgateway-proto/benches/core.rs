//! Cost per message through `GatewayState::handle_frame` + `poll_event`, for delivered vs
//! dropped dispatches, plain / zlib-stream / zstd-stream input, ~1 KB payloads.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use discordgateway_proto::state::Frame;
use discordgateway_proto::testing::{Harness, ZlibCompressor, ZstdCompressor, dispatch, ready};
use discordgateway_proto::url::Compression;

const BATCH: u64 = 1000;

fn payload(i: u64) -> String {
    format!(
        r#"{{"id":"{i}","channel_id":"1400000000000000002","content":"{}","author":{{"id":"1","username":"u"}}}}"#,
        "lorem ipsum ".repeat(80)
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(BATCH));
    for (label, compression) in [
        ("plain", Compression::None),
        ("zlib", Compression::ZlibStream),
        ("zstd", Compression::ZstdStream),
    ] {
        for (kind, name) in [("delivered", "MESSAGE_CREATE"), ("dropped", "TYPING_START")] {
            group.bench_function(format!("{label}/{kind}"), |b| {
                let config = Harness::config()
                    .compression(compression)
                    .build()
                    .expect("config");
                let mut h = Harness::new(config, 1);
                let mut zl = ZlibCompressor::default();
                let mut zs = ZstdCompressor::default();
                let mut encode = |m: &[u8]| match compression {
                    Compression::ZlibStream => zl.compress(m),
                    Compression::ZstdStream => zs.compress(m),
                    _ => m.to_vec(),
                };
                h.connected();
                h.recv_binary(&encode(br#"{"op":10,"d":{"heartbeat_interval":41250}}"#));
                h.grant();
                h.recv_binary(&encode(ready(1, "s", "wss://r.example").as_bytes()));
                // Sequence numbers must rise, so each iteration gets fresh frames; the
                // compressed stream is one continuous context as on a real connection.
                let mut seq = 1;
                b.iter_batched(
                    || {
                        (0..BATCH)
                            .map(|i| {
                                seq += 1;
                                encode(dispatch(seq, name, &payload(i)).as_bytes())
                            })
                            .collect::<Vec<_>>()
                    },
                    |frames| {
                        for f in &frames {
                            h.state.handle_frame(h.now, Frame::Binary(f));
                            while let Some(e) = h.state.poll_event() {
                                std::hint::black_box(e);
                            }
                        }
                    },
                    criterion::BatchSize::LargeInput,
                );
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
