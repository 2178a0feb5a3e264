//! What an operation type says about the paths its requests name: each path field and how
//! the sidecar uses it ([`PathField`], [`PathKind`]), and each path an operation will use
//! ([`UsedPath`]).
//!
//! Owns those declarations only: the rule that confines them is `paths.rs`'s. It must not
//! import any other module of `operations`.

/// How the sidecar uses the path a field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Read from, downloaded into, staged in or written to: confined to the allowed roots.
    Confined,
    /// A `storageLocation`: a `file://` one names a bucket directory the sidecar writes,
    /// reads and deletes in, confined like [`PathKind::Confined`]; other protocols name no
    /// local path.
    Location,
    /// One of the node's data directories (`dataDirs`).
    NodeData,
    /// Cassandra's directory (`cassandraDirectory`), whose `data` is a data directory of the
    /// node.
    CassandraHome,
    /// The directory of the node's `cassandra.yaml` (`cassandraConfigDirectory`).
    NodeConfig,
}

/// A request field that names a path on this host. `name` is the field as a 400 names it,
/// dotted for a nested object's (`import.sourceDir`); its value is a string or a list of
/// strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathField {
    pub name: &'static str,
    pub kind: PathKind,
}

impl PathField {
    pub const fn new(name: &'static str, kind: PathKind) -> PathField {
        PathField { name, kind }
    }
}

/// A path an operation will use: the declared field it comes from, as given or defaulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedPath {
    pub field: &'static str,
    pub path: String,
}

impl UsedPath {
    pub fn new(field: &'static str, path: impl Into<String>) -> UsedPath {
        UsedPath {
            field,
            path: path.into(),
        }
    }
}
