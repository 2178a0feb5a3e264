//! Object keys, as Esop lays them out below a node prefix: SSTable components at
//! `data/<ks>/<table>-<id>[/.<index>]/<gen>-<checksum>/<file>`, manifests at
//! `manifests/<tag>-<schemaVersion>-<epochMillis>.json`, topology files at the bucket root
//! `topology/<fullTag>.json`; and the plan of what to upload from one table's snapshot.
//!
//! Reads local snapshot files (names, sizes, digest files, the tail of `Data.db`); it must not
//! touch an object store nor hash whole files (the transfer does that while streaming).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

/// Esop's `SSTableUtils.SSTABLE_RE`, anchored as Java's `matches()` anchors it. Group 1 is the
/// SSTable prefix (`nb-1-big`), group 2 the generation (`1`, or a UUID-style id).
const SSTABLE_PATTERN: &str = r"^((?:[a-zA-Z0-9][a-zA-Z0-9_-]+[a-zA-Z0-9][a-zA-Z0-9_-]+-)?[a-z]{2}-([a-zA-Z0-9_]+)(?:-(big|bti))?)-.*$";

/// Digest files tried in Esop's order for an SSTable's checksum.
const DIGESTS: [&str; 3] = ["crc32", "adler32", "sha1"];

/// Without a digest file, the checksum is the Adler32 of this many trailing bytes of `Data.db`.
const CHECKSUM_TAIL_BYTES: u64 = 10 * 1024 * 1024;

/// Why a snapshot's files cannot be laid out as objects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// Reading a snapshot file or directory failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A table directory is not `<table>-<32-character id>`.
    #[error("table directory {name:?} is not in form <table>-<32-character table id>")]
    TableDirectory { name: String },
    /// An SSTable has no digest file and no `Data.db` to compute a checksum from.
    #[error("cannot compute the checksum of SSTable {sstable} in {dir}: no Digest.crc32/adler32/sha1 and no {sstable}-Data.db ({source})")]
    NoChecksum {
        dir: PathBuf,
        sstable: String,
        source: std::io::Error,
    },
    /// A file name is not UTF-8, so it cannot become an object key.
    #[error("file name {path:?} is not UTF-8 and cannot be an object key")]
    NotUtf8 { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sstable_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(SSTABLE_PATTERN).expect("SSTABLE_PATTERN is a valid regex"))
}

/// An SSTable component's file name, split as Esop splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SSTableName {
    /// Everything before the component (`nb-1-big`, `ks-t-jb-1`, `da-3gy0_..._2u8k-bti`): the
    /// key of the manifest's `sstables` map and the stem of sibling components.
    pub prefix: String,
    /// The generation (`1`, or a UUID-style id such as `3gy0_111j_2u8ka1z4k2vcw67ubc`).
    pub generation: String,
}

/// Splits an SSTable component name (`nb-1-big-Data.db`); `None` for any other file
/// (`manifest.json`, `schema.cql`), which Esop does not upload.
pub fn parse_sstable_name(file_name: &str) -> Option<SSTableName> {
    let caps = sstable_re().captures(file_name)?;
    Some(SSTableName {
        prefix: caps[1].to_string(),
        generation: caps[2].to_string(),
    })
}

/// A table directory name split into table name and id (`t1-52d74870fb9911eaa75583ff20369112`).
pub fn parse_table_directory(name: &str) -> Result<(String, String), LayoutError> {
    // Esop's TABLE_PATTERN `(.*)-((.){32})`: the id is the last 32 characters.
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 34 || chars[chars.len() - 33] != '-' {
        return Err(LayoutError::TableDirectory {
            name: name.to_string(),
        });
    }
    let table: String = chars[..chars.len() - 33].iter().collect();
    let id: String = chars[chars.len() - 32..].iter().collect();
    Ok((table, id))
}

