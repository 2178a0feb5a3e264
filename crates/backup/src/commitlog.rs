//! Archived commit-log segments, as Esop lays them out below a node prefix:
//! `commitlog/<segment file name>.<last-modified epoch millis>` (so either tool reads the
//! other's); which of them a restore to a moment needs; and the restore section of Cassandra's
//! `commitlog_archiving.properties` that has the node replay them up to that moment.
//!
//! Lists one node's segments and nothing else; it must not upload or download (that is
//! `transfer`) nor know Cassandra's processes.

use std::path::{Path as FsPath, PathBuf};
use std::sync::OnceLock;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStore;
use regex::Regex;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::location::NodePath;

/// The keys of `commitlog_archiving.properties` a restore writes and removes again.
const RESTORE_KEYS: [&str; 3] = [
    "restore_command",
    "restore_directories",
    "restore_point_in_time",
];

/// A live segment's file name: `CommitLog-<version>-<id>.log`.
fn segment_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^CommitLog-(\d+)-(\d+)\.log$").expect("valid pattern"))
}

/// An archived segment's key, as Esop's `commitlog-restore` matches it.
fn archived_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:.*/)?(CommitLog-(\d+)-(\d+)\.log)\.(\d+)$").expect("valid pattern")
    })
}

/// Whether `file_name` is a commit-log segment's (`CommitLog-7-1796619945825.log`).
pub fn is_segment_name(file_name: &str) -> bool {
    segment_re().is_match(file_name)
}

/// The key below the node prefix a segment is archived at.
pub fn segment_key(file_name: &str, last_modified_millis: u64) -> String {
    format!("commitlog/{file_name}.{last_modified_millis}")
}

/// A segment file on this host, ready to be archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSegment {
    pub path: PathBuf,
    /// The key below the node prefix ([`segment_key`]).
    pub key: String,
    pub size: u64,
    /// Its last write, epoch milliseconds.
    pub last_modified: u64,
}

/// The segment at `path`, keyed by its name and last-modified time as Esop keys it.
pub fn local_segment(path: &FsPath) -> std::io::Result<LocalSegment> {
    let meta = std::fs::metadata(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let last_modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Ok(LocalSegment {
        path: path.to_path_buf(),
        key: segment_key(&name, last_modified),
        size: meta.len(),
        last_modified,
    })
}

/// Every segment file directly in `dir`, oldest first (a file removed meanwhile is skipped).
pub fn local_segments(dir: &FsPath) -> std::io::Result<Vec<LocalSegment>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !is_segment_name(&name.to_string_lossy()) || !entry.file_type()?.is_file() {
            continue;
        }
        match local_segment(&entry.path()) {
            Ok(segment) => found.push(segment),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    found.sort_by(|a, b| (a.last_modified, &a.path).cmp(&(b.last_modified, &b.path)));
    Ok(found)
}

/// One archived segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedSegment {
    /// The object's full path in the store.
    pub path: Path,
    /// The segment's file name, as Cassandra named it and as it is restored.
    pub name: String,
    /// The segment id of its name (consecutive within one run of Cassandra).
    pub id: u64,
    /// When the segment was last written, epoch milliseconds (from its key).
    pub last_modified: u64,
    pub size: u64,
}

/// Why the archived segments cannot bring a node to a moment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageError {
    /// No segment was archived at or after the start (the snapshot), so nothing after it can
    /// be replayed.
    #[error("no commit-log segment is archived for {node} at or after {start} (the backup's time): archiving was not running then, or wrote elsewhere")]
    NoSegments { node: String, start: String },
    /// The moment is later than the last archived segment: the segment holding it is still
    /// open on the node (or was never archived).
    #[error("{point} is later than the last archived commit-log segment of {node} ({last_name}, closed {last}): its writes are still in a segment the node has not closed, so they cannot be replayed yet")]
    PastLastSegment {
        node: String,
        point: String,
        last: String,
        last_name: String,
    },
    /// Segments of one run of Cassandra are numbered consecutively; one is missing.
    #[error("archived commit-log segments of {node} have a gap: after {before} the next archived is {after}, though {missing} segment(s) of the same run of Cassandra came between")]
    Gap {
        node: String,
        before: String,
        after: String,
        missing: u64,
    },
}

