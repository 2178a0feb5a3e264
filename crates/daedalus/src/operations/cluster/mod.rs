//! Cluster-wide requests: `globalRequest: true` on a rolling type or on `backup` makes this
//! sidecar the coordinator. It learns the ring from its own node, writes a plan (nodes in order,
//! each with the sub-operation id its sidecar will get) to its journal, then sends the request,
//! made non-global, to each node's sidecar and follows it there, showing every node's state in
//! the record's `nodes`.
//!
//! Owns the request form of a cluster-wide request ([`GlobalRequest`]) and its validation.
//! Discovery and the roll live in `roll.rs`, the durable plan in `plan.rs`, peer calls in
//! `peer.rs`, what a cluster-wide backup adds (one full tag, each node's location, the
//! topology) in `backup.rs`, a request run phase by phase over every node (a global restore) in
//! `phased.rs`. It must not know the engine or HTTP.

pub mod backup;
mod board;
mod coordinator;
pub mod peer;
pub mod phased;
pub mod plan;
mod roll;
pub mod settings;
pub mod spread;

use std::sync::Arc;
use std::time::Duration;

use ::backup::request::Secret;
use async_trait::async_trait;
use serde_json::{Map, Value};

use super::context::{OperationError, RunContext};
use super::fields::parse_duration;
use super::operation::{Operation, OperationType, Typed};
use super::settings::OperationSettings;
use super::validation::ValidationError;
pub use spread::{ClusterMode, Concurrency, Spread, DEFAULT_TIMEOUT};

/// The request fields that belong to the coordinator, never sent to a node.
const COORDINATOR_FIELDS: &[&str] = &["globalRequest", "concurrency", "dc", "timeout"];

/// A validated cluster-wide request run as a roll.
#[derive(Debug, Clone)]
pub struct GlobalRequest {
    type_name: &'static str,
    /// What each node's sidecar is sent: `{"type", fields...}`, without the coordinator's
    /// fields, made once from the node's typed request.
    sub_request: Value,
    inner: Arc<dyn Operation>,
    spread: Spread,
    wait_for_up: bool,
}

/// Whether a body of a type with cluster mode `mode` is for this coordinator: `globalRequest:
/// true` on a rolled or coordinated type. A coordinated type's flag is read as Esop reads it
/// (`"true"` too); a value Esop would refuse is left to the type's own validation to name.
pub fn is_rolled(mode: ClusterMode, body: &Value) -> Result<bool, ValidationError> {
    match mode {
        ClusterMode::Own => Ok(false),
        ClusterMode::Coordinated => Ok(match body.get("globalRequest") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        }),
        ClusterMode::Roll { .. } | ClusterMode::Never(_) => is_global(body),
    }
}

/// `globalRequest` of a body: `true` makes it cluster-wide; absent, `null` or `false` do not.
pub fn is_global(body: &Value) -> Result<bool, ValidationError> {
    match body.get("globalRequest") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(false),
        Some(Value::Bool(true)) => Ok(true),
        Some(_) => Err(ValidationError::invalid(
            "globalRequest",
            "'globalRequest' must be true or false",
        )),
    }
}

/// An operation and its fields as the record shows them.
pub type Made = (Arc<dyn Operation>, Value);

/// Parses a cluster-wide request of type `T`. `inner` makes the node's part (the body without
/// the coordinator's fields) as the type does (from a submission or from the journal), `made`
/// turns it into the node operation and its record fields; `cluster_types` names the types
/// that can be cluster-wide, for the refusal of the others.
pub fn parse<T: OperationType>(
    body: &Value,
    cluster_types: &[&str],
    inner: impl FnOnce(&Value) -> Result<T, ValidationError>,
    made: fn(T) -> Made,
) -> Result<Made, ValidationError> {
    let (spread, node_body) = parse_spread(T::TYPE, T::CLUSTER, cluster_types, body)?;
    let mut node = inner(&node_body)?;
    let coordinator = match T::CLUSTER {
        ClusterMode::Coordinated => node.coordinator(spread.clone()),
        _ => None,
    };
    // The node's request carries the secrets the record hides: a node needs them itself.
    let sub_request = Secret::revealed(|| serde_json::to_value(Typed::new(T::TYPE, &node)))
        .map_err(|e| ValidationError::malformed(format!("the node request as JSON: {e}")))?;
    let (inner, inner_fields) = made(node);
    let shown = shown_fields(inner_fields, &spread, body);
    let operation: Arc<dyn Operation> = match coordinator {
        Some(coordinator) => coordinator,
        None => Arc::new(GlobalRequest {
            type_name: T::TYPE,
            sub_request,
            inner,
            spread,
            wait_for_up: matches!(
                T::CLUSTER,
                ClusterMode::Roll {
                    wait_for_up: true,
                    ..
                }
            ),
        }),
    };
    Ok((operation, shown))
}

