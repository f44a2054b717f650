//! Transport compression against the emulator: with zlib-stream and with zstd-stream the
//! emulator really sends binary compressed frames (seen on the wire through a byte-copying
//! proxy), and every dispatch arrives once, in order, intact.

mod support;

use discordgateway::proto::Compression;
use support::emu::{self, Knobs, Seen};

/// Generated events in the stream.
const EVENTS: u64 = 500;

#[tokio::test(start_paused = true)]
async fn zlib_and_zstd_streams_deliver_every_dispatch() {
    const CASES: &[(&str, Compression)] = &[
        ("zlib-stream", Compression::ZlibStream),
        ("zstd-stream", Compression::ZstdStream),
        ("none", Compression::None),
    ];
    for &(case, compression) in CASES {
        let emu = emu::streaming(EVENTS).await;
        let proxy = support::proxy::start(&emu.url()).await;
        let knobs = Knobs {
            compression,
            ..Knobs::default()
        };
        let mut config = emu::core_config(&emu, &knobs);
        config = support::proxy::retarget(config, &proxy.url);
        let shard_config = discordgateway::ShardConfig::builder(config)
            .seed(5)
            .build()
            .expect("config");
        let mut shard = discordgateway::Shard::new(shard_config);
        let mut seen = Seen::default();
        let want = 4 + EVENTS as usize;
        emu::until_dispatches(&mut shard, &mut seen, want).await;
        seen.assert_exactly_once(want, case);
        let guild: serde_json::Value = seen.dispatches[0].deserialize().expect("json");
        assert!(guild["id"].is_string(), "case {case}: payload intact");
        let binary = proxy.first_server_frame_is_binary();
        assert_eq!(
            binary,
            Some(compression != Compression::None),
            "case {case}: frame type on the wire"
        );
        emu.shutdown();
    }
}
