//! Test helpers shared by the integration tests: an in-process server on 127.0.0.1:0 serving the
//! production router over any `NodeHandle`, an HTTP client (reqwest), the Icarus schema
//! validator, a scriptable fake node at the MBean-server level, and fixture copies.

#![allow(dead_code)]

pub mod cluster;
pub mod spawn;
pub mod spec;
pub mod testnode;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use cassandra::fake::FakeServer;
use cassandra::{ImportOptions, MBeanServer, NodeError};
use daedalus::engine::{Engine, EngineConfig};
use daedalus::http::HttpOptions;
use daedalus::journal::Journal;
use daedalus::node::NodeHandle;
use jmx::Value as JValue;
use serde_json::{json, Value};
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
    /// Starts the engine over the journal in `data_dir` and serves the production router on
    /// 127.0.0.1:0.
    pub async fn start(node: NodeHandle, config: EngineConfig, data_dir: &Path) -> TestServer {
        TestServer::start_with(node, config, data_dir, &HttpOptions::default()).await
    }

    /// Like `start`, with the router's options (tokens, CORS, `cassandra.yaml`).
    pub async fn start_with(
        node: NodeHandle,
        config: EngineConfig,
        data_dir: &Path,
        options: &HttpOptions,
    ) -> TestServer {
        let journal = Journal::open(data_dir).expect("journal opens");
        let engine = Engine::start(journal, node, config)
            .await
            .expect("engine starts");
        let router = daedalus::http::app_with(engine.clone(), options).expect("router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            let _ =
                daedalus::http::serve_router(listener, router, None, std::future::pending()).await;
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

/// One shared client: connection reuse keeps the tests quick.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        testkit::http_builder()
            .timeout(PATIENCE)
            .build()
            .expect("HTTP client")
    })
}

pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
) -> std::io::Result<Resp> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(std::io::Error::other)?;
    let mut request = client()
        .request(method, format!("http://{addr}{path}"))
        .header("Content-Type", "application/json");
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.map_err(std::io::Error::other)?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = response.bytes().await.map_err(std::io::Error::other)?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok(Resp {
        status,
        headers,
        body,
    })
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
        // Esop's phases before DOWNLOAD, which the contract's enum leaves out.
        doc["components"]["schemas"]["RestoreOperationRequest"]["properties"]["restorationPhase"]
            ["enum"] = json!([
            "INIT",
            "CLUSTER_HEALTHCHECK",
            "DOWNLOAD",
            "TRUNCATE",
            "IMPORT",
            "CLEANUP"
        ]);
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
        "restore" => "RestoreOperationResponse",
        "scrub" => "ScrubOperationResponse",
        "upgradesstables" => "UpgradeSSTablesOperationResponse",
        "truncate" => "TruncateOperationResponse",
        "backup" => "BackupOperationResponse",
        // Not in the Icarus contract: the common part only (ours is api/openapi.yaml).
        "list" | "remove-backup" | "commitlog-backup" | "commitlog-restore" => "BaseOperation",
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

/// A node double at the MBean-server level: the scripted `FakeServer` of the `cassandra` crate,
/// with a release version, a table check and `importNewSSTables` the test controls, each
/// import call recorded, and gates that hold calls until the test releases them.
pub struct FakeNode {
    /// Everything not handled below (scripts, attributes, the call log).
    pub server: Arc<FakeServer>,
    pub version: Mutex<String>,
    pub table_exists: AtomicBool,
    /// When set, every call fails with it (the node cannot be reached, say).
    pub connect_error: Mutex<Option<NodeError>>,
    pub import_result: Mutex<Result<Vec<String>, NodeError>>,
    /// When set, `importNewSSTables` waits for a permit (one per call).
    pub import_gate: Option<Arc<Semaphore>>,
    /// When set, the table check an import makes before its call waits for a permit (one per
    /// call): an operation held there is RUNNING and not yet in an uninterruptible call.
    pub version_gate: Option<Arc<Semaphore>>,
    pub calls: Mutex<Vec<(String, String, ImportOptions)>>,
    pub imports_entered: AtomicUsize,
    /// Table checks entered (see `version_gate`).
    pub versions_entered: AtomicUsize,
    /// When set, reading `OperationMode` waits for a permit (a hung node, for `/status`).
    pub mode_gate: Option<Arc<Semaphore>>,
}

pub const STORAGE_SERVICE: &str = "org.apache.cassandra.db:type=StorageService";
pub const COMPACTION_MANAGER: &str = "org.apache.cassandra.db:type=CompactionManager";

