//! The real `daedalus` binary over HTTPS with bearer tokens: `hash-token` output accepted in the
//! token file, roles enforced, and the certificate reloaded on SIGHUP.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::spawn::*;
use rcgen::{CertificateParams, KeyPair};
use serde_json::Value;
use tokio::process::Command;

const PATIENCE: Duration = Duration::from_secs(30);

fn self_signed(dir: &Path) -> String {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    cert.pem()
}

fn hash_with_binary(token: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_daedalus"))
        .args(["hash-token", token])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn next_message(lines: &mut LogLines) -> Value {
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("a log line")
        .unwrap()
        .expect("daedalus still running");
    serde_json::from_str(&line).unwrap()
}

type LogLines = Lines;

/// Spawns the sidecar with JSON logs on stderr and waits for its "daedalus serving" line.
async fn start(command: &mut Command) -> (tokio::process::Child, LogLines, Value) {
    let spawned = spawn_ready(
        command,
        ReadyOn::Stderr,
        "daedalus",
        SIDECAR_READY,
        serving_json,
    )
    .await;
    (spawned.child, spawned.lines, spawned.ready)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_tokens_and_reload_on_sighup() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = self_signed(tmp.path());
    let tokens = tmp.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "viewer read {}\nadmin operate {}\n",
            hash_with_binary("viewer-t"),
            hash_with_binary("admin-t")
        ),
    )
    .unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let mut command = sidecar_command();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args([
            "--jmx-service",
            &format!("127.0.0.1:{dead_port}"),
            "--jmx-timeout",
            "1s",
        ])
        .arg("--tls-cert")
        .arg(tmp.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(tmp.path().join("key.pem"))
        .arg("--auth-tokens")
        .arg(&tokens)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .stdout(Stdio::null());
    let (mut child, mut lines, serving) = start(&mut command).await;
    assert_eq!(serving["fields"]["tls"], true);
    let addr = serving["fields"]["listen"].as_str().unwrap().to_string();
    let client = testkit::http_builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let url = format!("https://{addr}/operations");
    let code = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(code(client.get(&url).send().await.unwrap()), 401);
    assert_eq!(
        code(
            client
                .get(&url)
                .bearer_auth("viewer-t")
                .send()
                .await
                .unwrap()
        ),
        200
    );
    let body = serde_json::json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/nonexistent"});
    assert_eq!(
        code(
            client
                .post(&url)
                .bearer_auth("viewer-t")
                .json(&body)
                .send()
                .await
                .unwrap()
        ),
        403
    );
    assert_ne!(
        code(
            client
                .post(&url)
                .bearer_auth("admin-t")
                .json(&body)
                .send()
                .await
                .unwrap()
        ),
        403
    );

    // Read endpoints' node calls are metered too (the node is down here: an error each).
    let status_url = format!("https://{addr}/status");
    let status = client
        .get(&status_url)
        .bearer_auth("viewer-t")
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_u16(), 503);
    let metrics = client
        .get(format!("https://{addr}/metrics"))
        .bearer_auth("viewer-t")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        // The node is down: the shared handle's connect is what failed.
        metrics.contains("daedalus_jmx_errors_total{call=\"connect\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "daedalus_http_requests_total{method=\"GET\",route=\"/status\",status=\"503\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "daedalus_http_requests_total{method=\"GET\",route=\"/operations\",status=\"401\"} 1"
        ),
        "{metrics}"
    );

    // SIGHUP reloads the (unchanged) files: the file watcher alone would not.
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    loop {
        let v = next_message(&mut lines).await;
        if v["fields"]["message"] == "TLS certificate loaded" {
            break;
        }
    }
    assert_eq!(
        code(
            client
                .get(&url)
                .bearer_auth("viewer-t")
                .send()
                .await
                .unwrap()
        ),
        200
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP does not stop the sidecar"
    );
    let _ = child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_without_tls_is_logged_and_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let mut command = sidecar_command();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .stdout(Stdio::null());
    let (mut child, mut lines, serving) = start(&mut command).await;
    let addr = serving["fields"]["listen"].as_str().unwrap().to_string();
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    loop {
        let v = next_message(&mut lines).await;
        if v["fields"]["message"] == "SIGHUP ignored: no TLS certificate to reload" {
            break;
        }
    }
    let health = testkit::http_builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP did not stop the sidecar"
    );
    let _ = child.kill().await;
}
