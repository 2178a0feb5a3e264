//! The `restore` request, its strategies, phases and `import` object, validated with Esop's
//! rules.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::common::{
    is_uuid, valid_name, validate_absolute_dirs, validate_snapshot_tag, CommonStorageFields,
    Entities,
};
use super::{invalid, lenient, RequestError};

/// How a restore puts data back (Esop's `RestorationStrategyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestorationStrategy {
    /// Sync the data directories of a stopped node with the manifest.
    InPlace,
    /// Hard-link downloads into the table directories, then `loadNewSSTables`.
    Hardlinks,
    /// `importNewSSTables` (Cassandra 4.0+).
    Import,
}

impl<'de> Deserialize<'de> for RestorationStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_uppercase().as_str() {
            "IN_PLACE" => Ok(RestorationStrategy::InPlace),
            "HARDLINKS" => Ok(RestorationStrategy::Hardlinks),
            "IMPORT" => Ok(RestorationStrategy::Import),
            _ => Err(serde::de::Error::custom(format!(
                "restorationStrategyType {s:?} is not IN_PLACE, HARDLINKS or IMPORT"
            ))),
        }
    }
}

/// One phase of a HARDLINKS or IMPORT restore (Esop's `RestorationPhaseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestorationPhase {
    Init,
    ClusterHealthcheck,
    Download,
    Truncate,
    Import,
    Cleanup,
}

impl<'de> Deserialize<'de> for RestorationPhase {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_uppercase().as_str() {
            "INIT" => Ok(RestorationPhase::Init),
            "CLUSTER_HEALTHCHECK" => Ok(RestorationPhase::ClusterHealthcheck),
            "DOWNLOAD" => Ok(RestorationPhase::Download),
            "TRUNCATE" => Ok(RestorationPhase::Truncate),
            "IMPORT" => Ok(RestorationPhase::Import),
            "CLEANUP" => Ok(RestorationPhase::Cleanup),
            _ => Err(serde::de::Error::custom(format!(
                "restorationPhase {s:?} is not INIT, CLUSTER_HEALTHCHECK, DOWNLOAD, TRUNCATE, IMPORT or CLEANUP"
            ))),
        }
    }
}

/// The `import` object of a restore (Esop's `ImportOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSpec {
    /// Must be `import` when given.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub keyspace: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub table_path: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub keep_level: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub keep_repaired: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_verify: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_verify_tokens: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_invalidate_caches: bool,
    /// Sets `noVerify`, `noVerifyTokens` and `noInvalidateCaches`.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub quick: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub extended_verify: bool,
    /// Where downloads go (default `/tmp/cassandra-import-source`).
    #[serde(default)]
    pub source_dir: Option<String>,
}

impl ImportSpec {
    /// The download directory, Esop's default when unset.
    pub fn source_dir(&self) -> PathBuf {
        PathBuf::from(
            self.source_dir
                .as_deref()
                .unwrap_or("/tmp/cassandra-import-source"),
        )
    }

    /// `importNewSSTables` flags as Esop maps them (with `quick` applied):
    /// resetLevel, clearRepaired, verify, verifyTokens, invalidateCaches, extendedVerify.
    pub fn import_flags(&self) -> ImportFlags {
        ImportFlags {
            reset_level: !self.keep_level,
            clear_repaired: !self.keep_repaired,
            verify: !(self.no_verify || self.quick),
            verify_tokens: !(self.no_verify_tokens || self.quick),
            invalidate_caches: !(self.no_invalidate_caches || self.quick),
            extended_verify: self.extended_verify,
            copy_data: true,
        }
    }
}

/// The arguments of `importNewSSTables` a restore passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportFlags {
    pub reset_level: bool,
    pub clear_repaired: bool,
    pub verify: bool,
    pub verify_tokens: bool,
    pub invalidate_caches: bool,
    pub extended_verify: bool,
    pub copy_data: bool,
}

