//! The operations the API accepts: the [`Operation`] trait, the one [`REGISTRY`] of known types,
//! and [`Request`], a validated request of any registered type.
//!
//! Owns parsing and validation of a request body (→ [`ValidationError`], which the HTTP edge
//! turns into a 400) and dispatch by `type` through the registry. Each type lives in its own
//! module and touches nothing but [`RunContext`]. This module must not touch the journal, the
//! engine or HTTP types.
//!
//! Adding an operation type: one new module here implementing [`OperationType`] (and so
//! [`Operation`]), plus one line in [`REGISTRY`].

pub mod backup;
mod backup_set;
pub(crate) mod backup_storage;
pub mod cluster;
pub mod commitlog_backup;
mod commitlog_replay;
pub mod commitlog_restore;
pub mod compaction;
mod context;
pub(crate) mod fields;
mod finding;
pub mod import;
mod import_staging;
pub mod list_backups;
mod operation;
mod path_field;
pub mod paths;
pub(crate) mod progress;
pub mod remove_backup;
pub mod restart;
pub mod restore;
mod settings;
mod storage_op;
pub mod table;
pub mod topology;
mod validation;

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use backup::BackupOperation;
pub use commitlog_backup::CommitLogBackupOperation;
pub use commitlog_restore::CommitLogRestoreOperation;
pub use compaction::{CleanupRequest, ScrubRequest, UpgradeSSTablesRequest};
pub use context::{Cancellation, OperationError, Reporter, Resumed, RunContext, SourcedError};
pub use finding::Finding;
pub use import::ImportRequest;
pub use list_backups::ListBackupsOperation;
pub use operation::{Operation, OperationType};
pub use path_field::{PathField, PathKind, UsedPath};
pub use remove_backup::RemoveBackupOperation;
pub use restart::RestartRequest;
pub use restore::RestoreOperation;
pub use settings::{NodeDirs, OperationSettings, ValidationPolicy};
pub use table::{FlushRequest, RefreshRequest, TruncateRequest};
pub use topology::{DecommissionRequest, DrainRequest, RebuildRequest};
pub use validation::ValidationError;

/// Every operation type this sidecar knows: one line each.
pub static REGISTRY: &[Registration] = &[
    Registration::of::<BackupOperation>(),
    Registration::of::<CleanupRequest>(),
    Registration::of::<CommitLogBackupOperation>(),
    Registration::of::<CommitLogRestoreOperation>(),
    Registration::of::<DecommissionRequest>(),
    Registration::of::<DrainRequest>(),
    Registration::of::<FlushRequest>(),
    Registration::of::<ImportRequest>(),
    Registration::of::<ListBackupsOperation>(),
    Registration::of::<RebuildRequest>(),
    Registration::of::<RefreshRequest>(),
    Registration::of::<RemoveBackupOperation>(),
    Registration::of::<RestartRequest>(),
    Registration::of::<RestoreOperation>(),
    Registration::of::<ScrubRequest>(),
    Registration::of::<TruncateRequest>(),
    Registration::of::<UpgradeSSTablesRequest>(),
];

use cluster::Made;

/// One registered type: its name, its path fields and the two ways to make one (from a
/// request, from the journal), cluster-wide or not as the type declares.
pub struct Registration {
    pub type_name: &'static str,
    /// The request fields that name paths on this host ([`OperationType::PATH_FIELDS`]).
    pub path_fields: &'static [PathField],
    parse: fn(&Value, &ValidationPolicy) -> Result<Made, ValidationError>,
    restore: fn(Value) -> Result<Made, ValidationError>,
    /// Whether `globalRequest: true` on the type is coordinated by `cluster`.
    cluster_wide: bool,
}

impl Registration {
    /// Parsing applies the path rule of `paths.rs` to every path field in the body, then the
    /// type's own validation, then the rule again to the paths the operation will use; a
    /// cluster-wide request does the same for its node's part.
    pub const fn of<T: OperationType>() -> Registration {
        Registration {
            type_name: T::TYPE,
            path_fields: T::PATH_FIELDS,
            parse: |body, policy| {
                let node = |body: &Value| -> Result<T, ValidationError> {
                    paths::check_body(T::PATH_FIELDS, body, policy)?;
                    let operation = T::parse(body, policy)?;
                    paths::check_used(T::PATH_FIELDS, &operation.paths(), policy, &[])?;
                    Ok(operation)
                };
                if cluster::is_rolled(T::CLUSTER, body)? {
                    return cluster::parse::<T>(body, cluster_types(), node, made::<T>);
                }
                Ok(made(node(body)?))
            },
            restore: |stored| {
                let node = |stored: &Value| {
                    serde_json::from_value::<T>(stored.clone())
                        .map_err(|e| ValidationError::malformed(e.to_string()))
                };
                // A cluster-wide request is stored in its request form and read back through
                // the same validation (its node part with the type's own journal form).
                if cluster::is_rolled(T::CLUSTER, &stored)? {
                    return cluster::parse::<T>(&stored, cluster_types(), node, made::<T>);
                }
                Ok(made(node(&stored)?))
            },
            cluster_wide: T::CLUSTER.is_coordinated_here(),
        }
    }