/// The checksum part of an SSTable's key directory (`<gen>-<checksum>`): the leading
/// alphanumeric run of the first `<prefix>-Digest.{crc32,adler32,sha1}` in `dir`, else the
/// decimal Adler32 of the last 10 MiB of `<prefix>-Data.db`.
pub fn sstable_checksum(dir: &Path, prefix: &str) -> Result<String, LayoutError> {
    for digest in DIGESTS {
        let path = dir.join(format!("{prefix}-Digest.{digest}"));
        let content = match std::fs::read(&path) {
            Ok(content) => content,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&path)(e)),
        };
        if let Some(run) = digest_checksum(&content) {
            return Ok(run);
        }
    }
    let data = dir.join(format!("{prefix}-Data.db"));
    tail_adler32(&data)
        .map(|sum| sum.to_string())
        .map_err(|source| LayoutError::NoChecksum {
            dir: dir.to_path_buf(),
            sstable: prefix.to_string(),
            source,
        })
}

/// Esop matches a digest file's text against `^([a-zA-Z0-9]+).*` with Java's `matches()`,
/// where `.` stops at line terminators: a digest followed by a newline does not match, and
/// Esop falls through to the next digest file. Matching that keeps the keys of the same
/// SSTable identical whichever tool wrote the backup.
fn digest_checksum(content: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(content).ok()?;
    let run_len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if run_len == 0 {
        return None;
    }
    let rest = &text[run_len..];
    let has_terminator = rest
        .chars()
        .any(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'));
    if has_terminator {
        return None;
    }
    Some(text[..run_len].to_string())
}

/// Adler32 of the last [`CHECKSUM_TAIL_BYTES`] of a file (all of it when shorter; 1 for an
/// empty file), read in small chunks.
pub fn tail_adler32(path: &Path) -> std::io::Result<u32> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(CHECKSUM_TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut adler = adler2::Adler32::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        adler.write_slice(&buf[..n]);
    }
    Ok(adler.checksum())
}

/// One file of a snapshot to upload, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadItem {
    /// The file in the snapshot directory.
    pub local: PathBuf,
    /// The object key below the node prefix (`data/ks/t-id/1-123/nb-1-big-Data.db`).
    pub key: String,
    /// The file's size when it was listed.
    pub size: u64,
    /// The SSTable prefix the file belongs to (`nb-1-big`): its manifest `sstables` key.
    pub sstable: String,
}

/// The key of an SSTable component below the node prefix.
pub fn sstable_key(
    keyspace: &str,
    table: &str,
    table_id: &str,
    index: Option<&str>,
    generation: &str,
    checksum: &str,
    file_name: &str,
) -> String {
    match index {
        Some(index) => format!(
            "data/{keyspace}/{table}-{table_id}/{index}/{generation}-{checksum}/{file_name}"
        ),
        None => format!("data/{keyspace}/{table}-{table_id}/{generation}-{checksum}/{file_name}"),
    }
}

/// What to upload from one table's snapshot directory
/// (`<data dir>/<ks>/<table>-<id>/snapshots/<tag>/`): every SSTable component in it and in its
/// secondary-index directories (`.<index>/`), with its key, sorted by key. Other files
/// (`manifest.json`, `schema.cql`) are left out, as Esop leaves them; a missing directory (a
/// table without data on this node) gives an empty plan.
pub fn plan_table_upload(
    keyspace: &str,
    table: &str,
    table_id: &str,
    snapshot_dir: &Path,
) -> Result<Vec<UploadItem>, LayoutError> {
    let mut files: Vec<(PathBuf, Option<String>)> = Vec::new();
    let entries = match std::fs::read_dir(snapshot_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(snapshot_dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(snapshot_dir))?;
        let path = entry.path();
        let name = utf8_name(&path)?;
        let file_type = entry.file_type().map_err(io_err(&path))?;
        if file_type.is_dir() && name.starts_with('.') {
            for inner in std::fs::read_dir(&path).map_err(io_err(&path))? {
                let inner = inner.map_err(io_err(&path))?;
                if inner.file_type().map_err(io_err(&inner.path()))?.is_file() {
                    files.push((inner.path(), Some(name.clone())));
                }
            }
        } else if file_type.is_file() {
            files.push((path, None));
        }
    }

    let mut checksums: HashMap<(PathBuf, String), String> = HashMap::new();
    let mut plan = Vec::new();
    for (path, index) in files {
        let name = utf8_name(&path)?;
        let Some(sstable) = parse_sstable_name(&name) else {
            continue;
        };
        let dir = path.parent().unwrap_or(snapshot_dir).to_path_buf();
        let cache_key = (dir.clone(), sstable.prefix.clone());
        let checksum = match checksums.get(&cache_key) {
            Some(sum) => sum.clone(),
            None => {
                let sum = sstable_checksum(&dir, &sstable.prefix)?;
                checksums.insert(cache_key, sum.clone());
                sum
            }
        };
        let size = std::fs::metadata(&path).map_err(io_err(&path))?.len();
        let key = sstable_key(
            keyspace,
            table,
            table_id,
            index.as_deref(),
            &sstable.generation,
            &checksum,
            &name,
        );
        plan.push(UploadItem {
            local: path,
            key,
            size,
            sstable: sstable.prefix,
        });
    }
    plan.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(plan)
}

