//! The `import` operation's run against a fake node: preflight failures name the set and the
//! component before Cassandra is touched, and node failures end FAILED with the right cause.

use std::sync::Arc;

use crate::common::*;
use cassandra::NodeError;
use daedalus::engine::EngineConfig;
use daedalus::operations::ValidationPolicy;
use serde_json::{json, Value};

async fn run_to_end(node: &Arc<FakeNode>, body: Value, data: &std::path::Path) -> Value {
    let server = TestServer::start(node.connector(), config(1), data).await;
    server.run(&body).await
}

/// One worker, with paths confined to `root`.
fn confined_to(root: &std::path::Path) -> EngineConfig {
    EngineConfig {
        workers: 1,
        policy: ValidationPolicy {
            allowed_roots: vec![root.to_path_buf()],
            ..Default::default()
        },
        ..EngineConfig::default()
    }
}

fn failure(record: &Value) -> (String, String) {
    assert_eq!(record["state"], "FAILED", "{record}");
    let cause = &record["failureCause"];
    let message = cause["message"].as_str().unwrap_or_default().to_string();
    let last_error = record["errors"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert!(
        last_error["message"]
            .as_str()
            .is_some_and(|m| m.contains(&message)),
        "errors name the failure: {record}"
    );
    (
        cause["kind"].as_str().unwrap_or_default().to_string(),
        message,
    )
}

#[tokio::test]
async fn a_missing_component_fails_naming_set_and_component_before_cassandra_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    std::fs::remove_file(dir.join("nb-2-big-Statistics.db")).unwrap();
    let node = Arc::new(FakeNode::new());
    let record = run_to_end(&node, import_body(&dir), &tmp.path().join("data")).await;
    let (kind, message) = failure(&record);
    assert_eq!(kind, "Preflight");
    assert!(
        message.contains("nb-2-big") && message.contains("Statistics.db"),
        "{message}"
    );
    assert!(node.calls().is_empty());
}

#[tokio::test]
async fn a_component_listed_in_the_toc_but_absent_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    std::fs::remove_file(dir.join("nb-1-big-Filter.db")).unwrap();
    let node = Arc::new(FakeNode::new());
    let (kind, message) =
        failure(&run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await);
    assert_eq!(kind, "Preflight");
    assert!(
        message.contains("nb-1-big") && message.contains("Filter.db"),
        "{message}"
    );
    assert!(node.calls().is_empty());
}

#[tokio::test]
async fn a_bad_digest_fails_unless_no_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    std::fs::write(dir.join("nb-1-big-Digest.crc32"), "12345").unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;

    let id = server.submit_id(&import_body(&dir)).await;
    let record = server.wait_finished(&id).await;
    let (kind, message) = failure(&record);
    assert_eq!(kind, "Preflight");
    assert!(
        message.contains("nb-1-big") && message.contains("Digest.crc32"),
        "{message}"
    );
    assert!(message.contains("12345"), "{message}");
    assert!(node.calls().is_empty());

    let mut body = import_body(&dir);
    body["noVerify"] = json!(true);
    let id = server.submit_id(&body).await;
    let record = server.wait_finished(&id).await;
    assert_eq!(
        record["state"], "COMPLETED",
        "noVerify skips the digest: {record}"
    );
    assert_eq!(node.calls().len(), 1);
}

#[tokio::test]
async fn an_empty_directory_fails_with_no_sstables() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("empty");
    std::fs::create_dir(&dir).unwrap();
    let node = Arc::new(FakeNode::new());
    let (kind, message) =
        failure(&run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await);
    assert_eq!(kind, "Preflight");
    assert_eq!(message, "no SSTables in sourceDir");
    assert!(node.calls().is_empty());
}

/// A directory accepted inside the root, then swapped for a symlink leading out of it, is refused
/// when the operation runs.
#[tokio::test]
async fn confinement_is_checked_again_when_the_operation_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let inside = copy_fixture(NB_SETS, &root);
    let outside = copy_fixture(NB_SETS, tmp.path());
    let node_version_gate = Arc::new(FakeNode {
        version_gate: Some(Arc::new(tokio::sync::Semaphore::new(0))),
        ..FakeNode::new()
    });
    let config = confined_to(&root);
    let server =
        TestServer::start(node_version_gate.connector(), config, &tmp.path().join("d")).await;
    let id = server.submit_id(&import_body(&inside)).await;
    eventually("version call in flight", || {
        node_version_gate
            .versions_entered
            .load(std::sync::atomic::Ordering::SeqCst)
            == 1
    })
    .await;
    std::fs::remove_dir_all(&inside).unwrap();
    std::os::unix::fs::symlink(&outside, &inside).unwrap();
    node_version_gate
        .version_gate
        .as_ref()
        .unwrap()
        .add_permits(1);
    let record = server.wait_finished(&id).await;
    let (_, message) = failure(&record);
    assert!(message.contains("outside every allowed root"), "{message}");
    assert!(node_version_gate.calls().is_empty());
}

