//! A `metrics` recorder that renders the Prometheus text format (0.0.4), and a tiny HTTP
//! endpoint serving it. See the parent module for why it is hand-written.
//!
//! Storage: one map per metric kind from the full key (name + labels) to an atomic cell,
//! behind a mutex taken only when a handle is registered or the page is rendered; recording
//! through a handle touches only its atomics. Histograms have fixed cumulative buckets
//! ([`LATENCY_BUCKETS`]) plus a sum and a count.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tracing::debug;

/// Upper bounds (seconds) of the histogram buckets: 1 ms to 10 s, suited to heartbeat latency.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A [`Recorder`] that keeps every series in memory and renders them for Prometheus.
///
/// Clones share the same series, so keep one clone to render and install another.
///
/// # Examples
///
/// ```
/// use discordgateway::metrics::PrometheusRecorder;
///
/// let recorder = PrometheusRecorder::new();
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("jobs_total", "queue" => "a").increment(3);
/// });
/// assert!(recorder.render().contains("jobs_total{queue=\"a\"} 3"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PrometheusRecorder {
    /// The series, shared by clones.
    inner: Arc<Mutex<Series>>,
}

/// Every series and description.
#[derive(Debug, Default)]
struct Series {
    /// Counters by key.
    counters: HashMap<Key, Arc<AtomicU64>>,
    /// Gauges by key (f64 bits).
    gauges: HashMap<Key, Arc<AtomicU64>>,
    /// Histograms by key.
    histograms: HashMap<Key, Arc<AtomicHistogram>>,
    /// `# HELP` text by metric name.
    help: HashMap<String, String>,
}

/// A histogram with [`LATENCY_BUCKETS`], a sum and a count, all atomic.
#[derive(Debug)]
struct AtomicHistogram {
    /// Non-cumulative count per bucket; the last slot is `+Inf`.
    buckets: Vec<AtomicU64>,
    /// Sum of the values (f64 bits).
    sum: AtomicU64,
    /// Number of values.
    count: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..=LATENCY_BUCKETS.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum: AtomicU64::new(0.0_f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }
}

impl HistogramFn for AtomicHistogram {
    fn record(&self, value: f64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|&le| value <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(bucket) = self.buckets.get(slot) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        // A CAS loop: there is no atomic f64 add.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

impl PrometheusRecorder {
    /// An empty recorder. Install it with `metrics::set_global_recorder(recorder.clone())`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the series; a panic while holding the lock cannot leave them inconsistent
    /// (every update is a single insert), so a poisoned lock is used as is.
    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the `# HELP` text of `name`.
    fn describe(&self, name: &KeyName, description: &SharedString) {
        self.series()
            .help
            .insert(name.as_str().to_owned(), description.to_string());
    }

    /// Every series in the Prometheus text format 0.0.4, sorted by name then labels.
    #[must_use]
    pub fn render(&self) -> String {
        let series = self.series();
        let mut families: BTreeMap<String, Family> = BTreeMap::new();
        for (key, cell) in &series.counters {
            let line = format!("{} {}", sample(key, None, ""), cell.load(Ordering::Relaxed));
            push(&mut families, key, "counter", vec![line]);
        }
        for (key, cell) in &series.gauges {
            let value = f64::from_bits(cell.load(Ordering::Relaxed));
            let line = format!("{} {value}", sample(key, None, ""));
            push(&mut families, key, "gauge", vec![line]);
        }
        for (key, h) in &series.histograms {
            push(&mut families, key, "histogram", histogram_lines(key, h));
        }
        let mut out = String::new();
        for (name, (kind, mut members)) in families {
            if let Some(help) = series.help.get(&name) {
                let _ = writeln!(out, "# HELP {} {}", metric_name(&name), escape_help(help));
            }
            let _ = writeln!(out, "# TYPE {} {kind}", metric_name(&name));
            members.sort();
            for line in members.into_iter().flat_map(|(_, lines)| lines) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// Serves [`render`](Self::render) over HTTP/1.1 on `addr`: any `GET` (whatever the path)
    /// gets the page, anything else a 405. Spawns one task for the listener and one per
    /// connection; abort the returned handle to stop.
    ///
    /// # Errors
    ///
    /// The address could not be bound (in use, or not a local address).
    pub async fn serve(&self, addr: SocketAddr) -> io::Result<(SocketAddr, JoinHandle<()>)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let recorder = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(stream, &recorder).await {
                        debug!(%peer, error = %e, "metrics request failed");
                    }
                });
            }
        });
        Ok((local, task))
    }
}

/// The largest request head read before answering.
const MAX_REQUEST: usize = 8 * 1024;

