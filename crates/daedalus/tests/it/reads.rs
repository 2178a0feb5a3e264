//! The read endpoints through HTTP: against the Java test node of each Cassandra version (one
//! node per version, every endpoint checked on it), with the node down, and with the node hung.
//! Every answer is validated against our OpenAPI document and the Icarus contract by the shared
//! request helper.

use std::sync::Arc;
use std::time::Duration;

use crate::common::testnode::TestNode;
use crate::common::*;
use daedalus::http::HttpOptions;
use serde_json::json;

const CASSANDRA_YAML: &str = "cluster_name: 'Test Cluster'\nnum_tokens: 16\n\
    data_file_directories:\n  - /var/lib/cassandra/data\nendpoint_snitch: SimpleSnitch\n";

/// Starts a sidecar in front of `address` with `--jmx-timeout` `timeout` and a cassandra.yaml in
/// `dir` (given as the directory).
async fn sidecar(address: &str, timeout: Duration, dir: &std::path::Path) -> TestServer {
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(dir.join("conf/cassandra.yaml"), CASSANDRA_YAML).unwrap();
    let options = HttpOptions {
        cassandra_config: Some(dir.join("conf")),
        ..HttpOptions::default()
    };
    let node = crate::common::testnode::jmx_handle(address, timeout, None);
    TestServer::start_with(node, config(2), &dir.join("data"), &options).await
}

