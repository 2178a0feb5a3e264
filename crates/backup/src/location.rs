//! `storageLocation` parsing, as Esop reads it: `s3|gcp|azure://bucket[/cluster/dc/node]` and
//! `file:///directory/bucket/cluster/dc/node`.
//!
//! Owns the parsed form and the node prefix (`cluster/dc/node`) every node object lives under.
//! It must not build object stores (that is `store`) nor know object keys below the prefix
//! (that is `layout`).

use std::fmt;
use std::path::PathBuf;

/// The storage provider named by a location's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// `s3://`: Amazon S3 or an S3-compatible server.
    S3,
    /// `gcp://`: Google Cloud Storage.
    Gcp,
    /// `azure://`: Azure Blob Storage (the bucket is the container).
    Azure,
    /// `file://`: a local or mounted directory.
    File,
}

impl Provider {
    /// The protocol as written in a location (`s3`, `gcp`, `azure`, `file`).
    pub fn protocol(self) -> &'static str {
        match self {
            Provider::S3 => "s3",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
            Provider::File => "file",
        }
    }
}

/// Why a `storageLocation` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// No `://` separates a protocol from the rest.
    #[error(
        "storageLocation {location:?} has no protocol: expected protocol://bucket/cluster/dc/node"
    )]
    MissingProtocol { location: String },
    /// The protocol is not one of `s3`, `gcp`, `azure`, `file`.
    #[error("storageLocation {location:?}: protocol {protocol:?} is not supported (use s3, gcp, azure or file)")]
    UnsupportedProtocol { location: String, protocol: String },
    /// A cloud location has neither one part (global) nor four (node).
    #[error(
        "storageLocation {location:?} has {parts} path parts: expected {protocol}://bucket (global) or {protocol}://bucket/cluster/dc/node"
    )]
    WrongPartCount {
        location: String,
        protocol: &'static str,
        parts: usize,
    },
    /// A `file://` location lacks the directory, bucket, cluster, dc or node.
    #[error(
        "storageLocation {location:?} is not in form file:///some/directory/bucket/cluster/dc/node"
    )]
    FileForm { location: String },
    /// One part (bucket, cluster, dc or node) is empty, `.`/`..`, or holds `/`, `\` or a control character.
    #[error("storageLocation {location:?}: {part} {value:?} must be a non-empty name without '/', '\\' or control characters")]
    BadPart {
        location: String,
        part: &'static str,
        value: String,
    },
}

/// The facts of the node a backup belongs to, read by the caller (cluster name, the snitch's
/// datacenter, the node's host id). They fill the node prefix of a global location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    pub cluster: String,
    pub dc: String,
    pub node: String,
}

/// A parsed `storageLocation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLocation {
    /// The location as given, without a trailing `/`.
    pub raw: String,
    pub provider: Provider,
    /// The bucket (S3, GCS), container (Azure) or directory below `directory` (file).
    pub bucket: String,
    /// `file://` only: the directory holding the bucket directory.
    pub directory: Option<PathBuf>,
    /// `None` for a global location (`proto://bucket`).
    pub node: Option<NodePath>,
}

/// The `cluster/dc/node` prefix of one node's objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePath {
    pub cluster: String,
    pub dc: String,
    pub node: String,
}

impl NodePath {
    /// The prefix every object of this node lives under: `cluster/dc/node`.
    pub fn prefix(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.dc, self.node)
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.cluster, self.dc, self.node)
    }
}