/// A component of the directory that is a symbolic link leading out of the allowed roots is
/// refused before Cassandra reads anything through it.
#[tokio::test]
async fn a_file_linked_from_outside_the_roots_is_not_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let inside = copy_fixture(NB_SETS, &root);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("secret"), "not an sstable").unwrap();
    std::os::unix::fs::symlink(elsewhere.join("secret"), inside.join("nb-9-big-Data.db")).unwrap();
    let node = Arc::new(FakeNode::new());
    let config = confined_to(&root);
    let server = TestServer::start(node.connector(), config, &tmp.path().join("d")).await;
    let record = server.run(&import_body(&inside)).await;
    let (kind, message) = failure(&record);
    assert_eq!(kind, "Preflight");
    assert!(
        message.contains("nb-9-big-Data.db") && message.contains("outside every allowed root"),
        "{message}"
    );
    assert!(node.calls().is_empty());
}

#[tokio::test]
async fn node_down_fails_with_our_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    let node = Arc::new(FakeNode::new());
    *node.connect_error.lock().unwrap() = Some(NodeError::Unreachable {
        message: "cannot connect to JMX at 127.0.0.1:7199: connection refused".into(),
    });
    let record = run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await;
    let (kind, message) = failure(&record);
    assert_eq!(kind, "Unreachable");
    assert!(message.contains("connection refused"), "{message}");
    assert!(record["errors"][0]["source"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn a_java_exception_becomes_the_failure_cause_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    let throwable = json!({
        "class": "java.lang.RuntimeException",
        "message": "Failed to import sstables",
        "stackTrace": [{"className": "org.apache.cassandra.db.SSTableImporter",
                        "methodName": "importNewSSTables", "fileName": "SSTableImporter.java",
                        "lineNumber": 112}],
        "cause": { "class": "java.io.IOException", "message": "disk full", "stackTrace": [],
                   "cause": null }
    });
    let mut thrown = cassandra::JavaThrowable::new(
        "java.lang.RuntimeException",
        Some("Failed to import sstables"),
    );
    thrown.stack_trace.push(cassandra::StackFrame {
        class_name: "org.apache.cassandra.db.SSTableImporter".into(),
        method_name: "importNewSSTables".into(),
        file_name: Some("SSTableImporter.java".into()),
        line_number: 112,
    });
    thrown.cause = Some(Box::new(cassandra::JavaThrowable::new(
        "java.io.IOException",
        Some("disk full"),
    )));
    let node = Arc::new(FakeNode::new());
    *node.import_result.lock().unwrap() = Err(NodeError::java(thrown));
    let record = run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await;
    assert_eq!(record["state"], "FAILED");
    assert_eq!(record["failureCause"], throwable);
    assert!(record["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Failed to import sstables"));
    assert_eq!(node.calls().len(), 1);
}

#[tokio::test]
async fn failed_directories_fail_the_operation_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    let node = Arc::new(FakeNode::new());
    *node.import_result.lock().unwrap() = Ok(vec!["/data/import/a".to_string()]);
    let record = run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await;
    let (_, message) = failure(&record);
    assert!(message.contains("/data/import/a"), "{message}");
    assert_eq!(record["failedDirectories"], json!(["/data/import/a"]));
    assert_eq!(record["sstables"], 2, "what preflight found is recorded");
}

#[tokio::test]
async fn a_3_11_node_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    let node = Arc::new(FakeNode::new());
    *node.version.lock().unwrap() = "3.11.16".to_string();
    let (kind, message) =
        failure(&run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await);
    assert_eq!(kind, "Unsupported");
    assert_eq!(
        message,
        "import needs Cassandra 4.0 or newer, node runs 3.11.16"
    );
    assert!(node.calls().is_empty());
}

#[tokio::test]
async fn a_missing_table_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(NB_SETS, tmp.path());
    let node = Arc::new(FakeNode::new());
    node.table_exists
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let (_, message) = failure(&run_to_end(&node, import_body(&dir), &tmp.path().join("d")).await);
    assert!(message.contains("spark_test.test3"), "{message}");
    assert!(node.calls().is_empty());
}
