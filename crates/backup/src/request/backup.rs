//! The `backup`, `list` and `remove-backup` requests.

use serde::{Deserialize, Serialize};

use super::common::{
    timeout_hours, validate_absolute_dirs, validate_pace, validate_snapshot_tag,
    CommonStorageFields, Entities, DEFAULT_TIMEOUT_HOURS,
};
use super::measure::{DataRate, TimeSpan};
use super::{invalid, lenient, RequestError};

/// A `backup` request (Esop's `BackupOperationRequest`, Icarus' `BackupOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// Cassandra's data directories; found from the tables' `DataPaths` when empty.
    #[serde(default)]
    pub data_dirs: Option<Vec<String>>,
    #[serde(default)]
    pub cassandra_directory: Option<String>,
    /// Upload within this span (the rate is size/duration, or `bandwidth` if higher).
    #[serde(default)]
    pub duration: Option<TimeSpan>,
    #[serde(default)]
    pub bandwidth: Option<DataRate>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub create_missing_bucket: bool,
    /// Accepted for compatibility; unused (as in Esop 4).
    #[serde(default)]
    pub metadata_directive: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_refreshing: bool,
    /// Default `autosnap-<epochSeconds>`.
    #[serde(default)]
    pub snapshot_tag: Option<String>,
    /// `"ks1,ks2"` or `"ks1.t1,ks2.t2"`; empty means every keyspace.
    #[serde(default)]
    pub entities: Option<String>,
    /// Global requests only: the datacenter(s) to back up.
    #[serde(default)]
    pub dc: Option<String>,
    /// Hours before the backup fails (default 5).
    #[serde(default, deserialize_with = "lenient::int")]
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
    /// Overwritten with the node's schema version.
    #[serde(default)]
    pub schema_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub upload_cluster_topology: bool,
}

impl BackupRequest {
    /// Writes the defaults it runs with into the fields left unset (see
    /// [`CommonStorageFields::echo_defaults`]): 10 connections, Esop's retry, `timeout` 5 hours
    /// and `metadataDirective` `COPY` (accepted and unused, echoed as Esop does).
    pub fn echo_defaults(&mut self) {
        self.common.echo_defaults(10);
        self.timeout.get_or_insert(DEFAULT_TIMEOUT_HOURS as i64);
        self.metadata_directive
            .get_or_insert_with(|| "COPY".to_string());
    }

    /// Checks every field; the first fault is returned.
    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        Entities::parse(self.entities.as_deref())?;
        if let Some(tag) = &self.snapshot_tag {
            validate_snapshot_tag("snapshotTag", tag)?;
        }
        if let Some(dirs) = &self.data_dirs {
            validate_absolute_dirs("dataDirs", dirs)?;
        }
        if matches!(self.timeout, Some(t) if t < 1) {
            return Err(invalid("timeout", "must be at least 1 (hours)"));
        }
        validate_pace(self.duration, self.bandwidth)
    }

    /// The parsed entities (call after [`validate`](Self::validate)).
    pub fn entities(&self) -> Result<Entities, RequestError> {
        Entities::parse(self.entities.as_deref())
    }

    /// The snapshot tag, or Esop's default `autosnap-<epochSeconds>`.
    pub fn snapshot_tag_or_default(&self, now_epoch_seconds: u64) -> String {
        self.snapshot_tag
            .clone()
            .unwrap_or_else(|| format!("autosnap-{now_epoch_seconds}"))
    }

    /// `timeout` in hours, 5 when unset.
    pub fn timeout_hours(&self) -> u64 {
        timeout_hours(self.timeout)
    }

    /// Whether to upload the topology file (forced on for global requests, as Esop).
    pub fn uploads_topology(&self) -> bool {
        self.upload_cluster_topology || self.global_request
    }
}

/// A `list` request (Esop's `ListOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub json: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_nodes: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub human_units: bool,
    #[serde(default)]
    pub to_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub simple_format: bool,
    /// Only backups taken at or before this epoch-millisecond timestamp.
    #[serde(default, deserialize_with = "lenient::int")]
    pub from_timestamp: Option<i64>,
    /// The newest N backups only (0 = all).
    #[serde(default, deserialize_with = "lenient::int")]
    pub last_n: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_download: bool,
    #[serde(default)]
    pub cache_dir: Option<String>,
    #[serde(default)]
    pub to_request: Option<String>,
    /// The listing, filled by the operation (as Esop's request carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

impl ListRequest {
    /// Writes Esop's defaults into the fields left unset (see
    /// [`CommonStorageFields::echo_defaults`]): one connection, its retry, `fromTimestamp` the
    /// largest (every backup) and `lastN` 0 (all of them). The listing is the same either way.
    pub fn echo_defaults(&mut self) {
        self.common.echo_defaults(1);
        self.from_timestamp.get_or_insert(i64::MAX);
        self.last_n.get_or_insert(0);
    }

    /// Checks every field; the first fault is returned.
    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        if matches!(self.last_n, Some(n) if n < 0) {
            return Err(invalid("lastN", "must be 0 (all) or a positive count"));
        }
        if matches!(self.from_timestamp, Some(t) if t < 0) {
            return Err(invalid(
                "fromTimestamp",
                "must be milliseconds since the epoch",
            ));
        }
        Ok(())
    }
}

/// A `remove-backup` request (Esop's `RemoveBackupRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveBackupRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// The manifest name without `.json` (`<tag>-<schemaVersion>-<epochMillis>`).
    #[serde(default)]
    pub backup_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub dry: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_nodes: bool,
    /// Remove every backup older than this span.
    #[serde(default)]
    pub older_than: Option<TimeSpan>,
    #[serde(default)]
    pub cache_dir: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub remove_oldest: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
}

/// The one backup selector of a valid [`RemoveBackupRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalSelector {
    /// One backup by name.
    Name(String),
    /// Every backup older than this many milliseconds.
    OlderThanMillis(u64),
    /// The oldest backup.
    Oldest,
}

impl RemoveBackupRequest {
    /// Checks every field, including Esop's rule of exactly one of `backupName`, `olderThan`
    /// and `removeOldest`, and returns that selector.
    pub fn validate(&self) -> Result<RemovalSelector, RequestError> {
        self.common.validate()?;
        let name = self
            .backup_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let older = self.older_than.filter(|t| t.value != 0);
        if matches!(older, Some(t) if t.value < 0) {
            return Err(invalid("olderThan", "must be a positive span"));
        }
        let given = [name.is_some(), older.is_some(), self.remove_oldest]
            .iter()
            .filter(|&&b| b)
            .count();
        if given != 1 {
            let field = if self.remove_oldest {
                "removeOldest"
            } else if name.is_some() {
                "backupName"
            } else {
                "olderThan"
            };
            let reason = if given == 0 {
                "give exactly one of backupName, olderThan or removeOldest: none was given"
            } else {
                "give exactly one of backupName, olderThan or removeOldest: more than one was given"
            };
            return Err(invalid(field, reason));
        }
        if let Some(name) = name {
            validate_snapshot_tag("backupName", name)?;
            return Ok(RemovalSelector::Name(
                name.strip_suffix(".json").unwrap_or(name).to_string(),
            ));
        }
        if let Some(older) = older {
            return Ok(RemovalSelector::OlderThanMillis(older.as_millis()));
        }
        Ok(RemovalSelector::Oldest)
    }
}