    fn find(type_name: &str) -> Option<&'static Registration> {
        REGISTRY.iter().find(|r| r.type_name == type_name)
    }
}

/// The operation and its record fields; a type with path fields applies the path rule again
/// when it starts.
fn made<T: OperationType>(operation: T) -> Made {
    // Serializing a plain struct of strings, numbers and lists cannot fail.
    let fields = serde_json::to_value(&operation).unwrap_or(Value::Null);
    if T::PATH_FIELDS.is_empty() {
        (Arc::new(operation), fields)
    } else {
        (Arc::new(paths::Checked(operation)), fields)
    }
}

/// The types that can run cluster-wide, sorted (for messages).
fn cluster_types() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = REGISTRY
            .iter()
            .filter(|r| r.cluster_wide)
            .map(|r| r.type_name)
            .collect();
        names.sort_unstable();
        names
    })
}

/// The registered type names, sorted (for messages).
pub fn known_types() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = REGISTRY.iter().map(|r| r.type_name).collect();
        names.sort_unstable();
        names
    })
}

/// A validated request of a registered type: the operation and its fields as the record shows
/// them. Serialized as `{"type": ..., fields...}`, the form the journal has always stored.
#[derive(Clone)]
pub struct Request {
    type_name: &'static str,
    operation: Arc<dyn Operation>,
    fields: Arc<Map<String, Value>>,
}

impl Request {
    /// Parses and validates a submitted body. Nothing is created when this fails.
    pub fn from_json(body: &Value, policy: &ValidationPolicy) -> Result<Request, ValidationError> {
        let object = body
            .as_object()
            .ok_or_else(|| ValidationError::malformed("the request body must be a JSON object"))?;
        let type_name = match object.get("type") {
            None | Some(Value::Null) => return Err(ValidationError::missing("type")),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(ValidationError::invalid("type", "'type' must be a string")),
        };
        let registration = Registration::find(type_name).ok_or_else(|| ValidationError {
            error: "unknown_type",
            field: Some("type".to_string()),
            message: format!(
                "unknown operation type '{type_name}'; known types: {}",
                known_types().join(", ")
            ),
        })?;
        let made = (registration.parse)(body, policy)?;
        Ok(Request::new(registration.type_name, made))
    }

    /// A request of type `T`, already built (tests and tools).
    pub fn of<T: OperationType>(operation: T) -> Request {
        Request::new(T::TYPE, made(operation))
    }

