//! Import preflight: every SSTable set in a directory is complete and its data is intact.
//!
//! Owns the checks run before an import reaches Cassandra: required components present, every
//! component named by `TOC.txt` present, and (unless disabled) the CRC32 of the whole `Data.db`
//! equal to the decimal number in `Digest.crc32`. `Data.db` is checksummed in segments by up
//! to two threads (`parallel_crc`), each reading through one fixed buffer ([`BUFFER_SIZE`]), and
//! never read whole. It must not modify, move or delete anything, and knows
//! nothing about how the result is used (JMX, operations, HTTP).
//!
//! The digest is taken over `Data.db` exactly as on disk, compressed or not: Cassandra computes
//! it over the bytes it writes (checked against every fixture set, compressed and uncompressed).

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::descriptor::Descriptor;
use crate::discover::{discover, SSTableSet};
pub use crate::parallel_crc::BUFFER_SIZE;
use crate::parallel_crc::{crc32_of_file, CrcError};

/// Components every set must have, whatever its TOC says.
pub const REQUIRED_COMPONENTS: [&str; 3] = ["Data.db", "Statistics.db", "TOC.txt"];

const DATA: &str = "Data.db";
const TOC: &str = "TOC.txt";
const DIGEST: &str = "Digest.crc32";
/// Larger TOC or digest files are not what Cassandra writes; refuse rather than read them.
const TOC_MAX_BYTES: u64 = 64 * 1024;
const DIGEST_MAX_BYTES: u64 = 64;

/// What to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightOptions {
    /// Compare the CRC32 of each `Data.db` with its `Digest.crc32` (the expensive part).
    pub verify_digest: bool,
}

impl Default for PreflightOptions {
    fn default() -> Self {
        PreflightOptions {
            verify_digest: true,
        }
    }
}

/// How far preflight is. `total_bytes` is the sum of the `Data.db` sizes of all sets; with digest
/// verification `checked_bytes` grows as they are hashed, without it it jumps to the total once
/// the structure checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub checked_bytes: u64,
    pub total_bytes: u64,
}

impl Progress {
    /// `checked / total` in `0.0..=1.0` (1.0 when there is nothing to check).
    pub fn fraction(&self) -> f64 {
        if self.total_bytes == 0 {
            1.0
        } else {
            (self.checked_bytes as f64 / self.total_bytes as f64).min(1.0)
        }
    }
}

/// What the digest check concluded for one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOutcome {
    /// `Data.db` hashed to the value in `Digest.crc32`.
    Verified { crc32: u32 },
    /// Digest verification was disabled.
    NotChecked,
    /// The set has no `Digest.crc32` and its TOC does not list one, so there is nothing to check
    /// against.
    NoDigest,
}

/// One set that passed preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSummary {
    /// e.g. `nb-1-big`.
    pub name: String,
    pub descriptor: Descriptor,
    /// Component names present on disk, sorted.
    pub components: Vec<String>,
    /// Sum of all component sizes.
    pub bytes: u64,
    pub digest: DigestOutcome,
}

/// The outcome of a successful preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub sets: Vec<SetSummary>,
    /// Sum of all component sizes of all sets.
    pub total_bytes: u64,
}

/// Why preflight refused a directory. Set-specific variants name the set (e.g. `nb-1-big`) and
/// the component.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("cannot list {}: {source}", dir.display())]
    ListDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no SSTables in {}", dir.display())]
    NoSSTables { dir: PathBuf },
    #[error("SSTable {set}: required component {component} is missing")]
    MissingComponent { set: String, component: String },
    #[error("SSTable {set}: TOC.txt lists {component} but the file is absent")]
    TocListsAbsent { set: String, component: String },
    #[error("SSTable {set}: TOC.txt is invalid: {reason}")]
    InvalidToc { set: String, reason: String },
    #[error("SSTable {set}: Digest.crc32 does not hold a CRC32 value: {content:?}")]
    InvalidDigest { set: String, content: String },
    #[error(
        "SSTable {set}: Data.db does not match Digest.crc32 (expected CRC32 {expected}, actual {actual})"
    )]
    DigestMismatch {
        set: String,
        expected: u32,
        actual: u32,
    },
    #[error("SSTable {set}: {component} changed while being checked (listed {listed} bytes, read {read})")]
    Changed {
        set: String,
        component: String,
        listed: u64,
        read: u64,
    },
    #[error("SSTable {set}: cannot read {component}: {source}")]
    Unreadable {
        set: String,
        component: String,
        #[source]
        source: io::Error,
    },
    #[error("preflight cancelled")]
    Cancelled,
}

impl PreflightError {
    /// The set the error is about, when it is about one.
    pub fn set(&self) -> Option<&str> {
        match self {
            PreflightError::MissingComponent { set, .. }
            | PreflightError::TocListsAbsent { set, .. }
            | PreflightError::InvalidToc { set, .. }
            | PreflightError::InvalidDigest { set, .. }
            | PreflightError::DigestMismatch { set, .. }
            | PreflightError::Changed { set, .. }
            | PreflightError::Unreadable { set, .. } => Some(set),
            PreflightError::ListDir { .. }
            | PreflightError::NoSSTables { .. }
            | PreflightError::Cancelled => None,
        }
    }

    /// The component the error is about, when it is about one.
    pub fn component(&self) -> Option<&str> {
        match self {
            PreflightError::MissingComponent { component, .. }
            | PreflightError::TocListsAbsent { component, .. }
            | PreflightError::Changed { component, .. }
            | PreflightError::Unreadable { component, .. } => Some(component),
            PreflightError::InvalidToc { .. } => Some(TOC),
            PreflightError::InvalidDigest { .. } => Some(DIGEST),
            PreflightError::DigestMismatch { .. } => Some(DATA),
            PreflightError::ListDir { .. }
            | PreflightError::NoSSTables { .. }
            | PreflightError::Cancelled => None,
        }
    }
}

