//! The manifest JSON of a backup and the cluster topology file, as Esop reads and writes them.
//!
//! Reads both table forms Esop reads (`sstables` by SSTable, and the legacy `entries` list of
//! manifests before Esop 2.0); writes only the fields Esop knows (Esop's reader fails on any
//! other), Jackson-pretty-printed with absent values omitted. Owns the JSON shape only: keys
//! come from `layout`, storage from `store`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::layout::parse_sstable_name;

/// Why a manifest or topology document cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The JSON is malformed or does not have the manifest's shape.
    #[error("manifest {name} is not a valid Esop manifest: {source}")]
    Invalid {
        name: String,
        source: serde_json::Error,
    },
}

/// A backup's manifest (`manifests/<fullTag>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub snapshot: Snapshot,
    /// The node's tokens when the backup was taken; a restore checks them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Total bytes of the entries. Esop (since 3.0.0, so Icarus 3.0.0 too) writes it as a
    /// primitive, always present; manifests from before it read as 0.
    #[serde(default, deserialize_with = "null_as_default")]
    pub size: u64,
}

/// The snapshot a manifest describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The full tag (`<tag>-<schemaVersion>-<epochMillis>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub keyspaces: BTreeMap<String, Keyspace>,
}

/// One keyspace of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyspace {
    #[serde(default, deserialize_with = "null_as_default")]
    pub tables: BTreeMap<String, Table>,
}

/// One table: its SSTables' entries by SSTable prefix (`nb-1-big`), its id and CQL schema.
/// A table with no SSTables is still listed, with `"sstables" : { }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "TableOnDisk")]
pub struct Table {
    pub sstables: BTreeMap<String, Vec<ManifestEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The snapshot's `schema.cql` of the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_content: Option<String>,
}

/// A table as either form reads: Esop ≥ 2.0 writes `sstables`, earlier ones `entries`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableOnDisk {
    #[serde(default)]
    sstables: Option<BTreeMap<String, Vec<ManifestEntry>>>,
    #[serde(default)]
    entries: Option<Vec<ManifestEntry>>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    schema_content: Option<String>,
}

impl From<TableOnDisk> for Table {
    fn from(raw: TableOnDisk) -> Table {
        // As Esop: `sstables` wins unless it is absent or empty; legacy entries are grouped by
        // the SSTable prefix of their file names.
        let sstables = match (raw.sstables, raw.entries) {
            (Some(sstables), _) if !sstables.is_empty() => sstables,
            (_, Some(entries)) => group_by_sstable(entries),
            (Some(empty), None) => empty,
            (None, None) => BTreeMap::new(),
        };
        Table {
            sstables,
            id: raw.id,
            schema_content: raw.schema_content,
        }
    }
}

/// Jackson reads `null` as the default of a primitive or an empty collection; so does this.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn group_by_sstable(entries: Vec<ManifestEntry>) -> BTreeMap<String, Vec<ManifestEntry>> {
    let mut grouped: BTreeMap<String, Vec<ManifestEntry>> = BTreeMap::new();
    for entry in entries {
        let file = entry
            .object_key
            .rsplit('/')
            .next()
            .unwrap_or(&entry.object_key);
        let prefix = parse_sstable_name(file)
            .map(|s| s.prefix)
            .unwrap_or_default();
        grouped.entry(prefix).or_default().push(entry);
    }
    grouped
}

impl Table {
    /// Adds an entry under its SSTable prefix (`nb-1-big`), once.
    pub fn add_entry(&mut self, sstable: &str, entry: ManifestEntry) {
        let entries = self.sstables.entry(sstable.to_string()).or_default();
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }

    /// Every entry of the table, whatever SSTable it belongs to.
    pub fn entries(&self) -> impl Iterator<Item = &ManifestEntry> {
        self.sstables.values().flatten()
    }
}

/// Kinds of manifest entries Esop knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    #[default]
    File,
    ManifestFile,
    CqlSchema,
    CommitLog,
}

