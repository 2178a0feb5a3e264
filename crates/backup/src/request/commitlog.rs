//! The `commitlog-backup` and `commitlog-restore` requests (Esop's
//! `BackupCommitLogsOperationRequest` and `RestoreCommitLogsOperationRequest`), and the
//! `pointInTime` a `restore` may carry.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::common::{validate_absolute_dirs, validate_pace, CommonStorageFields};
use super::measure::{DataRate, TimeSpan};
use super::{invalid, lenient, RequestError};

/// Esop's default commit-log directory of both requests.
const DEFAULT_COMMIT_LOG_DIRECTORY: &str = "/var/lib/cassandra/data/commitlog";

/// A `commitlog-backup` request: upload the segments of a directory (or one segment) to
/// `commitlog/<name>.<last-modified millis>` below the node's prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitLogBackupRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// The node's commit-log directory (Esop's default `/var/lib/cassandra/data/commitlog`),
    /// read when no archive directory is given.
    #[serde(default)]
    pub cassandra_commit_log_directory: Option<String>,
    /// The directory `archive_command` links closed segments into; preferred when it exists.
    #[serde(default)]
    pub commit_log_archive_override: Option<String>,
    /// One segment file only.
    #[serde(default)]
    pub commit_log: Option<String>,
    /// Accepted for Esop's sake: a location without its node part is always completed with
    /// the node's cluster, datacenter and host id here.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub online: bool,
    #[serde(default)]
    pub duration: Option<TimeSpan>,
    #[serde(default)]
    pub bandwidth: Option<DataRate>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub create_missing_bucket: bool,
    #[serde(default)]
    pub metadata_directive: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_refreshing: bool,
}

impl CommitLogBackupRequest {
    /// Writes the defaults it runs with into the fields left unset (see
    /// [`CommonStorageFields::echo_defaults`]): 10 connections, Esop's retry, and
    /// `metadataDirective` `COPY` (accepted and unused, echoed as Esop does).
    pub fn echo_defaults(&mut self) {
        self.common.echo_defaults(10);
        self.metadata_directive
            .get_or_insert_with(|| "COPY".to_string());
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        absolute(&[
            (
                "cassandraCommitLogDirectory",
                &self.cassandra_commit_log_directory,
            ),
            (
                "commitLogArchiveOverride",
                &self.commit_log_archive_override,
            ),
            ("commitLog", &self.commit_log),
        ])?;
        validate_pace(self.duration, self.bandwidth)
    }

    /// `cassandraCommitLogDirectory`, Esop's default when unset.
    pub fn commit_log_directory(&self) -> PathBuf {
        commit_log_directory(&self.cassandra_commit_log_directory)
    }
}

/// A `commitlog-restore` request: download the segments a node needs to replay from
/// `timestampStart` (its snapshot) up to `timestampEnd`, and write the restore section of
/// `commitlog_archiving.properties` so that its next start replays them up to that moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitLogRestoreRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// The node's commit-log directory: segments in it are moved aside, as Esop does.
    #[serde(default)]
    pub cassandra_commit_log_directory: Option<String>,
    /// Accepted for Esop's sake (a container path prefix); unused.
    #[serde(default)]
    pub shared_container_path: Option<String>,
    /// Where `commitlog_archiving.properties` is (default `/etc/cassandra`).
    #[serde(default)]
    pub cassandra_config_directory: Option<String>,
    /// Where the segments are downloaded; required.
    #[serde(default)]
    pub commitlog_download_dir: Option<String>,
    /// Epoch millis: segments last written before it are not needed (default 0: all).
    #[serde(default, deserialize_with = "lenient::int")]
    pub timestamp_start: Option<i64>,
    /// Epoch millis: the moment to replay up to; required.
    #[serde(default, deserialize_with = "lenient::int")]
    pub timestamp_end: Option<i64>,
    /// Esop's replay list (`{"ks": ["t1"]}`); only an empty one is accepted.
    #[serde(default)]
    pub keyspace_tables: Option<serde_json::Value>,
}

