//! A real test cluster on this machine: three Java test nodes sharing one ring file (127.0.0.2
//! and 127.0.0.3 in dc1, rack r1; 127.0.0.4 in dc2, rack r1), all on one JMX port, and
//! one `daedalus` binary beside each, listening on its node's address with one API port. Each
//! sidecar can restart its node (`--restart-command`): the script kills the node by its pid file
//! and starts it again on the same port, data directory and call log. Each node and its sidecar
//! run in the node's own directory. Also the helpers the cluster tests share: submit, follow and
//! read cluster-wide records.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use time::format_description::well_known::Iso8601;
use time::OffsetDateTime;
use tokio::process::{Child, Command};
use tokio::sync::Mutex as AsyncMutex;

use super::spawn::{listen_address, sidecar_command, spawn_ready, ReadyOn, SIDECAR_READY};
use super::testnode::{jmx_handle, live_hashes, run_script, table_dir_under};
use super::{request, try_request};

/// The ring: address, host id, dc, rack, tokens.
pub const RING: [(&str, &str, &str, &str, &str); 3] = [
    (
        "127.0.0.2",
        "11111111-1111-1111-1111-111111111111",
        "dc1",
        "r1",
        "-9000000000000000000,-3000000000000000000",
    ),
    (
        "127.0.0.3",
        "22222222-2222-2222-2222-222222222222",
        "dc1",
        "r1",
        "-6000000000000000000,0",
    ),
    (
        "127.0.0.4",
        "33333333-3333-3333-3333-333333333333",
        "dc2",
        "r1",
        "3000000000000000000,6000000000000000000",
    ),
];

/// One test node of the ring.
pub struct ClusterNode {
    pub ip: &'static str,
    pub host_id: &'static str,
    pub dc: &'static str,
    pub rack: &'static str,
    pub data_dir: PathBuf,
    pub call_log: PathBuf,
    pub pid_file: PathBuf,
    /// The process the harness started (a restart replaces it by one the script started).
    child: Option<Child>,
}

impl ClusterNode {
    /// The endpoint as a 4.1 node names it.
    pub fn endpoint(&self) -> String {
        format!("{}:7000", self.ip)
    }

    /// Every logged call of `operation`, as JSON (with its `at` time).
    pub fn calls(&self, operation: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.call_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["operation"] == operation)
            .collect()
    }

    /// The SHA-256 of the SSTables this node serves for `keyspace.table`, sorted.
    pub async fn live_hashes(&self, jmx_port: u16, keyspace: &str, table: &str) -> Vec<String> {
        let dir = table_dir_under(&self.data_dir, keyspace, table);
        live_hashes(self.ip, jmx_port, &dir, keyspace, table).await
    }

    /// The node's own directory, where its sidecar and itself run: a path under
    /// `/proc/self/cwd/` names a place of this node's own, as a path under `/tmp` would on a
    /// machine of its own.
    pub fn home(&self) -> PathBuf {
        self.data_dir
            .parent()
            .expect("the node's directory")
            .to_path_buf()
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(&self.pid_file)
            .ok()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
    }
}

/// One sidecar: its process and what it printed.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub child: Child,
    /// Its log lines after the ready line (read all along, so the pipe never fills).
    pub log: Arc<Mutex<Vec<String>>>,
}

/// How the sidecars are started.
#[derive(Clone, Default)]
pub struct SidecarOptions {
    /// More flags for every sidecar.
    pub extra: Vec<String>,
    /// More flags per node position (0, 1, 2).
    pub per_node: [Vec<String>; 3],
}

pub struct Cluster {
    pub dir: PathBuf,
    pub jmx_port: u16,
    pub api_port: u16,
    pub nodes: Vec<ClusterNode>,
    pub sidecars: Vec<Option<Sidecar>>,
    options: SidecarOptions,
}