/// A `restore` request (Esop's `RestoreOperationRequest`, Icarus' `RestoreOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// Default `/var/lib/cassandra`.
    #[serde(default)]
    pub cassandra_directory: Option<String>,
    #[serde(default)]
    pub data_dirs: Option<Vec<String>>,
    /// Default `/etc/cassandra`.
    #[serde(default)]
    pub cassandra_config_directory: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub restore_system_keyspace: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub restore_system_auth: bool,
    /// Required: the tag of the backup to restore.
    #[serde(default)]
    pub snapshot_tag: Option<String>,
    #[serde(default)]
    pub entities: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub update_cassandra_yaml: bool,
    /// IN_PLACE when unset.
    #[serde(default)]
    pub restoration_strategy_type: Option<RestorationStrategy>,
    #[serde(default)]
    pub restoration_phase: Option<RestorationPhase>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_delete_truncates: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_delete_downloads: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_download_data: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub exact_schema_version: bool,
    #[serde(default)]
    pub schema_version: Option<String>,
    #[serde(default)]
    pub import: Option<ImportSpec>,
    /// Hours before the restore fails (default 5).
    #[serde(default, deserialize_with = "lenient::int")]
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_host_id_from_topology: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub new_cluster: bool,
    /// `"ks.t": "ks2.t2"`: restore table ks.t into ks2.t2.
    #[serde(default)]
    pub rename: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub single_phase: bool,
    #[serde(default)]
    pub dc: Option<String>,
    /// Restore to this moment (RFC 3339, whole seconds): the newest backup taken before it
    /// (of `snapshotTag`, when given), then the archived commit logs replayed up to it.
    #[serde(default)]
    pub point_in_time: Option<String>,
    /// With `pointInTime`: where the segments are downloaded for Cassandra to copy at its start
    /// (default `<cassandraDirectory>/commitlog_restore`).
    #[serde(default)]
    pub commitlog_download_dir: Option<String>,
}

impl RestoreRequest {
    /// Writes the defaults it runs with into the fields left unset (see
    /// [`CommonStorageFields::echo_defaults`]): 10 connections, Esop's retry and `timeout` 5
    /// hours.
    pub fn echo_defaults(&mut self) {
        self.common.echo_defaults(10);
        self.timeout
            .get_or_insert(super::common::DEFAULT_TIMEOUT_HOURS as i64);
    }

    /// The strategy, IN_PLACE when unset (as Esop).
    pub fn strategy(&self) -> RestorationStrategy {
        self.restoration_strategy_type
            .unwrap_or(RestorationStrategy::InPlace)
    }

    /// `cassandraDirectory`, `/var/lib/cassandra` when unset.
    pub fn cassandra_directory(&self) -> PathBuf {
        PathBuf::from(
            self.cassandra_directory
                .as_deref()
                .unwrap_or("/var/lib/cassandra"),
        )
    }

    /// `cassandraConfigDirectory`, `/etc/cassandra` when unset.
    pub fn cassandra_config_directory(&self) -> PathBuf {
        PathBuf::from(
            self.cassandra_config_directory
                .as_deref()
                .unwrap_or("/etc/cassandra"),
        )
    }

    /// The renames as `(from, to)` table pairs (call after [`validate`](Self::validate)).
    pub fn renames(&self) -> Vec<((String, String), (String, String))> {
        let split = |s: &str| {
            s.split_once('.')
                .map(|(k, t)| (k.to_string(), t.to_string()))
        };
        self.rename
            .iter()
            .flatten()
            .filter_map(|(from, to)| Some((split(from)?, split(to)?)))
            .collect()
    }

    /// Checks every field with Esop's rules; the first fault is returned.
    /// `timeout` in hours, 5 when unset.
    pub fn timeout_hours(&self) -> u64 {
        super::common::timeout_hours(self.timeout)
    }

    /// `pointInTime` as epoch seconds (call after [`validate`](Self::validate)).
    pub fn point_in_time_seconds(&self) -> Option<i64> {
        let text = self.point_in_time.as_deref()?;
        super::commitlog::parse_point_in_time("pointInTime", text).ok()
    }

