//! ObjectNames of Cassandra's MBeans and the JMX type names used in operation signatures
//! (fact sheet `cassandra-jmx.md` §1.4, §2).
//!
//! Owns the constant names, building the per-table name, and refusing keyspace/table names
//! that would change the ObjectName's meaning. It must not call the node.

use crate::error::NodeError;

pub const STORAGE_SERVICE: &str = "org.apache.cassandra.db:type=StorageService";
pub const STORAGE_PROXY: &str = "org.apache.cassandra.db:type=StorageProxy";
pub const COMPACTION_MANAGER: &str = "org.apache.cassandra.db:type=CompactionManager";
pub const ENDPOINT_SNITCH_INFO: &str = "org.apache.cassandra.db:type=EndpointSnitchInfo";
pub const FAILURE_DETECTOR: &str = "org.apache.cassandra.net:type=FailureDetector";

/// JMX signature type names (`Class.getName()` form).
pub mod sig {
    pub const STRING: &str = "java.lang.String";
    pub const STRING_ARRAY: &str = "[Ljava.lang.String;";
    pub const BOOLEAN: &str = "boolean";
    pub const INT: &str = "int";
    pub const LONG: &str = "long";
    pub const SET: &str = "java.util.Set";
    pub const MAP: &str = "java.util.Map";
}

/// The exact ColumnFamilyStore ObjectName of a table (`type=Tables`; both it and the older
/// `type=ColumnFamilies` name are registered on 3.0+, fact sheet §2).
pub fn table_mbean_name(keyspace: &str, table: &str) -> Result<String, NodeError> {
    check_name("keyspace", keyspace)?;
    check_name("table", table)?;
    Ok(format!(
        "org.apache.cassandra.db:type=Tables,keyspace={keyspace},table={table}"
    ))
}

/// Refuses names that are empty or hold characters with a meaning in ObjectNames (`,=:"*?`) or
/// control characters. Cassandra identifiers are `[A-Za-z0-9_]+` (index tables add `.`), so
/// nothing legitimate is refused.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), NodeError> {
    let bad = name.is_empty()
        || name.chars().any(|c| {
            c.is_control() || matches!(c, ',' | '=' | ':' | '"' | '*' | '?' | '\\' | '\n')
        });
    if bad {
        return Err(NodeError::InvalidArgument {
            message: format!("{what} name {name:?} is not a valid Cassandra identifier"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_name_is_exact() {
        assert_eq!(
            table_mbean_name("ks1", "t_1").unwrap(),
            "org.apache.cassandra.db:type=Tables,keyspace=ks1,table=t_1"
        );
    }

    #[test]
    fn refuses_object_name_metacharacters() {
        for (ks, t) in [
            ("", "t"),
            ("ks", ""),
            ("k,s", "t"),
            ("ks", "t=1"),
            ("ks", "*"),
            ("k:s", "t"),
            ("ks", "t?"),
        ] {
            assert!(
                matches!(
                    table_mbean_name(ks, t),
                    Err(NodeError::InvalidArgument { .. })
                ),
                "{ks}/{t}"
            );
        }
    }
}
