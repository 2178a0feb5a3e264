//! Cassandra's importer (4.0, 4.1 and 5.0 alike) takes an SSTable only when the directory it lies
//! in is named for the target table: `…/<keyspace>/<table>` or `…/<keyspace>/<table>-<id>`. From
//! any other directory `importNewSSTables` imports nothing and still reports success (its
//! `Directories.SSTableLister` drops the files as belonging to another table). An Icarus client
//! names any directory, so when the one given is not named that way the import is staged: the
//! files are hard-linked into `<dir>/.daedalus-import-<operation id>/<keyspace>/<table>/`, that
//! directory is imported, and the staging directory is removed afterwards. With `copyData: false`
//! Cassandra moves what it imports; the originals of the links it moved are removed too, so the
//! source directory ends as it would had Cassandra read it directly.
//!
//! Owns the staging directory and nothing else: it never removes a file it did not link, and
//! removes an original only when Cassandra took its link.

use std::io;
use std::path::{Path, PathBuf};

/// A staged import: the directory handed to Cassandra and the files linked into it.
#[derive(Debug)]
pub struct Staging {
    source: PathBuf,
    root: PathBuf,
    dir: PathBuf,
    linked: Vec<std::ffi::OsString>,
}

/// Whether Cassandra's importer lists SSTables in `dir` for `keyspace.table`.
pub fn named_for_table(dir: &Path, keyspace: &str, table: &str) -> bool {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(str::to_string)
    };
    let Some(table_dir) = name(Some(dir)) else {
        return false;
    };
    let table_name = match table_dir.split_once('-') {
        Some((name, _id)) => name.to_string(),
        None => table_dir,
    };
    table_name == table && name(dir.parent()).as_deref() == Some(keyspace)
}

impl Staging {
    /// Links every regular file of `source` into a staging directory named for the table, or
    /// `None` when `source` is already named so. Fails, leaving nothing behind, when a link
    /// cannot be made.
    pub fn prepare(
        source: &Path,
        keyspace: &str,
        table: &str,
        operation: &str,
    ) -> io::Result<Option<Staging>> {
        if named_for_table(source, keyspace, table) {
            return Ok(None);
        }
        let root = source.join(format!(".daedalus-import-{operation}"));
        let dir = root.join(keyspace).join(table);
        std::fs::create_dir_all(&dir)?;
        let mut staging = Staging {
            source: source.to_path_buf(),
            root,
            dir,
            linked: Vec::new(),
        };
        let linked = (|| {
            for entry in std::fs::read_dir(source)? {
                let entry = entry?;
                if !entry.file_type()?.is_file() {
                    continue;
                }
                std::fs::hard_link(entry.path(), staging.dir.join(entry.file_name()))?;
                staging.linked.push(entry.file_name());
            }
            Ok(())
        })();
        if let Err(e) = linked {
            let _ = std::fs::remove_dir_all(&staging.root);
            return Err(e);
        }
        Ok(Some(staging))
    }

    /// The directory to hand to Cassandra.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// After the import: with `moved` (copyData false) the originals whose links Cassandra took
    /// are removed; then the staging directory goes.
    pub fn finish(self, moved: bool) -> io::Result<()> {
        if moved {
            for name in &self.linked {
                if !self.dir.join(name).exists() {
                    std::fs::remove_file(self.source.join(name))?;
                }
            }
        }
        std::fs::remove_dir_all(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_importer_takes_only_directories_named_for_the_table() {
        assert!(named_for_table(Path::new("/r/ks/t"), "ks", "t"));
        assert!(named_for_table(
            Path::new("/r/ks/t-0123456789abcdef0123456789abcdef"),
            "ks",
            "t"
        ));
        assert!(!named_for_table(Path::new("/r/other/t"), "ks", "t"));
        assert!(!named_for_table(Path::new("/r/ks/u"), "ks", "t"));
        assert!(!named_for_table(Path::new("/r/import"), "ks", "t"));
    }

    #[test]
    fn moved_links_take_their_originals_and_the_rest_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("upload");
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(source.join("nb-1-big-Data.db"), "d").unwrap();
        std::fs::write(source.join("nb-1-big-TOC.txt"), "t").unwrap();
        let staging = Staging::prepare(&source, "ks", "t", "op").unwrap().unwrap();
        assert!(staging.dir().ends_with("ks/t"));
        // Cassandra moved one of the two.
        std::fs::remove_file(staging.dir().join("nb-1-big-Data.db")).unwrap();
        staging.finish(true).unwrap();
        assert!(!source.join("nb-1-big-Data.db").exists());
        assert!(source.join("nb-1-big-TOC.txt").exists());
        assert!(!source.join(".daedalus-import-op").exists());
    }

    #[test]
    fn copied_imports_leave_the_source_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("ks").join("t");
        std::fs::create_dir_all(&source).unwrap();
        assert!(Staging::prepare(&source, "ks", "t", "op")
            .unwrap()
            .is_none());
        let other = tmp.path().join("upload");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("nb-1-big-Data.db"), "d").unwrap();
        let staging = Staging::prepare(&other, "ks", "t", "op").unwrap().unwrap();
        staging.finish(false).unwrap();
        assert!(other.join("nb-1-big-Data.db").exists());
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    }
}