/// One object of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    /// The key below the node prefix (`data/ks/t-id/1-123/nb-1-big-Data.db`).
    pub object_key: String,
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub entry_type: EntryType,
    #[serde(default, deserialize_with = "null_as_default")]
    pub size: u64,
    /// Lowercase hex SHA-256 of the object (absent in manifests of old Esop versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl Manifest {
    /// An empty manifest for the backup `full_tag`, to fill with [`Manifest::table_mut`].
    pub fn new(full_tag: &str, tokens: Vec<String>, schema_version: &str) -> Manifest {
        Manifest {
            snapshot: Snapshot {
                name: Some(full_tag.to_string()),
                keyspaces: BTreeMap::new(),
            },
            tokens: Some(tokens),
            schema_version: Some(schema_version.to_string()),
            size: 0,
        }
    }

    /// The table `keyspace.table`, added (with no SSTables) if absent: every table of a
    /// snapshotted keyspace appears, even an empty one.
    pub fn table_mut(&mut self, keyspace: &str, table: &str) -> &mut Table {
        self.snapshot
            .keyspaces
            .entry(keyspace.to_string())
            .or_default()
            .tables
            .entry(table.to_string())
            .or_default()
    }

    /// Sets `size` to the sum of the entries, as Esop does before writing.
    pub fn update_size(&mut self) {
        self.size = self.total_size();
    }

    /// Reads a manifest of either form; `name` says which one in errors.
    pub fn from_json(name: &str, bytes: &[u8]) -> Result<Manifest, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Invalid {
            name: name.to_string(),
            source,
        })
    }

    /// The manifest as Esop writes it: Jackson's default pretty printer, absent fields left out.
    pub fn to_json(&self) -> Vec<u8> {
        to_jackson_json(self)
    }

    /// Every entry of every table.
    pub fn entries(&self) -> impl Iterator<Item = &ManifestEntry> {
        self.snapshot
            .keyspaces
            .values()
            .flat_map(|ks| ks.tables.values())
            .flat_map(Table::entries)
    }

    /// The object keys (below the node prefix) this manifest needs.
    pub fn object_keys(&self) -> BTreeSet<&str> {
        self.entries().map(|e| e.object_key.as_str()).collect()
    }

    /// The sum of the entries' sizes, what Esop writes as `size`.
    pub fn total_size(&self) -> u64 {
        self.entries()
            .map(|e| e.size)
            .fold(0u64, u64::saturating_add)
    }
}

/// The cluster topology written beside a global backup (`topology/<fullTag>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTopology {
    #[serde(default, deserialize_with = "null_as_default")]
    pub timestamp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub topology: Vec<NodeTopology>,
}

/// One node of a [`ClusterTopology`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeTopology {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// The node's host id (a UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

impl ClusterTopology {
    /// Reads a topology file; `name` says which one in errors.
    pub fn from_json(name: &str, bytes: &[u8]) -> Result<ClusterTopology, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Invalid {
            name: name.to_string(),
            source,
        })
    }

    /// The topology as Esop writes it.
    pub fn to_json(&self) -> Vec<u8> {
        to_jackson_json(self)
    }
}

fn to_jackson_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, JacksonPrettyFormatter::default());
    value
        .serialize(&mut ser)
        .expect("manifest types always serialize");
    out
}

/// Jackson's `DefaultPrettyPrinter`: objects one field a line, two-space indent, `"k" : v`;
/// arrays inline with spaces (`[ 1, 2 ]`, `[ ]`); an empty object is `{ }`.
#[derive(Default)]
struct JacksonPrettyFormatter {
    indent: usize,
    has_value: bool,
}

