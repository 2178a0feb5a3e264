//! The node's `cassandra.yaml`, served as JSON by `GET /config`.
//!
//! Owns finding the file (`--cassandra-config FILE|DIR`), converting it, and the node
//! directories it names (which requests may name under `--allowed-root`). It must not shape
//! HTTP responses (that is `http/read.rs`) nor talk to the node.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why `cassandra.yaml` could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

/// The node's data directories (`data_file_directories`) and the directory of the file, as
/// the sidecar reads it now.
pub fn node_dirs(given: &Path) -> Result<(Vec<PathBuf>, PathBuf), ConfigFileError> {
    let yaml = read_cassandra_yaml(Some(given))?;
    let data = yaml
        .get("data_file_directories")
        .and_then(Value::as_array)
        .map(|dirs| {
            dirs.iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    let file = resolve_config_path(given);
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((data, dir))
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
    fn the_data_directories_and_the_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cassandra.yaml");
        std::fs::write(
            &file,
            "data_file_directories:\n  - /d1\n  - /d2\ncommitlog_directory: /c\n",
        )
        .unwrap();
        for given in [dir.path(), file.as_path()] {
            let (data, config) = node_dirs(given).unwrap();
            assert_eq!(data, [PathBuf::from("/d1"), PathBuf::from("/d2")]);
            assert_eq!(config, dir.path());
        }
        std::fs::write(&file, "cluster_name: x\n").unwrap();
        assert!(node_dirs(&file).unwrap().0.is_empty());
        assert!(node_dirs(&dir.path().join("absent")).is_err());
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
