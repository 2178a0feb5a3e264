//! The Java test node (`testnode/`), started on an ephemeral port for end-to-end tests, with a
//! handle on its Faults MBean and its call log.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use daedalus::node::NodeHandle;

use super::spawn::{spawn_ready, ReadyOn};
use serde_json::Value;
use tokio::process::{Child, Command};

/// A node handle on `address` (`HOST:PORT`), as the binary makes one.
pub fn jmx_handle(address: &str, timeout: Duration, tls_ca: Option<PathBuf>) -> NodeHandle {
    let (host, port) = daedalus::node::parse_address(address).expect("HOST:PORT");
    let mut config = jmx::JmxConfig::new(host, port);
    config.tls = tls_ca.map(jmx::TlsConfig::new);
    NodeHandle::jmx(config, timeout)
}

pub const FAULTS: &str = "daedalus.testnode:type=Faults";

/// `testnode/run` (builds when needed, then starts the node).
pub fn run_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testnode/run")
}

pub struct TestNode {
    pub port: u16,
    pub data_dir: PathBuf,
    pub call_log: PathBuf,
    _child: Child,
}

impl TestNode {
    /// Builds (when needed) and starts a node of `version` (`3.11`, `4.0`, `4.1`, `5.0`) with its
    /// data under `dir`. The node dies with the test (stdin watch + kill on drop).
    pub async fn start(version: &str, dir: &Path) -> TestNode {
        TestNode::start_with(version, dir, &[]).await
    }

    /// Like `start`, with more `testnode/run` flags (`--compaction-millis`, `--pid-file`...).
    pub async fn start_with(version: &str, dir: &Path, extra: &[String]) -> TestNode {
        let script = run_script();
        let data_dir = dir.join(format!("node-{version}"));
        let call_log = dir.join(format!("calls-{version}.jsonl"));
        let mut command = Command::new(script);
        command
            .args([
                "--port",
                "0",
                "--cassandra-version",
                version,
                "--watch-stdin",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--call-log")
            .arg(&call_log)
            .args(extra)
            .stdin(Stdio::piped())
            .stderr(Stdio::null());
        // The first start may build the node first.
        let spawned = spawn_ready(
            &mut command,
            ReadyOn::Stdout,
            "testnode/run (Java 17 needed)",
            Duration::from_secs(120),
            |line| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix("port="))
                    .and_then(|p| p.parse::<u16>().ok())
            },
        )
        .await;
        let (port, child) = (spawned.ready, spawned.child);
        TestNode {
            port,
            data_dir,
            call_log,
            _child: child,
        }
    }

    /// The mode the node reports now (`StorageService.OperationMode`).
    pub async fn mode(&self) -> String {
        let handle = self.connector();
        let mode = handle
            .read(|node| async move { node.operation_mode().await })
            .await
            .expect("OperationMode");
        mode.as_str().to_string()
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A node handle on this test node, as the binary makes one.
    pub fn connector(&self) -> NodeHandle {
        self.handle(Duration::from_secs(20), None)
    }

    /// A node handle with a timeout and, for JMX over TLS, the CA to trust.
    pub fn handle(&self, timeout: Duration, tls_ca: Option<PathBuf>) -> NodeHandle {
        jmx_handle(&self.address(), timeout, tls_ca)
    }

    /// The node's own directory of `keyspace.table` (`<data>/<ks>/<table>-<id>`).
    pub fn table_dir(&self, keyspace: &str, table: &str) -> PathBuf {
        table_dir_under(&self.data_dir, keyspace, table)
    }

    /// Every logged call of `operation`, as JSON.
    pub fn calls(&self, operation: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.call_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["operation"] == operation)
            .collect()
    }

    /// Invokes an operation of the Faults MBean with string arguments.
    pub async fn fault(&self, operation: &str, args: &[&str]) {
        let params: Vec<jmx::Value> = args
            .iter()
            .map(|a| jmx::Value::String(a.to_string()))
            .collect();
        self.invoke_faults(operation, &params, &vec!["java.lang.String"; args.len()])
            .await;
    }

    /// `setFailedImportDirs(String[])`.
    pub async fn fail_import_dirs(&self, dirs: &[&str]) {
        let array = jmx::Value::Array {
            class: "[Ljava.lang.String;".to_string(),
            items: dirs
                .iter()
                .map(|d| jmx::Value::String(d.to_string()))
                .collect(),
        };
        self.invoke_faults("setFailedImportDirs", &[array], &["[Ljava.lang.String;"])
            .await;
    }

    async fn invoke_faults(&self, operation: &str, params: &[jmx::Value], signature: &[&str]) {
        let client = jmx::JmxClient::connect(jmx::JmxConfig::new("127.0.0.1", self.port))
            .await
            .expect("JMX to the test node");
        client
            .invoke(FAULTS, operation, params, signature)
            .await
            .unwrap_or_else(|e| panic!("Faults.{operation}: {e}"));
        let _ = client.close().await;
    }
}

/// The SHA-256 of every component of the SSTables the node at `ip:port` serves for
/// `keyspace.table` (its `liveSSTables`, read in `table_dir`), sorted: file names change on
/// import, contents must not.
pub async fn live_hashes(
    ip: &str,
    port: u16,
    table_dir: &Path,
    keyspace: &str,
    table: &str,
) -> Vec<String> {
    let client = jmx::JmxClient::connect(jmx::JmxConfig::new(ip, port))
        .await
        .expect("JMX to the test node");
    let value = client
        .invoke(
            FAULTS,
            "liveSSTables",
            &[
                jmx::Value::String(keyspace.to_string()),
                jmx::Value::String(table.to_string()),
            ],
            &["java.lang.String", "java.lang.String"],
        )
        .await
        .expect("liveSSTables");
    let _ = client.close().await;
    let mut hashes = Vec::new();
    for item in value.as_items().expect("a String[]") {
        let file = table_dir.join(item.as_str().expect("a file name"));
        hashes.push(
            backup::transfer::hash_file(&file)
                .await
                .expect("hash")
                .sha256,
        );
    }
    hashes.sort();
    hashes
}

/// The directory of `keyspace.table` under a node's data directory (`<data>/<ks>/<table>-<id>`).
pub fn table_dir_under(data_dir: &Path, keyspace: &str, table: &str) -> PathBuf {
    let ks = data_dir.join(keyspace);
    std::fs::read_dir(&ks)
        .unwrap_or_else(|e| panic!("{}: {e}", ks.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{table}-")))
        })
        .unwrap_or_else(|| panic!("no directory for {keyspace}.{table}"))
}
