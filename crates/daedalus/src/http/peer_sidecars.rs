//! How the cluster reads of the edge (`/cluster/nodes`, `/cluster/operations`) reach the other
//! sidecars of the ring: one client per peer at the address, scheme, port, token and CA
//! cluster-wide requests use, each bounded by [`PEER_WAIT`], all peers asked at once.
//!
//! Owns only the reaching; what is asked and how answers are shown are the reads' own. It must
//! not be used to reach an address that is not a member of the ring (the peer token goes with
//! every request).

use std::future::Future;
use std::time::Duration;

use daedalus_client::{Client, ClientConfig};
use serde_json::{json, Value};

use crate::operations::cluster::settings::PeerSettings;

/// How long one peer may take to answer: the console asks again every few seconds, and a slow
/// peer must not hold the answer about the others.
pub(super) const PEER_WAIT: Duration = Duration::from_secs(2);

/// The URL of the sidecar next to `ip` and a client of it; or, when it cannot be reached at all,
/// the entry saying so (`answers` false and the `error`, with the `url` when there is one).
pub(super) fn client(peers: Option<&PeerSettings>, ip: &str) -> Result<(String, Client), Value> {
    let Some(peers) = peers else {
        return Err(json!({ "answers": false, "error": "this sidecar has no peer settings" }));
    };
    let url = peers.url(ip);
    match Client::new(ClientConfig {
        url: url.clone(),
        token: peers.token.clone(),
        cacert: peers.ca.clone(),
        timeout: PEER_WAIT,
    }) {
        Ok(client) => Ok((url, client)),
        Err(e) => Err(json!({ "url": url, "answers": false, "error": e.to_string() })),
    }
}

/// `ask(ip)` for every `Some(ip)` at once, each in its own task, so that the slowest peer bounds
/// the wait; the answers in the order of `ips`, `Null` where there was no address.
pub(super) async fn ask_at_once<F, Fut>(ips: Vec<Option<String>>, ask: F) -> Vec<Value>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Value> + Send + 'static,
{
    let mut asking = tokio::task::JoinSet::new();
    for (i, ip) in ips.iter().enumerate() {
        if let Some(ip) = ip {
            let answer = ask(ip.clone());
            asking.spawn(async move { (i, answer.await) });
        }
    }
    let mut asked = vec![Value::Null; ips.len()];
    while let Some(joined) = asking.join_next().await {
        if let Ok((i, answer)) = joined {
            asked[i] = answer;
        }
    }
    asked
}
