//! The `daedalus` binary's operator commands (`op submit|get|list|cancel`, `status`, `topology`,
//! `version`) against a live sidecar in front of the 4.1 test node, their exit codes, and
//! `daedalus serve` started as a process.

use std::path::Path;
use std::process::Stdio;

use crate::common::spawn::*;
use crate::common::testnode::TestNode;
use crate::common::*;
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the binary with `args` against `url`.
async fn daedalus(url: &str, args: &[&str]) -> Run {
    let out = sidecar_command()
        .args(args)
        .args(["--url", url])
        // `--poll-interval-ms` belongs to `--wait`.
        .args(if args.contains(&"--wait") {
            &["--poll-interval-ms", "50"][..]
        } else {
            &[][..]
        })
        .env_remove("DAEDALUS_URL")
        .env_remove("DAEDALUS_TOKEN")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the daedalus binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn submit_args(dir: &Path) -> Vec<String> {
    [
        "op",
        "submit",
        "import",
        "--keyspace",
        "spark_test",
        "--table",
        "test3",
        "--source-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.to_string_lossy().into_owned()])
    .collect()
}

async fn submit(url: &str, dir: &Path, extra: &[&str]) -> Run {
    let mut args = submit_args(dir);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    daedalus(url, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_drive_a_live_sidecar_with_meaningful_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let url = format!("http://{}", server.addr);
    let dir = copy_fixture(NB_SETS, tmp.path());

    // Submit and wait: COMPLETED exits 0 and prints the final record.
    let run = submit(&url, &dir, &["--copy-data", "--wait", "--json"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let done = run.json();
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let id = done["id"].as_str().unwrap().to_string();

    let run = daedalus(&url, &["op", "list", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == id.as_str()));
    let run = daedalus(&url, &["op", "list"]).await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains(&id),
        "the table lists {id}: {}",
        run.stdout
    );

    let run = daedalus(&url, &["op", "get", &id, "--json"]).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["state"], "COMPLETED");

    // Cancelling a finished operation leaves it as it is (202, as Icarus answers): exit 0.
    let run = daedalus(&url, &["op", "cancel", &id]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("nothing to cancel"), "{}", run.stdout);
    // An unknown id is a 404: exit 5.
    let run = daedalus(&url, &["op", "get", &uuid::Uuid::new_v4().to_string()]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);

    // A failing import with --wait exits 3 and prints the cause.
    let canonical = dir.canonicalize().unwrap().to_string_lossy().into_owned();
    node.fail_import_dirs(&[&canonical]).await;
    let run = submit(&url, &dir, &["--copy-data", "--wait"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("FAILED") || run.stdout.contains("FAILED"));
    node.fail_import_dirs(&[]).await;

    // A queued operation cancelled: `op cancel` exits 0, `op get --wait` then exits 4.
    node.fault("hang", &["importNewSSTables"]).await;
    let first = submit(&url, &dir, &["--copy-data", "--json"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first_id = first.json()["id"].as_str().unwrap().to_string();
    server.wait_state(&first_id, "RUNNING").await;
    let second = submit(&url, &dir, &["--copy-data", "--json"]).await;
    let second_id = second.json()["id"].as_str().unwrap().to_string();
    let run = daedalus(&url, &["op", "cancel", &second_id]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run = daedalus(&url, &["op", "get", &second_id, "--wait"]).await;
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    node.fault("clear", &[]).await;
    server.wait_state(&first_id, "COMPLETED").await;

    // The read commands.
    let run = daedalus(&url, &["status", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["nodeState"], "NORMAL");
    let run = daedalus(&url, &["status"]).await;
    assert!(run.stdout.contains("NORMAL"), "{}", run.stdout);
    let run = daedalus(&url, &["topology"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("127.0.0.1") && run.stdout.contains("datacenter1"));
    assert!(run.stdout.contains("Test Cluster"), "{}", run.stdout);
    let run = daedalus(&url, &["version"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("daedalus") && run.stdout.contains("4.1.0"),
        "{}",
        run.stdout
    );

    // Nothing listening: exit 6.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = daedalus(&closed_url, &["status"]).await;
    assert_eq!(run.code, 6, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daedalus_serve_starts_the_sidecar_and_the_cli_talks_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.0", tmp.path()).await;
    let yaml = tmp.path().join("cassandra.yaml");
    std::fs::write(&yaml, "cluster_name: 'Test Cluster'\n").unwrap();
    let mut command = sidecar_command();
    command
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--jmx-service", &node.address()])
        .arg("--data-dir")
        .arg(tmp.path().join("sidecar"))
        .arg("--cassandra-config")
        .arg(&yaml)
        .env("DAEDALUS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let sidecar = spawn_ready(
        &mut command,
        ReadyOn::Stderr,
        "daedalus serve",
        SIDECAR_READY,
        listen_address,
    )
    .await;
    let addr = sidecar.ready;
    let mut child = sidecar.child;
    let url = format!("http://{addr}");

    let run = daedalus(&url, &["status", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["nodeState"], "NORMAL");
    let resp = request(addr, "GET", "/config", None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body["cluster_name"], "Test Cluster");
    let resp = request(addr, "GET", "/version/cassandra", None).await;
    assert_eq!((resp.status, resp.body["minor"].as_u64()), (200, Some(0)));
    child.kill().await.expect("the sidecar stops");
}
