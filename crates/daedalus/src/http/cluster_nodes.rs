//! `GET /cluster/nodes`: every node of the ring as this sidecar's node sees it (address, host
//! id, datacenter, rack, UP/DOWN, NORMAL/JOINING/LEAVING/MOVING), each with what its own
//! sidecar answers (its node's mode, its Cassandra version, the sidecar's version), so that any
//! sidecar shows the whole cluster: the console's node view.
//!
//! Owns this one read and its shape. Every peer is asked at once, each bounded by `PEER_WAIT`,
//! at the address, scheme, port, token and CA cluster-wide requests use; a sidecar that does not
//! answer is shown as such, never waited for. It must not change anything on any node.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use cassandra::{EndpointInfo, EndpointStatus};
use daedalus_client::{Client, ClientConfig, ClientError};
use serde_json::{json, Value};

use super::read::ReadError;
use crate::engine::Engine;
use crate::operations::cluster::settings::PeerSettings;

/// How long one peer may take to answer: the page asks again every few seconds, and a slow peer
/// must not hold the view of the others.
const PEER_WAIT: Duration = Duration::from_secs(2);

/// The handler.
pub(super) async fn nodes(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let (name, local, ring, health) = engine
        .node()
        .read(|n| async move {
            let name = n.cluster_name().await?;
            let local = n.local_host_id().await?;
            let ring = n.topology().await?;
            let health = n.cluster_health().await?;
            Ok((name, local, ring, health))
        })
        .await?;
    let peers = engine.settings().cluster.as_ref().map(|c| c.peers.clone());
    // Every sidecar at once, each in its own task, so the slowest bounds the answer.
    let mut asking = tokio::task::JoinSet::new();
    for (i, endpoint) in ring.iter().enumerate() {
        let (peers, ip) = (peers.clone(), endpoint.ip.clone());
        asking.spawn(async move { (i, ask_sidecar(peers.as_ref(), &ip).await) });
    }
    let mut asked = vec![Value::Null; ring.len()];
    while let Some(joined) = asking.join_next().await {
        if let Ok((i, answer)) = joined {
            asked[i] = answer;
        }
    }
    let nodes: Vec<Value> = ring
        .iter()
        .zip(asked)
        .map(|(endpoint, sidecar)| {
            let membership = membership(endpoint, &health);
            json!({
                "endpoint": endpoint.endpoint,
                "address": endpoint.ip,
                "hostId": endpoint.host_id,
                "dc": endpoint.datacenter,
                "rack": endpoint.rack,
                "status": match endpoint.status {
                    EndpointStatus::Up => "UP",
                    EndpointStatus::Down => "DOWN",
                    EndpointStatus::Unknown => "UNKNOWN",
                },
                "state": membership,
                "local": endpoint.host_id == local,
                "sidecar": sidecar,
            })
        })
        .collect();
    Ok(Json(json!({
        "clusterName": name,
        "nodeState": health.mode.as_str(),
        "nodes": nodes,
    })))
}

/// NORMAL unless the node lists the endpoint as joining, leaving or moving.
fn membership(endpoint: &EndpointInfo, health: &cassandra::ClusterHealth) -> &'static str {
    let named = |list: &[String]| list.iter().any(|e| e == &endpoint.endpoint);
    if named(&health.joining) {
        "JOINING"
    } else if named(&health.leaving) {
        "LEAVING"
    } else if named(&health.moving) {
        "MOVING"
    } else {
        "NORMAL"
    }
}

/// What the sidecar next to `ip` says: `/ready` (its node's mode and version) and `/version`.
async fn ask_sidecar(peers: Option<&PeerSettings>, ip: &str) -> Value {
    let Some(peers) = peers else {
        return json!({ "answers": false, "error": "this sidecar has no peer settings" });
    };
    let url = peers.url(ip);
    let client = match Client::new(ClientConfig {
        url: url.clone(),
        token: peers.token.clone(),
        cacert: peers.ca.clone(),
        timeout: PEER_WAIT,
    }) {
        Ok(client) => client,
        Err(e) => return json!({ "url": url, "answers": false, "error": e.to_string() }),
    };
    let (ready, version) = tokio::join!(client.get_json("ready"), client.get_json("version"));
    let version = version
        .ok()
        .and_then(|v| v["version"].as_str().map(String::from));
    match ready {
        Ok(body) => json!({
            "url": url, "answers": true, "ready": true, "version": version,
            "nodeState": body["nodeState"], "cassandra": body["cassandra"],
        }),
        // Not ready is an answer: the sidecar runs, its node does not serve (yet).
        Err(ClientError::Api {
            status: 503, body, ..
        }) => {
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            json!({
                "url": url, "answers": true, "ready": false, "version": version,
                "nodeState": body["nodeState"], "error": body["reason"],
            })
        }
        Err(e) if e.status().is_some() => json!({
            "url": url, "answers": true, "ready": false, "version": version,
            "error": e.to_string(),
        }),
        Err(e) => json!({ "url": url, "answers": false, "error": e.to_string() }),
    }
}
