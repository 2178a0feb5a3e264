//! The real `daedalus` binary against the Java test node: graceful shutdown on SIGTERM with
//! operations in flight (RUNNING ones finish within the grace period, PENDING ones stay PENDING
//! in the journal and run after a restart; one still in its node call after the grace period is
//! FAILED at the next start), JSON logs whose operation lines carry the operation id, and JMX
//! credentials that never appear in any log line or response.

use std::path::Path;
use std::process::Stdio;

use crate::common::spawn::*;
use crate::common::testnode::{TestNode, FAULTS};
use crate::common::*;
use daedalus::journal::Journal;
use serde_json::Value;
use tokio::process::Child;

const SECRET: &str = "pa55-Wd-never-shown-7f3a";

/// The test node, requiring JMX credentials.
struct Node {
    port: u16,
    node: TestNode,
}

impl Node {
    async fn start(dir: &Path) -> Node {
        let credentials = ["--jmx-user", "cassandra", "--jmx-password", SECRET].map(String::from);
        let node = TestNode::start_with("4.1", dir, &credentials).await;
        Node {
            port: node.port,
            node,
        }
    }

    fn imports(&self) -> usize {
        self.node.calls("importNewSSTables").len()
    }

    async fn fault(&self, operation: &str, args: &[&str]) {
        let mut config = jmx::JmxConfig::new("127.0.0.1", self.port);
        config.credentials = Some(jmx::Credentials {
            user: "cassandra".to_string(),
            password: SECRET.to_string(),
        });
        let client = jmx::JmxClient::connect(config).await.expect("JMX");
        let params: Vec<jmx::Value> = args
            .iter()
            .map(|a| jmx::Value::String(a.to_string()))
            .collect();
        let signature = vec!["java.lang.String"; args.len()];
        client
            .invoke(FAULTS, operation, &params, &signature)
            .await
            .expect("fault call");
        let _ = client.close().await;
    }

    async fn delay_imports(&self, millis: u64) {
        let mut config = jmx::JmxConfig::new("127.0.0.1", self.port);
        config.credentials = Some(jmx::Credentials {
            user: "cassandra".to_string(),
            password: SECRET.to_string(),
        });
        let client = jmx::JmxClient::connect(config).await.expect("JMX");
        client
            .invoke(
                FAULTS,
                "delay",
                &[
                    jmx::Value::String("importNewSSTables".into()),
                    jmx::Value::Long(millis as i64),
                ],
                &["java.lang.String", "long"],
            )
            .await
            .expect("delay fault");
        let _ = client.close().await;
    }
}

/// A running `daedalus` process; its stderr (JSON log lines) is collected.
struct Sidecar {
    child: Child,
    addr: std::net::SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Sidecar {
    async fn start(node: &Node, data: &Path, grace: &str) -> Sidecar {
        let mut command = sidecar_command();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
            .args(["--log-format", "json", "--shutdown-grace", grace])
            .args(["--jmx-service", &format!("127.0.0.1:{}", node.port)])
            .args(["--jmx-user", "cassandra", "--jmx-password", SECRET])
            .arg("--data-dir")
            .arg(data)
            .env("DAEDALUS_LOG", "info,daedalus=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let Spawned {
            child,
            mut lines,
            ready,
            seen,
        } = spawn_ready(
            &mut command,
            ReadyOn::Stderr,
            "daedalus",
            SIDECAR_READY,
            serving_json,
        )
        .await;
        let addr = ready["fields"]["listen"].as_str().unwrap().parse().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(seen));
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Sidecar {
            child,
            addr,
            log,
            reader,
        }
    }

    /// SIGTERM, then the exit status and every log line.
    async fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(PATIENCE * 2, self.child.wait())
            .await
            .expect("daedalus exits after SIGTERM")
            .unwrap();
        let _ = tokio::time::timeout(PATIENCE, &mut self.reader).await;
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

fn journal_states(data: &Path) -> Vec<(String, String)> {
    let journal = Journal::open(data).unwrap();
    let mut out: Vec<(String, String)> = journal
        .load()
        .unwrap()
        .records
        .iter()
        .map(|r| (r.id.to_string(), r.state.as_str().to_string()))
        .collect();
    out.sort();
    out
}

fn state_of(states: &[(String, String)], id: &str) -> String {
    states
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("{id} not in the journal: {states:?}"))
}