impl JacksonPrettyFormatter {
    fn newline<W: ?Sized + std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.indent {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for JacksonPrettyFormatter {
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline(writer)?;
            writer.write_all(b"}")
        } else {
            writer.write_all(b" }")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.newline(writer)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b" : ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b" ]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b" " } else { b", " })
    }

    fn end_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest of the format reference, byte for byte as Jackson prints it.
    const ESOP_MANIFEST: &str = r#"{
  "snapshot" : {
    "name" : "snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000",
    "keyspaces" : {
      "ks1" : {
        "tables" : {
          "empty" : {
            "sstables" : { },
            "id" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          },
          "t1" : {
            "sstables" : {
              "nb-1-big" : [ {
                "objectKey" : "data/ks1/t1-52d74870fb9911eaa75583ff20369112/1-2620247400/nb-1-big-Data.db",
                "type" : "FILE",
                "size" : 55,
                "hash" : "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
              }, {
                "objectKey" : "data/ks1/t1-52d74870fb9911eaa75583ff20369112/1-2620247400/nb-1-big-Digest.crc32",
                "type" : "FILE",
                "size" : 10,
                "hash" : "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
              } ]
            },
            "id" : "52d74870fb9911eaa75583ff20369112",
            "schemaContent" : "CREATE TABLE IF NOT EXISTS ks1.t1 (k int PRIMARY KEY);"
          }
        }
      }
    }
  },
  "tokens" : [ "-1025679257793152318", "42" ],
  "schemaVersion" : "f1159959-593d-33d1-9ade-712ea55b31ef",
  "size" : 65
}"#;

    /// A manifest of Esop before 2.0: `entries` lists per table, no hashes, no size.
    const LEGACY_MANIFEST: &str = r#"{
  "snapshot" : {
    "name" : "snapshot4",
    "keyspaces" : {
      "system" : {
        "tables" : {
          "built_views" : {
            "entries" : [ ],
            "id" : "4b3c50a9ea873d7691016dbc9c38494a"
          },
          "sstable_activity" : {
            "entries" : [ {
              "objectKey" : "data/system/sstable_activity-5a1ff267ace03f128563cfae6103c65e/1-937685388/na-1-big-Data.db",
              "type" : "FILE",
              "size" : 169
            }, {
              "objectKey" : "data/system/sstable_activity-5a1ff267ace03f128563cfae6103c65e/1-937685388/na-1-big-Digest.crc32",
              "type" : "FILE",
              "size" : 9
            }, {
              "objectKey" : "data/system/sstable_activity-5a1ff267ace03f128563cfae6103c65e/2-2179947454/na-2-big-Data.db",
              "type" : "FILE",
              "size" : 140
            } ],
            "id" : "5a1ff267ace03f128563cfae6103c65e"
          }
        }
      }
    }
  },
  "tokens" : [ "-9223372036854775808" ],
  "schemaVersion" : "af4d29d8-4af4-3f98-bf90-30640a70bee3"
}"#;

    #[test]
    fn esop_manifest_round_trips_byte_for_byte() {
        let manifest = Manifest::from_json("snap1", ESOP_MANIFEST.as_bytes()).unwrap();
        let t1 = &manifest.snapshot.keyspaces["ks1"].tables["t1"];
        assert_eq!(t1.sstables["nb-1-big"].len(), 2);
        assert_eq!(t1.id.as_deref(), Some("52d74870fb9911eaa75583ff20369112"));
        assert!(manifest.snapshot.keyspaces["ks1"].tables["empty"]
            .sstables
            .is_empty());
        assert_eq!(manifest.size, 65);
        assert_eq!(manifest.total_size(), 65);
        assert_eq!(manifest.object_keys().len(), 2);
        assert_eq!(
            String::from_utf8(manifest.to_json()).unwrap(),
            ESOP_MANIFEST
        );
    }

    #[test]
    fn legacy_entries_are_read_and_grouped_by_sstable() {
        let manifest = Manifest::from_json("snapshot4", LEGACY_MANIFEST.as_bytes()).unwrap();
        let table = &manifest.snapshot.keyspaces["system"].tables["sstable_activity"];
        assert_eq!(
            table.sstables.keys().collect::<Vec<_>>(),
            ["na-1-big", "na-2-big"]
        );
        assert_eq!(table.sstables["na-1-big"].len(), 2);
        assert_eq!(table.sstables["na-1-big"][0].hash, None);
        assert_eq!(manifest.size, 0);
        assert_eq!(manifest.total_size(), 318);
        assert_eq!(manifest.tokens.as_ref().unwrap().len(), 1);
        // Written back, it takes the current form: `sstables`, never `entries`.
        let written = String::from_utf8(manifest.to_json()).unwrap();
        assert!(written.contains("\"sstables\" : {"), "{written}");
        assert!(!written.contains("entries"), "{written}");
        let top: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(top["size"], 0, "{written}");
        assert_eq!(
            Manifest::from_json("again", written.as_bytes()).unwrap(),
            manifest
        );
    }

    /// Every field name written, at every depth, must be one Esop's classes declare.
    #[test]
    fn written_fields_are_only_those_esop_knows() {
        let manifest = Manifest::from_json("snap1", ESOP_MANIFEST.as_bytes()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&manifest.to_json()).unwrap();
        let top: BTreeSet<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            top.is_subset(&BTreeSet::from([
                "snapshot",
                "tokens",
                "schemaVersion",
                "size"
            ])),
            "{top:?}"
        );
        let snapshot = value["snapshot"].as_object().unwrap();
        assert!(snapshot.keys().all(|k| k == "name" || k == "keyspaces"));
        for ks in snapshot["keyspaces"].as_object().unwrap().values() {
            assert_eq!(
                ks.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["tables"]
            );
            for table in ks["tables"].as_object().unwrap().values() {
                for key in table.as_object().unwrap().keys() {
                    assert!(
                        ["sstables", "id", "schemaContent"].contains(&key.as_str()),
                        "table field {key}"
                    );
                }
                for entries in table["sstables"].as_object().unwrap().values() {
                    for entry in entries.as_array().unwrap() {
                        for key in entry.as_object().unwrap().keys() {
                            assert!(
                                ["objectKey", "type", "size", "hash", "kmsKeyId"]
                                    .contains(&key.as_str()),
                                "entry field {key}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_fields_are_ignored_on_read_and_not_written() {
        let with_extra =
            ESOP_MANIFEST.replacen("\"size\" : 65", "\"size\" : 65, \"futureField\" : 1", 1);
        let manifest = Manifest::from_json("x", with_extra.as_bytes()).unwrap();
        assert!(!String::from_utf8(manifest.to_json())
            .unwrap()
            .contains("futureField"));
    }

    #[test]
    fn nulls_read_as_jackson_reads_them() {
        let text = r#"{"snapshot": {"name": null, "keyspaces": {"ks": {"tables": {"t": {"sstables": null,
            "entries": [{"objectKey": "data/ks/t-x/1-1/nb-1-big-Data.db", "type": null, "size": null}], "id": null}}}}},
            "tokens": null, "schemaVersion": null, "size": null}"#;
        let manifest = Manifest::from_json("nulls", text.as_bytes()).unwrap();
        let entry = manifest.entries().next().unwrap();
        assert_eq!((entry.entry_type, entry.size), (EntryType::File, 0));
        assert_eq!(manifest.size, 0);
        let empty = Manifest::from_json("empty", br#"{"snapshot": {"keyspaces": null}}"#).unwrap();
        assert!(empty.snapshot.keyspaces.is_empty());
    }

    #[test]
    fn malformed_manifest_names_itself() {
        let err = Manifest::from_json("manifests/bad.json", b"{\"snapshot\": 3}").unwrap_err();
        assert!(err.to_string().contains("manifests/bad.json"), "{err}");
    }

    #[test]
    fn built_manifest_lists_empty_tables_and_sums_sizes() {
        let mut manifest = Manifest::new(
            "s-f1159959-593d-33d1-9ade-712ea55b31ef-1",
            vec!["0".into()],
            "f1159959-593d-33d1-9ade-712ea55b31ef",
        );
        let entry = ManifestEntry {
            object_key: "data/ks/t-x/1-1/nb-1-big-Data.db".into(),
            entry_type: EntryType::File,
            size: 7,
            hash: Some("ab".into()),
            kms_key_id: None,
        };
        let table = manifest.table_mut("ks", "t");
        table.id = Some("x".into());
        table.add_entry("nb-1-big", entry.clone());
        table.add_entry("nb-1-big", entry);
        manifest.table_mut("ks", "empty");
        manifest.update_size();
        assert_eq!(manifest.size, 7);
        let text = String::from_utf8(manifest.to_json()).unwrap();
        assert!(
            text.contains("\"empty\" : {\n            \"sstables\" : { }\n          }"),
            "{text}"
        );
        assert_eq!(
            Manifest::from_json("again", text.as_bytes()).unwrap(),
            manifest
        );
    }

    #[test]
    fn topology_round_trips() {
        let text = r#"{
  "timestamp" : 1700000000000,
  "clusterName" : "Test Cluster",
  "schemaVersion" : "f1159959-593d-33d1-9ade-712ea55b31ef",
  "topology" : [ {
    "hostname" : "node1",
    "cluster" : "Test Cluster",
    "dc" : "dc1",
    "rack" : "rack1",
    "nodeId" : "0b7e5b3a-1d51-4a1b-9c57-3d1e1a0a9a11",
    "ipAddress" : "127.0.0.1"
  } ]
}"#;
        let topology = ClusterTopology::from_json("t", text.as_bytes()).unwrap();
        assert_eq!(topology.topology[0].dc.as_deref(), Some("dc1"));
        assert_eq!(String::from_utf8(topology.to_json()).unwrap(), text);
    }
}