impl Cluster {
    /// Starts the three nodes (waiting until each sees the others UP) and their sidecars.
    pub async fn start(dir: &Path, node_flags: &[&str], options: SidecarOptions) -> Cluster {
        let ring_file = dir.join("ring.txt");
        let ring: String = RING
            .iter()
            .map(|(ip, id, dc, rack, tokens)| format!("{ip} {id} {dc} {rack} {tokens}\n"))
            .collect();
        std::fs::write(&ring_file, ring).unwrap();
        // The first node picks the JMX port on its address; when that port is taken on another
        // member's address, everyone starts again on a new one.
        let mut attempt = 0;
        let (nodes, jmx_port) = loop {
            attempt += 1;
            match start_nodes(dir, &ring_file, node_flags).await {
                Some(started) => break started,
                None if attempt < 5 => continue,
                None => panic!("no JMX port free on every member's address after {attempt} tries"),
            }
        };
        // The restart scripts name the port now known.
        for node in &nodes {
            let script = dir.join(format!("node-{}", node.ip)).join("restart.sh");
            let text = std::fs::read_to_string(&script)
                .unwrap()
                .replace("--port 0 ", &format!("--port {jmx_port} "));
            std::fs::write(&script, text).unwrap();
        }
        let api_port = free_port(RING[0].0);
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            jmx_port,
            api_port,
            nodes,
            sidecars: Vec::new(),
            options,
        };
        cluster.wait_all_up().await;
        for i in 0..RING.len() {
            let sidecar = cluster.start_sidecar(i).await;
            cluster.sidecars.push(Some(sidecar));
        }
        cluster
    }

    /// Until every node sees every member UP.
    pub async fn wait_all_up(&self) {
        for node in &self.nodes {
            let handle = jmx_handle(
                &format!("{}:{}", node.ip, self.jmx_port),
                Duration::from_secs(10),
                None,
            );
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let ring = handle.read(|n| async move { n.topology().await }).await;
                if let Ok(ring) = &ring {
                    if ring.len() == RING.len()
                        && ring
                            .iter()
                            .all(|e| e.status == cassandra::EndpointStatus::Up)
                    {
                        break;
                    }
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{} does not see the ring UP: {ring:?}",
                    node.ip
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Starts (or starts again, on the same data directory) the sidecar of node `i`.
    pub async fn start_sidecar(&self, i: usize) -> Sidecar {
        let node = &self.nodes[i];
        let data_dir = self.dir.join(format!("sidecar-{}", node.ip));
        let script = self
            .dir
            .join(format!("node-{}", node.ip))
            .join("restart.sh");
        let mut command = sidecar_command();
        command
            .current_dir(node.home())
            .arg("--listen")
            .arg(format!("{}:{}", node.ip, self.api_port))
            .arg("--jmx-service")
            .arg(format!("{}:{}", node.ip, self.jmx_port))
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--restart-command")
            .arg(format!("sh '{}'", script.display()))
            .args(["--restart-timeout", "60s", "--drain-timeout", "30s"])
            .args(&self.options.extra)
            .args(&self.options.per_node[i])
            .env("DAEDALUS_LOG", "info")
            .stdout(Stdio::null());
        let mut spawned = spawn_ready(
            &mut command,
            ReadyOn::Stderr,
            "daedalus",
            SIDECAR_READY,
            |line| {
                line.contains("daedalus serving")
                    .then(|| listen_address(line))
                    .flatten()
            },
        )
        .await;
        let log = Arc::new(Mutex::new(spawned.seen.clone()));
        let keep = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = spawned.lines.next_line().await {
                keep.lock().unwrap().push(line);
            }
        });
        Sidecar {
            addr: spawned.ready,
            data_dir,
            child: spawned.child,
            log,
        }
    }

    /// The options the next `start_sidecar` uses.
    pub fn options_mut(&mut self) -> &mut SidecarOptions {
        &mut self.options
    }

    pub fn sidecar(&self, i: usize) -> &Sidecar {
        self.sidecars[i].as_ref().expect("sidecar running")
    }

    /// SIGKILLs the sidecar of node `i` (its journal stays as the kill left it).
    pub async fn kill_sidecar(&mut self, i: usize) -> Sidecar {
        let mut sidecar = self.sidecars[i].take().expect("sidecar running");
        sidecar.child.start_kill().unwrap();
        sidecar.child.wait().await.unwrap();
        sidecar
    }

    /// The log of the sidecar of node `i`, for failure messages.
    pub fn sidecar_log(&self, i: usize) -> String {
        self.sidecars[i]
            .as_ref()
            .map(|s| s.log.lock().unwrap().join("\n"))
            .unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (i, node) in self.nodes.iter().enumerate() {
                eprintln!("--- sidecar of {} ---\n{}", node.ip, self.sidecar_log(i));
            }
        }
        // Restarted nodes are not our children: stop them by their pid files.
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                let _ = child.start_kill();
            }
            if let Some(pid) = node.pid() {
                let _ = std::process::Command::new("kill").arg(pid).status();
            }
        }
    }
}

/// Starts the three nodes on one port; `None` when the port the first one took is not free on
/// the others' addresses (the started ones are killed).
async fn start_nodes(
    dir: &Path,
    ring_file: &Path,
    node_flags: &[&str],
) -> Option<(Vec<ClusterNode>, u16)> {
    let mut nodes: Vec<ClusterNode> = Vec::new();
    let mut jmx_port = 0u16;
    for (ip, host_id, dc, rack, _) in RING {
        if jmx_port != 0 && std::net::TcpListener::bind((ip, jmx_port)).is_err() {
            for node in &mut nodes {
                if let Some(child) = node.child.as_mut() {
                    let _ = child.kill().await;
                }
            }
            return None;
        }
        let node_dir = dir.join(format!("node-{ip}"));
        std::fs::create_dir_all(&node_dir).unwrap();
        let mut node = ClusterNode {
            ip,
            host_id,
            dc,
            rack,
            data_dir: node_dir.join("data"),
            call_log: node_dir.join("calls.jsonl"),
            pid_file: node_dir.join("node.pid"),
            child: None,
        };
        let args = node_args(&node, ring_file, jmx_port, node_flags);
        std::fs::write(
            node_dir.join("restart.sh"),
            restart_script(&node, &node_args(&node, ring_file, 0, node_flags)),
        )
        .unwrap();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node_dir.join("stderr.log"))
            .unwrap();
        let mut command = Command::new(run_script());
        command
            .current_dir(&node_dir)
            .args(&args)
            .arg("--watch-stdin")
            .stdin(Stdio::piped())
            .stderr(stderr);
        let spawned = spawn_ready(
            &mut command,
            ReadyOn::Stdout,
            &format!(
                "testnode/run on {ip} (Java 17 needed; see {})",
                node_dir.join("stderr.log").display()
            ),
            Duration::from_secs(120),
            |line| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix("port="))
                    .and_then(|p| p.parse::<u16>().ok())
            },
        )
        .await;
        jmx_port = spawned.ready;
        node.child = Some(spawned.child);
        nodes.push(node);
    }
    Some((nodes, jmx_port))
}

