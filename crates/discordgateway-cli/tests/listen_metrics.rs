//! `listen --metrics ADDR` end to end: the Prometheus text served over HTTP carries the shard
//! counters (identifies, events with `shard`/`total` labels, the ready gauges).

mod cli_common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cli_common::listen;

/// `GET /metrics` on `addr`; the whole response.
fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics address");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_prometheus_text_with_the_shard_counters() {
    let emulator = cli_common::message_stream(2, 200.0).await;
    let url = emulator.url();
    let mut running = listen(
        "MTAx.metrics.token",
        &["--url", &url, "--metrics", "127.0.0.1:0", "--shards", "2"],
    );
    let line = running.stderr_line("metrics: http://", Duration::from_secs(30));
    let addr = line
        .trim_start_matches("metrics: http://")
        .trim_end_matches("/metrics")
        .to_owned();
    running.stdout_line(Duration::from_secs(30)); // events flow
    const WANTED: &[&str] = &[
        "discordgateway_identifies_total{shard=\"0\",total=\"2\"} 1",
        "discordgateway_identifies_total{shard=\"1\",total=\"2\"} 1",
        "discordgateway_shard_ready{shard=\"1\",total=\"2\"} 1",
        "discordgateway_shards_total 2",
        "discordgateway_shards_ready 2",
        "# TYPE discordgateway_events_total counter",
    ];
    // Shard 1 identifies one 5 s window after shard 0: scrape until everything shows.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let response = scrape(&addr);
        let missing: Vec<&&str> = WANTED
            .iter()
            .filter(|w| !response.lines().any(|l| l == **w))
            .collect();
        if missing.is_empty() {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "missing {missing:?} in\n{response}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/plain"), "content type: {text}");
    let events = text
        .lines()
        .find(|l| l.starts_with("discordgateway_events_total{shard=\"0\",total=\"2\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .expect("shard 0's event counter");
    assert!(events > 0.0, "{text}");
    let (status, _) = running.interrupt();
    assert!(status.success(), "Ctrl-C exits cleanly");
}