async fn every_read_endpoint_answers(version: &str, expect: (u64, u64, u64, &[&str], &str)) {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start(version, tmp.path()).await;
    let server = sidecar(&node.address(), Duration::from_secs(20), tmp.path()).await;

    let status = server.get("/status").await;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body, json!({ "nodeState": "NORMAL" }));

    let v = server.get("/version/cassandra").await;
    assert_eq!(v.status, 200, "{}", v.body);
    let (major, minor, patch, labels, raw) = expect;
    assert_eq!(
        v.body,
        json!({
            "major": major, "minor": minor, "patch": patch, "dsePatch": -1,
            "preReleaseLabels": labels, "version": raw,
        })
    );

    let schema = server.get("/version/schema").await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    let schema_version = schema.body["schemaVersion"].as_str().unwrap().to_string();
    assert!(
        uuid::Uuid::parse_str(&schema_version).is_ok(),
        "{schema_version}"
    );

    for path in ["/version", "/version/sidecar"] {
        let v = server.get(path).await;
        assert_eq!(v.status, 200);
        assert_eq!(
            v.body["version"],
            format!("daedalus {}", env!("CARGO_PKG_VERSION"))
        );
        assert!(v.body["gitCommit"].is_string() && v.body["buildTime"].is_string());
    }

    let topology = server.get("/topology").await;
    assert_eq!(topology.status, 200, "{}", topology.body);
    assert_eq!(topology.body["clusterName"], "Test Cluster");

    // A ring of one: this sidecar is the only one, listed from its engine, filters applied.
    let listed = server.get("/cluster/operations?type=flush").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let sidecars = listed.body["sidecars"].as_array().unwrap();
    assert_eq!(sidecars.len(), 1, "{}", listed.body);
    assert_eq!(sidecars[0]["local"], true);
    assert_eq!(sidecars[0]["answers"], true);
    assert!(listed.body.get("ringError").is_none(), "{}", listed.body);
    assert_eq!(
        server.get("/cluster/operations?state=DONE").await.status,
        400
    );
    // A cancel through this sidecar goes only to a member of the ring; bad input is a 400.
    let id = "00000000-0000-4000-8000-000000000000";
    let missing = server.delete(&format!("/cluster/operations/{id}")).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(missing.body["field"], "address");
    let stranger = server
        .delete(&format!("/cluster/operations/{id}?address=10.9.9.9"))
        .await;
    assert_eq!(stranger.status, 400, "{}", stranger.body);
    assert!(
        stranger.body["message"]
            .as_str()
            .unwrap()
            .contains("not the address of a member of the ring"),
        "{}",
        stranger.body
    );
    assert_eq!(topology.body["schemaVersion"], schema_version.as_str());
    assert!(topology.body["timestamp"].as_i64().unwrap() > 0);
    let nodes = topology.body["topology"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{}", topology.body);
    assert_eq!(nodes[0]["ipAddress"], "127.0.0.1");
    assert_eq!(nodes[0]["hostname"], "127.0.0.1");
    assert_eq!(nodes[0]["dc"], "datacenter1");
    assert_eq!(nodes[0]["rack"], "rack1");
    assert_eq!(nodes[0]["cluster"], "Test Cluster");
    assert!(uuid::Uuid::parse_str(nodes[0]["nodeId"].as_str().unwrap()).is_ok());

    let dc = server.get("/topology/datacenter1").await;
    assert_eq!(dc.status, 200);
    assert_eq!(dc.body["topology"], topology.body["topology"]);
    let elsewhere = server.get("/topology/nowhere").await;
    assert_eq!(elsewhere.status, 200);
    assert_eq!(elsewhere.body["topology"], json!([]));

    let config = server.get("/config").await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(config.body["num_tokens"], 16);
    assert_eq!(
        config.body["data_file_directories"],
        json!(["/var/lib/cassandra/data"])
    );

    let health = server.get("/health").await;
    assert_eq!(
        (health.status, &health.body),
        (200, &json!({"status": "UP"}))
    );
    let ready = server.get("/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["status"], "READY");
    assert_eq!(ready.body["cassandra"], raw);

    // A mode other than NORMAL is reported and makes the sidecar not ready; a mode this
    // sidecar has never heard of is passed through as it is.
    for mode in ["JOINING", "SOME_FUTURE_MODE"] {
        node.fault("setOperationMode", &[mode]).await;
        let status = server.get("/status").await;
        assert_eq!(status.body, json!({ "nodeState": mode }));
        let ready = server.get("/ready").await;
        assert_eq!(ready.status, 503, "{}", ready.body);
        assert_eq!(ready.body["nodeState"], mode);
        assert!(ready.body["reason"].as_str().unwrap().contains(mode));
    }

    // A Java exception on the node is a 500 naming it.
    node.fault("setOperationMode", &["NORMAL"]).await;
    node.fault(
        "fail",
        &[
            "SchemaVersion",
            "java.lang.IllegalStateException",
            "schema busy",
        ],
    )
    .await;
    let failed = server.get("/version/schema").await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(failed.body["error"], "node_error");
    assert_eq!(
        failed.body["exception"]["class"],
        "java.lang.IllegalStateException"
    );
    node.fault("clear", &[]).await;
    let schema = server.get("/version/schema").await;
    assert_eq!(schema.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_against_a_3_11_node() {
    every_read_endpoint_answers("3.11", (3, 11, 20, &[], "3.11.20")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_against_a_4_0_node() {
    every_read_endpoint_answers("4.0", (4, 0, 6, &[], "4.0.6")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_against_a_4_1_node() {
    every_read_endpoint_answers("4.1", (4, 1, 0, &[], "4.1.0")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_against_a_5_0_node() {
    every_read_endpoint_answers("5.0", (5, 0, 0, &["beta2"], "5.0-beta2")).await;
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn node_down_answers_503_naming_the_cause_and_the_sidecar_stays_live() {
    let tmp = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", closed_port().await);
    let server = sidecar(&address, Duration::from_secs(5), tmp.path()).await;
    for path in [
        "/status",
        "/version/cassandra",
        "/version/schema",
        "/topology",
        "/topology/dc1",
    ] {
        let resp = server.get(path).await;
        assert_eq!(resp.status, 503, "{path}: {}", resp.body);
        assert_eq!(resp.body["error"], "node_unreachable", "{path}");
        assert!(resp.body["message"]
            .as_str()
            .unwrap()
            .contains("Unreachable"));
    }
    let ready = server.get("/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["status"], "NOT_READY");
    assert_eq!(ready.body["kind"], "Unreachable");
    // The operations of the cluster: this sidecar's own, and why the others are not listed.
    let listed = server.get("/cluster/operations").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let sidecars = listed.body["sidecars"].as_array().unwrap();
    assert_eq!(sidecars.len(), 1, "{}", listed.body);
    assert_eq!(sidecars[0]["local"], true);
    assert!(sidecars[0]["operations"].is_array());
    assert!(
        listed.body["ringError"]
            .as_str()
            .unwrap()
            .contains("only this sidecar's operations"),
        "{}",
        listed.body
    );
    // What does not need the node still answers.
    assert_eq!(server.get("/health").await.status, 200);
    assert_eq!(server.get("/version").await.status, 200);
    assert_eq!(server.get("/config").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_share_one_connection_and_a_vanished_node_is_a_503() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let facts = node.connector();
    let server = TestServer::start(facts.clone(), config(1), &tmp.path().join("data")).await;
    assert_eq!(
        facts.connections_opened(),
        0,
        "nothing is dialled before a read"
    );
    for path in [
        "/status",
        "/version/cassandra",
        "/version/schema",
        "/topology",
        "/ready",
    ] {
        for _ in 0..3 {
            let resp = server.get(path).await;
            assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        }
    }
    assert_eq!(
        facts.connections_opened(),
        1,
        "every read used one connection"
    );

    // The node goes away under the shared connection: 503, not a hang or a 500.
    drop(node);
    let resp = server.get("/status").await;
    assert_eq!(resp.status, 503, "{}", resp.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_answers_503_within_the_jmx_timeout_then_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = sidecar(&node.address(), Duration::from_secs(1), tmp.path()).await;
    assert_eq!(server.get("/status").await.status, 200);

    node.fault("hang", &["OperationMode"]).await;
    // Bounded by --jmx-timeout (1 s); the outer bound only keeps a regression from hanging CI.
    let resp = tokio::time::timeout(PATIENCE, server.get("/status"))
        .await
        .expect("a hung node must not hang the sidecar");
    assert_eq!(resp.status, 503, "{}", resp.body);
    assert_eq!(resp.body["error"], "node_timeout");

    node.fault("clear", &[]).await;
    let resp = server.get("/status").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["nodeState"], "NORMAL");
}

#[tokio::test]
async fn config_is_404_when_not_configured_and_the_openapi_document_is_served() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let config = server.get("/config").await;
    assert_eq!(config.status, 404, "{}", config.body);
    assert_eq!(config.body["error"], "not_found");
    // A node that cannot be reached answers 503 rather than guessing.
    *node.connect_error.lock().unwrap() = Some(cassandra::NodeError::Unreachable {
        message: "refused".into(),
    });
    assert_eq!(server.get("/status").await.status, 503);

    let yaml = server.get("/openapi.yaml").await;
    assert_eq!(yaml.status, 200);
    assert_eq!(yaml.header("content-type"), Some("application/yaml"));
    let text = yaml.body.as_str().unwrap();
    let from_yaml: serde_json::Value =
        serde_json::to_value(yaml_serde::from_str::<yaml_serde::Value>(text).unwrap()).unwrap();
    let json = server.get("/openapi.json").await;
    assert_eq!(json.status, 200);
    assert_eq!(json.body, from_yaml);
    assert_eq!(json.body["openapi"], "3.0.3");
    for path in ["/status", "/topology/{dc}", "/health", "/ready", "/config"] {
        assert!(json.body["paths"][path].is_object(), "{path} documented");
    }
}
