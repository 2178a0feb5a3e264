//! [`Finding`]: every field an operation adds to its record besides its request's (what it
//! found, counted or chose while it ran). This is the one place that names them: a field is
//! renamed here and nowhere else, and a misspelt one does not compile.
//!
//! Owns the names and value types of these fields. It must not decide when one is reported
//! (the operations do) nor how the record holds them (`RunContext::report`).

use backup::catalog::{BackupSummary, Removal};
use backup::commitlog::RecoveryWindow;
use serde::Serialize;
use serde_json::Value;

/// One record field an operation reports; the variant's name in camelCase is the field's.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Finding {
    // The node, as the operation watched it.
    /// Cassandra's operation mode (NORMAL, DRAINED, …).
    OperationMode(String),
    /// The node was drained already: nothing to do.
    AlreadyDrained(bool),
    /// The status code of a compaction-like operation (`AllSSTableOpStatus`).
    Status(i32),
    CompletedBytes(u64),
    TotalBytes(u64),

    // import
    Sstables(usize),
    FailedDirectories(Vec<String>),

    // backup
    SnapshotName(String),
    Files(usize),
    Bytes(u64),
    UploadedFiles(usize),
    SkippedFiles(usize),
    RefreshedFiles(usize),
    UploadedBytes(u64),
    SnapshotNotCleared(String),
    /// Whether the sidecar cleared the backup's snapshot once the backup ended, whatever its
    /// outcome (a restart included).
    SnapshotCleared(bool),
    Manifest(String),
    /// The topology file a cluster-wide backup wrote.
    Topology(String),

    // list, remove-backup
    Backups(usize),
    Response(Vec<BackupSummary>),
    Removal(Removal),

    // restore
    Backup(String),
    Tables(Vec<String>),
    /// The phase running now (a restore's, or a phased run's over the cluster).
    Phase(String),
    DownloadedBytes(u64),
    FilesDownloaded(usize),
    FilesAlreadyPresent(usize),
    FilesRemoved(usize),
    /// Why the downloads of a DOWNLOAD that did not finish could not be removed.
    DownloadsNotRemoved(String),
    FilesKept(usize),
    TablesImported(usize),

    // commitlog-backup, commitlog-restore, restore to a point in time
    /// Commit-log segments uploaded or downloaded.
    Segments(usize),
    SegmentBytes(u64),
    /// Where the segments found in the commit-log directory were moved (as Esop does).
    CommitLogsMovedTo(String),
    /// `restore_point_in_time` as written for Cassandra (UTC, to the second).
    ReplayUpTo(String),
    /// The `commitlog_archiving.properties` whose restore section was written.
    RestoreSettings(String),
    /// Whether that restore section was removed again once the node had replayed.
    RestoreSettingsRemoved(bool),
    /// Per node, the moments a restore with `pointInTime` can reach (`list`).
    RecoveryWindows(Vec<RecoveryWindow>),

    // cluster-wide runs
    /// Every node's step, as the run's kind renders them.
    Nodes(Vec<Value>),
}

impl Finding {
    /// The record field and its value.
    pub fn into_field(self) -> Option<(String, Value)> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map.into_iter().next(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_is_one_field_named_in_camel_case() {
        assert_eq!(
            Finding::FilesAlreadyPresent(3).into_field(),
            Some(("filesAlreadyPresent".to_string(), Value::from(3)))
        );
        assert_eq!(
            Finding::Sstables(2).into_field().unwrap().0,
            "sstables",
            "the name the record has always had"
        );
        assert_eq!(
            Finding::OperationMode("NORMAL".into()).into_field(),
            Some(("operationMode".to_string(), Value::from("NORMAL")))
        );
    }
}