/// The record form of a cluster-wide request: the node's fields and the coordinator's.
fn shown_fields(inner_fields: Value, spread: &Spread, body: &Value) -> Value {
    let mut shown = match inner_fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    shown.remove("type");
    shown.insert("globalRequest".into(), Value::Bool(true));
    shown.insert(
        "concurrency".into(),
        match spread.concurrency {
            Concurrency::Nodes(n) => Value::from(n),
            Concurrency::Rack => Value::from("rack"),
            Concurrency::All => Value::from("all"),
        },
    );
    if let Some(dc) = &spread.dc {
        shown.insert("dc".into(), Value::from(dc.clone()));
    }
    // As given: hours or a duration text.
    if let Some(t) = body.get("timeout").filter(|t| !t.is_null()) {
        shown.insert("timeout".into(), t.clone());
    }
    Value::Object(shown)
}

/// The coordinator's fields of a body, checked, and the body without them.
fn parse_spread(
    type_name: &'static str,
    mode: ClusterMode,
    cluster_types: &[&str],
    body: &Value,
) -> Result<(Spread, Value), ValidationError> {
    let one_at_a_time = match mode {
        ClusterMode::Roll { one_at_a_time, .. } => one_at_a_time,
        ClusterMode::Coordinated => false,
        ClusterMode::Never(Some(reason)) => {
            return Err(ValidationError::invalid("globalRequest", reason))
        }
        ClusterMode::Never(None) | ClusterMode::Own => {
            return Err(ValidationError::invalid(
                "globalRequest",
                format!(
                    "{type_name} cannot be cluster-wide; cluster-wide types: {}",
                    cluster_types.join(", ")
                ),
            ))
        }
    };
    let object = body
        .as_object()
        .ok_or_else(|| ValidationError::malformed("the request body must be a JSON object"))?;
    let concurrency = match object.get("concurrency") {
        None | Some(Value::Null) if mode == ClusterMode::Coordinated => Concurrency::All,
        None | Some(Value::Null) => Concurrency::Nodes(1),
        Some(Value::String(s)) if s == "rack" => Concurrency::Rack,
        Some(Value::String(s)) if s == "all" && !one_at_a_time => Concurrency::All,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => Concurrency::Nodes(1),
            Some(n) if n > 1 && n <= 1024 && !one_at_a_time => Concurrency::Nodes(n as u32),
            Some(n) if n > 1 && one_at_a_time => {
                return Err(ValidationError::invalid(
                    "concurrency",
                    format!(
                        "{type_name} runs on one node at a time or one rack at a time: \
                         'concurrency' must be 1 or \"rack\", got {n}"
                    ),
                ))
            }
            _ => {
                return Err(ValidationError::invalid(
                    "concurrency",
                    format!(
                        "'concurrency' must be a whole number from 1 to 1024, \"rack\" or \"all\", got {n}"
                    ),
                ))
            }
        },
        Some(other) => {
            return Err(ValidationError::invalid(
                "concurrency",
                format!(
                    "'concurrency' must be a number of nodes, \"rack\" or \"all\", got {other}"
                ),
            ))
        }
    };
    let dc = match object.get("dc") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 255 => Some(s.clone()),
        Some(_) => {
            return Err(ValidationError::invalid(
                "dc",
                "'dc' must be the name of a datacenter",
            ))
        }
    };
    let timeout = match object.get("timeout") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT,
        // A number is hours, as Icarus reads it.
        Some(Value::Number(n)) => match n.as_f64() {
            Some(h) if h > 0.0 && h <= 24.0 * 365.0 => Duration::from_secs_f64(h * 3600.0),
            _ => {
                return Err(ValidationError::invalid(
                    "timeout",
                    format!("'timeout' must be a positive number of hours, got {n}"),
                ))
            }
        },
        // A text is a duration, or a whole number of hours.
        Some(Value::String(s)) => match parse_duration(s, 3600) {
            Ok(d) if !d.is_zero() => d,
            _ => {
                return Err(ValidationError::invalid(
                    "timeout",
                    format!(
                    "'timeout' must be hours or a duration such as \"90s\" or \"2h\", got {s:?}"
                ),
                ))
            }
        },
        Some(other) => {
            return Err(ValidationError::invalid(
                "timeout",
                format!("'timeout' must be hours or a duration such as \"90s\", got {other}"),
            ))
        }
    };
    let mut node_body = object.clone();
    for field in COORDINATOR_FIELDS {
        node_body.remove(*field);
    }
    let spread = Spread {
        concurrency,
        dc,
        timeout,
    };
    Ok((spread, Value::Object(node_body)))
}