/// Every archived segment of `node`, by last-modified time then id.
pub async fn list_segments(
    store: &dyn ObjectStore,
    node: &NodePath,
) -> Result<Vec<ArchivedSegment>, object_store::Error> {
    let prefix = Path::from(format!("{}/commitlog", node.prefix()));
    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    let mut segments: Vec<ArchivedSegment> = metas
        .into_iter()
        .filter_map(|meta| {
            let captures = archived_re().captures(meta.location.as_ref())?;
            Some(ArchivedSegment {
                name: captures[1].to_string(),
                id: captures[3].parse().ok()?,
                last_modified: captures[4].parse().ok()?,
                size: meta.size,
                path: meta.location,
            })
        })
        .collect();
    segments.sort_by_key(|s| (s.last_modified, s.id));
    Ok(segments)
}

/// The segments a restore from a backup taken at `start` to the moment `point` (both epoch
/// millis) replays: those last written between the two, the first written after `point` (it
/// holds the writes up to `point` that came after the one before it), and the one before
/// the first (its last writes may postdate the snapshot by the clock's grain; Cassandra skips
/// what the snapshot already holds). Esop's `commitlog-restore` takes the same, but for that
/// lead-in segment. Refused: nothing archived after `start`, `point` past the last segment, a
/// gap in a run.
pub fn cover(
    segments: &[ArchivedSegment],
    node: &NodePath,
    start: u64,
    point: u64,
) -> Result<Vec<ArchivedSegment>, CoverageError> {
    let first_after = segments.iter().position(|s| s.last_modified >= start);
    let Some(first_after) = first_after else {
        return Err(CoverageError::NoSegments {
            node: node.prefix(),
            start: millis_text(start),
        });
    };
    let Some(closing) = segments.iter().position(|s| s.last_modified > point) else {
        let last = segments.last().expect("one segment at least");
        return Err(CoverageError::PastLastSegment {
            node: node.prefix(),
            point: millis_text(point),
            last: millis_text(last.last_modified),
            last_name: last.name.clone(),
        });
    };
    let from = first_after.saturating_sub(1);
    let chosen = segments[from..=closing.max(first_after)].to_vec();
    check_runs(&chosen, node)?;
    Ok(chosen)
}

/// Fails on a segment missing inside one run. A new run of Cassandra numbers its segments from
/// the clock at start, which is later than the last segment of the run before was written; so
/// a jump in ids to a number below that time is a gap, not a restart.
fn check_runs(segments: &[ArchivedSegment], node: &NodePath) -> Result<(), CoverageError> {
    let mut by_id: Vec<&ArchivedSegment> = segments.iter().collect();
    by_id.sort_by_key(|s| s.id);
    by_id.dedup_by_key(|s| s.id);
    for pair in by_id.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        if after.id > before.id + 1 && after.id < before.last_modified {
            return Err(CoverageError::Gap {
                node: node.prefix(),
                before: before.name.clone(),
                after: after.name.clone(),
                missing: after.id - before.id - 1,
            });
        }
    }
    Ok(())
}

/// The earliest and latest moments a node's segments reach, and the gaps between, for a
/// reader of the recovery window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentSpan {
    pub segments: usize,
    pub bytes: u64,
    /// Last-modified time of the oldest archived segment, epoch millis.
    pub oldest: u64,
    /// Last-modified time of the newest, epoch millis: nothing later can be restored.
    pub newest: u64,
    /// `"<segment before>..<segment after>"` for each gap inside a run.
    pub gaps: Vec<String>,
}

/// The span of `segments` (sorted as [`list_segments`] returns them); `None` when empty.
pub fn span(segments: &[ArchivedSegment]) -> Option<SegmentSpan> {
    let (first, last) = (segments.first()?, segments.last()?);
    let mut by_id: Vec<&ArchivedSegment> = segments.iter().collect();
    by_id.sort_by_key(|s| s.id);
    let gaps = by_id
        .windows(2)
        .filter(|p| p[1].id > p[0].id + 1 && p[1].id < p[0].last_modified)
        .map(|p| format!("{}..{}", p[0].name, p[1].name))
        .collect();
    Some(SegmentSpan {
        segments: segments.len(),
        bytes: segments.iter().map(|s| s.size).sum(),
        oldest: first.last_modified,
        newest: last.last_modified,
        gaps,
    })
}