impl StorageLocation {
    /// Parses a location exactly as Esop does: a trailing `/` is dropped; a cloud location is
    /// `proto://bucket` (global) or `proto://bucket/cluster/dc/node`; a file location always
    /// names the node, its last four path parts being bucket, cluster, dc and node.
    pub fn parse(raw: &str) -> Result<StorageLocation, LocationError> {
        let trimmed = raw.trim();
        let raw = trimmed.strip_suffix('/').unwrap_or(trimmed).to_string();
        let Some((protocol, rest)) = raw.split_once("://") else {
            return Err(LocationError::MissingProtocol { location: raw });
        };
        let provider = match protocol {
            "s3" => Provider::S3,
            "gcp" => Provider::Gcp,
            "azure" => Provider::Azure,
            "file" => Provider::File,
            other => {
                return Err(LocationError::UnsupportedProtocol {
                    protocol: other.to_string(),
                    location: raw.clone(),
                })
            }
        };
        if provider == Provider::File {
            return Self::parse_file(raw.clone(), rest);
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let check = |part: &'static str, value: &str| check_part(&raw, part, value);
        match parts.as_slice() {
            [bucket] => {
                check("bucket", bucket)?;
                Ok(StorageLocation {
                    bucket: bucket.to_string(),
                    provider,
                    directory: None,
                    node: None,
                    raw: raw.clone(),
                })
            }
            [bucket, cluster, dc, node] => {
                check("bucket", bucket)?;
                check("cluster", cluster)?;
                check("dc", dc)?;
                check("node", node)?;
                Ok(StorageLocation {
                    bucket: bucket.to_string(),
                    provider,
                    directory: None,
                    node: Some(NodePath {
                        cluster: cluster.to_string(),
                        dc: dc.to_string(),
                        node: node.to_string(),
                    }),
                    raw: raw.clone(),
                })
            }
            _ => Err(LocationError::WrongPartCount {
                location: raw.clone(),
                protocol: provider.protocol(),
                parts: parts.len(),
            }),
        }
    }

    fn parse_file(raw: String, rest: &str) -> Result<StorageLocation, LocationError> {
        // `file:///tmp/a/b/c/d`: rest is `/tmp/a/b/c/d`; the directory is everything before
        // the last four parts, as Esop's greedy `(.*)://(.*)/(.*)/(.*)/(.*)/(.*)`.
        let mut parts: Vec<&str> = rest.rsplitn(5, '/').collect();
        if parts.len() != 5 {
            return Err(LocationError::FileForm { location: raw });
        }
        parts.reverse();
        let (directory, bucket, cluster, dc, node) =
            (parts[0], parts[1], parts[2], parts[3], parts[4]);
        if directory.is_empty() {
            return Err(LocationError::FileForm { location: raw });
        }
        for (part, value) in [
            ("bucket", bucket),
            ("cluster", cluster),
            ("dc", dc),
            ("node", node),
        ] {
            check_part(&raw, part, value)?;
        }
        Ok(StorageLocation {
            provider: Provider::File,
            bucket: bucket.to_string(),
            directory: Some(PathBuf::from(directory)),
            node: Some(NodePath {
                cluster: cluster.to_string(),
                dc: dc.to_string(),
                node: node.to_string(),
            }),
            raw,
        })
    }

    /// True for `proto://bucket` alone: the nodes' facts fill in cluster, dc and node.
    pub fn is_global(&self) -> bool {
        self.node.is_none()
    }

    /// The node prefix this location names, or the node's own when the location is global.
    pub fn node_path(&self, facts: &NodeFacts) -> NodePath {
        self.node.clone().unwrap_or_else(|| NodePath {
            cluster: facts.cluster.clone(),
            dc: facts.dc.clone(),
            node: facts.node.clone(),
        })
    }

    /// This location with its node prefix replaced by the given node's (Esop's
    /// `StorageLocation.update`, used when a global request reaches each node).
    pub fn for_node(&self, facts: &NodeFacts) -> Result<StorageLocation, LocationError> {
        for (part, value) in [
            ("cluster", &facts.cluster),
            ("dc", &facts.dc),
            ("node", &facts.node),
        ] {
            check_part(&self.raw, part, value)?;
        }
        let node = NodePath {
            cluster: facts.cluster.clone(),
            dc: facts.dc.clone(),
            node: facts.node.clone(),
        };
        let raw = format!("{}/{}", self.bucket_url(), node);
        Ok(StorageLocation {
            raw,
            node: Some(node),
            ..self.clone()
        })
    }

    /// The location of the bucket alone (`proto://bucket`, `file:///dir/bucket`).
    pub fn bucket_url(&self) -> String {
        match &self.directory {
            Some(dir) => format!("file://{}/{}", dir.display(), self.bucket),
            None => format!("{}://{}", self.provider.protocol(), self.bucket),
        }
    }
}

impl fmt::Display for StorageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for StorageLocation {
    type Err = LocationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StorageLocation::parse(s)
    }
}