/// Reads one request head and answers it, then closes.
async fn answer(mut stream: TcpStream, recorder: &PrometheusRecorder) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        io::Result::Ok(())
    })
    .await;
    read.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request head too slow"))??;
    let (status, body) = if buf.starts_with(b"GET ") {
        ("200 OK", recorder.render())
    } else {
        ("405 Method Not Allowed", "use GET\n".to_owned())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// A metric family: its type and, per series (sorted by the series' name and labels), its lines.
type Family = (&'static str, Vec<(String, Vec<String>)>);

/// Adds the lines of `key`'s series to the family of its name.
fn push(
    families: &mut BTreeMap<String, Family>,
    key: &Key,
    kind: &'static str,
    lines: Vec<String>,
) {
    families
        .entry(key.name().to_owned())
        .or_insert_with(|| (kind, Vec::new()))
        .1
        .push((sample(key, None, ""), lines));
}

/// The lines of one histogram series: cumulative buckets, `+Inf`, sum, count.
fn histogram_lines(key: &Key, h: &AtomicHistogram) -> Vec<String> {
    let mut lines = Vec::with_capacity(h.buckets.len() + 2);
    let mut cumulative = 0;
    for (i, bucket) in h.buckets.iter().enumerate() {
        cumulative += bucket.load(Ordering::Relaxed);
        let le = LATENCY_BUCKETS
            .get(i)
            .map_or_else(|| "+Inf".to_owned(), f64::to_string);
        lines.push(format!(
            "{} {cumulative}",
            sample(key, Some(&le), "_bucket")
        ));
    }
    let sum = f64::from_bits(h.sum.load(Ordering::Relaxed));
    lines.push(format!("{} {sum}", sample(key, None, "_sum")));
    let count = h.count.load(Ordering::Relaxed);
    lines.push(format!("{} {count}", sample(key, None, "_count")));
    lines
}

/// `name_suffix{labels,le="…"}` with the label values escaped.
fn sample(key: &Key, le: Option<&str>, suffix: &str) -> String {
    let mut out = metric_name(key.name());
    out.push_str(suffix);
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}=\"{}\"", metric_name(l.key()), escape_value(l.value())))
        .collect();
    if let Some(le) = le {
        labels.push(format!("le=\"{le}\""));
    }
    if !labels.is_empty() {
        out.push('{');
        out.push_str(&labels.join(","));
        out.push('}');
    }
    out
}

/// A valid Prometheus name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, other characters replaced by `_`.
fn metric_name(name: &str) -> String {
    name.char_indices()
        .map(|(i, c)| {
            let ok =
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit());
            if ok { c } else { '_' }
        })
        .collect()
}

/// Escapes a label value: backslash, double quote and newline.
fn escape_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Escapes `# HELP` text: backslash and newline.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

impl Recorder for PrometheusRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(&key, &description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(&key, &description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(&key, &description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(self.series().counters.entry(key.clone()).or_default());
        Counter::from_arc(cell)
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        let cell = Arc::clone(self.series().gauges.entry(key.clone()).or_default());
        Gauge::from_arc(cell)
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let cell = Arc::clone(self.series().histograms.entry(key.clone()).or_default());
        Histogram::from_arc(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_label_values_are_escaped() {
        const CASES: &[(&str, &str, &str)] = &[
            ("plain", "a", "m_total{l=\"a\"} 1"),
            ("quote", "say \"hi\"", "m_total{l=\"say \\\"hi\\\"\"} 1"),
            ("backslash", "c:\\x", "m_total{l=\"c:\\\\x\"} 1"),
            ("newline", "a\nb", "m_total{l=\"a\\nb\"} 1"),
        ];
        for (name, value, expected) in CASES {
            let recorder = PrometheusRecorder::new();
            ::metrics::with_local_recorder(&recorder, || {
                ::metrics::counter!("m.total", "l" => value.to_string()).increment(1);
            });
            let text = recorder.render();
            assert!(text.lines().any(|l| l == *expected), "{name}: {text}");
            assert!(text.contains("# TYPE m_total counter"), "{name}: {text}");
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let recorder = PrometheusRecorder::new();
        ::metrics::with_local_recorder(&recorder, || {
            let h = ::metrics::histogram!("rtt");
            for v in [0.0005, 0.02, 0.02, 20.0] {
                h.record(v);
            }
        });
        let text = recorder.render();
        for line in [
            "# TYPE rtt histogram",
            "rtt_bucket{le=\"0.001\"} 1",
            "rtt_bucket{le=\"0.01\"} 1",
            "rtt_bucket{le=\"0.025\"} 3",
            "rtt_bucket{le=\"10\"} 3",
            "rtt_bucket{le=\"+Inf\"} 4",
            "rtt_sum 20.0405",
            "rtt_count 4",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let buckets: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("rtt_bucket"))
            .collect();
        assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1, "{text}");
        assert!(
            buckets.last().is_some_and(|l| l.contains("+Inf")),
            "+Inf last: {text}"
        );
    }

    #[tokio::test]
    async fn serve_answers_get_with_the_page_and_other_methods_with_405() {
        let recorder = PrometheusRecorder::new();
        ::metrics::with_local_recorder(&recorder, || ::metrics::gauge!("up").set(1.0));
        let (addr, task) = recorder
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        const CASES: &[(&str, &str, &str)] = &[
            ("get", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK"),
            ("post", "POST / HTTP/1.1\r\n\r\n", "405"),
        ];
        for (name, request, status) in CASES {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(request.as_bytes()).await.expect("write");
            let mut reply = String::new();
            s.read_to_string(&mut reply).await.expect("read");
            assert!(
                reply.starts_with(&format!("HTTP/1.1 {status}")),
                "{name}: {reply}"
            );
            if *name == "get" {
                assert!(
                    reply.ends_with("# TYPE up gauge\nup 1\n"),
                    "{name}: {reply}"
                );
            }
        }
        task.abort();
    }
}
