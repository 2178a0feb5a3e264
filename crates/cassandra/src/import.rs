//! SSTable import: `ColumnFamilyStore.importNewSSTables` on the table's MBean (fact sheet §3.1).
//!
//! Owns [`ImportOptions`] and choosing the overload for the node's version: none on 3.x, the
//! 8-argument form on 4.0/4.1, the 10-argument form on 5.0+. It must not check the files (that
//! is the `sstable` crate) nor decide what a failed directory means for an operation.

use javaser::Value;

use crate::error::NodeError;
use crate::names::{sig, table_mbean_name};
use crate::node::Node;
use crate::values::{expect_strings, hash_set};

/// The arguments of `importNewSSTables`, in Cassandra's terms (nodetool's `--keep-level` is
/// `reset_level = false`, and so on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Directories to import from. Empty = the table's own data directories.
    pub src_paths: Vec<String>,
    pub reset_level: bool,
    pub clear_repaired: bool,
    pub verify_sstables: bool,
    pub verify_tokens: bool,
    pub invalidate_caches: bool,
    pub extended_verify: bool,
    /// Copy instead of move, leaving the source intact.
    pub copy_data: bool,
    /// 5.0+: fail a directory whose SSTables lack their SAI index components. Ignored on 4.x,
    /// which has no SAI.
    pub fail_on_missing_index: bool,
    /// 5.0+: validate SAI index checksums. Ignored on 4.x, which has no SAI.
    pub validate_index_checksum: bool,
}

impl ImportOptions {
    /// nodetool import's defaults (no flags) for these directories: reset level, clear repaired,
    /// verify, verify tokens, invalidate caches; no extended verify; move, not copy; validate
    /// index checksums but do not require index components.
    pub fn new(src_paths: Vec<String>) -> ImportOptions {
        ImportOptions {
            src_paths,
            reset_level: true,
            clear_repaired: true,
            verify_sstables: true,
            verify_tokens: true,
            invalidate_caches: true,
            extended_verify: false,
            copy_data: false,
            fail_on_missing_index: false,
            validate_index_checksum: true,
        }
    }
}

impl Node {
    /// `importNewSSTables` on `keyspace.table`. Returns the source directories that failed to
    /// import (empty = all imported). Blocks until Cassandra has finished.
    ///
    /// - 3.x: `Unsupported` (no import there; `refresh` is the 3.x way).
    /// - 4.0, 4.1: `(java.util.Set, boolean ×7)` — srcPaths, resetLevel, clearRepaired,
    ///   verifySSTables, verifyTokens, invalidateCaches, extendedVerify, copyData.
    /// - 5.0+: the same plus failOnMissingIndex, validateIndexChecksum (`boolean ×9`).
    pub async fn import_new_sstables(
        &self,
        keyspace: &str,
        table: &str,
        options: &ImportOptions,
    ) -> Result<Vec<String>, NodeError> {
        if !self.version().has_import() {
            return Err(self.unsupported("importNewSSTables (SSTable import)"));
        }
        let name = table_mbean_name(keyspace, table)?;
        let mut params = vec![
            hash_set(&options.src_paths),
            Value::Bool(options.reset_level),
            Value::Bool(options.clear_repaired),
            Value::Bool(options.verify_sstables),
            Value::Bool(options.verify_tokens),
            Value::Bool(options.invalidate_caches),
            Value::Bool(options.extended_verify),
            Value::Bool(options.copy_data),
        ];
        if self.version().has_import_with_index_flags() {
            params.push(Value::Bool(options.fail_on_missing_index));
            params.push(Value::Bool(options.validate_index_checksum));
        }
        let mut signature = vec![sig::SET];
        signature.resize(params.len(), sig::BOOLEAN);
        let failed = self
            .server()
            .invoke(&name, "importNewSSTables", &params, &signature)
            .await?;
        expect_strings(failed, "importNewSSTables result")
    }
}
