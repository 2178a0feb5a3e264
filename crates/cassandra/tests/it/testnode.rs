//! `Node` through the native JMX client against the Java test node (`testnode/`), once per
//! Cassandra version: every typed call is accepted by an MBean with that version's exact
//! signatures (a wrong overload would come back as `ReflectionException`), replies decode, and
//! Cassandra-style exceptions arrive as typed errors.
//!
//! Needs `java` and builds the test node with `testnode/build` (as `scripts/test` does).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use cassandra::{
    CompactionInfo, EndpointStatus, ImportOptions, Node, NodeError, OperationMode, RebuildOptions,
    ScrubOptions, SnapshotOptions, TableName, UpgradeOptions,
};
const HOST_ID: &str = "6d194555-f6eb-41d0-c000-000000000001";
const FAULTS: &str = "daedalus.testnode:type=Faults";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build_testnode() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(repo().join("testnode/build"))
            .status()
            .expect("run testnode/build (needs a JDK)");
        assert!(status.success(), "testnode/build failed");
    });
}

/// A running test node; killed and reaped on drop.
struct TestNode {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl TestNode {
    fn start(version: &str) -> TestNode {
        build_testnode();
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new("java")
            .args([
                "-Xss512k",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
            ])
            .arg(repo().join("testnode/out/classes"))
            .arg("daedalus.testnode.Main")
            .args([
                "--port",
                "0",
                "--cassandra-version",
                version,
                "--peers",
                "1",
            ])
            .args([
                "--host-id",
                HOST_ID,
                "--watch-stdin",
                "--lease-millis",
                "120000",
            ])
            .args(["--compaction-millis", "600", "--transition-millis", "50"])
            .arg("--data-dir")
            .arg(data.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start java");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("port="))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no ready line from the test node: {line:?}"));
        TestNode {
            child,
            port,
            _data: data,
        }
    }

    async fn node(&self) -> Node {
        let mut cfg = jmx::JmxConfig::new("127.0.0.1", self.port);
        cfg.call_timeout = Duration::from_secs(30);
        Node::connect_jmx(cfg).await.expect("connect")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test node's call log entries for one operation, as JSON.
async fn logged(node: &Node, operation: &str) -> Vec<serde_json::Value> {
    let lines = node
        .server()
        .get_attribute(FAULTS, "CallLog")
        .await
        .unwrap();
    lines
        .as_items()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l.as_str().unwrap()).unwrap())
        .filter(|j| j["operation"] == operation)
        .collect()
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn java_message(e: &NodeError) -> (String, String) {
    let t = e
        .throwable()
        .unwrap_or_else(|| panic!("expected a Java error, got {e:?}"));
    (t.class.clone(), t.message.clone().unwrap_or_default())
}

/// A Murmur3 `nb` SSTable set every 4.0+ node can read, copied into a fresh directory.
fn fixture_copy() -> tempfile::TempDir {
    let src =
        repo().join("tests/data/fixtures/sstables/sstable-transformer-input-four/spark_test/test3");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).expect("fixtures") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with("nb-1-") {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    dir
}

async fn exercise(version: &str, expected_raw: &str) {
    let tn = TestNode::start(version);
    let node = tn.node().await;
    let v = node.version();
    assert_eq!(v.raw, expected_raw);

    // Facts.
    assert_eq!(node.operation_mode().await.unwrap(), OperationMode::Normal);
    assert_eq!(node.cluster_name().await.unwrap(), "Test Cluster");
    assert_eq!(node.local_host_id().await.unwrap(), HOST_ID);
    assert!(!node.schema_version().await.unwrap().is_empty());
    let keyspaces = node.keyspaces().await.unwrap();
    assert!(keyspaces.iter().any(|k| k == "ks") && keyspaces.iter().any(|k| k == "system"));
    assert!(node
        .table_mbean("spark_test", "test3")
        .await
        .unwrap()
        .is_some());
    assert_eq!(node.table_mbean("ks", "absent").await.unwrap(), None);

    // Topology: this node and one simulated peer, both up.
    let ring = node.topology().await.unwrap();
    assert_eq!(ring.len(), 2, "{ring:?}");
    let me = ring.iter().find(|e| e.host_id == HOST_ID).unwrap();
    assert_eq!(me.ip, "127.0.0.1");
    assert_eq!(me.port, v.has_port_aware_endpoints().then_some(7000));
    assert_eq!(me.datacenter.as_deref(), Some("datacenter1"));
    assert_eq!(me.rack.as_deref(), Some("rack1"));
    assert!(ring.iter().all(|e| e.status == EndpointStatus::Up));

    // Compaction-type operations, with progress visible while cleanup runs.
    node.flush("ks", &[]).await.unwrap();
    let background = node.clone();
    let cleanup = tokio::spawn(async move { background.cleanup("ks", &owned(&["t"]), 0).await });
    let mut seen: Vec<CompactionInfo> = Vec::new();
    for _ in 0..100 {
        seen = node.compactions().await.unwrap();
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let task = seen.first().expect("cleanup shows up in Compactions");
    assert_eq!(task.task_type.as_deref(), Some("Cleanup"));
    assert!(task.is_for("ks", &owned(&["t"])));
    assert!(task.total.unwrap() >= 1 << 20);
    assert!(cleanup.await.unwrap().unwrap().is_success());
    assert!(node
        .scrub("ks", &[], ScrubOptions::default())
        .await
        .unwrap()
        .is_success());
    assert!(node
        .upgrade_sstables("ks", &owned(&["t"]), UpgradeOptions::default())
        .await
        .unwrap()
        .is_success());

    // Cassandra's exceptions come back typed.
    let err = node.cleanup("system", &[], 0).await.unwrap_err();
    assert_eq!(
        java_message(&err),
        (
            "java.lang.RuntimeException".into(),
            "Cleanup of the system keyspace is neither necessary nor wise".into()
        )
    );
    let err = node.flush("nope", &[]).await.unwrap_err();
    let expected_class = if v.major == 3 {
        "java.io.IOException"
    } else {
        "java.lang.IllegalArgumentException"
    };
    assert_eq!(
        java_message(&err),
        (expected_class.into(), "Keyspace nope does not exist".into())
    );

    // Import.
    let source = fixture_copy();
    let mut options = ImportOptions::new(vec![source.path().to_str().unwrap().to_owned()]);
    options.copy_data = true;
    let result = node
        .import_new_sstables("spark_test", "test3", &options)
        .await;
    if v.has_import() {
        assert_eq!(result.unwrap(), Vec::<String>::new());
        let calls = logged(&node, "importNewSSTables").await;
        let expected_args = if v.has_import_with_index_flags() {
            10
        } else {
            8
        };
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0]["signature"].as_array().unwrap().len(),
            expected_args
        );
        assert_eq!(calls[0]["signature"][0], "java.util.Set");
        assert!(
            source.path().join("nb-1-big-Data.db").exists(),
            "copyData keeps the source"
        );
        let missing = ImportOptions::new(vec!["/no/such/dir".into()]);
        let err = node
            .import_new_sstables("spark_test", "test3", &missing)
            .await
            .unwrap_err();
        assert_eq!(
            java_message(&err).1,
            "Directory /no/such/dir does not exist"
        );
        let err = node
            .import_new_sstables("ks", "absent", &options)
            .await
            .unwrap_err();
        assert!(matches!(err, NodeError::NotFound { .. }), "{err:?}");
    } else {
        assert!(matches!(result, Err(NodeError::Unsupported { .. })));
    }

