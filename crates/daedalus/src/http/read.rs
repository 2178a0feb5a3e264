//! The read endpoints: `/status`, `/version*`, `/topology*`, `/config`, `/health`, `/ready` and
//! the OpenAPI document at `/openapi.yaml` and `/openapi.json`.
//!
//! Owns their routes, response shapes (the Icarus contract's names) and how a node failure maps
//! to a status: unreachable, timed out or refused credentials → 503, anything the node answered
//! with → 500, both with an `ErrorBody` that also carries Icarus's `exception`. It must not talk
//! JMX (it asks the shared `NodeHandle`, each read bounded by `--jmx-timeout`) nor touch
//! operations.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cassandra::{EndpointInfo, NodeError, OperationMode};
use serde_json::{json, Value};

use super::state::AppState;
use crate::cassandra_yaml::{read_cassandra_yaml, ConfigFileError};
use crate::node::NodeHandle;
use crate::record::FailureCause;

/// The project's OpenAPI document, served as it is kept in the repository.
pub const OPENAPI_YAML: &str = include_str!("../../../../api/openapi.yaml");

/// `version` of `GET /version`.
pub const SIDECAR_VERSION: &str = concat!("daedalus ", env!("CARGO_PKG_VERSION"));
/// `buildTime` of `GET /version` (RFC 3339, set by `build.rs`).
pub const BUILD_TIME: &str = env!("DAEDALUS_BUILD_TIME");
/// `gitCommit` of `GET /version` ("unknown" when built outside git).
pub const GIT_COMMIT: &str = env!("DAEDALUS_GIT_COMMIT");

/// The read routes, merged into the application router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/version", get(sidecar_version))
        .route("/version/sidecar", get(sidecar_version))
        .route("/version/cassandra", get(cassandra_version))
        .route("/version/schema", get(schema_version))
        .route("/topology", get(topology))
        .route("/topology/{dc}", get(topology_of_dc))
        .route("/config", get(config))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/openapi.json", get(openapi_json))
}

/// The cluster as `/topology` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub cluster_name: String,
    pub schema_version: String,
    pub endpoints: Vec<EndpointInfo>,
}

/// A read that could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The node failed (or was not reached) while answering.
    #[error("{}: {source}", source.kind_name())]
    Node {
        #[from]
        source: NodeError,
    },
    /// `cassandra.yaml` could not be served.
    #[error(transparent)]
    Config(#[from] ConfigFileError),
}

impl ReadError {
    fn status_and_body(&self) -> (StatusCode, Value) {
        let message = self.to_string();
        match self {
            ReadError::Node { source: e } => {
                let (status, error) = if e.is_unreachable() {
                    (StatusCode::SERVICE_UNAVAILABLE, "node_unreachable")
                } else if e.is_timeout() {
                    (StatusCode::SERVICE_UNAVAILABLE, "node_timeout")
                } else if e.is_auth() {
                    (StatusCode::SERVICE_UNAVAILABLE, "node_auth")
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, "node_error")
                };
                (
                    status,
                    json!({
                        "error": error,
                        "field": null,
                        "message": message,
                        "exception": FailureCause::of_node(e),
                    }),
                )
            }
            ReadError::Config(ConfigFileError::Absent(_)) => (
                StatusCode::NOT_FOUND,
                json!({ "error": "not_found", "field": null, "message": message }),
            ),
            ReadError::Config(ConfigFileError::Unreadable(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "config_unreadable", "field": null, "message": message }),
            ),
        }
    }
}

impl IntoResponse for ReadError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::warn!(error = %self, "read endpoint failed");
        }
        (status, Json(body)).into_response()
    }
}

async fn operation_mode(node: &NodeHandle) -> Result<OperationMode, NodeError> {
    node.read(|node| async move { node.operation_mode().await })
        .await
}

async fn status(State(node): State<NodeHandle>) -> Result<Json<Value>, ReadError> {
    let mode = operation_mode(&node).await?;
    Ok(Json(json!({ "nodeState": mode.as_str() })))
}

async fn sidecar_version() -> Json<Value> {
    Json(json!({
        "version": SIDECAR_VERSION,
        "buildTime": BUILD_TIME,
        "gitCommit": GIT_COMMIT,
    }))
}

async fn cassandra_version(State(node): State<NodeHandle>) -> Result<Json<Value>, ReadError> {
    let v = node.release_version().await?;
    Ok(Json(json!({
        "major": v.major,
        "minor": v.minor,
        "patch": v.patch,
        "dsePatch": v.dse_patch.map_or(-1, i64::from),
        "preReleaseLabels": v.pre_release,
        "version": v.raw,
    })))
}

async fn schema_version(State(node): State<NodeHandle>) -> Result<Json<Value>, ReadError> {
    let schema = node
        .read(|node| async move { node.schema_version().await })
        .await?;
    Ok(Json(json!({ "schemaVersion": schema })))
}

async fn read_topology(node: &NodeHandle) -> Result<Topology, NodeError> {
    node.read(|node| async move {
        Ok(Topology {
            cluster_name: node.cluster_name().await?,
            schema_version: node.schema_version().await?,
            endpoints: node.topology().await?,
        })
    })
    .await
}

async fn topology(State(node): State<NodeHandle>) -> Result<Json<Value>, ReadError> {
    let topology = read_topology(&node).await?;
    Ok(Json(topology_json(&topology, None)))
}