/// One table's snapshot directory in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTable {
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
    /// `<data dir>/<ks>/<table>-<id>/snapshots/<tag>/`.
    pub dir: PathBuf,
}

impl SnapshotTable {
    /// The snapshot's `schema.cql` (what Esop puts in the manifest as `schemaContent`).
    pub fn schema(&self) -> Result<Option<String>, LayoutError> {
        let path = self.dir.join("schema.cql");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }
}

/// Every `<ks>/<table>-<id>/snapshots/<tag>/` under a data directory, sorted by keyspace and
/// table. A keyspace directory without tables is no error (it has nothing to back up);
/// directories that are not `<table>-<32-char id>` are skipped, as are snapshots named
/// `truncated-*` and `dropped-*`, which Esop never uploads.
pub fn snapshot_tables(data_dir: &Path, tag: &str) -> Result<Vec<SnapshotTable>, LayoutError> {
    let mut found = Vec::new();
    if tag.starts_with("truncated-") || tag.starts_with("dropped-") {
        return Ok(found);
    }
    for keyspace in read_dirs(data_dir)? {
        let ks_name = utf8_name(&keyspace)?;
        for table_dir in read_dirs(&keyspace)? {
            let Ok((table, table_id)) = parse_table_directory(&utf8_name(&table_dir)?) else {
                continue;
            };
            let dir = table_dir.join("snapshots").join(tag);
            if dir.is_dir() {
                found.push(SnapshotTable {
                    keyspace: ks_name.clone(),
                    table,
                    table_id,
                    dir,
                });
            }
        }
    }
    found.sort_by(|a, b| (&a.keyspace, &a.table).cmp(&(&b.keyspace, &b.table)));
    Ok(found)
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, LayoutError> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if entry.file_type().map_err(io_err(&entry.path()))?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

fn utf8_name(path: &Path) -> Result<String, LayoutError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| LayoutError::NotUtf8 {
            path: path.to_path_buf(),
        })
}

/// The full tag of a backup, also the name of its Cassandra snapshot and of its manifest:
/// `<snapshotTag>-<schemaVersion>-<epochMillis>`.
pub fn full_tag(snapshot_tag: &str, schema_version: &str, epoch_millis: u64) -> String {
    format!("{snapshot_tag}-{schema_version}-{epoch_millis}")
}

/// A snapshot tag that already is a full tag, `<tag>-<schemaVersion UUID>-<epochMillis>`, as a
/// cluster-wide backup's coordinator (Icarus' or ours) sends every node so that all of them
/// name their backup alike: split into its parts. `None` for any other tag, which the node then
/// completes itself. Stricter than Esop's "ends in `-<digits>`" (which took `daily-2024` for a
/// full tag): a full tag sent by a coordinator always carries the schema version.
pub fn parse_full_tag(tag: &str) -> Option<ManifestName> {
    if tag.ends_with(".json") {
        return None;
    }
    parse_manifest_name(tag).filter(|name| name.schema_version.is_some() && !name.tag.is_empty())
}

/// The manifest key below the node prefix: `manifests/<fullTag>.json`.
pub fn manifest_key(full_tag: &str) -> String {
    format!("manifests/{full_tag}.json")
}

/// The topology file's key at the bucket root: `topology/<fullTag>.json`.
pub fn topology_key(full_tag: &str) -> String {
    format!("topology/{full_tag}.json")
}

/// A manifest's file name, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestName {
    /// The full tag, the file name without `.json` (Esop's backup name).
    pub name: String,
    /// The snapshot tag the backup was asked for.
    pub tag: String,
    /// The schema version, when the name carries a UUID before the timestamp.
    pub schema_version: Option<String>,
    /// Milliseconds since the epoch when the backup was taken.
    pub timestamp_millis: u64,
}