fn assert_secret_absent(what: &str, texts: &[String]) {
    for t in texts {
        assert!(!t.contains(SECRET), "{what} shows the JMX password: {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_running_work_and_keeps_the_rest_pending_for_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(tmp.path()).await;
    let data = tmp.path().join("data");
    let mut responses: Vec<String> = Vec::new();

    // 1. Imports take 2 s; one worker; three operations; SIGTERM while the first is in its call.
    node.delay_imports(2000).await;
    let sidecar = Sidecar::start(&node, &data, "60s").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let dir = copy_fixture(NB_SETS, &tmp.path().join(format!("src{i}")));
        let resp = request(
            sidecar.addr,
            "POST",
            "/operations",
            Some(import_body(&dir).to_string()),
        )
        .await;
        assert_eq!(resp.status, 201, "{}", resp.body);
        responses.push(resp.body.to_string());
        ids.push(resp.body["id"].as_str().unwrap().to_string());
    }
    eventually("the first import reaches the node", || node.imports() == 1).await;
    let metrics = request(sidecar.addr, "GET", "/metrics", None).await;
    responses.push(metrics.body.to_string());
    let (status, log1) = sidecar.terminate().await;
    assert!(status.success(), "clean exit: {status:?}");
    let states = journal_states(&data);
    assert_eq!(state_of(&states, &ids[0]), "COMPLETED", "{states:?}");
    assert_eq!(state_of(&states, &ids[1]), "PENDING", "{states:?}");
    assert_eq!(state_of(&states, &ids[2]), "PENDING", "{states:?}");
    assert_eq!(node.imports(), 1, "nothing else was started");

    // Each operation's log lines carry its id (the `operation` span).
    let node_calls: Vec<Value> = log1
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["fields"]["message"] == "node call")
        .collect();
    assert!(
        node_calls
            .iter()
            .any(|v| v["fields"]["call"] == "importNewSSTables"),
        "{log1:#?}"
    );
    for v in &node_calls {
        assert_eq!(v["span"]["name"], "operation", "{v}");
        assert_eq!(v["span"]["id"], ids[0].as_str(), "{v}");
    }

    // 2. Restart with a short grace period and a call that outlasts it: the running operation
    //    stays RUNNING in the journal (its outcome is unknown), the other stays PENDING.
    node.delay_imports(60_000).await;
    let sidecar = Sidecar::start(&node, &data, "1s").await;
    eventually("the second import reaches the node", || node.imports() == 2).await;
    let running = request(
        sidecar.addr,
        "GET",
        &format!("/operations/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(running.body["state"], "RUNNING", "{}", running.body);
    responses.push(running.body.to_string());
    let (status, log2) = sidecar.terminate().await;
    assert!(status.success(), "clean exit: {status:?}");
    let states = journal_states(&data);
    assert_eq!(state_of(&states, &ids[1]), "RUNNING", "{states:?}");
    assert_eq!(state_of(&states, &ids[2]), "PENDING", "{states:?}");

    // 3. Restart with fast imports: the unknown one is FAILED with advice, the pending one runs.
    node.fault("clear", &[]).await;
    let sidecar = Sidecar::start(&node, &data, "10s").await;
    let failed = wait_until(sidecar.addr, &ids[1], "FAILED", |r| r["state"] == "FAILED").await;
    assert_eq!(failed["failureCause"]["kind"], "SidecarRestart", "{failed}");
    let done = wait_until(sidecar.addr, &ids[2], "COMPLETED", |r| {
        r["state"] == "COMPLETED"
    })
    .await;
    responses.push(done.to_string());
    let list = request(sidecar.addr, "GET", "/operations", None).await;
    responses.push(list.body.to_string());
    let (status, log3) = sidecar.terminate().await;
    assert!(status.success());

    assert_secret_absent("a log line", &log1);
    assert_secret_absent("a log line", &log2);
    assert_secret_absent("a log line", &log3);
    assert_secret_absent("a response", &responses);
}
