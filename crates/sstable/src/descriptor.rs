//! SSTable file names: `<version>-<generation>-<format>-<Component>`.
//!
//! Owns parsing a single file name into a [`Descriptor`] (which SSTable the file belongs to) and
//! its component name. It must not touch the file system; grouping files into sets is
//! `discover`'s job.
//!
//! Accepted forms (Cassandra 3.0 and later):
//! - sequence generations: `nb-1-big-Data.db`, `da-1-bti-Partitions.db`;
//! - UUID-based generations (4.1+, `uuid_sstable_identifiers_enabled`): the time-UUID written
//!   as base-36 in three `_`-separated groups of 4, 4 and 18 characters, e.g.
//!   `nb-3g1m_0nuf_3vj5m2k1125165rxa7-big-Data.db`.
//!
//! Not accepted: the pre-3.0 names that start with `<keyspace>-<table>-` (Cassandra 4.0+ cannot
//! import them anyway), and temporary files (`tmp-`, `tmplink-` prefixes), which Cassandra
//! writes while a flush or compaction is in flight and which are not SSTables yet.

use std::cmp::Ordering;
use std::fmt;

/// The generation part of a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Generation {
    /// A sequence number, e.g. the `1` of `nb-1-big`.
    Sequence(u64),
    /// A UUID-based identifier in Cassandra's base-36 text form (28 characters).
    Uuid(String),
}

impl Generation {
    fn parse(text: &str) -> Option<Generation> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().ok().map(Generation::Sequence);
        }
        let groups: Vec<&str> = text.split('_').collect();
        let shape_ok = groups.len() == 3
            && groups[0].len() == 4
            && groups[1].len() == 4
            && groups[2].len() == 18
            && groups.iter().all(|g| {
                g.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            });
        shape_ok.then(|| Generation::Uuid(text.to_owned()))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Generation::Sequence(n) => write!(f, "{n}"),
            Generation::Uuid(s) => f.write_str(s),
        }
    }
}

impl Ord for Generation {
    /// Sequence generations sort numerically and before UUID ones; UUID ones sort by text,
    /// which for Cassandra's fixed-width base-36 form is creation order.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Generation::Sequence(a), Generation::Sequence(b)) => a.cmp(b),
            (Generation::Sequence(_), Generation::Uuid(_)) => Ordering::Less,
            (Generation::Uuid(_), Generation::Sequence(_)) => Ordering::Greater,
            (Generation::Uuid(a), Generation::Uuid(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Generation {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The on-disk format family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `big`: the classic format (all versions).
    Big,
    /// `bti`: the trie-indexed format (Cassandra 5.0).
    Bti,
    /// Any other lowercase format name, kept so a caller can report it.
    Other(String),
}

impl Format {
    fn parse(text: &str) -> Option<Format> {
        match text {
            "big" => Some(Format::Big),
            "bti" => Some(Format::Bti),
            _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase()) => {
                Some(Format::Other(text.to_owned()))
            }
            _ => None,
        }
    }

    /// The name used in file names.
    pub fn as_str(&self) -> &str {
        match self {
            Format::Big => "big",
            Format::Bti => "bti",
            Format::Other(s) => s,
        }
    }
}

/// Which SSTable a file belongs to: `<version>-<generation>-<format>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Descriptor {
    /// Two lowercase letters, e.g. `nb`, `oa`, `da`.
    pub version: String,
    pub generation: Generation,
    pub format: Format,
}

impl Descriptor {
    /// True for a `bti` version below `da`: those were written by DataStax's fork, and Apache
    /// Cassandra's `BtiFormat` refuses them ("versions aa-cz are not supported in OSS").
    /// Preflight does not reject them (their structure is the same); the import will fail.
    pub fn is_datastax_only(&self) -> bool {
        self.format == Format::Bti && self.version.as_str() < "da"
    }
}

impl fmt::Display for Descriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}",
            self.version,
            self.generation,
            self.format.as_str()
        )
    }
}

/// A parsed SSTable file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub descriptor: Descriptor,
    /// The component, e.g. `Data.db`, `TOC.txt`, `Digest.crc32`, `SAI+aa+GroupMeta.db`.
    pub component: String,
}

