//! `discordgateway bench` end to end, small: it starts its own emulator process, connects the
//! shards, and its last stdout line is the JSON object issue 7 names, with counts that add up.

use std::process::Command;

/// The built binary.
const BIN: &str = env!("CARGO_BIN_EXE_discordgateway");

/// Runs `bench ARGS --json` and returns its last stdout line parsed.
fn bench(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("the last line is JSON")
}

/// Fields every report must have (issue 7).
const FIELDS: &[&str] = &[
    "shards",
    "events",
    "seconds",
    "events_per_sec",
    "client_cpu_seconds",
    "cpu_ns_per_event",
    "rss_bytes_per_idle_shard",
    "allocs_per_delivered_event",
    "allocs_per_dropped_event",
    "emulator_events_per_sec",
    "compress",
    "encoding",
    "floor_events_per_sec",
    "pipeline_fraction_of_floor",
];

#[test]
fn reports_every_field_for_each_mode() {
    const CASES: &[(&str, &str, &str, &str)] = &[
        // (case, compress, subscribe, the per-event allocation field that must be set)
        (
            "zstd delivered",
            "zstd",
            "all",
            "allocs_per_delivered_event",
        ),
        ("zlib dropped", "zlib", "none", "allocs_per_dropped_event"),
        (
            "plain list",
            "none",
            "MESSAGE_CREATE",
            "allocs_per_delivered_event",
        ),
    ];
    for &(case, compress, subscribe, alloc_field) in CASES {
        let r = bench(&[
            "--shards",
            "2",
            "--events",
            "300",
            "--compress",
            compress,
            "--subscribe",
            subscribe,
        ]);
        for field in FIELDS {
            assert!(
                r.get(field).is_some(),
                "{case}: field {field} missing in {r}"
            );
        }
        assert_eq!(r["shards"], 2, "{case}");
        assert_eq!(r["compress"], compress, "{case}");
        assert_eq!(r["encoding"], "json", "{case}");
        assert!(
            r["events"].as_u64().is_some_and(|n| n >= 300),
            "{case}: {r}"
        );
        assert!(r[alloc_field].is_number(), "{case}: {alloc_field} in {r}");
        assert_eq!(
            r["floor_events_per_sec"].is_number(),
            compress != "none",
            "{case}: a floor exactly when compressed"
        );
    }
}

#[test]
fn etf_is_refused_with_a_clear_error() {
    let out = Command::new(BIN)
        .args(["bench", "--encoding", "etf", "--events", "1"])
        .output()
        .expect("run the binary");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not supported yet"), "{stderr}");
}
