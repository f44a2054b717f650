//! Metrics through the [`metrics`](::metrics) facade, and a small Prometheus text exporter.
//!
//! The [`ShardManager`](crate::ShardManager) records the figures below through the `metrics`
//! facade crate, so they go to whatever recorder the application installed (Prometheus, StatsD,
//! OpenTelemetry…) and cost one relaxed atomic operation each when one is installed, nothing
//! when none is. Every per-shard series carries the labels `shard` (the number) and `total`
//! (the shard count), so during resharding the old and the new set are told apart.
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | [`EVENTS`] | counter | dispatches the shard received (before resharding deduplication) |
//! | [`RECONNECTS`] | counter | connections lost and re-opened |
//! | [`IDENTIFIES`] | counter | READYs (new sessions) |
//! | [`RESUMES`] | counter | RESUMEDs (sessions continued) |
//! | [`SHARD_READY`] | gauge | 1 while the shard is connected with a session, else 0 |
//! | [`LATENCY`] | histogram | heartbeat round trip, seconds (GATEWAY.md §3.3) |
//! | [`SHARDS_READY`] | gauge | shards of the current set that are ready (no labels) |
//! | [`SHARDS_TOTAL`] | gauge | shards the manager runs in the current set (no labels) |
//! | [`DUPLICATES`] | counter | dispatches dropped as duplicates while resharding (no labels) |
//!
//! # The exporter
//!
//! [`PrometheusRecorder`] is a hand-written recorder that renders the
//! [Prometheus text format 0.0.4](https://prometheus.io/docs/instrumenting/exposition_formats/)
//! and [`PrometheusRecorder::serve`] answers `GET` on a TCP address with it (what
//! `discordgateway listen --metrics ADDR` uses). We measured the alternative,
//! `metrics-exporter-prometheus` 0.18 with only `http-listener`: it pulls 25 crates this
//! workspace does not otherwise build (hyper, h2, evmap, crossbeam, quanta, ddsketch…) and took
//! 76 s wall / 35 s CPU to build from scratch on the 2-core build machine, against 2.5 s for the
//! `metrics` crate alone. The hand-written one is about 300 lines with fixed histogram buckets,
//! which is all `listen` needs; applications wanting more install the full exporter themselves.

mod prometheus;

use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use crate::proto::shard::ShardId;

pub use prometheus::{LATENCY_BUCKETS, PrometheusRecorder};

/// Counter: dispatches a shard received, counted by its task as it hands them toward the
/// merged stream, so before resharding deduplication: during an overlap both sets count their
/// copy, and [`DUPLICATES`] counts the copies dropped. The application receives the sum over
/// both sets minus the duplicates.
pub const EVENTS: &str = "discordgateway_events_total";
/// Counter: connections lost and re-opened.
pub const RECONNECTS: &str = "discordgateway_reconnects_total";
/// Counter: READYs, i.e. sessions started by Identify.
pub const IDENTIFIES: &str = "discordgateway_identifies_total";
/// Counter: RESUMEDs, i.e. sessions continued by Resume.
pub const RESUMES: &str = "discordgateway_resumes_total";
/// Gauge: 1 while the shard is connected with a session, else 0.
pub const SHARD_READY: &str = "discordgateway_shard_ready";
/// Histogram: heartbeat round trip in seconds.
pub const LATENCY: &str = "discordgateway_heartbeat_latency_seconds";
/// Gauge: shards of the current set that are ready.
pub const SHARDS_READY: &str = "discordgateway_shards_ready";
/// Gauge: shards in the current set.
pub const SHARDS_TOTAL: &str = "discordgateway_shards_total";
/// Counter: dispatches dropped as duplicates during a resharding overlap.
pub const DUPLICATES: &str = "discordgateway_duplicates_dropped_total";

/// Registers the descriptions (`# HELP` lines) of every metric above with the installed
/// recorder. Call it once after installing a recorder; recording works without it.
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        EVENTS,
        "Dispatches received by the shard (before resharding deduplication)."
    );
    describe_counter!(RECONNECTS, "Gateway connections lost and re-opened.");
    describe_counter!(IDENTIFIES, "Sessions started by Identify (READY received).");
    describe_counter!(RESUMES, "Sessions continued by Resume (RESUMED received).");
    describe_gauge!(
        SHARD_READY,
        "1 while the shard is connected with a session."
    );
    describe_histogram!(LATENCY, Unit::Seconds, "Heartbeat round trip.");
    describe_gauge!(SHARDS_READY, "Shards of the current set that are ready.");
    describe_gauge!(SHARDS_TOTAL, "Shards in the current set.");
    describe_counter!(
        DUPLICATES,
        "Dispatches dropped as duplicates while resharding."
    );
}