/// Parses `<tag>-<schemaVersion>-<epochMillis>.json` (the `.json` is optional); `None` when
/// there is no numeric timestamp after the last `-`.
pub fn parse_manifest_name(file_name: &str) -> Option<ManifestName> {
    let name = file_name.strip_suffix(".json").unwrap_or(file_name);
    let (before, millis) = name.rsplit_once('-')?;
    if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let timestamp_millis = millis.parse().ok()?;
    let (tag, schema_version) = match before.len().checked_sub(36) {
        Some(at) if before.is_char_boundary(at) && is_uuid(&before[at..]) => {
            let tag = before[..at].strip_suffix('-').unwrap_or(&before[..at]);
            (tag.to_string(), Some(before[at..].to_string()))
        }
        _ => (before.to_string(), None),
    };
    Some(ManifestName {
        name: name.to_string(),
        tag,
        schema_version,
        timestamp_millis,
    })
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_tag_with_schema_version_and_millis_is_taken_as_full() {
        let sv = "f1159959-593d-33d1-9ade-712ea55b31ef";
        let full = full_tag("snap1", sv, 1_700_000_000_000);
        let parsed = parse_full_tag(&full).unwrap();
        assert_eq!(parsed.name, full);
        assert_eq!(parsed.tag, "snap1");
        assert_eq!(parsed.schema_version.as_deref(), Some(sv));
        assert_eq!(parsed.timestamp_millis, 1_700_000_000_000);
        assert_eq!(
            parse_full_tag(&full_tag("autosnap-1700000000", sv, 5))
                .unwrap()
                .tag,
            "autosnap-1700000000"
        );
        for plain in [
            "daily-2024",
            "autosnap-1700000000",
            "snap1",
            &format!("{sv}-12"),
            &format!("snap1-{sv}"),
            &format!("{full}.json"),
            &format!("snap1-{sv}-12x"),
        ] {
            assert!(parse_full_tag(plain).is_none(), "{plain}");
        }
    }

    #[test]
    fn sstable_names_as_esop_splits_them() {
        let cases = [
            ("nb-1-big-Data.db", "nb-1-big", "1"),
            ("mc-12-big-Digest.crc32", "mc-12-big", "12"),
            (
                "oa-3gy0_111j_2u8ka1z4k2vcw67ubc-big-Data.db",
                "oa-3gy0_111j_2u8ka1z4k2vcw67ubc-big",
                "3gy0_111j_2u8ka1z4k2vcw67ubc",
            ),
            ("da-1-bti-Partitions.db", "da-1-bti", "1"),
            (
                "instaclustr-recovery_codes-jb-1-Data.db",
                "instaclustr-recovery_codes-jb-1",
                "1",
            ),
            ("nb-7-big-TOC.txt", "nb-7-big", "7"),
        ];
        for (file, prefix, generation) in cases {
            let parsed = parse_sstable_name(file).unwrap_or_else(|| panic!("{file} should match"));
            assert_eq!(
                (parsed.prefix.as_str(), parsed.generation.as_str()),
                (prefix, generation),
                "{file}"
            );
        }
        for other in ["manifest.json", "schema.cql", "Data.db", "backups"] {
            assert_eq!(parse_sstable_name(other), None, "{other}");
        }
    }

    #[test]
    fn table_directories() {
        assert_eq!(
            parse_table_directory("t1-52d74870fb9911eaa75583ff20369112").unwrap(),
            (
                "t1".to_string(),
                "52d74870fb9911eaa75583ff20369112".to_string()
            )
        );
        assert_eq!(
            parse_table_directory("my-table-52d74870fb9911eaa75583ff20369112")
                .unwrap()
                .0,
            "my-table"
        );
        assert!(parse_table_directory("t1").is_err());
        assert!(parse_table_directory("t1_52d74870fb9911eaa75583ff20369112").is_err());
    }

    #[test]
    fn digest_text_as_java_matches_it() {
        assert_eq!(
            digest_checksum(b"2620247400").as_deref(),
            Some("2620247400")
        );
        assert_eq!(
            digest_checksum(b"abc123 trailing").as_deref(),
            Some("abc123")
        );
        assert_eq!(digest_checksum(b"2620247400\n"), None);
        assert_eq!(digest_checksum(b""), None);
        assert_eq!(digest_checksum(b" 12"), None);
    }

    #[test]
    fn checksum_without_digest_reads_only_the_last_10_mib() {
        let dir = tempfile::tempdir().unwrap();
        let tail: Vec<u8> = (0..CHECKSUM_TAIL_BYTES).map(|i| (i % 251) as u8).collect();
        let mut data = vec![0xAB; 3 * 1024 * 1024];
        data.extend_from_slice(&tail);
        std::fs::write(dir.path().join("nb-5-big-Data.db"), &data).unwrap();
        let expected = adler2::adler32_slice(&tail).to_string();
        assert_eq!(sstable_checksum(dir.path(), "nb-5-big").unwrap(), expected);
        // A digest file wins over the Data.db tail; one ending in a newline does not (as Esop).
        std::fs::write(dir.path().join("nb-5-big-Digest.crc32"), "123\n").unwrap();
        std::fs::write(dir.path().join("nb-5-big-Digest.adler32"), "456").unwrap();
        assert_eq!(sstable_checksum(dir.path(), "nb-5-big").unwrap(), "456");
        let err = sstable_checksum(dir.path(), "nb-9-big").unwrap_err();
        assert!(err.to_string().contains("nb-9-big"), "{err}");
    }

    #[test]
    fn snapshot_tables_of_a_data_directory() {
        let data = tempfile::tempdir().unwrap();
        let id = "52d74870fb9911eaa75583ff20369112";
        let make = |rel: &str| std::fs::create_dir_all(data.path().join(rel)).unwrap();
        make(&format!("ks1/t2-{id}/snapshots/snap"));
        make(&format!("ks1/t1-{id}/snapshots/snap"));
        make(&format!("ks1/t3-{id}/snapshots/other"));
        make("ks1/backups");
        make("empty_keyspace");
        make(&format!("ks2/t1-{id}/snapshots/truncated-1-t1"));
        std::fs::write(
            data.path()
                .join(format!("ks1/t1-{id}/snapshots/snap/schema.cql")),
            "CREATE TABLE ks1.t1;",
        )
        .unwrap();
        let tables = snapshot_tables(data.path(), "snap").unwrap();
        let names: Vec<_> = tables
            .iter()
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        assert_eq!(names, ["ks1.t1", "ks1.t2"]);
        assert_eq!(tables[0].table_id, id);
        assert_eq!(
            tables[0].schema().unwrap().as_deref(),
            Some("CREATE TABLE ks1.t1;")
        );
        assert_eq!(tables[1].schema().unwrap(), None);
        assert!(snapshot_tables(data.path(), "truncated-1-t1")
            .unwrap()
            .is_empty());
        assert!(snapshot_tables(&data.path().join("missing"), "snap").is_err());
    }

    #[test]
    fn manifest_names() {
        let parsed =
            parse_manifest_name("snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000.json")
                .unwrap();
        assert_eq!(parsed.tag, "snap1");
        assert_eq!(
            parsed.schema_version.as_deref(),
            Some("f1159959-593d-33d1-9ade-712ea55b31ef")
        );
        assert_eq!(parsed.timestamp_millis, 1_700_000_000_000);
        assert_eq!(
            parsed.name,
            "snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000"
        );
        let dashed =
            parse_manifest_name("my-snap-1-f1159959-593d-33d1-9ade-712ea55b31ef-5").unwrap();
        assert_eq!(dashed.tag, "my-snap-1");
        let plain = parse_manifest_name("snapshot4-17").unwrap();
        assert_eq!(
            (
                plain.tag.as_str(),
                plain.schema_version,
                plain.timestamp_millis
            ),
            ("snapshot4", None, 17)
        );
        assert!(parse_manifest_name("no-timestamp.json").is_none());
        assert!(parse_manifest_name("x-99999999999999999999999.json").is_none());
        let tag = full_tag(
            "snap1",
            "f1159959-593d-33d1-9ade-712ea55b31ef",
            1_700_000_000_000,
        );
        assert_eq!(
            manifest_key(&tag),
            "manifests/snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000.json"
        );
        assert_eq!(
            topology_key(&tag),
            "topology/snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000.json"
        );
    }
}