    fn new(type_name: &'static str, (operation, shown): Made) -> Request {
        let mut fields = match shown {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        fields.remove("type");
        Request {
            type_name,
            operation,
            fields: Arc::new(fields),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    pub fn operation(&self) -> &Arc<dyn Operation> {
        &self.operation
    }

    /// The request's fields as the record shows them (without `type`).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// What an operator should check when the sidecar stopped while this operation ran.
    pub fn restart_advice(&self) -> String {
        self.operation.restart_advice().unwrap_or_else(|| {
            format!(
                "{} can be submitted again; Cassandra may still be finishing the previous one \
                 (nodetool compactionstats)",
                self.type_name
            )
        })
    }

    pub fn is_exclusive(&self) -> bool {
        self.operation.is_exclusive()
    }

    /// Two unfinished requests with the same key are duplicates; the type is part of the key.
    pub fn duplicate_key(&self) -> Option<String> {
        self.operation
            .conflict_key()
            .map(|key| format!("{} {key}", self.type_name))
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("type", &self.type_name)
            .field("fields", &self.fields)
            .finish()
    }
}

impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        self.type_name == other.type_name && self.fields == other.fields
    }
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        map.serialize_entry("type", self.type_name)?;
        for (k, v) in self.fields.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Request, D::Error> {
        use serde::de::Error;
        let stored = Value::deserialize(deserializer)?;
        let type_name = stored
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| D::Error::missing_field("type"))?;
        let registration = Registration::find(type_name)
            .ok_or_else(|| D::Error::unknown_variant(type_name, known_types()))?;
        let made = (registration.restore)(stored).map_err(D::Error::custom)?;
        Ok(Request::new(registration.type_name, made))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every type survives the journal (serde round trip) and keeps its spec field names.
    #[test]
    fn every_type_round_trips_through_the_journal_form() {
        let policy = ValidationPolicy::default();
        let bodies = [
            json!({"type": "cleanup", "keyspace": "ks", "tables": ["t"], "jobs": 1}),
            json!({"type": "flush", "keyspace": "ks"}),
            json!({"type": "scrub", "keyspace": "ks", "reinsertOverflowedTTL": true}),
            json!({"type": "upgradesstables", "keyspace": "ks", "includeAllSStables": true}),
            json!({"type": "rebuild", "keyspace": "ks", "sourceDC": "dc1",
                   "specificTokens": [{"start": "1", "end": "2"}], "specificSources": ["10.0.0.2"]}),
            json!({"type": "refresh", "keyspace": "ks", "table": "t"}),
            json!({"type": "decommission", "force": true}),
            json!({"type": "drain"}),
            json!({"type": "truncate", "keyspace": "ks", "table": "t"}),
            json!({"type": "restart"}),
            json!({"type": "backup", "storageLocation": "s3://b/c/d/n", "snapshotTag": "s",
                   "entities": "ks.t", "bandwidth": {"value": 1, "unit": "MBPS", "description": "1 MBPS"},
                   "duration": "2 HOURS", "concurrentConnections": 3}),
            json!({"type": "list", "storageLocation": "s3://b", "lastN": 2}),
            json!({"type": "remove-backup", "storageLocation": "file:///x/b/c/d/n",
                   "backupName": "s-1", "dry": true}),
        ];
        for body in bodies {
            let request = Request::from_json(&body, &policy).unwrap();
            let stored = serde_json::to_value(&request).unwrap();
            assert_eq!(stored["type"], body["type"]);
            for (key, value) in body.as_object().unwrap() {
                assert_eq!(&stored[key], value, "{key} of {body} as stored: {stored}");
            }
            let back: Request = serde_json::from_value(stored).unwrap();
            assert_eq!(back, request);
            assert_eq!(back.type_name(), body["type"]);
            assert!(known_types().contains(&back.type_name()));
        }
        let e = Request::from_json(&json!({"type": "repair"}), &policy).unwrap_err();
        assert!(e.message.contains("upgradesstables"), "{}", e.message);
    }

    /// The journal of earlier builds stored the request in this form; it must still load.
    #[test]
    fn journal_rows_of_earlier_builds_load() {
        let stored = json!({"type": "import", "keyspace": "ks", "table": "t",
            "sourceDir": "/data/x", "keepLevel": false, "keepRepaired": false, "noVerify": true,
            "noVerifyTokens": false, "noInvalidateCaches": false, "quick": false,
            "extendedVerify": false, "copyData": true});
        let request: Request = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(request.type_name(), "import");
        assert_eq!(serde_json::to_value(&request).unwrap(), stored);
        let unknown = serde_json::from_value::<Request>(json!({"type": "repair"}));
        assert!(unknown.is_err());
    }

    /// A cluster-wide request is journaled in its request form and comes back cluster-wide,
    /// resumable, with its coordinator fields; the local form of the same type stays local.
    #[test]
    fn a_cluster_wide_request_round_trips_through_the_journal_form() {
        let policy = ValidationPolicy::default();
        let body = json!({"type": "cleanup", "keyspace": "ks", "globalRequest": true,
                          "concurrency": "rack", "dc": "dc1", "timeout": 2});
        let request = Request::from_json(&body, &policy).unwrap();
        assert!(request.operation().resumable());
        let stored = serde_json::to_value(&request).unwrap();
        for key in ["globalRequest", "concurrency", "dc", "timeout", "keyspace"] {
            assert_eq!(stored[key], body[key], "{key} as stored: {stored}");
        }
        let back: Request = serde_json::from_value(stored).unwrap();
        assert_eq!(back, request);
        assert!(back.operation().resumable());
        assert_ne!(
            back.duplicate_key(),
            Request::from_json(&json!({"type": "cleanup", "keyspace": "ks"}), &policy)
                .unwrap()
                .duplicate_key()
        );
        let local = Request::from_json(
            &json!({"type": "cleanup", "keyspace": "ks",
                                               "globalRequest": false}),
            &policy,
        )
        .unwrap();
        assert!(!local.operation().resumable());
        let e = Request::from_json(&json!({"type": "cleanup", "globalRequest": true}), &policy)
            .unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("keyspace"),
            "the node part is validated too"
        );
    }

