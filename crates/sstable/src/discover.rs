//! Grouping the files of one directory into SSTable sets.
//!
//! Owns listing a directory (not recursively) and collecting each descriptor's components with
//! their sizes. It must not open or read the files; checking them is `preflight`'s job.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::descriptor::{parse_file_name, Descriptor};

/// The files of one SSTable found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SSTableSet {
    pub descriptor: Descriptor,
    /// The directory the files are in.
    pub dir: PathBuf,
    /// Component name (e.g. `Data.db`) → file size in bytes.
    pub components: BTreeMap<String, u64>,
    /// Sum of the component sizes.
    pub total_bytes: u64,
}

impl SSTableSet {
    /// The set's name as used in messages, e.g. `nb-1-big`.
    pub fn name(&self) -> String {
        self.descriptor.to_string()
    }

    /// Path of one component's file (whether or not it exists).
    pub fn path_of(&self, component: &str) -> PathBuf {
        self.dir.join(format!("{}-{component}", self.descriptor))
    }

    /// Size of a component, when the set has it.
    pub fn size_of(&self, component: &str) -> Option<u64> {
        self.components.get(component).copied()
    }
}

/// Listing the directory failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list {}: {source}", path.display())]
pub struct DiscoverError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Lists `dir` (not recursively) and groups its SSTable files into sets, ordered by descriptor.
///
/// Files whose names are not SSTable components, directories and other non-regular entries are
/// ignored. Symlinks are followed (a symlinked component counts with its target's size).
pub fn discover(dir: &Path) -> Result<Vec<SSTableSet>, DiscoverError> {
    let err = |source| DiscoverError {
        path: dir.to_path_buf(),
        source,
    };
    let mut sets: BTreeMap<Descriptor, BTreeMap<String, u64>> = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some(parsed) = parse_file_name(name) else {
            continue;
        };
        let metadata = match fs::metadata(entry.path()) {
            Ok(m) => m,
            // A dangling symlink or a file removed while listing: not an SSTable file we can use.
            // Preflight reports the set's missing component if it matters.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(DiscoverError {
                    path: entry.path(),
                    source: e,
                })
            }
        };
        if !metadata.is_file() {
            continue;
        }
        sets.entry(parsed.descriptor)
            .or_default()
            .insert(parsed.component, metadata.len());
    }
    Ok(sets
        .into_iter()
        .map(|(descriptor, components)| SSTableSet {
            total_bytes: components.values().sum(),
            descriptor,
            dir: dir.to_path_buf(),
            components,
        })
        .collect())
}