/// Checks every SSTable set in `dir` (not recursively).
///
/// Structure checks run on all sets first (cheap), so a missing file is reported before any
/// hashing. `progress` is called before work starts, after every buffer hashed and at the end;
/// returning `ControlFlow::Break(())` stops preflight with [`PreflightError::Cancelled`].
pub fn preflight(
    dir: &Path,
    options: PreflightOptions,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Report, PreflightError> {
    let sets = discover(dir).map_err(|e| PreflightError::ListDir {
        dir: e.path,
        source: e.source,
    })?;
    if sets.is_empty() {
        return Err(PreflightError::NoSSTables {
            dir: dir.to_path_buf(),
        });
    }
    let total_data: u64 = sets.iter().filter_map(|s| s.size_of(DATA)).sum();
    let mut report_progress = |checked_bytes| match progress(Progress {
        checked_bytes,
        total_bytes: total_data,
    }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(PreflightError::Cancelled),
    };
    report_progress(0)?;

    let mut expected_digests = Vec::with_capacity(sets.len());
    for set in &sets {
        check_structure(set)?;
        expected_digests.push(if options.verify_digest && set.size_of(DIGEST).is_some() {
            Some(read_digest(set)?)
        } else {
            None
        });
    }

    let mut summaries = Vec::with_capacity(sets.len());
    let mut checked = 0u64;
    for (set, expected) in sets.iter().zip(expected_digests) {
        let digest = match expected {
            Some(expected) => {
                let actual = crc32_of_data(set, checked, &mut report_progress)?;
                if actual != expected {
                    return Err(PreflightError::DigestMismatch {
                        set: set.name(),
                        expected,
                        actual,
                    });
                }
                DigestOutcome::Verified { crc32: actual }
            }
            None if options.verify_digest => DigestOutcome::NoDigest,
            None => DigestOutcome::NotChecked,
        };
        checked += set.size_of(DATA).unwrap_or(0);
        report_progress(checked)?;
        summaries.push(SetSummary {
            name: set.name(),
            descriptor: set.descriptor.clone(),
            components: set.components.keys().cloned().collect(),
            bytes: set.total_bytes,
            digest,
        });
    }
    Ok(Report {
        total_bytes: sets.iter().map(|s| s.total_bytes).sum(),
        sets: summaries,
    })
}

/// Required components present, and every TOC entry present.
fn check_structure(set: &SSTableSet) -> Result<(), PreflightError> {
    for component in REQUIRED_COMPONENTS {
        if set.size_of(component).is_none() {
            return Err(PreflightError::MissingComponent {
                set: set.name(),
                component: component.to_owned(),
            });
        }
    }
    let toc = read_small(set, TOC, TOC_MAX_BYTES)?;
    let toc = String::from_utf8(toc).map_err(|_| PreflightError::InvalidToc {
        set: set.name(),
        reason: "not UTF-8 text".to_owned(),
    })?;
    let mut listed_any = false;
    for line in toc.lines().map(str::trim).filter(|l| !l.is_empty()) {
        listed_any = true;
        if set.size_of(line).is_none() {
            return Err(PreflightError::TocListsAbsent {
                set: set.name(),
                component: line.to_owned(),
            });
        }
    }
    if !listed_any {
        return Err(PreflightError::InvalidToc {
            set: set.name(),
            reason: "it lists no components".to_owned(),
        });
    }
    Ok(())
}

/// The value stored in `Digest.crc32`: decimal text, surrounding whitespace allowed.
fn read_digest(set: &SSTableSet) -> Result<u32, PreflightError> {
    let raw = read_small(set, DIGEST, DIGEST_MAX_BYTES)?;
    let text = String::from_utf8_lossy(&raw);
    let trimmed = text.trim();
    let valid = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| trimmed.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| PreflightError::InvalidDigest {
            set: set.name(),
            content: text.chars().take(64).collect(),
        })
}

/// Reads a small component whole, refusing files over `max` bytes.
fn read_small(set: &SSTableSet, component: &str, max: u64) -> Result<Vec<u8>, PreflightError> {
    let unreadable = |source| PreflightError::Unreadable {
        set: set.name(),
        component: component.to_owned(),
        source,
    };
    let file = File::open(set.path_of(component)).map_err(unreadable)?;
    let mut content = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut content)
        .map_err(unreadable)?;
    if content.len() as u64 > max {
        return Err(unreadable(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        )));
    }
    Ok(content)
}

/// CRC32 of the whole `Data.db`, reporting progress as its segments are checksummed.
fn crc32_of_data(
    set: &SSTableSet,
    checked_before: u64,
    report: &mut dyn FnMut(u64) -> Result<(), PreflightError>,
) -> Result<u32, PreflightError> {
    let unreadable = |source| PreflightError::Unreadable {
        set: set.name(),
        component: DATA.to_owned(),
        source,
    };
    let listed = set.size_of(DATA).unwrap_or(0);
    let path = set.path_of(DATA);
    let file = File::open(&path).map_err(unreadable)?;
    let outcome = crc32_of_file(&file, &path, listed, &mut |hashed| match report(
        checked_before + hashed,
    ) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    });
    let (crc, read) = match outcome {
        Ok(done) => done,
        Err(CrcError::Read(e)) => return Err(unreadable(e)),
        Err(CrcError::Stopped(e)) => return Err(e),
    };
    if read != listed {
        return Err(PreflightError::Changed {
            set: set.name(),
            component: DATA.to_owned(),
            listed,
            read,
        });
    }
    Ok(crc)
}