/// Each part becomes one object-key segment: it must be non-empty, not `.`/`..` and free of
/// `/`, `\` and control characters. Spaces pass: Cassandra's default cluster name has one.
fn check_part(location: &str, part: &'static str, value: &str) -> Result<(), LocationError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(LocationError::BadPart {
            location: location.to_string(),
            part,
            value: value.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> NodeFacts {
        NodeFacts {
            cluster: "Test_Cluster".into(),
            dc: "dc1".into(),
            node: "0b7e-11".into(),
        }
    }

    #[test]
    fn cloud_node_location() {
        for (raw, provider) in [
            ("s3://bucket/cluster/dc1/node1", Provider::S3),
            ("gcp://bucket/cluster/dc1/node1/", Provider::Gcp),
            ("azure://bucket/cluster/dc1/node1", Provider::Azure),
        ] {
            let loc = StorageLocation::parse(raw).unwrap();
            assert_eq!(loc.provider, provider);
            assert_eq!(loc.bucket, "bucket");
            assert_eq!(loc.node.as_ref().unwrap().prefix(), "cluster/dc1/node1");
            assert!(!loc.is_global());
            assert!(!loc.raw.ends_with('/'));
        }
    }

    #[test]
    fn bucket_alone_is_global_and_takes_the_node_facts() {
        let loc = StorageLocation::parse("s3://my-bucket/").unwrap();
        assert!(loc.is_global());
        assert_eq!(loc.raw, "s3://my-bucket");
        assert_eq!(loc.node_path(&facts()).prefix(), "Test_Cluster/dc1/0b7e-11");
        let node = loc.for_node(&facts()).unwrap();
        assert_eq!(node.raw, "s3://my-bucket/Test_Cluster/dc1/0b7e-11");
        assert_eq!(node, StorageLocation::parse(&node.raw).unwrap());
    }

    #[test]
    fn node_location_keeps_its_own_prefix_unless_replaced() {
        let loc = StorageLocation::parse("gcp://b/c/d/n").unwrap();
        assert_eq!(loc.node_path(&facts()).prefix(), "c/d/n");
        assert_eq!(
            loc.for_node(&facts()).unwrap().raw,
            "gcp://b/Test_Cluster/dc1/0b7e-11"
        );
    }

    #[test]
    fn file_location_as_esop() {
        let loc = StorageLocation::parse("file:///tmp/a/b/c/d").unwrap();
        assert_eq!(loc.provider, Provider::File);
        assert_eq!(loc.directory.as_deref(), Some(std::path::Path::new("/tmp")));
        assert_eq!(loc.bucket, "a");
        assert_eq!(
            loc.node.as_ref().unwrap(),
            &NodePath {
                cluster: "b".into(),
                dc: "c".into(),
                node: "d".into()
            }
        );
        let deep = StorageLocation::parse("file:///var/backups/x/bucket/c/d/n/").unwrap();
        assert_eq!(
            deep.directory.as_deref(),
            Some(std::path::Path::new("/var/backups/x"))
        );
        assert_eq!(deep.bucket_url(), "file:///var/backups/x/bucket");
        let replaced = deep.for_node(&facts()).unwrap();
        assert_eq!(
            replaced.raw,
            "file:///var/backups/x/bucket/Test_Cluster/dc1/0b7e-11"
        );
        assert_eq!(StorageLocation::parse(&replaced.raw).unwrap(), replaced);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let err = |s: &str| StorageLocation::parse(s).unwrap_err();
        assert!(matches!(
            err("bucket/c/d/n"),
            LocationError::MissingProtocol { .. }
        ));
        assert!(
            matches!(err("oracle://b/c/d/n"), LocationError::UnsupportedProtocol { protocol, .. } if protocol == "oracle")
        );
        assert!(matches!(
            err("s3://b/c/d"),
            LocationError::WrongPartCount { parts: 3, .. }
        ));
        assert!(matches!(
            err("s3://b/x/c/d/n"),
            LocationError::WrongPartCount { parts: 5, .. }
        ));
        assert!(matches!(
            err("file:///a/b/c"),
            LocationError::FileForm { .. }
        ));
        assert!(matches!(
            err("file:///b/c/d/n"),
            LocationError::FileForm { .. }
        ));
        assert!(matches!(
            err("s3://b//d/n"),
            LocationError::BadPart {
                part: "cluster",
                ..
            }
        ));
        assert!(matches!(
            err("s3://b/c/d/../"),
            LocationError::BadPart { part: "node", .. }
        ));
        assert!(matches!(
            err("azure:///"),
            LocationError::BadPart { part: "bucket", .. }
        ));
        assert!(matches!(
            err("gcp://b/c\td/d/n"),
            LocationError::BadPart {
                part: "cluster",
                ..
            }
        ));
        assert_eq!(
            StorageLocation::parse("s3://b/Test Cluster/dc1/n")
                .unwrap()
                .node
                .unwrap()
                .cluster,
            "Test Cluster"
        );
        let msg = err("s3://b/c/d").to_string();
        assert!(msg.contains("s3://bucket/cluster/dc/node"), "{msg}");
        let bad_facts = NodeFacts {
            cluster: "a/b".into(),
            ..facts()
        };
        assert!(matches!(
            StorageLocation::parse("s3://b")
                .unwrap()
                .for_node(&bad_facts),
            Err(LocationError::BadPart {
                part: "cluster",
                ..
            })
        ));
    }
}
