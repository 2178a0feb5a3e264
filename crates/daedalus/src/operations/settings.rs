//! What the deployment allows operations and how long their waits may be, and what validation
//! needs to know (import roots).
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
        }
    }
}

/// What validation needs to know about the deployment.
#[derive(Debug, Clone, Default)]
pub struct ValidationPolicy {
    /// When not empty, every directory an operation reads must resolve inside one of these.
    pub import_roots: Vec<PathBuf>,
}
