//! The one way the tests start a process and wait until it says it is ready: the sidecar binary
//! (its "daedalus serving" line) and the Java test node (its `port=` line).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The output lines of a spawned process, read as they come.
pub type Lines = tokio::io::Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>;

/// Which output of the process says it is ready.
#[derive(Debug, Clone, Copy)]
pub enum ReadyOn {
    Stdout,
    Stderr,
}

/// A process that said it is ready.
pub struct Spawned<T> {
    pub child: Child,
    /// The rest of the watched output.
    pub lines: Lines,
    /// What `ready` made of the ready line.
    pub ready: T,
    /// Every line read up to and including the ready line.
    pub seen: Vec<String>,
}

/// `daedalus` as cargo built it for these tests. It never asks a cloud's instance metadata
/// service for credentials: a test gives them or expects their absence to be named.
pub fn sidecar_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_daedalus"));
    command.env("DAEDALUS_NO_INSTANCE_METADATA", "true");
    command
}

/// How long the sidecar may take to serve.
pub const SIDECAR_READY: Duration = super::PATIENCE;

/// Spawns `command` (killed when dropped), reads the `on` output line by line until `ready`
/// accepts one, bounded by `within`. Panics, naming `what`, when the process ends first.
pub async fn spawn_ready<T>(
    command: &mut Command,
    on: ReadyOn,
    what: &str,
    within: Duration,
    mut ready: impl FnMut(&str) -> Option<T>,
) -> Spawned<T> {
    match on {
        ReadyOn::Stdout => command.stdout(Stdio::piped()),
        ReadyOn::Stderr => command.stderr(Stdio::piped()),
    };
    let mut child = command
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    let stream: Box<dyn AsyncRead + Send + Unpin> = match on {
        ReadyOn::Stdout => Box::new(child.stdout.take().expect("piped stdout")),
        ReadyOn::Stderr => Box::new(child.stderr.take().expect("piped stderr")),
    };
    let mut lines = BufReader::new(stream).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(within, async {
        while let Some(line) = lines.next_line().await.expect("output readable") {
            seen.push(line.clone());
            if let Some(found) = ready(&line) {
                return found;
            }
        }
        panic!("{what} exited before it was ready; it said: {seen:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("{what} not ready within {within:?}"));
    Spawned {
        child,
        lines,
        ready: found,
        seen,
    }
}

/// Spawns the sidecar `command` (killed when dropped), waits for its text-format "daedalus
/// serving" line and keeps reading its log, so that a full pipe never blocks it: into `log` when
/// given (for post-mortems), else nowhere. Returns the process and the address it serves.
pub async fn spawn_sidecar(
    command: &mut Command,
    log: Option<std::path::PathBuf>,
) -> (Child, std::net::SocketAddr) {
    let Spawned {
        child,
        mut lines,
        ready,
        seen,
    } = spawn_ready(
        command,
        ReadyOn::Stderr,
        "daedalus",
        SIDECAR_READY,
        listen_address,
    )
    .await;
    tokio::spawn(async move {
        use std::io::Write;
        let mut file = log.and_then(|path| std::fs::File::create(path).ok());
        for line in seen {
            if let Some(f) = file.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(f) = file.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
    });
    (child, ready)
}

/// The `listen=ADDR` of the sidecar's text-format "daedalus serving" line.
pub fn listen_address(line: &str) -> Option<std::net::SocketAddr> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("listen="))
        .and_then(|a| a.parse().ok())
}

/// The fields of the sidecar's JSON-format "daedalus serving" line.
pub fn serving_json(line: &str) -> Option<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    (v["fields"]["message"] == "daedalus serving").then_some(v)
}