impl FakeNode {
    pub fn new() -> FakeNode {
        let server = FakeServer::cassandra("4.1.3");
        server.set_attr(
            STORAGE_SERVICE,
            "OperationMode",
            JValue::String("NORMAL".into()),
        );
        FakeNode {
            server: Arc::new(server),
            version: Mutex::new("4.1.3".to_string()),
            table_exists: AtomicBool::new(true),
            connect_error: Mutex::new(None),
            import_result: Mutex::new(Ok(Vec::new())),
            import_gate: None,
            version_gate: None,
            calls: Mutex::new(Vec::new()),
            imports_entered: AtomicUsize::new(0),
            versions_entered: AtomicUsize::new(0),
            mode_gate: None,
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

    pub fn calls(&self) -> Vec<(String, String, ImportOptions)> {
        self.calls.lock().unwrap().clone()
    }

    pub fn entered(&self) -> usize {
        self.imports_entered.load(Ordering::SeqCst)
    }

    /// The node handle the engine and the read endpoints use, over this fake.
    pub fn connector(self: &Arc<Self>) -> NodeHandle {
        NodeHandle::with_server(self.clone(), PATIENCE)
    }

    fn failure(&self) -> Result<(), NodeError> {
        match self.connect_error.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Default for FakeNode {
    fn default() -> Self {
        FakeNode::new()
    }
}

fn strings(value: &JValue) -> Vec<String> {
    value
        .as_items()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `keyspace` and `table` of a `type=Tables` ObjectName.
fn keyspace_table(object_name: &str) -> (String, String) {
    let value = |key: &str| {
        object_name
            .split([':', ','])
            .find_map(|p| p.strip_prefix(&format!("{key}=")))
            .unwrap_or("")
            .to_string()
    };
    (value("keyspace"), value("table"))
}

#[async_trait]
impl MBeanServer for FakeNode {
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[JValue],
        signature: &[&str],
    ) -> Result<JValue, NodeError> {
        self.failure()?;
        if operation != "importNewSSTables" {
            return self
                .server
                .invoke(object_name, operation, params, signature)
                .await;
        }
        let flag = |i: usize| matches!(params.get(i), Some(JValue::Bool(true)));
        let options = ImportOptions {
            src_paths: params.first().map(strings).unwrap_or_default(),
            reset_level: flag(1),
            clear_repaired: flag(2),
            verify_sstables: flag(3),
            verify_tokens: flag(4),
            invalidate_caches: flag(5),
            extended_verify: flag(6),
            copy_data: flag(7),
            ..ImportOptions::new(Vec::new())
        };
        let (keyspace, table) = keyspace_table(object_name);
        self.calls.lock().unwrap().push((keyspace, table, options));
        self.imports_entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.import_gate {
            gate.acquire().await.expect("gate open").forget();
        }
        let failed = self.import_result.lock().unwrap().clone()?;
        Ok(JValue::Array {
            class: "[Ljava.lang.String;".into(),
            items: failed.into_iter().map(JValue::String).collect(),
        })
    }

    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<JValue, NodeError> {
        self.failure()?;
        if object_name == STORAGE_SERVICE && attribute == "ReleaseVersion" {
            return Ok(JValue::String(self.version.lock().unwrap().clone()));
        }
        if let (Some(gate), "OperationMode") = (&self.mode_gate, attribute) {
            gate.acquire().await.expect("gate open").forget();
        }
        self.server.get_attribute(object_name, attribute).await
    }

    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, JValue)>, NodeError> {
        self.failure()?;
        self.server.get_attributes(object_name, attributes).await
    }

    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: JValue,
    ) -> Result<(), NodeError> {
        self.failure()?;
        self.server
            .set_attribute(object_name, attribute, value)
            .await
    }

    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError> {
        self.failure()?;
        self.server.query_names(pattern).await
    }

    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError> {
        self.failure()?;
        if !object_name.contains("type=Tables") {
            return self.server.is_registered(object_name).await;
        }
        self.versions_entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.version_gate {
            gate.acquire().await.expect("gate open").forget();
        }
        Ok(self.table_exists.load(Ordering::SeqCst))
    }

    async fn close(&self) -> Result<(), NodeError> {
        Ok(())
    }

    /// A new version is a new session, as a node restarted on another version would be.
    fn session(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.version.lock().unwrap().hash(&mut hasher);
        hasher.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A fresh copy of a fixture table directory (relative to `fixtures/sstables/`) inside `into`.
pub fn copy_fixture(relative: &str, into: &Path) -> PathBuf {
    let from = shared_dir().join("fixtures/sstables").join(relative);
    // Kept as `…/<keyspace>/<table>`: Cassandra's importer takes nothing from a directory not
    // named for the table, and the tests compare the call with the directory they named.
    let to = into.join(relative);
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
