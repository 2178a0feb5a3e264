//! One real Cassandra node run by `scripts/cassandra`: start (fresh or on its data), stop, kill,
//! nodetool, and where its files are. Every node is killed when the test process exits, by a
//! watcher started beside it, since a test binary runs no destructors for what it keeps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{repo_root, work_root};

/// How a node is started; the script's defaults otherwise.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub address: String,
    pub jmx_port: u16,
    pub native_port: u16,
    pub dc: String,
    pub rack: String,
    pub seeds: Option<String>,
    pub initial_token: Option<String>,
    /// More `scripts/cassandra start` arguments (`--jmx-auth`, `--jmx-tls`, `--yaml`...).
    pub extra: Vec<String>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            address: "127.0.0.2".into(),
            jmx_port: 7199,
            native_port: 9042,
            dc: "dc1".into(),
            rack: "rack1".into(),
            seeds: None,
            initial_token: None,
            extra: Vec::new(),
        }
    }
}

/// A node the script started and said is ready.
#[derive(Debug)]
pub struct RealNode {
    pub dir: PathBuf,
    pub options: NodeOptions,
}

/// The Cassandra version the suite runs: `DAEDALUS_CASSANDRA_VERSION`, else the script's default.
pub fn version() -> Option<String> {
    std::env::var("DAEDALUS_CASSANDRA_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
}

impl RealNode {
    /// Starts a node on an empty directory `target/real/<name>` (whatever an earlier run left
    /// there is killed and removed first). Panics with the script's output when it cannot start.
    pub fn start_fresh(name: &str, options: &NodeOptions) -> RealNode {
        let node = RealNode::fresh(name, options);
        node.start();
        node
    }

    /// An empty directory `target/real/<name>` for a node not started yet, so that a test can
    /// put files in its `conf/` first (whatever an earlier run left there is killed and removed).
    pub fn fresh(name: &str, options: &NodeOptions) -> RealNode {
        let dir = work_root().join(name);
        let _ = script(&["kill", &dir.display().to_string()]).output();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).expect("node conf directory");
        RealNode {
            dir,
            options: options.clone(),
        }
    }

    /// Starts the three-node ring of `scripts/cassandra cluster start` on an empty
    /// `target/real/<name>`: 127.0.0.2 (dc1, rack1), 127.0.0.3 (dc1, rack2), 127.0.0.4 (dc2,
    /// rack1), JMX ports 7199, 7299, 7399, all started at once on spread tokens.
    pub fn cluster_fresh(name: &str) -> Vec<RealNode> {
        RealNode::cluster_fresh_prepared(name, &[], |_| {})
    }

    /// [`RealNode::cluster_fresh`], with more `cluster start` arguments (`--yaml`...) and
    /// `prepare` called on each node's directory (its `conf/` created) before the ring starts.
    pub fn cluster_fresh_prepared(
        name: &str,
        extra: &[String],
        prepare: impl Fn(&Path),
    ) -> Vec<RealNode> {
        let base = work_root().join(name);
        for k in 1..=3 {
            let _ =
                script(&["kill", &base.join(format!("node{k}")).display().to_string()]).output();
        }
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        for k in 1..=3 {
            let dir = base.join(format!("node{k}"));
            std::fs::create_dir_all(dir.join("conf")).unwrap();
            claim(&dir);
            prepare(&dir);
        }
        let mut args = vec![
            "cluster".to_string(),
            "start".into(),
            base.display().to_string(),
            "--nodes".into(),
            "3".into(),
        ];
        if let Some(v) = version() {
            args.extend(["--version".into(), v]);
        }
        args.extend(extra.iter().cloned());
        run_script(&args);
        let nodes: Vec<RealNode> = [("dc1", "rack1"), ("dc1", "rack2"), ("dc2", "rack1")]
            .iter()
            .enumerate()
            .map(|(i, (dc, rack))| RealNode {
                dir: base.join(format!("node{}", i + 1)),
                options: NodeOptions {
                    address: format!("127.0.0.{}", i + 2),
                    jmx_port: 7199 + 100 * i as u16,
                    dc: dc.to_string(),
                    rack: rack.to_string(),
                    seeds: Some("127.0.0.2".into()),
                    ..NodeOptions::default()
                },
            })
            .collect();
        for node in &nodes {
            node.watch_for_exit();
        }
        nodes
    }

    /// Starts (or restarts) the node on its directory and waits until it is ready.
    pub fn start(&self) {
        let o = &self.options;
        let mut args: Vec<String> = vec![
            "start".into(),
            self.dir.display().to_string(),
            "--address".into(),
            o.address.clone(),
            "--jmx-port".into(),
            o.jmx_port.to_string(),
            "--native-port".into(),
            o.native_port.to_string(),
            "--dc".into(),
            o.dc.clone(),
            "--rack".into(),
            o.rack.clone(),
        ];
        if let Some(v) = version() {
            args.extend(["--version".into(), v]);
        }
        if let Some(seeds) = &o.seeds {
            args.extend(["--seeds".into(), seeds.clone()]);
        }
        if let Some(token) = &o.initial_token {
            args.extend(["--initial-token".into(), token.clone()]);
        }
        args.extend(o.extra.iter().cloned());
        claim(&self.dir);
        run_script(&args);
        self.watch_for_exit();
    }

    /// Stops the node cleanly (SIGTERM: Cassandra flushes and drains).
    pub fn stop(&self) {
        run_script(&["stop".into(), self.dir.display().to_string()]);
    }

    /// Kills the node at once (SIGKILL).
    pub fn kill(&self) {
        run_script(&["kill".into(), self.dir.display().to_string()]);
    }

    /// Whether the node's process runs.
    pub fn running(&self) -> bool {
        script(&["status", &self.dir.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// What `nodetool ARGS` prints for this node (panics when it fails).
    pub fn nodetool(&self, args: &[&str]) -> String {
        let mut all = vec!["nodetool".to_string(), self.dir.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        run_script(&all)
    }

    /// `HOST:PORT` of its JMX, as the sidecar's `--jmx-service` wants it.
    pub fn jmx_service(&self) -> String {
        format!("{}:{}", self.options.address, self.options.jmx_port)
    }

    /// `HOST:PORT` of its CQL port.
    pub fn native_address(&self) -> String {
        format!("{}:{}", self.options.address, self.options.native_port)
    }

    /// Its data directory (`data_file_directories`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Its configuration directory (cassandra.yaml).
    pub fn conf_dir(&self) -> PathBuf {
        self.dir.join("conf")
    }

    /// The directory of table `ks.table` under the data directory.
    pub fn table_dir(&self, keyspace: &str, table: &str) -> PathBuf {
        table_dir_under(&self.data_dir().join(keyspace), table)
            .unwrap_or_else(|| panic!("no directory of {keyspace}.{table} in {:?}", self.dir))
    }

    /// The command line that restarts this node, for the sidecar's `--restart-command`: the
    /// script stops the process (the sidecar drained it) and starts it again on its data.
    pub fn restart_command(&self) -> String {
        let script = repo_root().join("scripts/cassandra");
        let dir = self.dir.display();
        format!("{s} stop {dir} && {s} start {dir}", s = script.display())
    }

    /// Starts the watcher that kills this node once the test process is gone, unless another
    /// test process has claimed the directory meanwhile: the next run of the suite (another
    /// Cassandra version) starts its nodes in the same directories within a second of this one
    /// ending, before this watcher has noticed.
    fn watch_for_exit(&self) {
        let watcher = format!(
            ": {WATCHER_MARK}; while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             [ \"$(cat {owner} 2>/dev/null)\" = {pid} ] && exec {script} kill {dir}",
            pid = std::process::id(),
            owner = owner_file(&self.dir).display(),
            script = repo_root().join("scripts/cassandra").display(),
            dir = self.dir.display(),
        );
        let _ = Command::new("setsid")
            .args(["sh", "-c", &watcher])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

/// Names every exit watcher's command line, so that a later run can wait for them.
pub const WATCHER_MARK: &str = "daedalus-real-node-watcher";

/// Where a node directory names the test process that runs its node (its watcher kills the
/// node only while that is still its own process).
fn owner_file(dir: &Path) -> PathBuf {
    dir.join("test-owner")
}

/// Marks `dir` as this test process's node before the node starts there.
fn claim(dir: &Path) {
    std::fs::create_dir_all(dir).expect("node directory");
    std::fs::write(owner_file(dir), std::process::id().to_string()).expect("test-owner file");
}

/// The `<table>-<id>` directory of `table` directly under a keyspace directory.
pub fn table_dir_under(keyspace_dir: &Path, table: &str) -> Option<PathBuf> {
    std::fs::read_dir(keyspace_dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('-'))
                .is_some_and(|(name, _)| name == table)
        })
}

/// Every `*-Data.db` directly in `dir`, sorted.
pub fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with("-Data.db"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn script(args: &[&str]) -> Command {
    let mut command = if std::env::var_os("DAEDALUS_TRACE_SCRIPT").is_some() {
        let mut c = Command::new("bash");
        c.arg("-x").arg(repo_root().join("scripts/cassandra"));
        c
    } else {
        Command::new(repo_root().join("scripts/cassandra"))
    };
    command.args(args);
    command
}

/// Runs the script, returns its stdout; panics with everything it said when it fails.
fn run_script(args: &[String]) -> String {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = script(&refs)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("scripts/cassandra {args:?} starts: {e}"));
    if !out.status.success() {
        panic!(
            "scripts/cassandra {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            tail(&String::from_utf8_lossy(&out.stderr), 40)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
