//! `discordgateway chaos` end to end: a small seeded soak finishes by itself, its last stdout
//! line is the JSON contract of issue 8, and the exit status follows the verdict.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_discordgateway");

/// The fields issue 8 requires in the JSON line.
const FIELDS: &[&str] = &[
    "shards",
    "events_sent",
    "events_delivered",
    "lost",
    "duplicated",
    "out_of_order",
    "lost_by_protocol",
    "faults_injected",
    "faults_by_kind",
    "reconnects",
    "resumes",
    "identifies",
    "rate_limit_violations",
    "identify_violations",
    "panics",
    "seconds",
];

#[test]
fn a_small_soak_passes_and_prints_the_json_contract() {
    let out = Command::new(BIN)
        .args([
            "chaos", "--shards", "2", "--events", "600", "--faults", "40",
        ])
        .args([
            "--seed",
            "3",
            "--seconds",
            "2",
            "--deadline",
            "60",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let last = stdout.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    for field in FIELDS {
        assert!(v.get(field).is_some(), "field {field} in {last}");
    }
    assert_eq!(v["shards"], 2);
    assert_eq!(v["events_sent"], 600);
    assert_eq!(v["faults_injected"], 40);
    assert_eq!(v["faults_by_kind"].as_object().unwrap().len(), 20);
    assert!(
        v["faults_by_kind"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 2)
    );
    assert_eq!(
        v["events_delivered"].as_u64().unwrap() + v["lost_by_protocol"].as_u64().unwrap(),
        600,
        "every event is delivered once or lost by protocol"
    );
    assert_eq!(v["lost"], 0);
    assert_eq!(v["panics"], 0);
}

#[test]
fn a_run_that_cannot_finish_fails_at_its_deadline_and_says_what_is_missing() {
    // A 1 s deadline for a stream paced over 30 s.
    let out = Command::new(BIN)
        .args([
            "chaos", "--shards", "1", "--events", "3000", "--faults", "0",
        ])
        .args(["--seconds", "30", "--deadline", "1", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a deadline is a failure");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["completed"], false);
    assert!(v["lost"].as_u64().unwrap() > 0, "{v}");
    assert!(stderr.contains("deadline"), "{stderr}");
    assert!(stderr.contains("lost, the first at position"), "{stderr}");
}
