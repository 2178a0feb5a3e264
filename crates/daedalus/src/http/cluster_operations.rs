//! `GET /cluster/operations`: the operations of every sidecar of the ring, each sidecar's list
//! as it answers `GET /operations` (same `type` and `state` filters), so that any sidecar shows
//! what runs anywhere, including operations submitted straight to another node's sidecar: the
//! console's operations view. `DELETE /cluster/operations/{id}?address=IP` cancels one of them
//! through the sidecar of that member of the ring.
//!
//! Owns this one read and its shape: one entry per sidecar (`address`, `endpoint`, `local`,
//! `answers`, and its `operations` or the `error` that kept them). This sidecar's own list is
//! read from its engine, never through HTTP; every peer is asked at once (`peer_sidecars`). When the
//! node cannot give the ring (it is down), the answer is this sidecar's list alone with
//! `ringError` saying why. It must not change anything on any node.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use daedalus_client::ClientError;
use serde_json::{json, Value};

use super::error::AppError;
use super::operations::parse_filter;
use super::peer_sidecars;
use super::records::RecordJson;
use crate::engine::Engine;
use crate::operations::cluster::settings::PeerSettings;
use crate::operations::ValidationError;

/// One endpoint of the ring as this read needs it.
struct Member {
    endpoint: String,
    address: String,
    local: bool,
}

/// The handler.
pub(super) async fn operations(
    State(engine): State<Engine>,
    State(records): State<Arc<RecordJson>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, AppError> {
    let query = query.unwrap_or_default();
    let filter = parse_filter(&query)?;
    let own: Value =
        serde_json::from_slice(&records.list(&engine, &filter).collect()).unwrap_or(Value::Null);
    let ring = engine
        .node()
        .read(|n| async move {
            let local = n.local_host_id().await?;
            let ring = n.topology().await?;
            Ok((local, ring))
        })
        .await;
    let (members, ring_error) = match ring {
        Ok((local, ring)) => (
            ring.into_iter()
                .map(|e| Member {
                    local: e.host_id == local,
                    endpoint: e.endpoint,
                    address: e.ip,
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let peers = engine.settings().cluster.as_ref().map(|c| c.peers.clone());
    let ips = members
        .iter()
        .map(|m| (!m.local).then(|| m.address.clone()))
        .collect();
    let asked = peer_sidecars::ask_at_once(ips, |ip| {
        let (peers, query) = (peers.clone(), query.clone());
        async move { ask_sidecar(peers.as_ref(), &ip, &query).await }
    })
    .await;
    let own_entry = |endpoint: Value, address: Value| {
        json!({
            "endpoint": endpoint, "address": address, "local": true, "answers": true,
            "operations": own,
        })
    };
    let mut sidecars: Vec<Value> = members
        .iter()
        .zip(asked)
        .map(|(member, answer)| {
            if member.local {
                return own_entry(json!(member.endpoint), json!(member.address));
            }
            let mut entry = json!({
                "endpoint": member.endpoint, "address": member.address, "local": false,
            });
            if let (Value::Object(entry), Value::Object(answer)) = (&mut entry, answer) {
                entry.extend(answer);
            }
            entry
        })
        .collect();
    if !members.iter().any(|m| m.local) {
        sidecars.insert(0, own_entry(Value::Null, Value::Null));
    }
    let mut body = json!({ "sidecars": sidecars });
    if let Some(error) = ring_error {
        body["ringError"] = json!(format!(
            "the node did not give the ring, so only this sidecar's operations are listed: {error}"
        ));
    }
    Ok(Json(body))
}

/// The handler of `DELETE /cluster/operations/{id}?address=IP`: the cancel is sent to the
/// sidecar of the ring member at `address` (only a member of the ring: this sidecar never sends
/// its peer token anywhere else), and its answer is returned as it gave it; this sidecar's own
/// operations are cancelled at `DELETE /operations/{id}`.
pub(super) async fn cancel(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let address = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "address")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ValidationError::missing("address"))?;
    let ring = engine
        .node()
        .read(|n| async move { n.topology().await })
        .await
        .map_err(|e| {
            ValidationError::invalid(
                "address",
                format!("the node did not give the ring, so {address:?} cannot be checked: {e}"),
            )
        })?;
    if !ring.iter().any(|e| e.ip == address) {
        return Err(ValidationError::invalid(
            "address",
            format!("{address:?} is not the address of a member of the ring"),
        )
        .into());
    }
    let peers = engine.settings().cluster.as_ref().map(|c| c.peers.clone());
    let client = match peer_sidecars::client(peers.as_ref(), &address) {
        Ok((_, client)) => client,
        Err(entry) => {
            let why = entry["error"].as_str().unwrap_or("it cannot be reached");
            return Ok(peer_unavailable(format!(
                "the sidecar of {address} cannot be asked: {why}"
            )));
        }
    };
    match client.cancel(&id).await {
        Ok(record) => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::to_value(record).unwrap_or(Value::Null)),
        )
            .into_response()),
        Err(ClientError::Api { status: 404, .. }) => Err(AppError::NotFound(format!(
            "no operation {id} on the sidecar of {address}"
        ))),
        Err(e) => Ok(peer_unavailable(format!(
            "the sidecar of {address} did not take the cancel: {e}"
        ))),
    }
}

/// 502: the peer sidecar could not be asked, or did not answer as expected.
fn peer_unavailable(message: String) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({ "error": "peer_unavailable", "field": null, "message": message })),
    )
        .into_response()
}

/// What the sidecar next to `ip` lists: `answers` and `operations`, or `error`.
async fn ask_sidecar(peers: Option<&PeerSettings>, ip: &str, query: &str) -> Value {
    let (url, client) = match peer_sidecars::client(peers, ip) {
        Ok(reached) => reached,
        Err(entry) => return entry,
    };
    let path = if query.is_empty() {
        "operations".to_string()
    } else {
        format!("operations?{query}")
    };
    match client.get_json(&path).await {
        Ok(list) => json!({ "url": url, "answers": true, "operations": list }),
        Err(e) => json!({ "url": url, "answers": e.status().is_some(), "error": e.to_string() }),
    }
}