/// The moments one node can be restored to: from its oldest backup that archived segments
/// follow, to the last second its newest archived segment covers; and the gaps between.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryWindow {
    /// `cluster/dc/node`.
    pub node: String,
    /// The earliest moment, RFC 3339 (a backup's time); `None` without a backup to start from.
    pub earliest: Option<String>,
    /// The latest moment, RFC 3339, to the second.
    pub latest: String,
    #[serde(flatten)]
    pub span: SegmentSpan,
}

/// The recovery window of `node` from the times (epoch millis) of its backups and its archived
/// segments; `None` when it has no segments.
pub fn recovery_window(
    node: &NodePath,
    backup_times: &[u64],
    segments: &[ArchivedSegment],
) -> Option<RecoveryWindow> {
    let span = span(segments)?;
    // A point is reachable while a segment closed after it: the last whole second before the
    // newest segment's close.
    let latest_seconds = span.newest.saturating_sub(1) / 1000;
    let earliest = backup_times
        .iter()
        .copied()
        .filter(|&t| t <= latest_seconds * 1000)
        .min()
        .map(|t| millis_text(t.div_ceil(1000) * 1000));
    Some(RecoveryWindow {
        node: node.prefix(),
        earliest,
        latest: millis_text(latest_seconds * 1000),
        span,
    })
}

