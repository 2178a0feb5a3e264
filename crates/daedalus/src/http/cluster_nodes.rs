//! `GET /cluster/nodes`: every node of the ring as this sidecar's node sees it (address, host
//! id, datacenter, rack, UP/DOWN, NORMAL/JOINING/LEAVING/MOVING), each with what its own
//! sidecar answers (its node's mode, its Cassandra version, the sidecar's version), so that any
//! sidecar shows the whole cluster: the console's node view.
//!
//! Owns this one read and its shape. Every peer is asked at once (`peer_sidecars`); a sidecar
//! that does not answer is shown as such, never waited for. It must not change anything on any node.

use axum::extract::State;
use axum::Json;
use cassandra::{EndpointInfo, EndpointStatus};
use daedalus_client::ClientError;
use serde_json::{json, Value};

use super::peer_sidecars;
use super::read::ReadError;
use crate::engine::Engine;
use crate::operations::cluster::settings::PeerSettings;

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
    let ips = ring.iter().map(|e| Some(e.ip.clone())).collect();
    let asked = peer_sidecars::ask_at_once(ips, |ip| {
        let peers = peers.clone();
        async move { ask_sidecar(peers.as_ref(), &ip).await }
    })
    .await;
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
    let (url, client) = match peer_sidecars::client(peers, ip) {
        Ok(reached) => reached,
        Err(entry) => return entry,
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
