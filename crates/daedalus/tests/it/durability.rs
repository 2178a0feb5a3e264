//! Durability: what the journal gives back after a restart, and after a SIGKILL of the real
//! binary in the middle of many submissions.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use crate::common::spawn::*;
use crate::common::*;
use serde_json::{json, Value};
use tokio::process::Child;

#[tokio::test]
async fn a_restart_serves_finished_requeues_pending_and_fails_running() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = copy_fixture(NB_SETS, tmp.path());

    let before = Arc::new(FakeNode::gated());
    let server = TestServer::start(before.connector(), config(1), &data).await;
    before.release_imports(1);
    let done = server.submit_id(&import_body(&dir)).await;
    let done = server.wait_state(&done, "COMPLETED").await;
    let running = server.submit_id(&import_body(&dir)).await;
    eventually("second import in flight", || before.entered() == 2).await;
    let pending = server.submit_id(&import_body(&dir)).await;
    let cancelled = server.submit_id(&import_body(&dir)).await;
    assert_eq!(
        server
            .delete(&format!("/operations/{cancelled}"))
            .await
            .status,
        202
    );
    let cancelled = server.get(&format!("/operations/{cancelled}")).await.body;
    server.halt();

    let after = Arc::new(FakeNode::new());
    let server = TestServer::start(after.connector(), config(1), &data).await;
    assert_eq!(
        server
            .get(&format!("/operations/{}", done["id"].as_str().unwrap()))
            .await
            .body,
        done
    );
    assert_eq!(
        server
            .get(&format!(
                "/operations/{}",
                cancelled["id"].as_str().unwrap()
            ))
            .await
            .body,
        cancelled
    );

    let failed = server.get(&format!("/operations/{running}")).await.body;
    assert_operation(&failed);
    assert_eq!(failed["state"], "FAILED");
    assert_eq!(failed["failureCause"]["kind"], "SidecarRestart");
    let message = failed["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("outcome is unknown"), "{message}");
    assert!(
        message.contains("spark_test.test3") && message.contains("check"),
        "{message}"
    );

    let requeued = server.wait_state(&pending, "COMPLETED").await;
    assert!(requeued["startTime"].is_string());
    assert_eq!(
        after.calls().len(),
        1,
        "only the PENDING operation ran again"
    );

    // New submissions sort after the recovered ones.
    let fresh = server.submit_id(&import_body(&dir)).await;
    let list = server.get("/operations").await.body;
    assert_operation_list(&list);
    assert_eq!(list[0]["id"], fresh.as_str());
    assert_eq!(list.as_array().unwrap().len(), 5);
}

struct Sidecar {
    child: Child,
    addr: SocketAddr,
}

/// Starts the real binary and waits for its "serving" log line to learn the port.
async fn start_sidecar(data: &std::path::Path) -> Sidecar {
    // A port nobody listens on: bound, then released.
    let dead = dead_address();
    let mut command = sidecar_command();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "4"])
        .arg("--jmx-service")
        .arg(dead.to_string())
        .arg("--data-dir")
        .arg(data)
        .env("DAEDALUS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let (child, addr) = spawn_sidecar(&mut command, None).await;
    Sidecar { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_many_operations_loses_no_acknowledged_record() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = copy_fixture(NB_SETS, tmp.path());
    let body = import_body(&dir).to_string();

    let mut sidecar = start_sidecar(&data).await;
    let addr = sidecar.addr;
    let acknowledged: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let acknowledged = acknowledged.clone();
        let body = body.clone();
        clients.push(tokio::spawn(async move {
            for _ in 0..40 {
                match try_request(addr, "POST", "/operations", Some(body.clone())).await {
                    Ok(resp) if resp.status == 201 => acknowledged.lock().unwrap().push(resp.body),
                    Ok(resp) => panic!("unexpected answer {}: {}", resp.status, resp.body),
                    Err(_) => return, // the sidecar is gone
                }
            }
        }));
    }
    eventually("enough acknowledged submissions", || {
        acknowledged.lock().unwrap().len() >= 60
    })
    .await;
    sidecar.child.start_kill().expect("SIGKILL");
    let status = sidecar.child.wait().await.unwrap();
    assert!(!status.success(), "killed, not exited: {status:?}");
    for client in clients {
        client.await.expect("client task");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    let sidecar = start_sidecar(&data).await;
    let listed = request(sidecar.addr, "GET", "/operations", None).await;
    assert_eq!(listed.status, 200);
    assert_operation_list(&listed.body);
    let listed_ids: HashSet<String> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    for ack in &acknowledged {
        let id = ack["id"].as_str().unwrap();
        assert!(
            listed_ids.contains(id),
            "acknowledged {id} is missing after the restart"
        );
        let resp = request(sidecar.addr, "GET", &format!("/operations/{id}"), None).await;
        assert_eq!(resp.status, 200, "{id}");
        assert_operation(&resp.body);
        assert_eq!(resp.body["creationTime"], ack["creationTime"], "{id}");
        assert_eq!(resp.body["sourceDir"], ack["sourceDir"]);
        assert_eq!(resp.body["keyspace"], json!("spark_test"));
    }
    // Nothing is left RUNNING by the crash: every one ends FAILED (no node answers).
    for ack in &acknowledged {
        let id = ack["id"].as_str().unwrap();
        let end = wait_until(sidecar.addr, id, "finished", |r| r["state"] == "FAILED").await;
        assert!(end["failureCause"]["kind"].is_string(), "{end}");
    }
}
