//! The maintenance operations end to end through HTTP against the Java test node (3.11, 4.0,
//! 4.1, 5.0): the exact JMX call each makes (from the node's call log), failures with their Java
//! cause, compaction progress, the admission rules (409 conflicts, 400 for disabled operations)
//! and a restart that really stops and starts the node.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::common::testnode::{run_script, TestNode};
use crate::common::*;
use daedalus::engine::EngineConfig;
use daedalus::node::NodeHandle;
use daedalus::operations::OperationSettings;
use serde_json::{json, Value};

fn settings() -> OperationSettings {
    OperationSettings {
        enable_truncate: true,
        poll_interval: Duration::from_millis(40),
        drain_timeout: Duration::from_secs(20),
        restart_timeout: Duration::from_secs(60),
        ..OperationSettings::default()
    }
}

async fn start_server(connector: NodeHandle, ops: OperationSettings, dir: &Path) -> TestServer {
    let config = EngineConfig {
        workers: 4,
        operations: ops,
        ..EngineConfig::default()
    };
    TestServer::start(connector, config, &dir.join("journal")).await
}

async fn run(server: &TestServer, body: Value) -> Value {
    let id = server.submit(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .wait_for(&id, "finished", |r| {
            matches!(
                r["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        })
        .await
}

async fn completed(server: &TestServer, body: Value) -> Value {
    let record = run(server, body.clone()).await;
    assert_eq!(record["state"], "COMPLETED", "{body} → {record}");
    record
}

/// The one logged call of `operation` made since `before` calls of it were logged.
fn last_call(node: &TestNode, operation: &str, before: usize) -> Value {
    let calls = node.calls(operation);
    assert_eq!(
        calls.len(),
        before + 1,
        "one new {operation} call: {calls:?}"
    );
    calls.last().unwrap().clone()
}

fn assert_call(call: &Value, signature: Value, args: Value) {
    assert_eq!(
        call["mbean"], "org.apache.cassandra.db:type=StorageService",
        "{call}"
    );
    assert_eq!(call["signature"], signature, "{call}");
    assert_eq!(call["args"], args, "{call}");
}

const STRING: &str = "java.lang.String";
const STRINGS: &str = "[Ljava.lang.String;";

/// Every operation once on one node of `version`, each proven by the call log.
async fn every_operation(version: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let extra: Vec<String> = [
        "--compaction-millis",
        "100",
        "--transition-millis",
        "100",
        "--peers",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let node = TestNode::start_with(version, tmp.path(), &extra).await;
    let server = start_server(node.connector(), settings(), tmp.path()).await;

    let r = completed(
        &server,
        json!({"type": "cleanup", "keyspace": "spark_test", "tables": ["test3"], "jobs": 2}),
    )
    .await;
    assert_eq!(r["jobs"], 2);
    assert_eq!(r["tables"], json!(["test3"]));
    assert_call(
        &last_call(&node, "forceKeyspaceCleanup", 0),
        json!(["int", STRING, STRINGS]),
        json!([2, "spark_test", ["test3"]]),
    );

    completed(&server, json!({"type": "flush", "keyspace": "ks"})).await;
    assert_call(
        &last_call(&node, "forceKeyspaceFlush", 0),
        json!([STRING, STRINGS]),
        json!(["ks", []]),
    );

    let r = completed(
        &server,
        json!({"type": "scrub", "keyspace": "spark_test", "tables": ["test3", "testtable"],
               "disableSnapshot": true, "noValidate": true, "jobs": 1}),
    )
    .await;
    assert_eq!(r["skipCorrupted"], false);
    assert_eq!(r["reinsertOverflowedTTL"], false);
    assert_call(
        &last_call(&node, "scrub", 0),
        json!(["boolean", "boolean", "boolean", "boolean", "int", STRING, STRINGS]),
        json!([
            true,
            false,
            false,
            false,
            1,
            "spark_test",
            ["test3", "testtable"]
        ]),
    );

    completed(
        &server,
        json!({"type": "upgradesstables", "keyspace": "spark_test", "includeAllSStables": true}),
    )
    .await;
    let call = last_call(&node, "upgradeSSTables", 0);
    if version == "3.11" || version == "4.0" {
        assert_call(
            &call,
            json!([STRING, "boolean", "int", STRINGS]),
            json!(["spark_test", false, 0, []]),
        );
    } else {
        assert_call(
            &call,
            json!([STRING, "boolean", "long", "int", STRINGS]),
            json!(["spark_test", false, i64::MAX, 0, []]),
        );
    }

    completed(
        &server,
        json!({"type": "rebuild", "keyspace": "spark_test", "sourceDC": "datacenter1",
               "specificTokens": [{"start": "-100", "end": "100"}, {"start": "200", "end": "300"}],
               "specificSources": ["127.0.0.2"]}),
    )
    .await;
    let call = last_call(&node, "rebuild", 0);
    let mut args = json!([
        "datacenter1",
        "spark_test",
        "(-100,100],(200,300]",
        "127.0.0.2"
    ]);
    let mut signature = json!([STRING, STRING, STRING, STRING]);
    if version == "5.0" {
        args.as_array_mut().unwrap().push(json!(false));
        signature.as_array_mut().unwrap().push(json!("boolean"));
    }
    assert_call(&call, signature, args);

    completed(
        &server,
        json!({"type": "refresh", "keyspace": "spark_test", "table": "test3"}),
    )
    .await;
    assert_call(
        &last_call(&node, "loadNewSSTables", 0),
        json!([STRING, STRING]),
        json!(["spark_test", "test3"]),
    );

    completed(
        &server,
        json!({"type": "truncate", "keyspace": "ks", "table": "t"}),
    )
    .await;
    assert_call(
        &last_call(&node, "truncate", 0),
        json!([STRING, STRING]),
        json!(["ks", "t"]),
    );

    // Drain from NORMAL waits for DRAINED; a second drain returns at once without calling.
    let r = completed(&server, json!({"type": "drain"})).await;
    assert_eq!(r["operationMode"], "DRAINED", "{r}");
    assert_call(&last_call(&node, "drain", 0), json!([]), json!([]));
    assert_eq!(node.mode().await, "DRAINED");
    let r = completed(&server, json!({"type": "drain"})).await;
    assert_eq!(r["alreadyDrained"], true, "{r}");
    assert_eq!(node.calls("drain").len(), 1, "no second drain() call");

    // Decommission (force defaults to false; 3.11 has only the no-argument form).
    node.fault("setOperationMode", &["NORMAL"]).await;
    let r = completed(&server, json!({"type": "decommission"})).await;
    assert_eq!(r["force"], false);
    assert_eq!(r["operationMode"], "DECOMMISSIONED", "{r}");
    let call = last_call(&node, "decommission", 0);
    if version == "3.11" {
        assert_call(&call, json!([]), json!([]));
    } else {
        assert_call(&call, json!(["boolean"]), json!([false]));
    }
    // The node refuses a second one: FAILED with Cassandra's exception.
    let r = run(&server, json!({"type": "decommission", "force": true})).await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert_eq!(
        r["failureCause"]["class"], "java.lang.UnsupportedOperationException",
        "{r}"
    );
    if version != "3.11" {
        assert_eq!(node.calls("decommission")[1]["args"], json!([true]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_3_11() {
    every_operation("3.11").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_4_0() {
    every_operation("4.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_4_1() {
    every_operation("4.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_5_0() {
    every_operation("5.0").await;
}

/// Failures, progress and conflicts on one 4.1 node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_progress_and_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let extra: Vec<String> = ["--compaction-millis", "1500", "--transition-millis", "100"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let node = TestNode::start_with("4.1", tmp.path(), &extra).await;
    let server = start_server(node.connector(), settings(), tmp.path()).await;

    // A Java exception becomes FAILED with the throwable as failureCause.
    node.fault(
        "fail",
        &[
            "forceKeyspaceCleanup",
            "java.lang.IllegalStateException",
            "no cleanup today",
        ],
    )
    .await;
    let r = run(
        &server,
        json!({"type": "cleanup", "keyspace": "spark_test"}),
    )
    .await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert_eq!(
        r["failureCause"]["class"],
        "java.lang.IllegalStateException"
    );
    assert_eq!(r["failureCause"]["message"], "no cleanup today");
    node.fault("clear", &[]).await;
    // Every other operation: the fault on its JMX operation makes it FAILED with that cause.
    for (operation, body) in [
        (
            "forceKeyspaceFlush",
            json!({"type": "flush", "keyspace": "ks"}),
        ),
        ("scrub", json!({"type": "scrub", "keyspace": "ks"})),
        (
            "upgradeSSTables",
            json!({"type": "upgradesstables", "keyspace": "ks"}),
        ),
        ("rebuild", json!({"type": "rebuild"})),
        (
            "loadNewSSTables",
            json!({"type": "refresh", "keyspace": "ks", "table": "t"}),
        ),
        (
            "truncate",
            json!({"type": "truncate", "keyspace": "ks", "table": "t"}),
        ),
        ("decommission", json!({"type": "decommission"})),
        ("drain", json!({"type": "drain"})),
    ] {
        let message = format!("{operation} refused");
        node.fault(
            "fail",
            &[operation, "java.lang.IllegalStateException", &message],
        )
        .await;
        let r = run(&server, body.clone()).await;
        assert_eq!(r["state"], "FAILED", "{body}: {r}");
        assert_eq!(
            r["failureCause"]["class"], "java.lang.IllegalStateException",
            "{r}"
        );
        assert_eq!(r["failureCause"]["message"], message.as_str(), "{r}");
        node.fault("clear", &[operation]).await;
    }
    assert_eq!(
        node.mode().await,
        "NORMAL",
        "failed drain/decommission changed nothing"
    );
    // Cassandra's own refusal: an unknown keyspace.
    let r = run(&server, json!({"type": "flush", "keyspace": "nope"})).await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert_eq!(
        r["failureCause"]["class"],
        "java.lang.IllegalArgumentException"
    );
    assert!(
        r["failureCause"]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{r}"
    );

    // Progress between 0 and 1 while the cleanup runs, from the compaction manager.
    let id = server
        .submit(&json!({"type": "cleanup", "keyspace": "spark_test"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = server
        .wait_for(&id, "RUNNING with partial progress", |r| {
            let p = r["progress"].as_f64().unwrap_or(0.0);
            r["state"] == "RUNNING" && p > 0.0 && p < 1.0
        })
        .await;
    assert!(r["totalBytes"].as_u64().unwrap() > 0, "{r}");
    assert!(r["completedBytes"].as_u64().unwrap() <= r["totalBytes"].as_u64().unwrap());
    let r = server.wait_state(&id, "COMPLETED").await;
    assert_eq!(r["status"], 0);

    // Drain, decommission and restart block everything while unfinished.
    node.fault("hang", &["drain"]).await;
    let drain = server.submit(&json!({"type": "drain"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.wait_state(&drain, "RUNNING").await;
    for body in [
        json!({"type": "cleanup", "keyspace": "spark_test"}),
        json!({"type": "decommission"}),
        json!({"type": "drain"}),
    ] {
        let resp = server.post(&body).await;
        assert_eq!(resp.status, 409, "{body}: {}", resp.body);
        assert_eq!(resp.body["conflictingOperationId"], drain.as_str());
        assert_eq!(resp.body["operation"]["type"], "drain");
        assert!(resp.body["message"].as_str().unwrap().contains(&drain));
    }
    node.fault("clear", &[]).await;
    server.wait_state(&drain, "COMPLETED").await;
    node.fault("setOperationMode", &["NORMAL"]).await;

    // Two identical operations: the second is refused while the first is unfinished.
    node.fault("hang", &["forceKeyspaceCleanup"]).await;
    let body = json!({"type": "cleanup", "keyspace": "spark_test", "tables": ["test3"]});
    let first = server.submit(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.wait_state(&first, "RUNNING").await;
    let resp = server.post(&body).await;
    assert_eq!(resp.status, 409, "{}", resp.body);
    assert_eq!(resp.body["conflictingOperationId"], first.as_str());
    let other = server
        .submit(&json!({"type": "cleanup", "keyspace": "spark_test", "tables": ["testtable"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    node.fault("clear", &[]).await;
    server.wait_state(&first, "COMPLETED").await;
    server.wait_state(&other, "COMPLETED").await;
    // Finished, the same request is accepted again.
    completed(&server, body).await;

    // Drain refuses any mode but NORMAL (and the already-drained ones).
    node.fault("setOperationMode", &["JOINING"]).await;
    let r = run(&server, json!({"type": "drain"})).await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert_eq!(r["failureCause"]["kind"], "InvalidState");
    assert!(r["failureCause"]["message"]
        .as_str()
        .unwrap()
        .contains("JOINING"));
}

/// Truncate and restart are refused with 400 unless enabled; nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_operations_are_refused_with_how_to_enable_them() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_server(
        Arc::new(FakeNode::new()).connector(),
        OperationSettings::default(),
        tmp.path(),
    )
    .await;
    let resp = server
        .post(&json!({"type": "truncate", "keyspace": "ks", "table": "t"}))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "type");
    assert!(resp.body["message"]
        .as_str()
        .unwrap()
        .contains("--enable-truncate"));
    let resp = server.post(&json!({"type": "restart"})).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(resp.body["message"]
        .as_str()
        .unwrap()
        .contains("--restart-command"));
    assert_eq!(server.get("/operations").await.body, json!([]));

    // Validation names the field.
    for (body, field) in [
        (json!({"type": "cleanup"}), "keyspace"),
        (
            json!({"type": "cleanup", "keyspace": "ks", "jobs": -1}),
            "jobs",
        ),
        (
            json!({"type": "scrub", "keyspace": "ks", "tables": ["a b"]}),
            "tables[0]",
        ),
        (json!({"type": "refresh", "keyspace": "ks"}), "table"),
        (
            json!({"type": "rebuild", "keyspace": "ks", "specificTokens": [{"start": "x", "end": "1"}]}),
            "specificTokens[0].start",
        ),
        (json!({"type": "decommission", "force": "true"}), "force"),
    ] {
        let resp = server.post(&body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(resp.body["field"], field, "{body}: {}", resp.body);
    }
}

/// A fake node whose cleanup returns a chosen status code.
fn status_node(code: i32) -> NodeHandle {
    let node = Arc::new(FakeNode::new());
    node.server.returns(
        STORAGE_SERVICE,
        "forceKeyspaceCleanup",
        jmx::Value::Int(code),
    );
    node.server.set_attr(
        COMPACTION_MANAGER,
        "Compactions",
        jmx::Value::List {
            class: "java.util.ArrayList".into(),
            items: Vec::new(),
        },
    );
    node.connector()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassandra_status_codes_become_outcomes() {
    for (code, state, text) in [
        (0, "COMPLETED", None),
        (1, "FAILED", Some("aborted")),
        (2, "FAILED", Some("unable to mark SSTables compacting")),
        (7, "FAILED", Some("unknown Cassandra status 7")),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let server = start_server(status_node(code), settings(), tmp.path()).await;
        let r = run(&server, json!({"type": "cleanup", "keyspace": "ks"})).await;
        assert_eq!(r["state"], state, "{code}: {r}");
        assert_eq!(r["status"], code);
        if let Some(text) = text {
            let message = r["failureCause"]["message"].as_str().unwrap();
            assert!(message.contains(text), "{code}: {message}");
        }
    }
}

/// `restart` drains the node, runs the command (which kills the node by its pid file and starts
/// it again on the same port), and completes once the new process answers with mode NORMAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_drains_runs_the_command_and_waits_for_normal() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("node.pid");
    let extra = vec![
        "--transition-millis".to_string(),
        "100".to_string(),
        "--pid-file".to_string(),
        pid_file.display().to_string(),
    ];
    let node = TestNode::start_with("4.1", tmp.path(), &extra).await;
    let old_pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    let script = tmp.path().join("restart.sh");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
set -e
pid=$(cat '{pid}')
kill "$pid"
# The old node is our test's child: it stays a zombie until reaped, so wait for Z (or gone).
while [ -e /proc/$pid ] && ! grep -q '^State:[[:space:]]*Z' /proc/$pid/status; do sleep 0.05; done
rm -f '{pid}'
nohup '{run}' --port {port} --cassandra-version 4.1 --data-dir '{data}' --call-log '{log}' \
  --pid-file '{pid}' --lease-millis 5000 </dev/null >/dev/null 2>&1 &
"#,
            pid = pid_file.display(),
            run = run_script().display(),
            port = node.port,
            data = node.data_dir.display(),
            log = node.call_log.display(),
        ),
    )
    .unwrap();
    let ops = OperationSettings {
        restart_command: Some(format!("sh '{}'", script.display())),
        ..settings()
    };
    let server = start_server(node.connector(), ops, tmp.path()).await;

    let r = completed(&server, json!({"type": "restart"})).await;
    assert_eq!(r["operationMode"], "NORMAL", "{r}");
    assert_eq!(node.calls("drain").len(), 1, "drained before the restart");
    let new_pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(new_pid, old_pid, "a new process answers");
    assert_eq!(node.mode().await, "NORMAL");
    // The restarted node serves operations.
    completed(&server, json!({"type": "flush", "keyspace": "ks"})).await;

    // A failing command leaves the operation FAILED with the command named.
    node.fault("setOperationMode", &["NORMAL"]).await;
    let failing = OperationSettings {
        restart_command: Some("exit 3".to_string()),
        ..settings()
    };
    let tmp2 = tempfile::tempdir().unwrap();
    let server2 = start_server(node.connector(), failing, tmp2.path()).await;
    let r = run(&server2, json!({"type": "restart"})).await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert!(
        r["failureCause"]["message"]
            .as_str()
            .unwrap()
            .contains("exit 3"),
        "{r}"
    );
    assert_eq!(node.mode().await, "DRAINED", "the node was drained first");
    // Stop the restarted node now rather than at its lease.
    let _ = std::process::Command::new("kill").arg(new_pid).status();
}

/// A fake node whose `drain()` returns but which then stays DRAINING.
fn stuck_drain_node() -> NodeHandle {
    let node = Arc::new(FakeNode::new());
    let server = node.server.clone();
    node.server.on_invoke(STORAGE_SERVICE, "drain", move |_| {
        server.set_attr(
            STORAGE_SERVICE,
            "OperationMode",
            jmx::Value::String("DRAINING".into()),
        );
        Ok(jmx::Value::Null)
    });
    node.connector()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_waits_for_drained_only_up_to_its_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = OperationSettings {
        drain_timeout: Duration::from_millis(300),
        ..settings()
    };
    let server = start_server(stuck_drain_node(), ops, tmp.path()).await;
    let r = run(&server, json!({"type": "drain"})).await;
    assert_eq!(r["state"], "FAILED", "{r}");
    assert_eq!(r["failureCause"]["kind"], "Timeout", "{r}");
    let message = r["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains("DRAINED") && message.contains("DRAINING"),
        "{message}"
    );
}