impl CommitLogRestoreRequest {
    /// Writes the defaults it runs with into the fields left unset (see
    /// [`CommonStorageFields::echo_defaults`]): 10 connections and Esop's retry.
    pub fn echo_defaults(&mut self) {
        self.common.echo_defaults(10);
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        absolute(&[
            (
                "cassandraCommitLogDirectory",
                &self.cassandra_commit_log_directory,
            ),
            ("cassandraConfigDirectory", &self.cassandra_config_directory),
            ("commitlogDownloadDir", &self.commitlog_download_dir),
        ])?;
        if self.commitlog_download_dir.is_none() {
            return Err(invalid(
                "commitlogDownloadDir",
                "is required: the directory the segments are downloaded into (Cassandra copies them from there at its next start)",
            ));
        }
        let start = self.timestamp_start.unwrap_or(0);
        if start < 0 {
            return Err(invalid("timestampStart", "must be epoch milliseconds"));
        }
        match self.timestamp_end {
            None => {
                return Err(invalid(
                    "timestampEnd",
                    "is required: the moment to replay up to, epoch milliseconds",
                ))
            }
            Some(end) if end < start => {
                return Err(invalid("timestampEnd", "must not be before timestampStart"))
            }
            Some(_) => {}
        }
        let tables = self.keyspace_tables.as_ref();
        if tables.is_some_and(|t| !is_empty_value(t)) {
            return Err(invalid(
                "keyspaceTables",
                "is not supported: Cassandra replays every table's writes up to the moment (a replay list would leave the other tables behind it)",
            ));
        }
        Ok(())
    }

    pub fn commit_log_directory(&self) -> PathBuf {
        commit_log_directory(&self.cassandra_commit_log_directory)
    }

    pub fn config_directory(&self) -> PathBuf {
        PathBuf::from(
            self.cassandra_config_directory
                .as_deref()
                .unwrap_or("/etc/cassandra"),
        )
    }

    /// `commitlogDownloadDir` (call after [`validate`](Self::validate)).
    pub fn download_dir(&self) -> PathBuf {
        PathBuf::from(self.commitlog_download_dir.as_deref().unwrap_or_default())
    }
}

fn commit_log_directory(given: &Option<String>) -> PathBuf {
    PathBuf::from(given.as_deref().unwrap_or(DEFAULT_COMMIT_LOG_DIRECTORY))
}

/// Each given path field must be absolute.
fn absolute(fields: &[(&str, &Option<String>)]) -> Result<(), RequestError> {
    for (field, value) in fields {
        if let Some(dir) = value {
            validate_absolute_dirs(field, std::slice::from_ref(dir))?;
        }
    }
    Ok(())
}

fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        serde_json::Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A restore's `pointInTime`: RFC 3339 (`2026-12-07T14:05:07Z`), to the second; an offset
/// other than UTC is accepted and converted. Returns epoch seconds.
pub fn parse_point_in_time(field: &str, text: &str) -> Result<i64, RequestError> {
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        invalid(
            field,
            format!("{text:?} is not an RFC 3339 time such as 2026-12-07T14:05:07Z: {e}"),
        )
    })?;
    if at.nanosecond() != 0 {
        return Err(invalid(
            field,
            format!("{text:?} has a fraction of a second: Cassandra replays to whole seconds"),
        ));
    }
    Ok(at.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_in_time_is_rfc3339_to_the_second() {
        assert_eq!(
            parse_point_in_time("pointInTime", "2026-12-07T05:06:40Z").unwrap(),
            1_796_620_000
        );
        assert_eq!(
            parse_point_in_time("pointInTime", "2026-12-07T06:06:40+01:00").unwrap(),
            1_796_620_000
        );
        assert!(parse_point_in_time("pointInTime", "2026-12-07 05:06:40").is_err());
        let err = parse_point_in_time("pointInTime", "2026-12-07T05:06:40.5Z").unwrap_err();
        assert!(err.reason.contains("whole seconds"), "{err}");
    }

    #[test]
    fn commitlog_restore_needs_its_directory_and_end() {
        let mut request = CommitLogRestoreRequest {
            common: CommonStorageFields {
                storage_location: Some("file:///tmp/b/c/d/n".into()),
                ..Default::default()
            },
            timestamp_end: Some(10),
            ..Default::default()
        };
        assert_eq!(
            request.validate().unwrap_err().field,
            "commitlogDownloadDir"
        );
        request.commitlog_download_dir = Some("/tmp/restore".into());
        request.validate().unwrap();
        request.timestamp_start = Some(11);
        assert_eq!(request.validate().unwrap_err().field, "timestampEnd");
        request.timestamp_start = None;
        request.keyspace_tables = Some(serde_json::json!({"ks": ["t"]}));
        assert_eq!(request.validate().unwrap_err().field, "keyspaceTables");
        request.keyspace_tables = Some(serde_json::json!({}));
        request.validate().unwrap();
    }
}
