//! The directories of one table found in the data directories: `<data dir>/<ks>/<table>-<id>`,
//! for a node that cannot tell them (3.x has no `DataPaths`; a stopped node answers nothing).
//!
//! Owns that scan only. It must not create, change or choose among the directories (the
//! phases and the IN_PLACE sync choose, each by its own rule).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One `<table>-<id>` directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableDir {
    /// The table id of its name.
    pub id: String,
    pub path: PathBuf,
    /// When it was last modified (the epoch when unknown).
    pub modified: SystemTime,
}

/// Every directory of `keyspace.table` under `data_dirs`; data directories or keyspaces that
/// cannot be read have none.
pub fn table_dirs(data_dirs: &[PathBuf], keyspace: &str, table: &str) -> Vec<TableDir> {
    let prefix = format!("{table}-");
    let mut found = Vec::new();
    for dir in data_dirs {
        let Ok(entries) = std::fs::read_dir(Path::new(dir).join(keyspace)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_prefix(&prefix) else {
                continue;
            };
            // A table name never holds '-': what follows the first one is the id.
            if id.contains('-') || !entry.path().is_dir() {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            found.push(TableDir {
                id: id.to_string(),
                path: entry.path(),
                modified,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tables_own_directories_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let ks = tmp.path().join("ks");
        for dir in ["t-1a2b", "t_other-3c4d", "t-5e6f", "u-7a8b"] {
            std::fs::create_dir_all(ks.join(dir)).unwrap();
        }
        std::fs::write(ks.join("t-9c0d"), b"a file").unwrap();
        let mut ids: Vec<String> = table_dirs(&[tmp.path().to_path_buf()], "ks", "t")
            .into_iter()
            .map(|d| d.id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["1a2b", "5e6f"]);
        assert!(table_dirs(&[tmp.path().join("missing")], "ks", "t").is_empty());
    }
}
