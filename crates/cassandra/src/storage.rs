//! Where a node keeps its tables and what it owns: the facts backup and restore need to find
//! SSTables on disk and to tell whether a backup belongs to this node (fact sheet §3.5, §3.6).
//!
//! Owns the table listing (`type=ColumnFamilies,*`, registered on every version), each table's
//! `DataPaths` (4.0+), the node's data directories (`AllDataFileLocations`), its `Tokens` and
//! the snapshot tags of `SnapshotDetails`. It must
//! not touch files: callers walk the directories these calls name.

use crate::error::NodeError;
use crate::names::{table_mbean_name, STORAGE_SERVICE};
use crate::node::Node;
use crate::values::expect_strings;

/// Every table's ColumnFamilyStore is registered under this pattern on 3.x, 4.x and 5.0 (the
/// `type=Tables` name is 3.0+ too, but the older one keeps the query version-independent).
const COLUMN_FAMILIES: &str = "org.apache.cassandra.db:type=ColumnFamilies,*";

/// One table of the node's schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub keyspace: String,
    pub table: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.keyspace, self.table)
    }
}

impl Node {
    /// Every table the node has (system ones included), sorted, secondary-index tables left out.
    /// A keyspace without tables does not appear: `keyspaces()` lists it.
    pub async fn tables(&self) -> Result<Vec<TableName>, NodeError> {
        let names = self.server().query_names(COLUMN_FAMILIES).await?;
        let mut tables: Vec<TableName> = names
            .iter()
            .filter_map(|name| {
                let keyspace = object_name_key(name, "keyspace")?;
                let table = object_name_key(name, "columnfamily")?;
                Some(TableName {
                    keyspace: keyspace.to_owned(),
                    table: table.to_owned(),
                })
            })
            .collect();
        tables.sort();
        tables.dedup();
        Ok(tables)
    }

    /// The table's data directories (`DataPaths`, canonical paths of `<data dir>/<ks>/<table>-<id>`),
    /// 4.0+ only: on 3.11 the caller must be told the data directories.
    pub async fn table_data_paths(
        &self,
        keyspace: &str,
        table: &str,
    ) -> Result<Vec<String>, NodeError> {
        if !self.version().at_least(4, 0) {
            return Err(self.unsupported("the DataPaths attribute (4.0+)"));
        }
        let name = table_mbean_name(keyspace, table)?;
        let value = self.server().get_attribute(&name, "DataPaths").await?;
        expect_strings(value, &format!("{keyspace}.{table} DataPaths"))
    }

    /// `StorageService.AllDataFileLocations`: the node's data directories (its
    /// `data_file_directories`), on every version.
    pub async fn data_file_locations(&self) -> Result<Vec<String>, NodeError> {
        let value = self
            .server()
            .get_attribute(STORAGE_SERVICE, "AllDataFileLocations")
            .await?;
        expect_strings(value, "StorageService.AllDataFileLocations")
    }

    /// `StorageService.Tokens`: the tokens this node owns, as decimal strings.
    pub async fn tokens(&self) -> Result<Vec<String>, NodeError> {
        let value = self
            .server()
            .get_attribute(STORAGE_SERVICE, "Tokens")
            .await?;
        expect_strings(value, "StorageService.Tokens")
    }

    /// The tags of the node's snapshots (the keys of `StorageService.SnapshotDetails`; the
    /// attribute is deprecated but still served on 4.1 and 5.0).
    pub async fn snapshot_tags(&self) -> Result<Vec<String>, NodeError> {
        let value = self
            .server()
            .get_attribute(STORAGE_SERVICE, "SnapshotDetails")
            .await?;
        let Some(entries) = value.as_entries() else {
            return Err(NodeError::protocol(format!(
                "StorageService.SnapshotDetails: expected a Map, got {value:?}"
            )));
        };
        let mut tags: Vec<String> = entries
            .iter()
            .filter_map(|(key, _)| key.as_str().map(str::to_owned))
            .collect();
        tags.sort();
        Ok(tags)
    }
}

/// The value of `key` in an ObjectName's `key=value` list (`domain:k1=v1,k2=v2`). Cassandra's
/// table names never need quoting, so quoted values are not unquoted.
fn object_name_key<'a>(name: &'a str, key: &str) -> Option<&'a str> {
    let (_, properties) = name.split_once(':')?;
    properties.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::object_name_key;

    #[test]
    fn reads_keys_in_any_order() {
        let name = "org.apache.cassandra.db:columnfamily=t1,keyspace=ks,type=ColumnFamilies";
        assert_eq!(object_name_key(name, "keyspace"), Some("ks"));
        assert_eq!(object_name_key(name, "columnfamily"), Some("t1"));
        assert_eq!(object_name_key(name, "table"), None);
        assert_eq!(object_name_key("no-domain", "keyspace"), None);
    }
}
