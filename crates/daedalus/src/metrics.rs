//! Prometheus metrics: the process-wide registry, its text exposition, the HTTP counting
//! middleware and the metering decorator of the node port.
//!
//! Owns every counter and histogram the sidecar exports and their names. Figures derived from the
//! engine's records (operations by type and state, queue depth) are computed at scrape time from
//! `Engine::list`. It must not change operations, nor decide anything from the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::engine::{Engine, Filter};
use crate::node::{
    CompactionTask, ImportCall, Node, NodeConnector, NodeError, RebuildCall, ScrubCall,
};
use crate::record::State;

/// Upper bounds (seconds) of the operation duration histogram.
pub const OPERATION_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
];
/// Upper bounds (seconds) of the JMX call latency histogram.
pub const JMX_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0,
];

/// A cumulative histogram with fixed bounds.
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        let value = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (method, route, status) → requests.
    http: BTreeMap<(String, String, u16), u64>,
    /// (type, final state) → duration histogram (start to completion).
    durations: BTreeMap<(String, String), Histogram>,
    /// JMX call name → (calls, errors, latency).
    jmx: BTreeMap<String, (u64, u64, Option<Histogram>)>,
    /// Submissions refused because the queue was full.
    rejected_full: u64,
}

/// The registry. One per process (`global()`); tests read deltas.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        *self
            .lock()
            .http
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    /// An operation reached a final state after running for `seconds`.
    pub fn operation_finished(&self, r#type: &str, state: State, seconds: f64) {
        self.lock()
            .durations
            .entry((r#type.to_string(), state.as_str().to_string()))
            .or_insert_with(|| Histogram::new(OPERATION_BUCKETS))
            .observe(seconds);
    }

    pub fn jmx_call(&self, call: &str, seconds: f64, ok: bool) {
        let mut inner = self.lock();
        let entry = inner.jmx.entry(call.to_string()).or_default();
        entry.0 += 1;
        if !ok {
            entry.1 += 1;
        }
        entry
            .2
            .get_or_insert_with(|| Histogram::new(JMX_BUCKETS))
            .observe(seconds);
    }

    pub fn queue_full(&self) {
        self.lock().rejected_full += 1;
    }

    /// The Prometheus text exposition (format 0.0.4) of everything, with the engine's figures.
    pub fn render(&self, engine: &Engine) -> String {
        let mut out = String::with_capacity(4096);
        let mut by_type_state: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        let mut pending = 0u64;
        let mut running = 0u64;
        for record in engine.list(&Filter::default()) {
            match record.state {
                State::Pending => pending += 1,
                State::Running => running += 1,
                _ => {}
            }
            *by_type_state
                .entry((record.type_name().to_string(), record.state.as_str()))
                .or_default() += 1;
        }
        out.push_str(
            "# HELP daedalus_operations Operations held (journal and memory) by type and state.\n",
        );
        out.push_str("# TYPE daedalus_operations gauge\n");
        for ((t, s), n) in &by_type_state {
            let _ = writeln!(
                out,
                "daedalus_operations{{type=\"{}\",state=\"{s}\"}} {n}",
                escape(t)
            );
        }
        out.push_str("# HELP daedalus_queue_depth Operations waiting for a worker (PENDING).\n");
        out.push_str("# TYPE daedalus_queue_depth gauge\n");
        let _ = writeln!(out, "daedalus_queue_depth {pending}");
        out.push_str("# HELP daedalus_operations_running Operations running now.\n");
        out.push_str("# TYPE daedalus_operations_running gauge\n");
        let _ = writeln!(out, "daedalus_operations_running {running}");

        let inner = self.lock();
        out.push_str("# HELP daedalus_operations_rejected_total Submissions refused with 503 because the queue was full.\n");
        out.push_str("# TYPE daedalus_operations_rejected_total counter\n");
        let _ = writeln!(
            out,
            "daedalus_operations_rejected_total {}",
            inner.rejected_full
        );
        out.push_str("# HELP daedalus_operation_duration_seconds Time from start to final state, by type and final state.\n");
        out.push_str("# TYPE daedalus_operation_duration_seconds histogram\n");
        for ((t, s), h) in &inner.durations {
            h.write(
                &mut out,
                "daedalus_operation_duration_seconds",
                &format!("type=\"{}\",state=\"{s}\"", escape(t)),
            );
        }
        out.push_str(
            "# HELP daedalus_jmx_calls_total Calls made to the node through JMX, by call.\n",
        );
        out.push_str("# TYPE daedalus_jmx_calls_total counter\n");
        for (call, (n, _, _)) in &inner.jmx {
            let _ = writeln!(
                out,
                "daedalus_jmx_calls_total{{call=\"{}\"}} {n}",
                escape(call)
            );
        }
        out.push_str("# HELP daedalus_jmx_errors_total JMX calls that failed, by call.\n");
        out.push_str("# TYPE daedalus_jmx_errors_total counter\n");
        for (call, (_, e, _)) in &inner.jmx {
            let _ = writeln!(
                out,
                "daedalus_jmx_errors_total{{call=\"{}\"}} {e}",
                escape(call)
            );
        }
        out.push_str("# HELP daedalus_jmx_call_duration_seconds Latency of JMX calls, by call.\n");
        out.push_str("# TYPE daedalus_jmx_call_duration_seconds histogram\n");
        for (call, (_, _, h)) in &inner.jmx {
            if let Some(h) = h {
                h.write(
                    &mut out,
                    "daedalus_jmx_call_duration_seconds",
                    &format!("call=\"{}\"", escape(call)),
                );
            }
        }
        out.push_str(
            "# HELP daedalus_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE daedalus_http_requests_total counter\n");
        for ((m, r, s), n) in &inner.http {
            let _ = writeln!(
                out,
                "daedalus_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {n}",
                escape(m),
                escape(r)
            );
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn handler(axum::extract::State(engine): axum::extract::State<Engine>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        global().render(&engine),
    )
        .into_response()
}

/// Middleware counting every request by method, matched route (the template, never the raw path,
/// so ids do not explode the label set) and status.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    global().http_request(&method, &route, response.status().as_u16());
    response
}

/// Wraps a connector so that every node call is counted and timed (`connect` included).
pub struct MeteredConnector(pub Arc<dyn NodeConnector>);

struct MeteredNode(Arc<dyn Node>);

async fn metered<T>(
    call: &str,
    fut: impl std::future::Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    let started = Instant::now();
    let out = fut.await;
    let seconds = started.elapsed().as_secs_f64();
    global().jmx_call(call, seconds, out.is_ok());
    tracing::debug!(call, seconds, ok = out.is_ok(), "node call");
    out
}

#[async_trait]
impl NodeConnector for MeteredConnector {
    /// The read endpoints' facts, metered the same way (calls named `facts.*`).
    fn facts(&self) -> Option<Arc<dyn crate::facts::NodeFacts>> {
        self.0
            .facts()
            .map(|f| Arc::new(MeteredFacts(f)) as Arc<dyn crate::facts::NodeFacts>)
    }

    async fn connect(&self) -> Result<Arc<dyn Node>, NodeError> {
        let node = metered("connect", self.0.connect()).await?;
        Ok(Arc::new(MeteredNode(node)))
    }
}

#[async_trait]
impl Node for MeteredNode {
    async fn release_version(&self) -> Result<String, NodeError> {
        metered("releaseVersion", self.0.release_version()).await
    }

    async fn table_exists(&self, keyspace: &str, table: &str) -> Result<bool, NodeError> {
        metered("tableExists", self.0.table_exists(keyspace, table)).await
    }

    async fn import_sstables(
        &self,
        keyspace: &str,
        table: &str,
        call: &ImportCall,
    ) -> Result<Vec<String>, NodeError> {
        metered(
            "importNewSSTables",
            self.0.import_sstables(keyspace, table, call),
        )
        .await
    }

    async fn schema_version(&self) -> Result<String, NodeError> {
        metered("schemaVersion", self.0.schema_version()).await
    }

    async fn operation_mode(&self) -> Result<String, NodeError> {
        metered("operationMode", self.0.operation_mode()).await
    }

    async fn compactions(&self) -> Result<Vec<CompactionTask>, NodeError> {
        metered("compactions", self.0.compactions()).await
    }

    async fn cleanup(
        &self,
        keyspace: &str,
        tables: &[String],
        jobs: i32,
    ) -> Result<i32, NodeError> {
        metered(
            "forceKeyspaceCleanup",
            self.0.cleanup(keyspace, tables, jobs),
        )
        .await
    }

    async fn flush(&self, keyspace: &str, tables: &[String]) -> Result<(), NodeError> {
        metered("forceKeyspaceFlush", self.0.flush(keyspace, tables)).await
    }

    async fn scrub(
        &self,
        keyspace: &str,
        tables: &[String],
        call: &ScrubCall,
    ) -> Result<i32, NodeError> {
        metered("scrub", self.0.scrub(keyspace, tables, call)).await
    }

    async fn upgrade_sstables(
        &self,
        keyspace: &str,
        tables: &[String],
        include_all: bool,
        jobs: i32,
    ) -> Result<i32, NodeError> {
        metered(
            "upgradeSSTables",
            self.0.upgrade_sstables(keyspace, tables, include_all, jobs),
        )
        .await
    }

    async fn rebuild(&self, call: &RebuildCall) -> Result<(), NodeError> {
        metered("rebuild", self.0.rebuild(call)).await
    }

    async fn refresh(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        metered("loadNewSSTables", self.0.refresh(keyspace, table)).await
    }

    async fn decommission(&self, force: bool) -> Result<(), NodeError> {
        metered("decommission", self.0.decommission(force)).await
    }

    async fn drain(&self) -> Result<(), NodeError> {
        metered("drain", self.0.drain()).await
    }

    async fn truncate(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        metered("truncate", self.0.truncate(keyspace, table)).await
    }
}

struct MeteredFacts(Arc<dyn crate::facts::NodeFacts>);

#[async_trait]
impl crate::facts::NodeFacts for MeteredFacts {
    async fn operation_mode(&self) -> Result<String, NodeError> {
        metered("facts.operationMode", self.0.operation_mode()).await
    }

    async fn release_version(&self) -> Result<crate::facts::VersionFacts, NodeError> {
        metered("facts.releaseVersion", self.0.release_version()).await
    }

    async fn schema_version(&self) -> Result<String, NodeError> {
        metered("facts.schemaVersion", self.0.schema_version()).await
    }

    async fn topology(&self) -> Result<crate::facts::TopologyFacts, NodeError> {
        metered("facts.topology", self.0.topology()).await
    }

    fn cassandra_yaml(&self) -> Result<serde_json::Value, crate::facts::ConfigFileError> {
        self.0.cassandra_yaml()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::new(&[1.0, 10.0]);
        h.observe(0.5);
        h.observe(5.0);
        h.observe(50.0);
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 55.5\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
