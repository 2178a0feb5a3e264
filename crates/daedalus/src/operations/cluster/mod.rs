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

mod backup;
mod board;
pub mod peer;
pub mod phased;
pub mod plan;
mod roll;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::context::{OperationError, RunContext};
use super::operation::Operation;
use super::settings::OperationSettings;
use super::validation::ValidationError;

/// The types that can run cluster-wide, as a roll.
pub const ROLLING_TYPES: &[&str] = &[
    "cleanup",
    "drain",
    "flush",
    "refresh",
    "restart",
    "scrub",
    "upgradesstables",
];

/// Types that change what a node is: one node (or one rack) at a time, never `N` at once.
const ONE_AT_A_TIME: &[&str] = &["drain", "restart"];

/// The request fields that belong to the coordinator, never sent to a node.
const COORDINATOR_FIELDS: &[&str] = &["globalRequest", "concurrency", "dc", "timeout"];

/// Default `timeout` of a cluster-wide request (Icarus's: 5 hours).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 3600);

/// Types coordinated with their own rules (one tag, per-node requests), not rolled.
const COORDINATED_TYPES: &[&str] = &["backup"];

/// How many nodes run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Up to N nodes at once; the next starts when one finishes.
    Nodes(u32),
    /// Every node at once (a cluster-wide backup's default, as Icarus runs one).
    All,
    /// Every node of one rack at once, rack after rack.
    Rack,
}

/// A validated cluster-wide request.
#[derive(Debug, Clone)]
pub struct GlobalRequest {
    type_name: &'static str,
    /// What each node's sidecar is sent: `{"type", fields...}`, without the coordinator's fields.
    sub_request: Value,
    inner: Arc<dyn Operation>,
    concurrency: Concurrency,
    dc: Option<String>,
    timeout: Duration,
}

/// Types whose own request carries Esop's `globalRequest` (list, remove-backup, restore): they
/// read the field themselves, so this coordinator does not roll them.
const OWN_GLOBAL_FIELD: &[&str] = &["list", "remove-backup", "restore"];

/// Whether a body of `type_name` is for this coordinator: `globalRequest: true` on any type but
/// those that read the field themselves. A backup's flag is read as Esop reads it (`"true"`
/// too); a value Esop would refuse is left to the backup's own validation to name.
pub fn is_rolled(type_name: &str, body: &Value) -> Result<bool, ValidationError> {
    if COORDINATED_TYPES.contains(&type_name) {
        return Ok(match body.get("globalRequest") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        });
    }
    if OWN_GLOBAL_FIELD.contains(&type_name) {
        return Ok(false);
    }
    is_global(body)
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

/// Parses a cluster-wide request of `type_name`; `parse_inner` validates the node's part (the
/// body without the coordinator's fields) as that type does and returns the operation and the
/// fields its record shows. Returns the operation and the fields the record shows.
pub fn parse(
    type_name: &'static str,
    body: &Value,
    parse_inner: impl FnOnce(&Value) -> Result<(Arc<dyn Operation>, Value), ValidationError>,
) -> Result<(Arc<dyn Operation>, Value), ValidationError> {
    let (request, shown) = parse_global(type_name, body, parse_inner)?;
    let operation: Arc<dyn Operation> = if COORDINATED_TYPES.contains(&type_name) {
        Arc::new(backup::GlobalBackup::new(request, body)?)
    } else {
        Arc::new(request)
    };
    Ok((operation, shown))
}

