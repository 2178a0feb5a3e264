//! How a coordinator reaches its peers and where it keeps its plans: [`PeerSettings`] (scheme,
//! port, bearer token, CA, how long an unanswering peer is retried) and [`Coordination`].
//!
//! Owns these settings only. It must not talk to a peer or decide a plan.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::plan::PlanStore;

/// Default of `--peer-timeout`.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// How the peers' sidecars are reached.
#[derive(Clone)]
pub struct PeerSettings {
    /// `http` or `https`; the coordinator's own scheme unless `--peer-scheme` says otherwise.
    pub scheme: String,
    /// The peers' sidecar port; the coordinator's own port unless `--peer-port` says otherwise.
    pub port: u16,
    /// Bearer token sent to peers (`--peer-token-file`).
    pub token: Option<String>,
    /// Extra CA certificate(s) to trust for `https` peers (`--peer-ca`).
    pub ca: Option<PathBuf>,
    /// How long a peer that refuses connections or never answers is retried before its step
    /// is FAILED (`--peer-timeout`).
    pub timeout: Duration,
}

impl std::fmt::Debug for PeerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerSettings")
            .field("scheme", &self.scheme)
            .field("port", &self.port)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl PeerSettings {
    /// The base URL of the sidecar next to the node at `ip`.
    pub fn url(&self, ip: &str) -> String {
        if ip.contains(':') {
            format!("{}://[{ip}]:{}", self.scheme, self.port)
        } else {
            format!("{}://{ip}:{}", self.scheme, self.port)
        }
    }
}

/// What a sidecar needs to coordinate cluster-wide requests.
#[derive(Clone, Debug)]
pub struct Coordination {
    pub peers: PeerSettings,
    pub plans: Arc<PlanStore>,
}