fn node_args(node: &ClusterNode, ring: &Path, port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--host".into(),
        node.ip.into(),
        "--port".into(),
        port.to_string(),
        "--ring".into(),
        ring.display().to_string(),
        "--cassandra-version".into(),
        "4.1".into(),
        "--data-dir".into(),
        node.data_dir.display().to_string(),
        "--call-log".into(),
        node.call_log.display().to_string(),
        "--pid-file".into(),
        node.pid_file.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Kills the node by its pid file, waits until it is gone, starts it again in the background.
fn restart_script(node: &ClusterNode, args: &[String]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!(
        r#"#!/bin/sh
set -e
pid=$(cat '{pid}')
kill "$pid"
# The first process is the test's child: it stays a zombie until reaped, so wait for Z (or gone).
while [ -e /proc/$pid ] && ! grep -q '^State:[[:space:]]*Z' /proc/$pid/status; do sleep 0.02; done
rm -f '{pid}'
nohup '{run}' {args} --lease-millis 60000 </dev/null >/dev/null 2>&1 &
"#,
        pid = node.pid_file.display(),
        run = run_script().display(),
        args = quoted.join(" ").replace("'--port' '0'", "--port 0"),
    )
}

/// A port free on `ip` now (the sidecars take it on every node's address).
fn free_port(ip: &str) -> u16 {
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Driving cluster-wide requests

/// Three JVMs and three sidecars per cluster on a small machine: one cluster test at a time.
pub static ONE_CLUSTER: AsyncMutex<()> = AsyncMutex::const_new(());

/// How long a cluster-wide operation may take here (a bound against hangs).
pub const ROLL_PATIENCE: Duration = Duration::from_secs(120);

pub async fn submit(addr: SocketAddr, body: &Value) -> Value {
    let r = request(addr, "POST", "/operations", Some(body.to_string())).await;
    assert_eq!(r.status, 201, "{body} → {}", r.body);
    r.body
}

pub async fn get(addr: SocketAddr, id: &str) -> Value {
    request(addr, "GET", &format!("/operations/{id}"), None)
        .await
        .body
}

/// Polls until `pred` holds for the record (bounded).
pub async fn wait_for(
    addr: SocketAddr,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + ROLL_PATIENCE;
    loop {
        if let Ok(r) = try_request(addr, "GET", &format!("/operations/{id}"), None).await {
            if r.status == 200 && pred(&r.body) {
                return r.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not seen within {ROLL_PATIENCE:?}; last: {}",
                r.body
            );
        } else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: sidecar {addr} silent"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn finished(addr: SocketAddr, id: &str) -> Value {
    wait_for(addr, id, "the end of the operation", |r| {
        matches!(
            r["state"].as_str(),
            Some("COMPLETED" | "FAILED" | "CANCELLED")
        )
    })
    .await
}

pub fn millis(iso: &Value) -> i64 {
    let t = OffsetDateTime::parse(iso.as_str().expect("a timestamp"), &Iso8601::DEFAULT)
        .unwrap_or_else(|e| panic!("{iso}: {e}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn node<'a>(record: &'a Value, endpoint: &str) -> &'a Value {
    record["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {record}"))
        .iter()
        .find(|n| n["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("no node {endpoint} in {record}"))
}

/// The record shows every node with its host id, dc, rack and sub-operation, and the nodes'
/// sidecars have those sub-operations, COMPLETED.
pub async fn assert_all_completed(cluster: &Cluster, record: &Value) {
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["progress"], 1.0);
    let nodes = record["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), RING.len(), "{record}");
    for (i, n) in cluster.nodes.iter().enumerate() {
        let shown = node(record, &n.endpoint());
        assert_eq!(shown["hostId"], n.host_id);
        assert_eq!(shown["dc"], n.dc);
        assert_eq!(shown["rack"], n.rack);
        assert_eq!(shown["state"], "COMPLETED", "{shown}");
        assert_eq!(shown["progress"], 1.0);
        let sub = get(
            cluster.sidecar(i).addr,
            shown["operationId"].as_str().unwrap(),
        )
        .await;
        assert_eq!(sub["state"], "COMPLETED", "{sub}");
        assert_eq!(sub["type"], record["type"]);
        assert!(sub.get("globalRequest").is_none(), "sent non-global: {sub}");
    }
}