    /// A cluster-wide backup comes back from the journal with the snapshot tag fixed at
    /// submission, cluster-wide and resumable; `"globalRequest": "true"` (Esop's string form)
    /// is one too.
    #[test]
    fn a_cluster_wide_backup_round_trips_through_the_journal_form() {
        let policy = ValidationPolicy::default();
        for flag in [json!(true), json!("true")] {
            let body = json!({"type": "backup", "storageLocation": "s3://bucket",
                              "globalRequest": flag, "dc": "dc1", "entities": "ks1"});
            let request = Request::from_json(&body, &policy).unwrap();
            assert!(request.operation().resumable(), "{body}");
            let stored = serde_json::to_value(&request).unwrap();
            assert_eq!(stored["globalRequest"], true);
            assert_eq!(stored["concurrency"], "all");
            assert_eq!(stored["uploadClusterTopology"], true);
            assert_eq!(stored["dc"], "dc1");
            let tag = stored["snapshotTag"].as_str().unwrap().to_string();
            assert!(tag.starts_with("autosnap-"), "{stored}");
            let back: Request = serde_json::from_value(stored).unwrap();
            assert_eq!(back, request);
            assert!(back.operation().resumable());
        }
        let local = Request::from_json(
            &json!({"type": "backup", "storageLocation": "s3://b/c/d/n"}),
            &policy,
        )
        .unwrap();
        assert!(
            local.operation().resumable(),
            "a node's backup resumes too, under the snapshot it kept"
        );
        let e = Request::from_json(
            &json!({"type": "backup", "storageLocation": "s3://b/c/d",
                    "globalRequest": true}),
            &policy,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("storageLocation"), "{}", e.message);
    }

    /// Every registered type is decided: resumed after a stop of the sidecar, or ended with a
    /// reason of its own (the default reason fits the calls Cassandra carries on by itself).
    #[test]
    fn every_type_either_resumes_or_says_why_not() {
        let policy = ValidationPolicy::default();
        let restore = |phase: &str, strategy: &str| {
            json!({"type": "restore", "storageLocation": "file:///tmp/b/c/d/n",
                   "snapshotTag": "s", "restorationStrategyType": strategy,
                   "restorationPhase": phase,
                   "import": {"type": "import", "sourceDir": "/tmp/restore-src"}})
        };
        let resumed = [
            json!({"type": "backup", "storageLocation": "s3://b/c/d/n"}),
            json!({"type": "list", "storageLocation": "s3://b"}),
            json!({"type": "flush", "keyspace": "ks"}),
            json!({"type": "commitlog-backup", "storageLocation": "s3://b/c/d/n",
                   "cassandraCommitLogDirectory": "/tmp/commitlog"}),
            restore("INIT", "IMPORT"),
            restore("CLUSTER_HEALTHCHECK", "IMPORT"),
            restore("DOWNLOAD", "IMPORT"),
            restore("CLEANUP", "HARDLINKS"),
        ];
        for body in resumed {
            let request = Request::from_json(&body, &policy).unwrap();
            assert!(request.operation().resumable(), "{body}");
        }
        let ended = [
            (
                json!({"type": "truncate", "keyspace": "ks", "table": "t"}),
                "truncat",
            ),
            (json!({"type": "decommission"}), "decommission"),
            (json!({"type": "drain"}), "drain"),
            (json!({"type": "restart"}), "restarted"),
            (
                json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/tmp"}),
                "second",
            ),
            (
                json!({"type": "remove-backup", "storageLocation": "s3://b/c/d/n",
                    "backupName": "s-1"}),
                "more than",
            ),
            (json!({"type": "cleanup", "keyspace": "ks"}), "twice"),
            (json!({"type": "scrub", "keyspace": "ks"}), "twice"),
            (
                json!({"type": "upgradesstables", "keyspace": "ks"}),
                "twice",
            ),
            (json!({"type": "rebuild"}), "twice"),
            (
                json!({"type": "refresh", "keyspace": "ks", "table": "t"}),
                "twice",
            ),
            (restore("TRUNCATE", "IMPORT"), "truncat"),
            (restore("IMPORT", "IMPORT"), "second"),
        ];
        for (body, why) in ended {
            let request =
                Request::from_json(&body, &policy).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            let operation = request.operation();
            assert!(!operation.resumable(), "{body}");
            let reason = operation.not_resumed_because();
            assert!(reason.contains(why), "{body}: {reason}");
        }
    }

    #[test]
    fn the_registry_names_each_type_once() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|r| r.type_name).collect();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(known_types().len(), count);
        assert!(known_types().windows(2).all(|w| w[0] < w[1]));
    }
}
