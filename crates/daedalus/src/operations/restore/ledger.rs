//! What a restore's DOWNLOAD created in its download directory (`import.sourceDir`): the
//! ledger file there names every directory it made and every file it was about to write, each
//! recorded before it is made or written, so that CLEANUP (another request, maybe after a
//! restart) removes those (and the temporary files an interrupted download of them left) and
//! nothing else. A file that was there before, under the same name as a backup's file, is
//! never removed, nor overwritten.
//!
//! Owns the ledger's format, the directories DOWNLOAD creates and the removals of CLEANUP. It
//! must not download (`phases`) nor choose the files (`targets`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use backup::confine;
use backup::transfer;

/// The ledger's name inside the download directory.
pub const FILE_NAME: &str = ".daedalus-restore-ledger";

/// The ledger of one download directory. Its entries are absolute paths; CLEANUP removes an
/// entry only if it is one of the restore's own destinations (or a directory holding them), so
/// an entry naming anything else removes nothing.
#[derive(Debug)]
pub struct Ledger {
    source_dir: PathBuf,
    dirs: BTreeSet<PathBuf>,
    files: BTreeSet<PathBuf>,
}

/// What CLEANUP removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub files: usize,
    /// Files of the backup in the download directory that the restore did not write: kept.
    pub kept: usize,
}

impl Ledger {
    /// The ledger of `source_dir`; none yet is an empty one.
    pub fn read(source_dir: &Path) -> Result<Ledger, String> {
        let mut ledger = Ledger {
            source_dir: source_dir.to_path_buf(),
            dirs: BTreeSet::new(),
            files: BTreeSet::new(),
        };
        let path = ledger.path();
        let text = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            Ok(meta) if !meta.is_file() => {
                return Err(format!(
                    "{} is not a regular file: the restore keeps its ledger there",
                    path.display()
                ))
            }
            Ok(_) => std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        };
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("dir", p)) => {
                    ledger.dirs.insert(PathBuf::from(p));
                }
                Some(("file", p)) => {
                    ledger.files.insert(PathBuf::from(p));
                }
                // A line cut short by a crash, or unknown: it names nothing to remove.
                _ => {}
            }
        }
        Ok(ledger)
    }

    fn path(&self) -> PathBuf {
        self.source_dir.join(FILE_NAME)
    }

    /// Whether the restore wrote (or was about to write) `file`.
    pub fn owns(&self, file: &Path) -> bool {
        self.files.contains(file)
    }

    /// Makes the directories of `files` exist, recording each directory it creates and each
    /// file not yet there before anything is created or written. Every directory created and
    /// every file must resolve inside `within` (none: anywhere), so a symbolic link met on the
    /// way cannot lead outside.
    pub fn prepare(&mut self, files: &[PathBuf], within: &[PathBuf]) -> Result<(), String> {
        let inside = |path: &Path| -> Result<(), String> {
            if within.is_empty() || confine::is_inside(path, within) {
                return Ok(());
            }
            Err(format!(
                "{} resolves outside every allowed root ({}, set with --allowed-root): a \
                 symbolic link in the download directory leads out of them; nothing was written \
                 there",
                path.display(),
                within
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        // The download directory first: the ledger lives in it.
        let mut above = Vec::new();
        let mut dir = self.source_dir.clone();
        while std::fs::symlink_metadata(&dir).is_err() {
            above.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
        for dir in above.iter().rev() {
            inside(dir)?;
            create_dir(dir)?;
        }
        self.append(above.iter().rev().map(|d| ("dir", d.as_path())))?;
        self.dirs.extend(above);

        let mut new_dirs = BTreeSet::new();
        for file in files {
            inside(file)?;
            let mut dir = file.parent().map(Path::to_path_buf);
            while let Some(d) = dir {
                if !d.starts_with(&self.source_dir) || d == self.source_dir {
                    break;
                }
                if std::fs::symlink_metadata(&d).is_err() {
                    new_dirs.insert(d.clone());
                }
                dir = d.parent().map(Path::to_path_buf);
            }
        }
        let new_files: Vec<&PathBuf> = files
            .iter()
            .filter(|f| !self.files.contains(*f) && std::fs::symlink_metadata(f).is_err())
            .collect();
        self.append(
            new_dirs
                .iter()
                .map(|d| ("dir", d.as_path()))
                .chain(new_files.iter().map(|f| ("file", f.as_path()))),
        )?;
        // Parents sort before their children.
        for dir in &new_dirs {
            inside(dir)?;
            create_dir(dir)?;
        }
        self.dirs.extend(new_dirs);
        self.files.extend(new_files.into_iter().cloned());
        Ok(())
    }

    /// CLEANUP: removes each of `files` the restore wrote, then the directories it created
    /// that are now empty, then the ledger once it names nothing more. `files` are the
    /// restore's destinations; any other entry of the ledger is left as it is.
    pub fn remove(&mut self, files: &[PathBuf]) -> Result<Removed, String> {
        let mut removed = Removed::default();
        for file in files {
            if !self.files.contains(file) {
                if std::fs::symlink_metadata(file).is_ok() {
                    removed.kept += 1;
                }
                continue;
            }
            match std::fs::remove_file(file) {
                Ok(()) => removed.files += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("removing {}: {e}", file.display())),
            }
            remove_temporaries(file);
            self.files.remove(file);
        }
        // Deepest first; only directories holding the restore's destinations, the download
        // directory and those created above it; a directory not empty stays.
        let holders: BTreeSet<&Path> = files.iter().flat_map(|f| f.ancestors().skip(1)).collect();
        let mut dirs: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|d| d.starts_with(&self.source_dir) && holders.contains(d.as_path()))
            .filter(|d| **d != self.source_dir)
            .cloned()
            .collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                self.dirs.remove(&dir);
            }
        }
        let below = |p: &PathBuf| p.starts_with(&self.source_dir) && *p != self.source_dir;
        if self.files.is_empty() && !self.dirs.iter().any(below) {
            match std::fs::remove_file(self.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("removing {}: {e}", self.path().display())),
            }
            let mut above: Vec<&PathBuf> = self
                .dirs
                .iter()
                .filter(|d| self.source_dir.starts_with(d))
                .collect();
            above.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for dir in above {
                let _ = std::fs::remove_dir(dir);
            }
            self.dirs.clear();
        } else {
            self.rewrite()?;
        }
        Ok(removed)
    }

    /// Adds lines to the ledger and syncs it, before what they name is made.
    fn append<'a>(&self, entries: impl Iterator<Item = (&'a str, &'a Path)>) -> Result<(), String> {
        let mut text = String::new();
        for (kind, path) in entries {
            text.push_str(&format!("{kind} {}\n", path.display()));
        }
        if text.is_empty() {
            return Ok(());
        }
        let path = self.path();
        let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(format!("{} is not a regular file", path.display()));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)
    }

    /// Writes the ledger anew with what it still names.
    fn rewrite(&self) -> Result<(), String> {
        let path = self.path();
        let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let mut text = String::new();
        for dir in &self.dirs {
            text.push_str(&format!("dir {}\n", dir.display()));
        }
        for file in &self.files {
            text.push_str(&format!("file {}\n", file.display()));
        }
        let temp = self.source_dir.join(format!("{FILE_NAME}.new"));
        std::fs::write(&temp, text).map_err(failed)?;
        std::fs::rename(&temp, &path).map_err(failed)
    }
}

