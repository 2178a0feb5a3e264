//! One peer sidecar as the coordinator sees it: submit a sub-operation under the id the plan
//! chose, read it back, cancel it. A peer that refuses connections or does not answer is
//! retried until `--peer-timeout` has passed without an answer; an answer that says no (401,
//! 403, 400, 409...) is final at once. Every error names the peer.
//!
//! Owns the retry rule and the wording of peer errors. It must not know the plan or the roll.

use std::time::Duration;

use daedalus_client::{Client, ClientConfig, ClientError, Operation};
use serde_json::Value;
use tokio::time::Instant;
use uuid::Uuid;

use super::settings::PeerSettings;

/// First wait before asking an unanswering peer again; doubled up to the max.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Why a peer call gave up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error("the sidecar of {peer} ({url}) did not answer for {waited:?}: {last}")]
    Unreachable {
        peer: String,
        url: String,
        waited: Duration,
        last: String,
    },
    #[error("the sidecar of {peer} ({url}) refused the request: {source}")]
    Refused {
        peer: String,
        url: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("cannot make a client for the sidecar of {peer}: {source}")]
    Client {
        peer: String,
        #[source]
        source: Box<ClientError>,
    },
}

/// The sidecar next to one node.
#[derive(Clone)]
pub struct Peer {
    /// The node's endpoint, as error messages name it.
    name: String,
    url: String,
    client: Client,
    patience: Duration,
}

impl Peer {
    pub fn new(name: &str, ip: &str, settings: &PeerSettings) -> Result<Peer, PeerError> {
        let url = settings.url(ip);
        let client = Client::new(ClientConfig {
            url: url.clone(),
            token: settings.token.clone(),
            cacert: settings.ca.clone(),
            // One request never waits longer than a peer may stay silent in all.
            timeout: settings
                .timeout
                .clamp(Duration::from_millis(500), Duration::from_secs(30)),
        })
        .map_err(|source| PeerError::Client {
            peer: name.to_string(),
            source: Box::new(source),
        })?;
        Ok(Peer {
            name: name.to_string(),
            url,
            client,
            patience: settings.timeout,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Submits `body` as operation `id`; the same id sent again returns the one already there.
    pub async fn submit(&self, id: Uuid, body: &Value) -> Result<Operation, PeerError> {
        let id = id.to_string();
        self.retrying(|| self.client.submit_as(body, &id)).await
    }

    /// The peer's record of `id`; `None` when the peer does not know it.
    pub async fn get(&self, id: Uuid) -> Result<Option<Operation>, PeerError> {
        let id = id.to_string();
        match self.retrying(|| self.client.get(&id)).await {
            Ok(op) => Ok(Some(op)),
            Err(PeerError::Refused { source, .. }) if source.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Asks the peer to cancel `id` (best effort: one try).
    pub async fn cancel(&self, id: Uuid) {
        if let Err(e) = self.client.cancel(&id.to_string()).await {
            tracing::warn!(peer = %self.name, %id, error = %e, "cannot cancel a sub-operation");
        }
    }

    async fn retrying<T, F, Fut>(&self, call: F) -> Result<T, PeerError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let started = Instant::now();
        let mut wait = RETRY_FIRST;
        loop {
            let last = match call().await {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) => e.to_string(),
                Err(source) => {
                    return Err(PeerError::Refused {
                        peer: self.name.clone(),
                        url: self.url.clone(),
                        source: Box::new(source),
                    })
                }
            };
            let waited = started.elapsed();
            if waited >= self.patience {
                return Err(PeerError::Unreachable {
                    peer: self.name.clone(),
                    url: self.url.clone(),
                    waited,
                    last,
                });
            }
            tracing::debug!(peer = %self.name, error = %last, "peer did not answer; trying again");
            tokio::time::sleep(wait.min(self.patience.saturating_sub(waited))).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }
}

/// No answer (refused, reset, timed out, cut off), or an answer that says "not now" (503 while
/// busy or starting, 408, a proxy's 502/504). An answer that says no, or one this client cannot
/// use, is final.
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Api { status, .. } => matches!(status, 408 | 502 | 503 | 504),
        ClientError::Decode { .. }
        | ClientError::InvalidUrl { .. }
        | ClientError::Cacert { .. } => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_silent_peer_is_given_up_after_the_timeout_and_named() {
        // A port nothing listens on: connections are refused at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let settings = PeerSettings {
            scheme: "http".into(),
            port,
            token: None,
            ca: None,
            timeout: Duration::from_millis(700),
        };
        let peer = Peer::new("127.0.0.1:7000", "127.0.0.1", &settings).unwrap();
        let started = Instant::now();
        let e = peer.get(Uuid::new_v4()).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(700));
        let text = e.to_string();
        assert!(
            matches!(e, PeerError::Unreachable { .. }) && text.contains("127.0.0.1:7000"),
            "{text}"
        );
    }

    #[test]
    fn silence_and_not_now_are_retried_a_refusal_is_final() {
        let api = |status| ClientError::Api {
            status,
            error: None,
            field: None,
            message: String::new(),
            body: String::new(),
        };
        assert!(retryable(&api(503)) && retryable(&api(408)));
        assert!(!retryable(&api(401)) && !retryable(&api(404)) && !retryable(&api(409)));
        assert!(retryable(&ClientError::Transport {
            url: "http://x".into(),
            reason: "connection reset by peer".into()
        }));
        assert!(retryable(&ClientError::Connect {
            url: "http://x".into(),
            reason: "refused".into()
        }));
    }

    #[test]
    fn peer_urls_bracket_ipv6() {
        let settings = PeerSettings {
            scheme: "https".into(),
            port: 4567,
            token: None,
            ca: None,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(settings.url("10.0.0.1"), "https://10.0.0.1:4567");
        assert_eq!(settings.url("::1"), "https://[::1]:4567");
    }
}