/// Parses one file name (no directory part). `None` when the name is not an SSTable component.
pub fn parse_file_name(name: &str) -> Option<ParsedName> {
    let mut parts = name.splitn(4, '-');
    let version = parts.next()?;
    let generation = parts.next()?;
    let format = parts.next()?;
    let component = parts.next()?;
    let version_ok = version.len() == 2 && version.bytes().all(|b| b.is_ascii_lowercase());
    if !version_ok || !valid_component(component) {
        return None;
    }
    Some(ParsedName {
        descriptor: Descriptor {
            version: version.to_owned(),
            generation: Generation::parse(generation)?,
            format: Format::parse(format)?,
        },
        component: component.to_owned(),
    })
}

/// A component name: starts with a letter, has a `.` extension, and only uses the characters
/// Cassandra's component names use (letters, digits, `_`, `+`, `.`).
fn valid_component(c: &str) -> bool {
    c.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && c.contains('.')
        && !c.ends_with('.')
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(name: &str) -> (String, String) {
        let p = parse_file_name(name).unwrap_or_else(|| panic!("{name} should parse"));
        (p.descriptor.to_string(), p.component)
    }

    #[test]
    fn sequence_generations() {
        assert_eq!(
            parsed("nb-1-big-Data.db"),
            ("nb-1-big".into(), "Data.db".into())
        );
        assert_eq!(
            parsed("da-1-bti-Partitions.db"),
            ("da-1-bti".into(), "Partitions.db".into())
        );
        assert_eq!(
            parsed("oa-13-big-Digest.crc32"),
            ("oa-13-big".into(), "Digest.crc32".into())
        );
        let p = parse_file_name("md-2-big-TOC.txt").unwrap();
        assert_eq!(p.descriptor.generation, Generation::Sequence(2));
        assert_eq!(p.descriptor.format, Format::Big);
        assert_eq!(p.descriptor.version, "md");
    }

    #[test]
    fn uuid_generations() {
        let p = parse_file_name("oa-3gdg_0ofm_2khbk2ltk7ulmy1ow8-bti-TOC.txt").unwrap();
        assert_eq!(
            p.descriptor.generation,
            Generation::Uuid("3gdg_0ofm_2khbk2ltk7ulmy1ow8".into())
        );
        assert_eq!(p.descriptor.format, Format::Bti);
        assert_eq!(
            p.descriptor.to_string(),
            "oa-3gdg_0ofm_2khbk2ltk7ulmy1ow8-bti"
        );
        assert_eq!(p.component, "TOC.txt");
    }

    #[test]
    fn sai_component_names() {
        let (_, c) = parsed("da-1-bti-SAI+aa+tbl_idx+Meta.db");
        assert_eq!(c, "SAI+aa+tbl_idx+Meta.db");
    }

    #[test]
    fn rejects_non_sstable_names() {
        for name in [
            "README.md",
            "nb-1-big",
            "nb-1-big-",
            "nb-x-big-Data.db",
            "NB-1-big-Data.db",
            "nbb-1-big-Data.db",
            "nb-1-BIG-Data.db",
            "nb-1-big-Data",
            "nb-1-big-Data.db.tmp~",
            "tmp-nb-1-big-Data.db",
            "tmplink-nb-1-big-Data.db",
            "ks-tbl-ka-1-Data.db",
            "nb-3gdg_0ofm_2khbk-big-Data.db",
            "nb-3GDG_0ofm_2khbk2ltk7ulmy1ow8-big-Data.db",
            "nb-99999999999999999999999-big-Data.db",
            ".nb-1-big-Data.db",
        ] {
            assert_eq!(parse_file_name(name), None, "{name} must not parse");
        }
    }

    #[test]
    fn datastax_bti_versions_are_flagged() {
        let dse = parse_file_name("bb-1-bti-Data.db").unwrap().descriptor;
        assert!(dse.is_datastax_only());
        let apache = parse_file_name("da-1-bti-Data.db").unwrap().descriptor;
        assert!(!apache.is_datastax_only());
        let big = parse_file_name("bb-1-big-Data.db").unwrap().descriptor;
        assert!(!big.is_datastax_only());
    }

    #[test]
    fn generations_order() {
        let mut gens = vec![
            Generation::Uuid("3gdg_0ofm_2khbk2ltk7ulmy1ow8".into()),
            Generation::Sequence(10),
            Generation::Sequence(2),
        ];
        gens.sort();
        assert_eq!(
            gens,
            vec![
                Generation::Sequence(2),
                Generation::Sequence(10),
                Generation::Uuid("3gdg_0ofm_2khbk2ltk7ulmy1ow8".into())
            ]
        );
    }
}