/// Removes what an interrupted download of `file` left beside it (its temporary files).
fn remove_temporaries(file: &Path) {
    let Some(dir) = file.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if transfer::is_temporary_of(file, &path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn create_dir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_removes_what_the_download_made_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let source = base.join("new/src");
        let table = source.join("ks/t-1");
        let files = [
            table.join("nb-1-big-Data.db"),
            table.join(".idx/nb-1-big-Data.db"),
        ];

        let mut ledger = Ledger::read(&source).unwrap();
        ledger.prepare(&files, &[]).unwrap();
        assert!(table.join(".idx").is_dir());
        for f in &files {
            std::fs::write(f, "downloaded").unwrap();
        }
        // What a download cut short by a crash leaves beside a file.
        let partial = table.join(".nb-1-big-Data.db.a1B2c3.partial");
        std::fs::write(&partial, "half").unwrap();
        // Another file beside them, and one of the backup's names the restore did not write.
        std::fs::write(table.join("notes.txt"), "mine").unwrap();
        let foreign = table.join("nb-2-big-Data.db");
        std::fs::write(&foreign, "mine too").unwrap();

        let mut again = Ledger::read(&source).unwrap();
        assert!(again.owns(&files[0]) && !again.owns(&foreign));
        let mut all = files.to_vec();
        all.push(foreign.clone());
        let removed = again.remove(&all).unwrap();
        assert_eq!(removed, Removed { files: 2, kept: 1 });
        assert!(!files[0].exists() && !files[1].exists() && !partial.exists());
        assert!(foreign.exists() && table.join("notes.txt").exists());
        assert!(
            source.join(FILE_NAME).exists(),
            "kept: a directory it made is not empty"
        );

        std::fs::remove_file(&foreign).unwrap();
        std::fs::remove_file(table.join("notes.txt")).unwrap();
        Ledger::read(&source).unwrap().remove(&all).unwrap();
        assert!(
            !base.join("new").exists(),
            "every directory it made is gone"
        );
    }

    #[test]
    fn a_pre_existing_download_directory_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().canonicalize().unwrap().join("src");
        std::fs::create_dir(&source).unwrap();
        let file = source.join("ks/t-1/nb-1-big-Data.db");
        let mut ledger = Ledger::read(&source).unwrap();
        ledger.prepare(std::slice::from_ref(&file), &[]).unwrap();
        std::fs::write(&file, "x").unwrap();
        Ledger::read(&source).unwrap().remove(&[file]).unwrap();
        assert!(source.is_dir());
        assert_eq!(std::fs::read_dir(&source).unwrap().count(), 0);
    }

    #[test]
    fn nothing_is_created_through_a_link_leading_out() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("src/ks")).unwrap();
        let mut ledger = Ledger::read(&root.join("src")).unwrap();
        let e = ledger
            .prepare(
                &[root.join("src/ks/t-1/nb-1-big-Data.db")],
                std::slice::from_ref(&root),
            )
            .unwrap_err();
        assert!(e.contains("outside every allowed root"), "{e}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
