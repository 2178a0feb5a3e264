//! End to end through HTTP only: the sidecar with its real JMX adapter against the Java test node
//! (`testnode/`, built by `testnode/build`), importing real fixture SSTables.

use crate::common::testnode::TestNode;
use crate::common::*;
use daedalus::node::NodeHandle;
use serde_json::json;

/// The real JMX adapter pointed at an address nobody listens on.
fn dead_node() -> NodeHandle {
    let address = dead_address().to_string();
    crate::common::testnode::jmx_handle(&address, std::time::Duration::from_secs(5), None)
}

fn data_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-Data.db"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_into_a_4_1_node_with_every_flag_reaching_cassandra() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(2), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());

    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["sstables"], 2);
    let table_dir = node.table_dir("spark_test", "test3");
    assert_eq!(
        data_files(&table_dir).len(),
        2,
        "both SSTables are in {}",
        table_dir.display()
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        16,
        "copyData left the source intact"
    );

    let calls = node.calls("importNewSSTables");
    assert_eq!(calls.len(), 1);
    let canonical = dir.canonicalize().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        calls[0]["signature"].as_array().unwrap().len(),
        8,
        "4.1 uses the 8-argument form"
    );
    assert_eq!(
        calls[0]["args"],
        json!([[canonical], true, true, true, true, true, false, true])
    );

    // Every flag inverted reaches Cassandra inverted.
    let mut body = import_body(&dir);
    for flag in [
        "keepLevel",
        "keepRepaired",
        "noVerify",
        "noVerifyTokens",
        "noInvalidateCaches",
        "extendedVerify",
    ] {
        body[flag] = json!(true);
    }
    body["copyData"] = json!(false);
    let record = server.run(&body).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let calls = node.calls("importNewSSTables");
    assert_eq!(
        calls[1]["args"],
        json!([[canonical], false, false, false, false, false, true, false])
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "copyData=false moved the files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_failures_become_failed_operations_with_their_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let canonical = dir.canonicalize().unwrap().to_string_lossy().into_owned();

    // Cassandra reports a failed directory.
    node.fail_import_dirs(&[&canonical]).await;
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert_eq!(record["failedDirectories"], json!([canonical]));
    assert!(record["failureCause"]["message"]
        .as_str()
        .unwrap()
        .contains(&canonical));
    node.fail_import_dirs(&[]).await;

    // Cassandra throws: the Java throwable is the failureCause.
    node.fault(
        "fail",
        &[
            "importNewSSTables",
            "java.lang.IllegalStateException",
            "disk is on fire",
        ],
    )
    .await;
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let cause = &record["failureCause"];
    assert_eq!(cause["class"], "java.lang.IllegalStateException", "{cause}");
    assert_eq!(cause["message"], "disk is on fire");
    assert!(
        cause["stackTrace"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{cause}"
    );
    node.fault("clear", &[]).await;

    // A table the node does not have.
    let mut body = import_body(&dir);
    body["table"] = json!("nope");
    let record = server.run(&body).await;
    assert_eq!(record["state"], "FAILED");
    assert!(record["failureCause"]["message"]
        .as_str()
        .unwrap()
        .contains("spark_test.nope"));
    assert_eq!(node.calls("importNewSSTables").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_11_node_is_refused_and_a_5_0_node_gets_the_10_argument_call() {
    let tmp = tempfile::tempdir().unwrap();
    let old = TestNode::start("3.11", tmp.path()).await;
    let server = TestServer::start(old.connector(), config(1), &tmp.path().join("d1")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "FAILED");
    assert_eq!(
        record["failureCause"]["message"],
        "import needs Cassandra 4.0 or newer, node runs 3.11.20"
    );
    assert!(old.calls("importNewSSTables").is_empty());

    let new = TestNode::start("5.0", tmp.path()).await;
    let server = TestServer::start(new.connector(), config(1), &tmp.path().join("d2")).await;
    let five = copy_fixture(
        "sstable-transformer-input-five/spark_test/test3",
        tmp.path(),
    );
    let record = server.run(&import_body(&five)).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let calls = new.calls("importNewSSTables");
    assert_eq!(
        calls[0]["signature"].as_array().unwrap().len(),
        10,
        "5.0 uses the 10-argument form"
    );
    assert_eq!(data_files(&new.table_dir("spark_test", "test3")).len(), 2);
}

#[tokio::test]
async fn a_node_that_is_down_fails_the_operation_as_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let connector = dead_node();
    let server = TestServer::start(connector, config(1), &tmp.path().join("d")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "FAILED");
    assert_eq!(record["failureCause"]["kind"], "Unreachable", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queueing_and_cancel_against_a_hanging_import() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.0", tmp.path()).await;
    node.fault("hang", &["importNewSSTables"]).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());

    let running = server.submit_id(&import_body(&dir)).await;
    let pending = server.submit_id(&import_body(&dir)).await;
    let queued = server.submit_id(&import_body(&dir)).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while node.calls("importNewSSTables").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import never reached the node"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let waiting = server.get(&format!("/operations/{pending}")).await.body;
    assert_eq!(waiting["state"], "PENDING");
    assert!(waiting.get("startTime").is_none());

    // PENDING: cancelled at once. RUNNING inside the JMX call: noted, not interrupted.
    assert_eq!(
        server.delete(&format!("/operations/{pending}")).await.body["state"],
        "CANCELLED"
    );
    let resp = server.delete(&format!("/operations/{running}")).await;
    assert_eq!(resp.status, 202);
    assert!(resp.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not interrupted"));

    node.fault("clear", &["importNewSSTables"]).await;
    let done = server.wait_finished(&running).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let last = server.wait_finished(&queued).await;
    assert_eq!(last["state"], "COMPLETED", "{last}");
    assert_eq!(
        node.calls("importNewSSTables").len(),
        2,
        "the cancelled one never reached the node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_answer_from_the_node_in_icarus_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;

    for path in ["/version", "/version/sidecar"] {
        let resp = server.get(path).await;
        assert_eq!(resp.status, 200);
        assert_schema("SidecarVersion", &resp.body);
        assert!(resp.body["version"]
            .as_str()
            .unwrap()
            .starts_with("daedalus "));
    }
    let resp = server.get("/version/cassandra").await;
    assert_eq!(resp.status, 200);
    assert_schema("CassandraVersion", &resp.body);
    assert_eq!(
        (resp.body["major"].clone(), resp.body["minor"].clone()),
        (json!(4), json!(1))
    );
    let resp = server.get("/version/schema").await;
    assert_eq!(resp.status, 200);
    assert_schema("CassandraSchemaVersion", &resp.body);
    assert!(uuid::Uuid::parse_str(resp.body["schemaVersion"].as_str().unwrap()).is_ok());
    let resp = server.get("/status").await;
    assert_eq!(resp.status, 200);
    assert_schema("CassandraStatus", &resp.body);
    assert_eq!(resp.body["nodeState"], "NORMAL");
    assert_eq!(server.get("/health").await.status, 200);
    assert_eq!(server.get("/ready").await.status, 200);
}

#[tokio::test]
async fn read_endpoints_say_503_when_the_node_is_down() {
    let tmp = tempfile::tempdir().unwrap();
    let connector = dead_node();
    let server = TestServer::start(connector, config(1), &tmp.path().join("d")).await;
    // Unreachable is a 503 (our document's NodeUnreachable); a Java exception would be a 500.
    for path in ["/status", "/version/cassandra", "/version/schema"] {
        let resp = server.get(path).await;
        assert_eq!(resp.status, 503, "{path}");
        assert_schema("CassandraStatusException", &resp.body);
        assert_eq!(
            resp.body["exception"]["kind"], "Unreachable",
            "{path}: {}",
            resp.body
        );
    }
    let resp = server.get("/ready").await;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.body["kind"], "Unreachable", "{}", resp.body);
    assert_eq!(
        server.get("/health").await.status,
        200,
        "the sidecar itself is up"
    );
    assert_eq!(server.get("/version").await.status, 200);
}