/// `restore_point_in_time` as Cassandra reads it: `yyyy:MM:dd HH:mm:ss`, UTC. Cassandra
/// replays the writes stamped at or before that second's start (`.000`), none after.
pub fn point_in_time_text(epoch_seconds: i64) -> String {
    let format = format_description!("[year]:[month]:[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// An epoch-millisecond time as RFC 3339 (for messages).
pub fn millis_text(epoch_millis: u64) -> String {
    let nanos = i128::from(epoch_millis) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| epoch_millis.to_string())
}

/// `commitlog_archiving.properties` with its restore section set: Cassandra copies every
/// segment of `restore_dir` into its commit-log directory at start and replays writes up to
/// `point` (epoch seconds). Other lines (`archive_command`, comments) are kept as they are.
pub fn with_restore_section(existing: &str, restore_dir: &FsPath, point_seconds: i64) -> String {
    let mut text = without_restore_section(existing);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("restore_command=cp -f %from %to\n");
    text.push_str(&format!(
        "restore_directories={}\n",
        escape_value(&restore_dir.display().to_string())
    ));
    text.push_str(&format!(
        "restore_point_in_time={}\n",
        point_in_time_text(point_seconds)
    ));
    text
}

/// `commitlog_archiving.properties` without a restore section, so that a later start of the
/// node does not replay again.
pub fn without_restore_section(existing: &str) -> String {
    let mut text = String::with_capacity(existing.len());
    for line in existing.lines() {
        if property_key(line).is_some_and(|k| RESTORE_KEYS.contains(&k)) {
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Whether the text has a restore section (any of its keys).
pub fn has_restore_section(existing: &str) -> bool {
    existing
        .lines()
        .any(|l| property_key(l).is_some_and(|k| RESTORE_KEYS.contains(&k)))
}

/// The value of `key` in a properties text, as Java's `Properties` reads a simple line.
pub fn property(existing: &str, key: &str) -> Option<String> {
    existing.lines().find_map(|line| {
        let k = property_key(line)?;
        if k != key {
            return None;
        }
        let rest = line.trim_start()[k.len()..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        Some(rest.trim().to_string())
    })
}

/// The key of a properties line (up to `=`, `:` or white space); `None` for comments and
/// blank lines.
fn property_key(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
        return None;
    }
    let end = line
        .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
        .unwrap_or(line.len());
    Some(&line[..end])
}

/// A value as Java's `Properties` reads it back unchanged (a backslash escapes).
fn escape_value(value: &str) -> String {
    value.replace('\\', "\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodePath {
        NodePath {
            cluster: "c".into(),
            dc: "dc1".into(),
            node: "n".into(),
        }
    }

    fn segment(id: u64, last_modified: u64) -> ArchivedSegment {
        let name = format!("CommitLog-7-{id}.log");
        ArchivedSegment {
            path: Path::from(format!("c/dc1/n/{}", segment_key(&name, last_modified))),
            name,
            id,
            last_modified,
            size: 1024,
        }
    }

    #[test]
    fn keys_are_esops_and_read_back() {
        assert!(is_segment_name("CommitLog-7-1796619945825.log"));
        assert!(!is_segment_name("CommitLog-7-1796619945825.log.tmp"));
        assert_eq!(
            segment_key("CommitLog-7-12.log", 1700000000123),
            "commitlog/CommitLog-7-12.log.1700000000123"
        );
        let caps = archived_re()
            .captures("c/dc1/n/commitlog/CommitLog-7-12.log.1700000000123")
            .unwrap();
        assert_eq!(
            (&caps[1], &caps[3], &caps[4]),
            ("CommitLog-7-12.log", "12", "1700000000123")
        );
    }

    #[test]
    fn cover_takes_the_segments_from_the_backup_to_the_one_closing_after_the_point() {
        // One run: ids 100.. closed at 1_000, 2_000, ... 6_000.
        let all: Vec<_> = (0..6).map(|i| segment(100 + i, 1_000 * (i + 1))).collect();
        let ids = |chosen: Vec<ArchivedSegment>| chosen.iter().map(|s| s.id).collect::<Vec<_>>();
        // Backup at 2_500, point 4_200: segments closed at 3_000, 4_000 and the one closing
        // at 5_000 (it holds 4_000..4_200), plus the lead-in closed at 2_000.
        assert_eq!(
            ids(cover(&all, &node(), 2_500, 4_200).unwrap()),
            [101, 102, 103, 104]
        );
        // A point exactly at a close: the next segment too (it may hold that millisecond).
        assert_eq!(ids(cover(&all, &node(), 500, 1_000).unwrap()), [100, 101]);
        assert!(matches!(
            cover(&all, &node(), 2_500, 6_000),
            Err(CoverageError::PastLastSegment { .. })
        ));
        assert!(matches!(
            cover(&all, &node(), 7_000, 8_000),
            Err(CoverageError::NoSegments { .. })
        ));
    }

    #[test]
    fn a_missing_id_in_a_run_is_a_gap_but_a_restart_is_not() {
        let mut all: Vec<_> = (0..6).map(|i| segment(100 + i, 1_000 * (i + 1))).collect();
        all.remove(3);
        let err = cover(&all, &node(), 500, 5_500).unwrap_err();
        assert!(
            matches!(err, CoverageError::Gap { missing: 1, .. }),
            "{err}"
        );
        // A new run numbers from the clock at its start, after the last close.
        let restarted = vec![
            segment(100, 1_000),
            segment(101, 2_000),
            segment(9_000, 10_000),
        ];
        assert_eq!(cover(&restarted, &node(), 500, 9_500).unwrap().len(), 3);
        assert_eq!(
            span(&all).unwrap().gaps,
            ["CommitLog-7-102.log..CommitLog-7-104.log"]
        );
        assert!(span(&restarted).unwrap().gaps.is_empty());
    }

    #[test]
    fn the_window_runs_from_the_oldest_backup_to_the_last_covered_second() {
        let all: Vec<_> = (0..3)
            .map(|i| segment(100 + i, 1_000_000 + 1_500 * i))
            .collect();
        let window = recovery_window(&node(), &[999_500, 5_000_000], &all).unwrap();
        assert_eq!(window.earliest.as_deref(), Some("1970-01-01T00:16:40Z"));
        // The newest segment closed at 1_003_000 ms: 1_002 s is the last second it covers.
        assert_eq!(window.latest, "1970-01-01T00:16:42Z");
        assert_eq!((window.span.segments, window.span.bytes), (3, 3 * 1024));
        assert!(recovery_window(&node(), &[], &[]).is_none());
        assert_eq!(recovery_window(&node(), &[], &all).unwrap().earliest, None);
    }

    #[test]
    fn the_restore_section_is_written_and_removed_keeping_the_rest() {
        let existing = "# archiving\narchive_command=/bin/ln %path /a/%name\nrestore_point_in_time=2000:01:01 00:00:00\n";
        let text = with_restore_section(
            existing,
            FsPath::new("/var/lib/cassandra/cl"),
            1_796_620_000,
        );
        assert_eq!(
            text,
            "# archiving\narchive_command=/bin/ln %path /a/%name\nrestore_command=cp -f %from %to\nrestore_directories=/var/lib/cassandra/cl\nrestore_point_in_time=2026:12:07 05:06:40\n"
        );
        assert!(has_restore_section(&text));
        assert_eq!(
            property(&text, "archive_command").unwrap(),
            "/bin/ln %path /a/%name"
        );
        let cleared = without_restore_section(&text);
        assert_eq!(
            cleared,
            "# archiving\narchive_command=/bin/ln %path /a/%name\n"
        );
        assert!(!has_restore_section(&cleared));
    }
}