    // The rest of StorageService.
    node.refresh("ks", "t").await.unwrap();
    node.take_snapshot("snap1", &owned(&["ks"]), &SnapshotOptions::default())
        .await
        .unwrap();
    assert_eq!(node.snapshot_tags().await.unwrap(), owned(&["snap1"]));
    node.clear_snapshot(Some("snap1"), &[]).await.unwrap();
    assert_eq!(node.snapshot_tags().await.unwrap(), Vec::<String>::new());

    // Where the tables live and what the node owns.
    let tables = node.tables().await.unwrap();
    let t = TableName {
        keyspace: "ks".into(),
        table: "t".into(),
    };
    assert!(tables.contains(&t), "{tables:?}");
    assert!(tables.iter().any(|t| t.keyspace == "system"));
    assert!(
        tables.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    let paths = node.table_data_paths("ks", "t").await;
    if v.at_least(4, 0) {
        let paths = paths.unwrap();
        assert_eq!(paths.len(), 1, "{paths:?}");
        assert!(
            Path::new(&paths[0]).is_dir() && paths[0].contains("/ks/t-"),
            "{paths:?}"
        );
    } else {
        assert!(
            matches!(paths, Err(NodeError::Unsupported { .. })),
            "{paths:?}"
        );
    }
    let locations = node.data_file_locations().await.unwrap();
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert!(Path::new(&locations[0]).is_dir(), "{locations:?}");
    if v.at_least(4, 0) {
        let table_dir = node.table_data_paths("ks", "t").await.unwrap();
        assert!(
            table_dir[0].starts_with(&locations[0]),
            "{table_dir:?} in {locations:?}"
        );
    }
    let tokens = node.tokens().await.unwrap();
    assert!(!tokens.is_empty());
    assert!(
        tokens.iter().all(|t| t.parse::<i64>().is_ok()),
        "{tokens:?}"
    );
    node.truncate("ks", "t").await.unwrap();
    node.rebuild(&RebuildOptions::default()).await.unwrap();
    node.drain().await.unwrap();
    assert_eq!(node.operation_mode().await.unwrap(), OperationMode::Drained);
    let err = node.decommission(false).await.unwrap_err();
    assert_eq!(
        java_message(&err),
        (
            "java.lang.UnsupportedOperationException".into(),
            "Node in DRAINED state; wait for status to become normal or restart".into()
        )
    );
    // Every operation above reached an MBean that has it with that signature.
    assert_eq!(logged(&node, "decommission").await.len(), 1);
    assert_eq!(
        logged(&node, "decommission").await[0]["signature"]
            .as_array()
            .unwrap()
            .len(),
        usize::from(v.has_decommission_force())
    );
    node.server().close().await.unwrap();
}

#[tokio::test]
async fn cassandra_3_11() {
    exercise("3.11", "3.11.20").await;
}

#[tokio::test]
async fn cassandra_4_0() {
    exercise("4.0", "4.0.6").await;
}

#[tokio::test]
async fn cassandra_4_1() {
    exercise("4.1", "4.1.0").await;
}

#[tokio::test]
async fn cassandra_5_0() {
    exercise("5.0", "5.0-beta2").await;
}
