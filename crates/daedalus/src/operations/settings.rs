//! What the deployment allows operations and how long their waits may be, and what validation
//! needs to know (the allowed roots, the node's own directories).
//!
//! Owns [`OperationSettings`] and [`ValidationPolicy`]. It must not validate or run anything.

use std::path::PathBuf;
use std::time::Duration;

use super::cluster::settings::Coordination;

/// How the deployment lets operations run: what is enabled and how long the waits may be
/// (flags `--enable-truncate`, `--restart-command`, `--restart-timeout`, `--drain-timeout`).
#[derive(Debug, Clone)]
pub struct OperationSettings {
    /// `truncate` is refused (400) unless this is set.
    pub enable_truncate: bool,
    /// Run through `sh -c` by `restart` after a successful drain; `restart` is refused (400)
    /// without it.
    pub restart_command: Option<String>,
    /// Bound on the restart command plus the wait for the node to answer with mode NORMAL.
    pub restart_timeout: Duration,
    /// Bound on the wait for mode DRAINED once `drain()` has returned or while another drain runs.
    pub drain_timeout: Duration,
    /// How often progress is read from the node while a blocking call runs.
    pub poll_interval: Duration,
    /// `--backup-secrets-dir`: mounted Kubernetes secrets, one directory per secret name, that
    /// `k8sSecretName` of the backup requests names. Without it that field is refused.
    pub backup_secrets_dir: Option<PathBuf>,
    /// `--backup-data-dir`: Cassandra's data directories, for nodes that do not tell them over
    /// JMX (3.11); a request's `dataDirs` wins over them.
    pub backup_data_dirs: Vec<PathBuf>,
    /// How cluster-wide requests reach the peers and where their plans are kept; without it
    /// `globalRequest: true` is refused (400).
    pub cluster: Option<Coordination>,
    /// Whether a cloud store without credentials from any other source asks the cloud's
    /// instance metadata service (`--no-instance-metadata` turns it off). Off in `Default`,
    /// which the binary never uses: tests and embedders opt in.
    pub instance_metadata: bool,
    /// Whether a run interrupted by a stop of the sidecar, of a type that is safe to run again
    /// (`Operation::resumable`), carries on at the next start (`--no-resume` turns it off: it
    /// then ends FAILED as the others do).
    pub resume: bool,
}

impl Default for OperationSettings {
    fn default() -> Self {
        OperationSettings {
            enable_truncate: false,
            restart_command: None,
            restart_timeout: Duration::from_secs(600),
            drain_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_millis(250),
            backup_secrets_dir: None,
            backup_data_dirs: Vec::new(),
            cluster: None,
            instance_metadata: false,
            resume: true,
        }
    }
}

/// What validation needs to know about the deployment.
#[derive(Debug, Clone, Default)]
pub struct ValidationPolicy {
    /// `--allowed-root`: when not empty, confinement is on, and every path a request names must
    /// resolve inside one of these, or be one of the node's own directories where the field
    /// names the node's storage (the rule is `paths.rs`'s).
    pub allowed_roots: Vec<PathBuf>,
    /// The node's own directories as far as the sidecar knows them without asking the node.
    pub node_dirs: NodeDirs,
}

/// The node's own directories known from the settings: `--backup-data-dir` and the
/// `cassandra.yaml` of `--cassandra-config`.
#[derive(Debug, Clone, Default)]
pub struct NodeDirs {
    /// Its data directories (`data_file_directories`, `--backup-data-dir`).
    pub data: Vec<PathBuf>,
    /// The directory holding the `cassandra.yaml` the sidecar reads.
    pub config: Option<PathBuf>,
}
