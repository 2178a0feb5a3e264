//! The local directories a restore names: its path fields as the path rule (`paths.rs`) sees
//! them, the paths it will use with Esop's defaults (`import.sourceDir`
//! `/tmp/cassandra-import-source`, `cassandraDirectory` `/var/lib/cassandra`,
//! `cassandraConfigDirectory` `/etc/cassandra`), and the data directories it walks.
//!
//! Pure functions over the request. They must not touch files or the node.

use std::path::PathBuf;

use backup::request::{RestorationStrategy, RestoreRequest};

use super::super::backup_storage::STORAGE_LOCATION;
use super::super::path_field::{PathField, PathKind, UsedPath};

/// Every field of a restore that names a local path: the bucket read; the download directory
/// (written, then emptied by CLEANUP); Esop's `import.tablePath`, accepted and unused; and the
/// node's own storage, which IN_PLACE rewrites and a 3.x HARDLINKS restore links into; with
/// `pointInTime`, the directory the commit logs are downloaded into and the configuration
/// directory whose `commitlog_archiving.properties` is rewritten.
pub const PATH_FIELDS: &[PathField] = &[
    STORAGE_LOCATION,
    PathField::new("import.sourceDir", PathKind::Confined),
    PathField::new("import.tablePath", PathKind::Confined),
    PathField::new("dataDirs", PathKind::NodeData),
    PathField::new("cassandraDirectory", PathKind::CassandraHome),
    PathField::new("cassandraConfigDirectory", PathKind::NodeConfig),
    PathField::new("commitlogDownloadDir", PathKind::Confined),
];

/// The paths the request will use besides its `storageLocation` (the storage core adds it):
/// those given, and the defaults its strategy falls back to
/// (a HARDLINKS or IMPORT restore downloads into `import.sourceDir`'s default; IN_PLACE clears
/// directories under `cassandraDirectory`'s and, with `updateCassandraYaml`, rewrites the
/// `cassandra.yaml` of `cassandraConfigDirectory`'s).
pub fn used_paths(request: &RestoreRequest) -> Vec<UsedPath> {
    let in_place = request.strategy() == RestorationStrategy::InPlace;
    let mut used: Vec<UsedPath> = Vec::new();
    if let Some(import) = &request.import {
        if !in_place || import.source_dir.is_some() {
            used.push(UsedPath::new(
                "import.sourceDir",
                import.source_dir().to_string_lossy(),
            ));
        }
        if let Some(table_path) = &import.table_path {
            used.push(UsedPath::new("import.tablePath", table_path.clone()));
        }
    }
    used.extend(
        request
            .data_dirs
            .iter()
            .flatten()
            .map(|d| UsedPath::new("dataDirs", d.clone())),
    );
    if in_place || request.cassandra_directory.is_some() {
        used.push(UsedPath::new(
            "cassandraDirectory",
            request.cassandra_directory().to_string_lossy(),
        ));
    }
    let replays = request.point_in_time.is_some();
    if replays || request.commitlog_download_dir.is_some() {
        used.push(UsedPath::new(
            "commitlogDownloadDir",
            request.commitlog_download_dir().to_string_lossy(),
        ));
    }
    if (in_place && (request.update_cassandra_yaml || replays))
        || request.cassandra_config_directory.is_some()
    {
        used.push(UsedPath::new(
            "cassandraConfigDirectory",
            request.cassandra_config_directory().to_string_lossy(),
        ));
    }
    used
}

/// `dataDirs`, or `<cassandraDirectory>/data`.
pub fn data_dirs(request: &RestoreRequest) -> Vec<PathBuf> {
    match &request.data_dirs {
        Some(dirs) if !dirs.is_empty() => dirs.iter().map(PathBuf::from).collect(),
        _ => vec![request.cassandra_directory().join("data")],
    }
}

/// The fields `data_dirs` comes from, as the path rule checks them.
pub fn data_dir_paths(request: &RestoreRequest) -> Vec<UsedPath> {
    match &request.data_dirs {
        Some(dirs) if !dirs.is_empty() => dirs
            .iter()
            .map(|d| UsedPath::new("dataDirs", d.clone()))
            .collect(),
        _ => vec![UsedPath::new(
            "cassandraDirectory",
            request.cassandra_directory().to_string_lossy(),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: serde_json::Value) -> RestoreRequest {
        let request: RestoreRequest =
            backup::request::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
        request.validate().unwrap();
        request
    }

    /// The paths the restore operation uses: its `storageLocation` and these.
    fn used_paths(request: &RestoreRequest) -> Vec<UsedPath> {
        use crate::operations::{OperationType, RestoreOperation};
        RestoreOperation::new(request.clone()).paths()
    }

    fn fields(used: &[UsedPath]) -> Vec<(&str, &str)> {
        used.iter().map(|u| (u.field, u.path.as_str())).collect()
    }

    #[test]
    fn defaults_count_where_the_strategy_uses_them() {
        let staged = request(
            json!({"storageLocation": "s3://b/c/d/n", "snapshotTag": "s",
            "restorationStrategyType": "IMPORT", "restorationPhase": "DOWNLOAD",
            "import": {"type": "import"}}),
        );
        assert_eq!(
            fields(&used_paths(&staged)),
            [
                ("storageLocation", "s3://b/c/d/n"),
                ("import.sourceDir", "/tmp/cassandra-import-source")
            ]
        );
        let in_place = request(
            json!({"storageLocation": "s3://b/c/d/n", "snapshotTag": "s",
            "dataDirs": ["/d1"], "updateCassandraYaml": true}),
        );
        assert_eq!(
            fields(&used_paths(&in_place)),
            [
                ("storageLocation", "s3://b/c/d/n"),
                ("dataDirs", "/d1"),
                ("cassandraDirectory", "/var/lib/cassandra"),
                ("cassandraConfigDirectory", "/etc/cassandra")
            ]
        );
        assert_eq!(
            fields(&data_dir_paths(&staged)),
            [("cassandraDirectory", "/var/lib/cassandra")]
        );
        assert_eq!(
            data_dirs(&staged),
            [PathBuf::from("/var/lib/cassandra/data")]
        );
    }
}
