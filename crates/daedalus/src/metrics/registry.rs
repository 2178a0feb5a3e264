//! The process-wide registry: every metric family, its name, labels and buckets, and the
//! exposition through `prometheus-client`.
//!
//! Owns the families and `render`. It must not know the engine, HTTP or operations: callers
//! record events and hand in the records' figures at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the operation duration histogram.
pub const OPERATION_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
];
/// Upper bounds (seconds) of the JMX call latency histogram.
pub const JMX_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0,
];

/// The content type of [`Metrics::render`] (OpenMetrics text, what `prometheus-client` writes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of [`Metrics::render_classic`] (the Prometheus text format the API documents).
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeState {
    r#type: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabel {
    call: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn operation_histogram() -> Histogram {
    Histogram::new(OPERATION_BUCKETS.iter().copied())
}

fn jmx_histogram() -> Histogram {
    Histogram::new(JMX_BUCKETS.iter().copied())
}

/// What the records say at scrape time.
#[derive(Debug, Clone, Default)]
pub struct RecordFigures {
    /// (type, state, count) of every record held.
    pub by_type_state: Vec<(String, &'static str, u64)>,
    pub pending: u64,
    pub running: u64,
}

/// The registry. One per process ([`global`]); tests read deltas.
pub struct Metrics {
    registry: Registry,
    operations: Family<TypeState, Gauge>,
    queue_depth: Gauge,
    running: Gauge,
    rejected: Counter,
    durations: HistogramFamily<TypeState>,
    jmx_calls: Family<CallLabel, Counter>,
    jmx_errors: Family<CallLabel, Counter>,
    jmx_latency: HistogramFamily<CallLabel>,
    http: Family<HttpLabels, Counter>,
    archived_segments: Counter,
    archived_bytes: Counter,
    archive_failures: Counter,
    archive_pending: Gauge,
    archive_lag: Gauge,
    /// Last-modified time (epoch millis) of the oldest segment waiting in the archive
    /// directory, 0 when none: the lag is computed from it at scrape time, so it keeps growing
    /// while an upload is stuck even though the archiver reports only when it looks.
    archive_oldest_millis: AtomicU64,
    /// Scrapes set the record gauges, then encode: one at a time.
    render: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let operations = Family::<TypeState, Gauge>::default();
        registry.register(
            "daedalus_operations",
            "Operations held (journal and memory) by type and state",
            operations.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "daedalus_queue_depth",
            "Operations waiting for a worker (PENDING)",
            queue_depth.clone(),
        );
        let running = Gauge::default();
        registry.register(
            "daedalus_operations_running",
            "Operations running now",
            running.clone(),
        );
        let rejected = Counter::default();
        registry.register(
            "daedalus_operations_rejected",
            "Submissions refused with 503 because the queue was full",
            rejected.clone(),
        );
        let durations: HistogramFamily<TypeState> =
            Family::new_with_constructor(operation_histogram);
        registry.register(
            "daedalus_operation_duration_seconds",
            "Time from start to final state, by type and final state",
            durations.clone(),
        );
        let jmx_calls = Family::<CallLabel, Counter>::default();
        registry.register(
            "daedalus_jmx_calls",
            "Calls made to the node through JMX, by call",
            jmx_calls.clone(),
        );
        let jmx_errors = Family::<CallLabel, Counter>::default();
        registry.register(
            "daedalus_jmx_errors",
            "JMX calls that failed, by call",
            jmx_errors.clone(),
        );
        let jmx_latency: HistogramFamily<CallLabel> = Family::new_with_constructor(jmx_histogram);
        registry.register(
            "daedalus_jmx_call_duration_seconds",
            "Latency of JMX calls, by call",
            jmx_latency.clone(),
        );
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "daedalus_http_requests",
            "HTTP requests by method, route and status",
            http.clone(),
        );
        let archived_segments = Counter::default();
        registry.register(
            "daedalus_commitlog_archived_segments",
            "Commit-log segments uploaded to the archive location (confirmed there, then removed \
             from the archive directory)",
            archived_segments.clone(),
        );
        let archived_bytes = Counter::default();
        registry.register(
            "daedalus_commitlog_archived_bytes",
            "Bytes of the commit-log segments counted by daedalus_commitlog_archived_segments",
            archived_bytes.clone(),
        );
        let archive_failures = Counter::default();
        registry.register(
            "daedalus_commitlog_archive_failures",
            "Failed attempts of the commit-log archiver (opening the store, uploading, \
             confirming, removing, reading the directory); each is retried",
            archive_failures.clone(),
        );
        let archive_pending = Gauge::default();
        registry.register(
            "daedalus_commitlog_archive_pending_segments",
            "Commit-log segments in the archive directory not yet uploaded",
            archive_pending.clone(),
        );
        let archive_lag = Gauge::default();
        registry.register(
            "daedalus_commitlog_archive_lag_seconds",
            "Age of the oldest commit-log segment in the archive directory not yet uploaded \
             (since its last write), 0 when none waits: the recovery point lag of closed segments",
            archive_lag.clone(),
        );
        Metrics {
            registry,
            operations,
            queue_depth,
            running,
            rejected,
            durations,
            jmx_calls,
            jmx_errors,
            jmx_latency,
            http,
            archived_segments,
            archived_bytes,
            archive_failures,
            archive_pending,
            archive_lag,
            archive_oldest_millis: AtomicU64::new(0),
            render: Mutex::new(()),
        }
    }

    /// One HTTP request answered, by route template (never the raw path) and status.
    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// An operation reached the final `state` after running for `seconds`.
    pub fn operation_finished(&self, r#type: &str, state: &str, seconds: f64) {
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        self.durations
            .get_or_create(&TypeState {
                r#type: r#type.to_string(),
                state: state.to_string(),
            })
            .observe(seconds);
    }

    /// One call to the node, named as the metrics show it.
    pub fn jmx_call(&self, call: &str, seconds: f64, ok: bool) {
        let label = CallLabel {
            call: call.to_string(),
        };
        self.jmx_calls.get_or_create(&label).inc();
        // Created at 0 with the first call, so a call that never failed shows 0 errors.
        let errors = self.jmx_errors.get_or_create(&label);
        if !ok {
            errors.inc();
        }
        self.jmx_latency
            .get_or_create(&label)
            .observe(seconds.max(0.0));
    }

    /// A submission refused because `--max-pending` operations already wait.
    pub fn queue_full(&self) {
        self.rejected.inc();
    }

    /// One commit-log segment of `bytes` uploaded, confirmed and removed locally.
    pub fn commitlog_archived(&self, bytes: u64) {
        self.archived_segments.inc();
        self.archived_bytes.inc_by(bytes);
    }

    /// One failed attempt of the commit-log archiver (it tries again).
    pub fn commitlog_archive_failed(&self) {
        self.archive_failures.inc();
    }

    /// What waits in the archive directory: how many segments, and the last-modified time
    /// (epoch millis) of the oldest, `None` when none.
    pub fn commitlog_waiting(&self, segments: usize, oldest_millis: Option<u64>) {
        self.archive_pending
            .set(i64::try_from(segments).unwrap_or(i64::MAX));
        // 0 stands for none, so a segment dated at the epoch (a clock never set) counts as 1.
        self.archive_oldest_millis
            .store(oldest_millis.map_or(0, |m| m.max(1)), Ordering::Relaxed);
    }

    /// The recovery point lag as of now, whole seconds: 0 when nothing waits.
    pub fn commitlog_lag_seconds(&self) -> u64 {
        match self.archive_oldest_millis.load(Ordering::Relaxed) {
            0 => 0,
            oldest => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                now.saturating_sub(oldest) / 1000
            }
        }
    }

    /// [`Metrics::render`] in the classic Prometheus text format 0.0.4.
    pub fn render_classic(&self, figures: &RecordFigures) -> String {
        classic(&self.render(figures))
    }

    /// The exposition of everything, with the records' figures as of now, in OpenMetrics text.
    pub fn render(&self, figures: &RecordFigures) -> String {
        let _one_at_a_time = self.render.lock().unwrap_or_else(|p| p.into_inner());
        self.operations.clear();
        for (r#type, state, count) in &figures.by_type_state {
            self.operations
                .get_or_create(&TypeState {
                    r#type: r#type.clone(),
                    state: (*state).to_string(),
                })
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        self.queue_depth
            .set(i64::try_from(figures.pending).unwrap_or(i64::MAX));
        self.running
            .set(i64::try_from(figures.running).unwrap_or(i64::MAX));
        self.archive_lag
            .set(i64::try_from(self.commitlog_lag_seconds()).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// OpenMetrics text as the classic Prometheus text format 0.0.4: a counter family's `# HELP` and
/// `# TYPE` name the series (`x_total`), and the OpenMetrics-only `# UNIT` and `# EOF` go.
fn classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 256);
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (*p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{prefix}{name}_total {tail}"));
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_buckets_are_the_documented_ones() {
        let metrics = Metrics::new();
        metrics.jmx_call("forceKeyspaceFlush", 0.5, true);
        metrics.jmx_call("forceKeyspaceFlush", 50.0, false);
        metrics.http_request("GET", "/operations/{id}", 200);
        metrics.operation_finished("flush", "COMPLETED", 2.0);
        metrics.queue_full();
        let figures = RecordFigures {
            by_type_state: vec![("flush".into(), "COMPLETED", 3)],
            pending: 2,
            running: 1,
        };
        let out = metrics.render(&figures);
        for line in [
            "daedalus_jmx_calls_total{call=\"forceKeyspaceFlush\"} 2",
            "daedalus_jmx_errors_total{call=\"forceKeyspaceFlush\"} 1",
            "daedalus_jmx_call_duration_seconds_bucket{le=\"1.0\",call=\"forceKeyspaceFlush\"} 1",
            "daedalus_jmx_call_duration_seconds_bucket{le=\"+Inf\",call=\"forceKeyspaceFlush\"} 2",
            "daedalus_http_requests_total{method=\"GET\",route=\"/operations/{id}\",status=\"200\"} 1",
            "daedalus_operation_duration_seconds_count{type=\"flush\",state=\"COMPLETED\"} 1",
            "daedalus_operations{type=\"flush\",state=\"COMPLETED\"} 3",
            "daedalus_queue_depth 2",
            "daedalus_operations_running 1",
            "daedalus_operations_rejected_total 1",
        ] {
            assert!(out.contains(line), "{line} missing from\n{out}");
        }
        let old = metrics.render_classic(&figures);
        for line in [
            "# TYPE daedalus_jmx_calls_total counter",
            "# TYPE daedalus_http_requests_total counter",
            "# TYPE daedalus_operations_rejected_total counter",
            "# TYPE daedalus_operations gauge",
            "# TYPE daedalus_jmx_call_duration_seconds histogram",
            "daedalus_jmx_calls_total{call=\"forceKeyspaceFlush\"} 2",
        ] {
            assert!(old.contains(line), "{line} missing from\n{old}");
        }
        assert!(old.contains("# HELP daedalus_jmx_calls_total "), "{old}");
        assert!(!old.contains("# EOF"), "{old}");
        // Gauges follow the records: a type that is gone is no longer shown.
        let out = metrics.render(&RecordFigures::default());
        assert!(!out.contains("daedalus_operations{"), "{out}");
    }

    #[test]
    fn commitlog_archiving_figures() {
        let metrics = Metrics::new();
        let out = metrics.render(&RecordFigures::default());
        for line in [
            "daedalus_commitlog_archived_segments_total 0",
            "daedalus_commitlog_archive_lag_seconds 0",
            "daedalus_commitlog_archive_pending_segments 0",
        ] {
            assert!(out.contains(line), "{line} missing from\n{out}");
        }
        metrics.commitlog_archived(1000);
        metrics.commitlog_archived(24);
        metrics.commitlog_archive_failed();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        metrics.commitlog_waiting(2, Some(now - 90_500));
        let out = metrics.render_classic(&RecordFigures::default());
        for line in [
            "# TYPE daedalus_commitlog_archived_segments_total counter",
            "daedalus_commitlog_archived_segments_total 2",
            "daedalus_commitlog_archived_bytes_total 1024",
            "daedalus_commitlog_archive_failures_total 1",
            "daedalus_commitlog_archive_pending_segments 2",
        ] {
            assert!(out.contains(line), "{line} missing from\n{out}");
        }
        let lag = metrics.commitlog_lag_seconds();
        assert!((90..120).contains(&lag), "{lag}");
        metrics.commitlog_waiting(0, None);
        assert_eq!(metrics.commitlog_lag_seconds(), 0);
        assert!(metrics
            .render(&RecordFigures::default())
            .contains("daedalus_commitlog_archive_lag_seconds 0"));
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.jmx_call("a\"b", 0.0, true);
        let out = metrics.render(&RecordFigures::default());
        assert!(out.contains("call=\"a\\\"b\""), "{out}");
    }
}