/// The metric handles of one shard, registered once so the hot path does no lookups.
#[derive(Debug, Clone)]
pub(crate) struct ShardMetrics {
    /// [`EVENTS`].
    events: Counter,
    /// [`RECONNECTS`].
    reconnects: Counter,
    /// [`IDENTIFIES`].
    identifies: Counter,
    /// [`RESUMES`].
    resumes: Counter,
    /// [`SHARD_READY`].
    ready: Gauge,
    /// [`LATENCY`].
    latency: Histogram,
}

impl ShardMetrics {
    /// Registers the handles of `shard` with the current recorder.
    pub(crate) fn new(shard: ShardId) -> Self {
        let labels = [
            ("shard", shard.number().to_string()),
            ("total", shard.total().to_string()),
        ];
        Self {
            events: counter!(EVENTS, &labels),
            reconnects: counter!(RECONNECTS, &labels),
            identifies: counter!(IDENTIFIES, &labels),
            resumes: counter!(RESUMES, &labels),
            ready: gauge!(SHARD_READY, &labels),
            latency: histogram!(LATENCY, &labels),
        }
    }

    /// One dispatch delivered.
    pub(crate) fn event(&self) {
        self.events.increment(1);
    }

    /// One reconnect.
    pub(crate) fn reconnect(&self) {
        self.reconnects.increment(1);
    }

    /// One READY.
    pub(crate) fn identified(&self) {
        self.identifies.increment(1);
    }

    /// One RESUMED.
    pub(crate) fn resumed(&self) {
        self.resumes.increment(1);
    }

    /// Whether the shard is ready.
    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.set(if ready { 1.0 } else { 0.0 });
    }

    /// One heartbeat round trip.
    pub(crate) fn latency(&self, rtt: Duration) {
        self.latency.record(rtt.as_secs_f64());
    }
}

/// The manager-wide handles.
#[derive(Debug, Clone)]
pub(crate) struct ManagerMetrics {
    /// [`SHARDS_READY`].
    pub(crate) ready: Gauge,
    /// [`SHARDS_TOTAL`].
    pub(crate) total: Gauge,
    /// [`DUPLICATES`].
    pub(crate) duplicates: Counter,
}

impl ManagerMetrics {
    /// Registers the handles with the current recorder.
    pub(crate) fn new() -> Self {
        Self {
            ready: gauge!(SHARDS_READY),
            total: gauge!(SHARDS_TOTAL),
            duplicates: counter!(DUPLICATES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_handles_record_with_shard_and_total_labels() {
        let recorder = PrometheusRecorder::new();
        ::metrics::with_local_recorder(&recorder, || {
            describe();
            let m = ShardMetrics::new(ShardId::new(3, 16).expect("shard"));
            m.event();
            m.event();
            m.reconnect();
            m.identified();
            m.set_ready(true);
            m.latency(Duration::from_millis(40));
            ManagerMetrics::new().ready.set(1.0);
        });
        let text = recorder.render();
        for line in [
            "# HELP discordgateway_events_total Dispatches received by the shard (before resharding deduplication).",
            "# TYPE discordgateway_events_total counter",
            "discordgateway_events_total{shard=\"3\",total=\"16\"} 2",
            "discordgateway_reconnects_total{shard=\"3\",total=\"16\"} 1",
            "discordgateway_identifies_total{shard=\"3\",total=\"16\"} 1",
            "discordgateway_shard_ready{shard=\"3\",total=\"16\"} 1",
            "discordgateway_heartbeat_latency_seconds_bucket{shard=\"3\",total=\"16\",le=\"0.05\"} 1",
            "discordgateway_heartbeat_latency_seconds_bucket{shard=\"3\",total=\"16\",le=\"0.025\"} 0",
            "discordgateway_heartbeat_latency_seconds_count{shard=\"3\",total=\"16\"} 1",
            "discordgateway_shards_ready 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