async fn topology_of_dc(
    State(node): State<NodeHandle>,
    Path(dc): Path<String>,
) -> Result<Json<Value>, ReadError> {
    let topology = read_topology(&node).await?;
    Ok(Json(topology_json(&topology, Some(&dc))))
}

/// `ClusterTopology`: the nodes of `dc` only when given (none when no node is in it). JMX
/// reports no host names, so a node's address stands for its `hostname`.
pub fn topology_json(topology: &Topology, dc: Option<&str>) -> Value {
    let nodes: Vec<Value> = topology
        .endpoints
        .iter()
        .filter(|e| dc.is_none() || e.datacenter.as_deref() == dc)
        .map(|e| {
            let mut node = json!({
                "hostname": e.ip,
                "cluster": topology.cluster_name,
                "nodeId": e.host_id,
                "ipAddress": e.ip,
            });
            if let Some(dc) = &e.datacenter {
                node["dc"] = json!(dc);
            }
            if let Some(rack) = &e.rack {
                node["rack"] = json!(rack);
            }
            node
        })
        .collect();
    json!({
        "timestamp": crate::record::now_ms(),
        "clusterName": topology.cluster_name,
        "schemaVersion": topology.schema_version,
        "topology": nodes,
    })
}

async fn config(State(state): State<AppState>) -> Result<Json<Value>, ReadError> {
    Ok(Json(read_cassandra_yaml(
        state.cassandra_config.as_deref(),
    )?))
}

/// Liveness: the sidecar answers; Cassandra is not asked.
async fn health() -> Json<Value> {
    Json(json!({ "status": "UP" }))
}

/// Readiness: the node answers over JMX and its mode is NORMAL.
async fn ready(State(node): State<NodeHandle>) -> (StatusCode, Json<Value>) {
    let not_ready = |reason: String, extra: Value| {
        let mut body = json!({ "status": "NOT_READY", "reason": reason });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    };
    let failed = |e: NodeError| {
        not_ready(
            format!("{}: {e}", e.kind_name()),
            json!({ "kind": e.kind_name() }),
        )
    };
    match operation_mode(&node).await {
        Ok(OperationMode::Normal) => match node.release_version().await {
            Ok(version) => (
                StatusCode::OK,
                Json(json!({
                    "status": "READY",
                    "nodeState": OperationMode::Normal.as_str(),
                    "cassandra": version.raw,
                })),
            ),
            Err(e) => failed(e),
        },
        Ok(mode) => not_ready(
            format!("the node is {}, not NORMAL", mode.as_str()),
            json!({ "nodeState": mode.as_str() }),
        ),
        Err(e) => failed(e),
    }
}

async fn openapi_yaml() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn openapi_json() -> Response {
    static JSON: OnceLock<Result<Value, String>> = OnceLock::new();
    let doc = JSON.get_or_init(|| {
        yaml_serde::from_str::<yaml_serde::Value>(OPENAPI_YAML)
            .map_err(|e| e.to_string())
            .and_then(|yaml| serde_json::to_value(yaml).map_err(|e| e.to_string()))
    });
    match doc {
        Ok(doc) => Json(doc.clone()).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "openapi_unreadable", "field": null, "message": e })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cassandra::EndpointStatus;

    #[test]
    fn the_embedded_document_parses() {
        let yaml: yaml_serde::Value = yaml_serde::from_str(OPENAPI_YAML).unwrap();
        let json = serde_json::to_value(yaml).unwrap();
        assert!(json["paths"]["/status"].is_object());
        assert!(BUILD_TIME.ends_with('Z'), "{BUILD_TIME}");
        assert!(!GIT_COMMIT.is_empty());
    }

    #[test]
    fn node_failures_map_to_503_or_500() {
        let (s, body) = ReadError::from(NodeError::Unreachable {
            message: "refused".into(),
        })
        .status_and_body();
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "node_unreachable");
        assert_eq!(body["exception"]["kind"], "Unreachable");
        let (s, body) = ReadError::from(NodeError::java(cassandra::JavaThrowable::new(
            "java.lang.IllegalStateException",
            Some("boom"),
        )))
        .status_and_body();
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body["exception"]["class"],
            "java.lang.IllegalStateException"
        );
        let (s, _) = ReadError::Config(ConfigFileError::Absent("x".into())).status_and_body();
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    fn endpoint(ip: &str, host_id: &str, dc: Option<&str>, rack: Option<&str>) -> EndpointInfo {
        EndpointInfo {
            endpoint: ip.into(),
            ip: ip.into(),
            port: None,
            host_id: host_id.into(),
            datacenter: dc.map(Into::into),
            rack: rack.map(Into::into),
            status: EndpointStatus::Up,
        }
    }

    #[test]
    fn topology_filters_by_dc_and_omits_unknown_racks() {
        let t = Topology {
            cluster_name: "c".into(),
            schema_version: "s".into(),
            endpoints: vec![
                endpoint("10.0.0.1", "h1", Some("dc1"), Some("r1")),
                endpoint("10.0.0.2", "h2", Some("dc2"), None),
            ],
        };
        let all = topology_json(&t, None);
        assert_eq!(all["topology"].as_array().unwrap().len(), 2);
        assert!(all["topology"][1].get("rack").is_none());
        let dc2 = topology_json(&t, Some("dc2"));
        assert_eq!(dc2["topology"].as_array().unwrap().len(), 1);
        assert_eq!(dc2["topology"][0]["nodeId"], "h2");
        assert_eq!(dc2["topology"][0]["cluster"], "c");
        assert!(topology_json(&t, Some("nowhere"))["topology"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