#[async_trait]
impl Operation for GlobalRequest {
    /// A second identical cluster-wide request is a duplicate; the nodes' own operations are not.
    fn conflict_key(&self) -> Option<String> {
        self.spread.conflict_key(self.inner.conflict_key())
    }

    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        Spread::allowed(settings)
    }

    fn resumable(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        roll::run(self, ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{
        BackupOperation, CleanupRequest, ListBackupsOperation, RemoveBackupOperation, Request,
        RestoreOperation, ValidationPolicy,
    };
    use serde_json::json;

    /// A body of type `t` sent with `globalRequest: true`, through the registry.
    fn parse(t: &str, body: &Value) -> Result<(Arc<dyn Operation>, Value), ValidationError> {
        let mut body = body.clone();
        body["type"] = json!(t);
        body["globalRequest"] = json!(true);
        let request = Request::from_json(&body, &ValidationPolicy::default())?;
        Ok((
            request.operation().clone(),
            Value::Object(request.fields().clone()),
        ))
    }

    fn mode(t: &str) -> ClusterMode {
        match t {
            "cleanup" => CleanupRequest::CLUSTER,
            "backup" => BackupOperation::CLUSTER,
            "list" => ListBackupsOperation::CLUSTER,
            "remove-backup" => RemoveBackupOperation::CLUSTER,
            "restore" => RestoreOperation::CLUSTER,
            other => unreachable!("{other}"),
        }
    }

    #[test]
    fn fields_are_checked_and_named() {
        let field =
            |t: &'static str, body: Value| parse(t, &body).unwrap_err().field.unwrap_or_default();
        assert_eq!(field("decommission", json!({})), "globalRequest");
        assert_eq!(field("import", json!({})), "globalRequest");
        assert_eq!(field("restart", json!({"concurrency": 2})), "concurrency");
        assert_eq!(field("cleanup", json!({"concurrency": 0})), "concurrency");
        assert_eq!(
            field("cleanup", json!({"concurrency": "every"})),
            "concurrency"
        );
        assert_eq!(field("cleanup", json!({"dc": 3})), "dc");
        assert_eq!(field("cleanup", json!({"timeout": -1})), "timeout");
        assert_eq!(field("cleanup", json!({"timeout": "soon"})), "timeout");
        assert!(is_global(&json!({"globalRequest": "yes"})).is_err());
        assert!(!is_global(&json!({"globalRequest": false})).unwrap());
        assert!(is_global(&json!({"globalRequest": true})).unwrap());
        let global = json!({"globalRequest": true});
        assert!(is_rolled(mode("cleanup"), &global).unwrap());
        for own in ["list", "remove-backup", "restore"] {
            assert!(!is_rolled(mode(own), &global).unwrap(), "{own}");
        }
        // A backup's flag is read as Esop reads it; what it refuses is the backup's to name.
        assert!(is_rolled(mode("backup"), &global).unwrap());
        assert!(is_rolled(mode("backup"), &json!({"globalRequest": "TRUE"})).unwrap());
        assert!(!is_rolled(mode("backup"), &json!({"globalRequest": "false"})).unwrap());
        assert!(!is_rolled(mode("backup"), &json!({"globalRequest": "yes"})).unwrap());
        assert!(!is_rolled(mode("backup"), &json!({})).unwrap());
        assert_eq!(
            field("restart", json!({"concurrency": "all"})),
            "concurrency"
        );
    }

    #[test]
    fn nodes_get_the_request_without_the_coordinator_fields() {
        let body = json!({"type": "cleanup", "keyspace": "ks", "globalRequest": true,
                          "concurrency": 2, "dc": "dc1", "timeout": "90s"});
        let (op, shown) = parse("cleanup", &body).unwrap();
        assert_eq!(shown["globalRequest"], true);
        assert_eq!(shown["concurrency"], 2);
        assert_eq!(shown["dc"], "dc1");
        assert_eq!(shown["timeout"], "90s");
        assert!(op.resumable());
        let text = format!("{op:?}");
        assert!(text.contains("Nodes(2)") && text.contains("90s"), "{text}");
        let (_, shown) = parse("restart", &json!({"concurrency": "rack"})).unwrap();
        assert_eq!(shown["concurrency"], "rack");
        let (_, shown) = parse("flush", &json!({"keyspace": "ks", "concurrency": "all"})).unwrap();
        assert_eq!(shown["concurrency"], "all");
    }
}
