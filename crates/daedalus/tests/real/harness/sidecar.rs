//! The `daedalus` binary beside a real node: started with the node's JMX address and whatever
//! flags a test adds, killed when dropped; plus the HTTP calls the tests make to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::spawn::{sidecar_command, spawn_sidecar};
use super::RealNode;

/// Longest a test waits for one operation on the real node to end (a bound against hangs).
pub const OPERATION_PATIENCE: Duration = Duration::from_secs(300);

/// A running sidecar.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _child: tokio::process::Child,
    _journal: tempfile::TempDir,
    http: reqwest::Client,
}

/// An answer: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Sidecar {
    /// Starts the sidecar for `node` on `listen` (`127.0.0.1:0` picks a port) with `flags`.
    pub async fn start(node: &RealNode, listen: &str, flags: &[&str]) -> Sidecar {
        Sidecar::start_with_env(node, listen, flags, &[]).await
    }

    /// Like `start`, with more environment (storage credentials and endpoints).
    pub async fn start_with_env(
        node: &RealNode,
        listen: &str,
        flags: &[&str],
        env: &[(String, String)],
    ) -> Sidecar {
        let journal = tempfile::tempdir().expect("journal directory");
        let mut command = sidecar_command();
        command
            .arg("--jmx-service")
            .arg(node.jmx_service())
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(journal.path())
            .args(flags)
            // Beside its node, as on a real host: a path under `/proc/self/cwd/` is then this
            // sidecar's own, though the nodes of the ring share one machine.
            .current_dir(&node.dir)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // The tests give storage credentials or none: never ask a cloud's metadata service.
            .env("DAEDALUS_NO_INSTANCE_METADATA", "true")
            .env("RUST_LOG", "info");
        // Its log goes on to a file, for post-mortems.
        let name = journal
            .path()
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let log = super::work_root().join(format!("sidecar{name}.log"));
        let (child, ready) = spawn_sidecar(&mut command, Some(log)).await;
        Sidecar {
            addr: ready,
            data_dir: journal.path().to_path_buf(),
            _child: child,
            _journal: journal,
            http: testkit::http_client(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        let resp = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        into_resp(resp).await
    }

    /// The body of a GET as text (`/metrics`).
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, body: &Value) -> Resp {
        let resp = self
            .http
            .post(format!("http://{}/operations", self.addr))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {body}: {e}"));
        into_resp(resp).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        let resp = self
            .http
            .delete(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        into_resp(resp).await
    }

    /// Submits; asserts 201; returns the id.
    pub async fn submit(&self, body: &Value) -> String {
        let resp = self.post(body).await;
        assert_eq!(resp.status, 201, "submit {body}: {}", resp.body);
        resp.body["id"].as_str().expect("an id").to_string()
    }

    /// Polls until the operation is COMPLETED, FAILED or CANCELLED; returns its record.
    pub async fn wait_finished(&self, id: &str) -> Value {
        self.wait_for(id, "a final state", |r| {
            matches!(
                r["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        })
        .await
    }

    /// Polls the record until `pred` holds.
    pub async fn wait_for(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let record = self.get(&format!("/operations/{id}")).await.body;
            if pred(&record) {
                return record;
            }
            assert!(
                started.elapsed() < OPERATION_PATIENCE,
                "operation {id} did not reach {what} within {OPERATION_PATIENCE:?}: {record}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Submits and waits for the end; returns the final record.
    pub async fn run(&self, body: &Value) -> Value {
        let id = self.submit(body).await;
        self.wait_finished(&id).await
    }

    /// Submits, waits, asserts COMPLETED; returns the record.
    pub async fn run_ok(&self, body: &Value) -> Value {
        let record = self.run(body).await;
        assert_eq!(record["state"], "COMPLETED", "{body} ended: {record}");
        record
    }
}

async fn into_resp(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}