    /// Where a restore to a moment downloads its segments.
    pub fn commitlog_download_dir(&self) -> PathBuf {
        self.commitlog_download_dir
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.cassandra_directory().join("commitlog_restore"))
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        self.validate_point_in_time()?;
        match &self.snapshot_tag {
            None if self.point_in_time.is_some() => {}
            None => {
                return Err(invalid(
                    "snapshotTag",
                    "is required: the tag of the backup to restore",
                ))
            }
            Some(tag) => validate_snapshot_tag("snapshotTag", tag)?,
        }
        Entities::parse(self.entities.as_deref())?;
        if let Some(dirs) = &self.data_dirs {
            validate_absolute_dirs("dataDirs", dirs)?;
        }
        if let Some(dir) = &self.cassandra_directory {
            validate_absolute_dirs("cassandraDirectory", std::slice::from_ref(dir))?;
        }
        if let Some(sv) = &self.schema_version {
            if !is_uuid(sv) {
                return Err(invalid(
                    "schemaVersion",
                    format!("{sv:?} is not a schema version UUID"),
                ));
            }
        }
        if matches!(self.timeout, Some(t) if t < 1) {
            return Err(invalid("timeout", "must be at least 1 (hours)"));
        }
        let strategy = self.strategy();
        match strategy {
            RestorationStrategy::InPlace => {
                if self.restoration_phase.is_some() {
                    return Err(invalid(
                        "restorationPhase",
                        "must not be set with the IN_PLACE strategy, which runs in one go",
                    ));
                }
                if self.rename.as_ref().is_some_and(|r| !r.is_empty()) {
                    return Err(invalid(
                        "rename",
                        "cannot be used with the IN_PLACE strategy",
                    ));
                }
            }
            RestorationStrategy::Hardlinks | RestorationStrategy::Import => {
                let Some(phase) = self.restoration_phase else {
                    return Err(invalid(
                        "restorationPhase",
                        "is required with HARDLINKS and IMPORT: one of INIT, DOWNLOAD, TRUNCATE, IMPORT, CLEANUP",
                    ));
                };
                let Some(import) = &self.import else {
                    return Err(invalid("import", "is required with HARDLINKS and IMPORT: {\"type\": \"import\", \"sourceDir\": ...}"));
                };
                if let Some(kind) = &import.kind {
                    if !kind.eq_ignore_ascii_case("import") {
                        return Err(invalid(
                            "import.type",
                            format!("must be \"import\", not {kind:?}"),
                        ));
                    }
                }
                self.validate_source_dir(&import.source_dir())?;
                if self.restore_system_keyspace {
                    return Err(invalid(
                        "restoreSystemKeyspace",
                        "is only possible with the IN_PLACE strategy",
                    ));
                }
                if self.global_request && !self.single_phase && phase != RestorationPhase::Init {
                    return Err(invalid(
                        "restorationPhase",
                        "a global restore starts at INIT and runs every phase (set singlePhase to run one phase cluster-wide)",
                    ));
                }
            }
        }
        self.validate_rename()?;
        Ok(())
    }

    fn validate_source_dir(&self, source: &Path) -> Result<(), RequestError> {
        if !source.is_absolute() {
            return Err(invalid(
                "import.sourceDir",
                format!("{} is not an absolute path", source.display()),
            ));
        }
        let source = normalize(source);
        let cassandra = normalize(&self.cassandra_directory());
        let data = cassandra.join("data");
        if source == cassandra {
            return Err(invalid(
                "import.sourceDir",
                format!("must not be cassandraDirectory {}", cassandra.display()),
            ));
        }
        if source.starts_with(&data) {
            return Err(invalid(
                "import.sourceDir",
                format!(
                    "{} must not be, or be inside, Cassandra's data directory {}",
                    source.display(),
                    data.display()
                ),
            ));
        }
        Ok(())
    }

    fn validate_point_in_time(&self) -> Result<(), RequestError> {
        if let Some(dir) = &self.commitlog_download_dir {
            validate_absolute_dirs("commitlogDownloadDir", std::slice::from_ref(dir))?;
        }
        let Some(text) = &self.point_in_time else {
            return Ok(());
        };
        super::commitlog::parse_point_in_time("pointInTime", text)?;
        if self.strategy() != RestorationStrategy::InPlace {
            return Err(invalid(
                "pointInTime",
                "is restored with the IN_PLACE strategy (the node stopped, its tables synced with the backup, the commit logs replayed as it starts)",
            ));
        }
        Ok(())
    }

    fn validate_rename(&self) -> Result<(), RequestError> {
        let Some(rename) = &self.rename else {
            return Ok(());
        };
        let mut targets = Vec::new();
        for (from, to) in rename {
            for side in [from, to] {
                let ok = matches!(side.split('.').collect::<Vec<_>>().as_slice(), [k, t] if valid_name(k) && valid_name(t));
                if !ok {
                    return Err(invalid("rename", format!("{side:?} is not keyspace.table")));
                }
            }
            if from == to {
                return Err(invalid("rename", format!("{from:?} is renamed to itself")));
            }
            if targets.contains(&to) {
                return Err(invalid(
                    "rename",
                    format!("two tables are renamed to {to:?}"),
                ));
            }
            targets.push(to);
        }
        for to in &targets {
            if rename.contains_key(to.as_str()) {
                return Err(invalid(
                    "rename",
                    format!("{to:?} is both a source and a target"),
                ));
            }
        }
        Ok(())
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (the paths may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl fmt::Display for RestorationPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestorationPhase::Init => "INIT",
            RestorationPhase::ClusterHealthcheck => "CLUSTER_HEALTHCHECK",
            RestorationPhase::Download => "DOWNLOAD",
            RestorationPhase::Truncate => "TRUNCATE",
            RestorationPhase::Import => "IMPORT",
            RestorationPhase::Cleanup => "CLEANUP",
        })
    }
}
