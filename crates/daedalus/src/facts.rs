//! The node-facts port: what the read endpoints learn about the Cassandra node (operation mode,
//! release version, schema version, ring) and its `cassandra.yaml`.
//!
//! Owns the `NodeFacts` trait, the plain result types and reading `cassandra.yaml` as JSON. It
//! must not know how the node is reached (the JMX adapter is `facts_jmx.rs`) nor shape HTTP
//! responses (that is `http/read.rs`).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::Value;

use crate::node::NodeError;

/// A Cassandra release version, split as the Icarus contract reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFacts {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The fourth number of DSE-style versions; `None` reads as -1 in the API.
    pub dse_patch: Option<u32>,
    /// Pre-release labels, e.g. `["beta2"]`.
    pub pre_release: Vec<String>,
    /// The string the node reported.
    pub raw: String,
}

/// One member of the ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFacts {
    /// The member's host name; the address when no name is known (JMX reports none).
    pub hostname: String,
    pub ip: String,
    pub host_id: String,
    /// `None` when the snitch could not say.
    pub datacenter: Option<String>,
    pub rack: Option<String>,
}

/// The ring as the node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyFacts {
    pub cluster_name: String,
    pub schema_version: String,
    pub endpoints: Vec<EndpointFacts>,
}

/// Read-only facts about the node. Every call is bounded by the adapter's timeout.
#[async_trait]
pub trait NodeFacts: Send + Sync {
    /// `StorageService.OperationMode` as Cassandra spells it (`NORMAL`, ..., or any new mode).
    async fn operation_mode(&self) -> Result<String, NodeError>;
    /// `StorageService.ReleaseVersion`, parsed.
    async fn release_version(&self) -> Result<VersionFacts, NodeError>;
    /// `StorageService.SchemaVersion`.
    async fn schema_version(&self) -> Result<String, NodeError>;
    /// Cluster name, schema version and every endpoint with its host id, datacenter and rack.
    async fn topology(&self) -> Result<TopologyFacts, NodeError>;
    /// The node's `cassandra.yaml` as JSON; absent unless the adapter was told where it is.
    fn cassandra_yaml(&self) -> Result<Value, ConfigFileError> {
        read_cassandra_yaml(None)
    }
}

/// Why `cassandra.yaml` could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// No `--cassandra-config` was given, or the file it names does not exist.
    #[error("{0}")]
    Absent(String),
    /// The file exists but cannot be read or is not YAML.
    #[error("{0}")]
    Unreadable(String),
}

/// `--cassandra-config` names the file itself or a directory holding `cassandra.yaml`.
pub fn resolve_config_path(given: &Path) -> PathBuf {
    if given.is_dir() {
        given.join("cassandra.yaml")
    } else {
        given.to_path_buf()
    }
}

/// Reads the node's `cassandra.yaml` and converts it to JSON (an empty file is `{}`).
pub fn read_cassandra_yaml(given: Option<&Path>) -> Result<Value, ConfigFileError> {
    let given = given.ok_or_else(|| {
        ConfigFileError::Absent(
            "no cassandra.yaml is configured; start the sidecar with --cassandra-config FILE|DIR"
                .to_string(),
        )
    })?;
    let path = resolve_config_path(given);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigFileError::Absent(format!(
                "{} does not exist",
                path.display()
            )))
        }
        Err(e) => {
            return Err(ConfigFileError::Unreadable(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let yaml: yaml_serde::Value = yaml_serde::from_str(&text).map_err(|e| {
        ConfigFileError::Unreadable(format!("{} is not valid YAML: {e}", path.display()))
    })?;
    let json = serde_json::to_value(yaml).map_err(|e| {
        ConfigFileError::Unreadable(format!("{} cannot be shown as JSON: {e}", path.display()))
    })?;
    match json {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(json),
        _ => Err(ConfigFileError::Unreadable(format!(
            "{} is not a YAML mapping",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_file_or_directory_becomes_json() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cassandra.yaml");
        std::fs::write(
            &file,
            "cluster_name: 'Test Cluster'\nnum_tokens: 16\nseed_provider:\n  - class_name: x\n    parameters:\n      - seeds: \"127.0.0.1\"\n",
        )
        .unwrap();
        for given in [dir.path(), file.as_path()] {
            let json = read_cassandra_yaml(Some(given)).unwrap();
            assert_eq!(json["cluster_name"], "Test Cluster");
            assert_eq!(json["num_tokens"], 16);
            assert_eq!(
                json["seed_provider"][0]["parameters"][0]["seeds"],
                "127.0.0.1"
            );
        }
    }

    #[test]
    fn absent_and_broken_files_are_told_apart() {
        assert!(matches!(
            read_cassandra_yaml(None),
            Err(ConfigFileError::Absent(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_cassandra_yaml(Some(dir.path())),
            Err(ConfigFileError::Absent(_))
        ));
        let file = dir.path().join("cassandra.yaml");
        std::fs::write(&file, "a: [unclosed\n").unwrap();
        assert!(matches!(
            read_cassandra_yaml(Some(&file)),
            Err(ConfigFileError::Unreadable(_))
        ));
        std::fs::write(&file, "- just\n- a list\n").unwrap();
        assert!(matches!(
            read_cassandra_yaml(Some(&file)),
            Err(ConfigFileError::Unreadable(_))
        ));
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            read_cassandra_yaml(Some(&file)).unwrap(),
            serde_json::json!({})
        );
    }
}