fn parse_global(
    type_name: &'static str,
    body: &Value,
    parse_inner: impl FnOnce(&Value) -> Result<(Arc<dyn Operation>, Value), ValidationError>,
) -> Result<(GlobalRequest, Value), ValidationError> {
    if type_name == "decommission" {
        return Err(ValidationError::invalid(
            "globalRequest",
            "decommission is never cluster-wide: it removes one node from the ring; send it to \
             that node's sidecar without globalRequest",
        ));
    }
    if !ROLLING_TYPES.contains(&type_name) && !COORDINATED_TYPES.contains(&type_name) {
        return Err(ValidationError::invalid(
            "globalRequest",
            format!(
                "{type_name} cannot be cluster-wide; cluster-wide types: {}, {}",
                COORDINATED_TYPES.join(", "),
                ROLLING_TYPES.join(", ")
            ),
        ));
    }
    let object = body
        .as_object()
        .ok_or_else(|| ValidationError::malformed("the request body must be a JSON object"))?;
    let one_at_a_time = ONE_AT_A_TIME.contains(&type_name);
    let concurrency = match object.get("concurrency") {
        None | Some(Value::Null) if COORDINATED_TYPES.contains(&type_name) => Concurrency::All,
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
        Some(Value::String(s)) => match humantime::parse_duration(s) {
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
    let (inner, inner_fields) = parse_inner(&Value::Object(node_body))?;
    let mut sub_request = Map::new();
    sub_request.insert("type".into(), Value::from(type_name));
    let mut shown = match inner_fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    shown.remove("type");
    sub_request.extend(shown.clone());
    shown.insert("globalRequest".into(), Value::Bool(true));
    if type_name == "backup" {
        // The coordinator always writes it (Esop forces it on for a global backup).
        shown.insert("uploadClusterTopology".into(), Value::Bool(true));
    }
    shown.insert(
        "concurrency".into(),
        match concurrency {
            Concurrency::Nodes(n) => Value::from(n),
            Concurrency::Rack => Value::from("rack"),
            Concurrency::All => Value::from("all"),
        },
    );
    if let Some(dc) = &dc {
        shown.insert("dc".into(), Value::from(dc.clone()));
    }
    if let Some(t) = object.get("timeout").filter(|t| !t.is_null()) {
        shown.insert("timeout".into(), t.clone());
    }
    let request = GlobalRequest {
        type_name,
        sub_request: Value::Object(sub_request),
        inner,
        concurrency,
        dc,
        timeout,
    };
    Ok((request, Value::Object(shown)))
}

#[async_trait]
impl Operation for GlobalRequest {
    /// A second identical cluster-wide request is a duplicate; the nodes' own operations are not.
    fn conflict_key(&self) -> Option<String> {
        let inner = self.inner.conflict_key().unwrap_or_else(|| "*".into());
        Some(format!(
            "global {inner} dc={}",
            self.dc.as_deref().unwrap_or("*")
        ))
    }

    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        if settings.cluster.is_some() {
            return Ok(());
        }
        Err(ValidationError::invalid(
            "globalRequest",
            "this sidecar cannot coordinate cluster-wide requests (it was started without \
             a plan store)",
        ))
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
    use serde_json::json;

    #[derive(Debug)]
    struct Inner;

    #[async_trait]
    impl Operation for Inner {
        async fn run(&self, _: &RunContext) -> Result<(), OperationError> {
            Ok(())
        }
    }

    fn inner(body: &Value) -> Result<(Arc<dyn Operation>, Value), ValidationError> {
        Ok((Arc::new(Inner), body.clone()))
    }

    #[test]
    fn fields_are_checked_and_named() {
        let field = |t: &'static str, body: Value| {
            parse(t, &body, inner)
                .unwrap_err()
                .field
                .unwrap_or_default()
        };
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
        assert!(is_rolled("cleanup", &global).unwrap());
        for own in ["list", "remove-backup", "restore"] {
            assert!(!is_rolled(own, &global).unwrap(), "{own}");
        }
        // A backup's flag is read as Esop reads it; what it refuses is the backup's to name.
        assert!(is_rolled("backup", &global).unwrap());
        assert!(is_rolled("backup", &json!({"globalRequest": "TRUE"})).unwrap());
        assert!(!is_rolled("backup", &json!({"globalRequest": "false"})).unwrap());
        assert!(!is_rolled("backup", &json!({"globalRequest": "yes"})).unwrap());
        assert!(!is_rolled("backup", &json!({})).unwrap());
        assert_eq!(
            field("restart", json!({"concurrency": "all"})),
            "concurrency"
        );
    }

    #[test]
    fn nodes_get_the_request_without_the_coordinator_fields() {
        let body = json!({"type": "cleanup", "keyspace": "ks", "globalRequest": true,
                          "concurrency": 2, "dc": "dc1", "timeout": "90s"});
        let (op, shown) = parse("cleanup", &body, inner).unwrap();
        assert_eq!(shown["globalRequest"], true);
        assert_eq!(shown["concurrency"], 2);
        assert_eq!(shown["dc"], "dc1");
        assert_eq!(shown["timeout"], "90s");
        assert!(op.resumable());
        let text = format!("{op:?}");
        assert!(text.contains("Nodes(2)") && text.contains("90s"), "{text}");
        let (_, shown) = parse("restart", &json!({"concurrency": "rack"}), inner).unwrap();
        assert_eq!(shown["concurrency"], "rack");
        let (_, shown) = parse("flush", &json!({"concurrency": "all"}), inner).unwrap();
        assert_eq!(shown["concurrency"], "all");
    }
}
