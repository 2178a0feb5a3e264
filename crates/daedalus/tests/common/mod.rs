//! Test helpers shared by the integration tests (and reusable by end-to-end tests against a real
//! node): an in-process server on 127.0.0.1:0 built with any `NodeConnector`, a minimal HTTP/1.1
//! client, the Icarus schema validator, a scriptable fake node, and fixture copies.

#![allow(dead_code)]

pub mod spec;
pub mod testnode;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use daedalus::engine::{Engine, EngineConfig};
use daedalus::journal::Journal;
use daedalus::node::{ImportCall, Node, NodeConnector, NodeError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Longest a test waits for an operation to reach a state before giving up (a bound against
/// hangs, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Server

pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: Engine,
    server: JoinHandle<()>,
}

impl TestServer {
    /// Starts the engine over the journal in `data_dir` and serves the API on 127.0.0.1:0.
    pub async fn start(
        connector: Arc<dyn NodeConnector>,
        config: EngineConfig,
        data_dir: &Path,
    ) -> TestServer {
        let journal = Journal::open(data_dir).expect("journal opens");
        let engine = Engine::start(journal, connector, config)
            .await
            .expect("engine starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let app_engine = engine.clone();
        let server = tokio::spawn(async move {
            let _ = daedalus::http::serve(listener, app_engine, std::future::pending()).await;
        });
        TestServer {
            addr,
            engine,
            server,
        }
    }

    /// Stops everything at once, as a crash would.
    pub fn halt(self) {
        self.engine.halt();
        self.server.abort();
    }

    pub async fn post(&self, body: &Value) -> Resp {
        request(self.addr, "POST", "/operations", Some(body.to_string())).await
    }

    pub async fn post_raw(&self, body: &str) -> Resp {
        request(self.addr, "POST", "/operations", Some(body.to_string())).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        request(self.addr, "DELETE", path, None).await
    }

    /// Submits and asserts 201; returns the record.
    pub async fn submit(&self, body: &Value) -> Value {
        let resp = self.post(body).await;
        assert_eq!(
            resp.status, 201,
            "submit {body} answered {}: {}",
            resp.status, resp.body
        );
        assert_operation(&resp.body);
        resp.body
    }

    /// Submits, asserts 201, returns the new id.
    pub async fn submit_id(&self, body: &Value) -> String {
        self.submit(body).await["id"]
            .as_str()
            .expect("an id")
            .to_string()
    }

    /// Submits and waits for the operation to finish; returns its final record.
    pub async fn run(&self, body: &Value) -> Value {
        let id = self.submit_id(body).await;
        self.wait_finished(&id).await
    }

    /// Waits until the operation is COMPLETED, FAILED or CANCELLED.
    pub async fn wait_finished(&self, id: &str) -> Value {
        self.wait_for(id, "finished", |r| {
            matches!(
                r["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        })
        .await
    }

    /// Polls `GET /operations/{id}` until `pred` holds; panics after `PATIENCE`.
    pub async fn wait_for(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_until(self.addr, id, what, pred).await
    }

    pub async fn wait_state(&self, id: &str, state: &str) -> Value {
        self.wait_for(id, state, |r| r["state"] == state).await
    }
}

pub async fn wait_until(
    addr: SocketAddr,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let resp = request(addr, "GET", &format!("/operations/{id}"), None).await;
        if resp.status == 200 && pred(&resp.body) {
            assert_operation(&resp.body);
            return resp.body;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "operation {id} never became {what}; last answer {}: {}",
                resp.status, resp.body
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `cond` holds; panics after `PATIENCE`.
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("never happened: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An address nobody listens on (bound, then released).
pub fn dead_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

pub fn config(workers: usize) -> EngineConfig {
    EngineConfig {
        workers,
        ..EngineConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP client (HTTP/1.1, one request per connection)

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::String` when it is not JSON, `Null` when empty).
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<String>) -> Resp {
    let resp = try_request(addr, method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    // Every answer of every API test validates against our OpenAPI document (and Icarus's
    // contract where it has the path); see `spec.rs`.
    spec::check(method, path, resp.status, &resp.body);
    resp
}

pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect(addr).await?;
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            String::from_utf8_lossy(&raw).into_owned(),
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The Icarus schema

fn spec_path() -> PathBuf {
    shared_dir().join("reference/icarus-openapi.yaml")
}

pub fn shared_dir() -> PathBuf {
    match std::env::var_os("DAEDALUS_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data"),
    }
}

/// The spec's `components`, with its known difference from Icarus's behaviour applied:
/// `progress` is a number in 0..1 (the spec says string).
fn components() -> &'static Value {
    static COMPONENTS: OnceLock<Value> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        let text = std::fs::read_to_string(spec_path()).expect("the Icarus spec is readable");
        let yaml: yaml_serde::Value = yaml_serde::from_str(&text).expect("the spec is YAML");
        let mut doc = serde_json::to_value(yaml).expect("the spec converts to JSON");
        doc["components"]["schemas"]["BaseOperation"]["properties"]["progress"] =
            json!({ "type": "number", "minimum": 0, "maximum": 1 });
        doc["components"].clone()
    })
}

/// A validator for `#/components/schemas/{name}` (or any JSON schema referring to them).
pub fn validator(schema: Value) -> jsonschema::Validator {
    let mut root = schema;
    root["components"] = components().clone();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .expect("schema compiles")
}

pub fn assert_schema(name: &str, value: &Value) {
    let v = validator(json!({ "$ref": format!("#/components/schemas/{name}") }));
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{value} does not match {name}: {errors:?}"
    );
}

/// Checks an import record against `ImportOperationResponse` plus what the spec leaves loose:
/// the state set, timestamps in UTC with milliseconds, `progress` in 0..1, the flattened fields.
pub fn assert_operation(value: &Value) {
    assert_schema(response_schema(value), value);
    let required: Vec<&str> =
        ["type", "id", "state", "progress", "creationTime", "errors"].to_vec();
    for field in required {
        assert!(value.get(field).is_some(), "{value} lacks {field}");
    }
    assert!(
        uuid::Uuid::parse_str(value["id"].as_str().unwrap_or("")).is_ok(),
        "id of {value}"
    );
    for field in ["creationTime", "startTime", "completionTime"] {
        if let Some(t) = value.get(field) {
            let t = t
                .as_str()
                .unwrap_or_else(|| panic!("{field} of {value} is not a string"));
            assert!(
                is_iso_millis_utc(t),
                "{field} {t:?} is not ISO-8601 UTC with milliseconds"
            );
        }
    }
    if value["type"] == "import" {
        for field in ["keyspace", "table", "sourceDir"] {
            assert!(value[field].is_string(), "{value} lacks {field}");
        }
        for field in [
            "keepLevel",
            "keepRepaired",
            "noVerify",
            "noVerifyTokens",
            "noInvalidateCaches",
            "quick",
            "extendedVerify",
            "copyData",
        ] {
            assert!(value[field].is_boolean(), "{value} lacks boolean {field}");
        }
    }
    let state = value["state"].as_str().unwrap_or("");
    let finished = matches!(state, "COMPLETED" | "FAILED" | "CANCELLED");
    assert_eq!(
        value.get("completionTime").is_some(),
        finished,
        "completionTime vs state in {value}"
    );
    if finished {
        assert_eq!(
            value["progress"],
            json!(1.0),
            "a finished operation shows progress 1.0: {value}"
        );
    }
    if state == "PENDING" {
        assert!(
            value.get("startTime").is_none(),
            "a PENDING operation has no startTime: {value}"
        );
    }
    if state == "FAILED" {
        assert!(
            value["failureCause"].is_object(),
            "a FAILED operation has a failureCause: {value}"
        );
    }
}

/// The spec's response schema for the record's `type`.
pub fn response_schema(value: &Value) -> &'static str {
    match value["type"].as_str().unwrap_or("") {
        "cleanup" => "CleanupOperationResponse",
        "decommission" => "DecommissionOperationResponse",
        "drain" => "DrainOperationResponse",
        "flush" => "FlushOperationResponse",
        "rebuild" => "RebuildOperationResponse",
        "refresh" => "RefreshOperationResponse",
        "restart" => "RestartOperationResponse",
        "scrub" => "ScrubOperationResponse",
        "upgradesstables" => "UpgradeSSTablesOperationResponse",
        "truncate" => "TruncateOperationResponse",
        _ => "ImportOperationResponse",
    }
}

pub fn assert_operation_list(value: &Value) {
    let v = validator(json!({
        "type": "array",
        "items": { "$ref": "#/components/schemas/ImportOperationResponse" }
    }));
    let errors: Vec<String> = v.iter_errors(value).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{value} is not a list of operations: {errors:?}"
    );
    for item in value.as_array().expect("a list") {
        assert_operation(item);
    }
}

fn is_iso_millis_utc(t: &str) -> bool {
    // 2026-11-28T21:39:41.123Z
    let b = t.as_bytes();
    b.len() == 24
        && b[23] == b'Z'
        && b[10] == b'T'
        && b[19] == b'.'
        && time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok()
}

// ---------------------------------------------------------------------------------------------
// A scriptable node

/// A node double: answers from its settings, records every import call, and can hold calls on
/// gates until the test releases them.
pub struct FakeNode {
    pub version: Mutex<String>,
    pub table_exists: AtomicBool,
    pub connect_error: Mutex<Option<NodeError>>,
    pub import_result: Mutex<Result<Vec<String>, NodeError>>,
    /// When set, `import_sstables` waits for a permit (one per call).
    pub import_gate: Option<Arc<Semaphore>>,
    /// When set, `release_version` waits for a permit (one per call).
    pub version_gate: Option<Arc<Semaphore>>,
    pub calls: Mutex<Vec<(String, String, ImportCall)>>,
    pub imports_entered: AtomicUsize,
    pub versions_entered: AtomicUsize,
}

impl FakeNode {
    pub fn new() -> FakeNode {
        FakeNode {
            version: Mutex::new("4.1.3".to_string()),
            table_exists: AtomicBool::new(true),
            connect_error: Mutex::new(None),
            import_result: Mutex::new(Ok(Vec::new())),
            import_gate: None,
            version_gate: None,
            calls: Mutex::new(Vec::new()),
            imports_entered: AtomicUsize::new(0),
            versions_entered: AtomicUsize::new(0),
        }
    }

    /// Import calls block until `release_imports`.
    pub fn gated() -> FakeNode {
        FakeNode {
            import_gate: Some(Arc::new(Semaphore::new(0))),
            ..FakeNode::new()
        }
    }

    pub fn release_imports(&self, n: usize) {
        self.import_gate.as_ref().expect("gated").add_permits(n);
    }

    pub fn calls(&self) -> Vec<(String, String, ImportCall)> {
        self.calls.lock().unwrap().clone()
    }

    pub fn entered(&self) -> usize {
        self.imports_entered.load(Ordering::SeqCst)
    }

    pub fn connector(self: &Arc<Self>) -> Arc<dyn NodeConnector> {
        Arc::new(FakeConnector(self.clone()))
    }
}

impl Default for FakeNode {
    fn default() -> Self {
        FakeNode::new()
    }
}

pub struct FakeConnector(pub Arc<FakeNode>);

#[async_trait]
impl NodeConnector for FakeConnector {
    async fn connect(&self) -> Result<Arc<dyn Node>, NodeError> {
        if let Some(e) = self.0.connect_error.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(self.0.clone())
    }
}

#[async_trait]
impl Node for FakeNode {
    async fn release_version(&self) -> Result<String, NodeError> {
        self.versions_entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.version_gate {
            gate.acquire().await.expect("gate open").forget();
        }
        Ok(self.version.lock().unwrap().clone())
    }

    async fn table_exists(&self, _keyspace: &str, _table: &str) -> Result<bool, NodeError> {
        Ok(self.table_exists.load(Ordering::SeqCst))
    }

    async fn import_sstables(
        &self,
        keyspace: &str,
        table: &str,
        call: &ImportCall,
    ) -> Result<Vec<String>, NodeError> {
        self.calls
            .lock()
            .unwrap()
            .push((keyspace.to_string(), table.to_string(), call.clone()));
        self.imports_entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.import_gate {
            gate.acquire().await.expect("gate open").forget();
        }
        self.import_result.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A fresh copy of a fixture table directory (relative to `fixtures/sstables/`) inside `into`.
pub fn copy_fixture(relative: &str, into: &Path) -> PathBuf {
    let from = shared_dir().join("fixtures/sstables").join(relative);
    let to = into.join(relative.replace('/', "_"));
    std::fs::create_dir_all(&to).expect("create fixture copy");
    for entry in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy fixture file");
    }
    to
}

/// Two Murmur3 `nb` SSTables (Cassandra 4.x) of `spark_test.test3`.
pub const NB_SETS: &str = "sstable-transformer-input-four/spark_test/test3";

pub fn import_body(dir: &Path) -> Value {
    json!({ "type": "import", "keyspace": "spark_test", "table": "test3", "sourceDir": dir })
}
