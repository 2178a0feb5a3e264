//! StorageService maintenance and topology-changing operations (fact sheet §3.2–§3.5):
//! cleanup, flush, scrub, upgradesstables, refresh, rebuild, decommission, drain, truncate and
//! snapshots.
//!
//! Owns choosing each operation's overload for the node's version (as that version's nodetool
//! does), building its arguments, and decoding the compaction-style status code. It must not
//! poll for progress or decide operation outcomes beyond the status mapping.

use javaser::Value;

use crate::error::NodeError;
use crate::names::{check_name, sig};
use crate::node::Node;
use crate::values::{expect_int, hash_map, opt_string, string, string_array};

/// `CompactionManager.AllSSTableOpStatus`, returned by cleanup, scrub and upgradesstables
/// (same codes on 3.11–5.0, fact sheet §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllSSTableOpStatus {
    /// 0.
    Successful,
    /// 1: the operation was aborted.
    Aborted,
    /// 2: some SSTables could not be marked compacting (another operation holds them).
    UnableToCancel,
    /// Any other code.
    Other(i32),
}

impl AllSSTableOpStatus {
    pub fn from_code(code: i32) -> AllSSTableOpStatus {
        match code {
            0 => AllSSTableOpStatus::Successful,
            1 => AllSSTableOpStatus::Aborted,
            2 => AllSSTableOpStatus::UnableToCancel,
            other => AllSSTableOpStatus::Other(other),
        }
    }

    pub fn is_success(&self) -> bool {
        *self == AllSSTableOpStatus::Successful
    }

    /// A sentence for an operator, e.g. for a failed operation's error message.
    pub fn describe(&self, operation: &str) -> String {
        match self {
            AllSSTableOpStatus::Successful => format!("{operation} completed successfully"),
            AllSSTableOpStatus::Aborted => format!("{operation} was aborted (status 1)"),
            AllSSTableOpStatus::UnableToCancel => format!(
                "{operation} failed: some SSTables could not be marked compacting, another \
                 operation holds them (status 2, UNABLE_TO_CANCEL)"
            ),
            AllSSTableOpStatus::Other(code) => {
                format!("{operation} ended with unknown status {code}")
            }
        }
    }
}

/// Arguments of `scrub` other than keyspace and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrubOptions {
    pub disable_snapshot: bool,
    pub skip_corrupted: bool,
    /// Validate data (nodetool's `--no-validate` is `check_data = false`).
    pub check_data: bool,
    pub reinsert_overflowed_ttl: bool,
    /// SSTables processed at once; 0 = all compaction threads.
    pub jobs: i32,
}

/// Arguments of `upgradeSSTables` other than keyspace and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpgradeOptions {
    /// Rewrite SSTables already on the current version too (`excludeCurrentVersion = false`).
    pub include_all: bool,
    /// SSTables processed at once; 0 = all compaction threads.
    pub jobs: i32,
    /// 4.1+: only SSTables whose max timestamp is below this. `None` = no limit
    /// (`Long.MAX_VALUE`, nodetool's default).
    pub max_timestamp: Option<i64>,
}

/// One token range `(start, end]` for `rebuild`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRange {
    pub start: String,
    pub end: String,
}

/// Arguments of `rebuild`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RebuildOptions {
    /// Stream from this datacenter; `None` = any.
    pub source_dc: Option<String>,
    /// Only this keyspace; `None` = all. Required when `tokens` is set (Cassandra refuses
    /// tokens without a keyspace).
    pub keyspace: Option<String>,
    /// Only these ranges; empty = all the node owns.
    pub tokens: Vec<TokenRange>,
    /// Only from these hosts; empty = any.
    pub specific_sources: Vec<String>,
    /// 5.0+: never stream from nodes of the local datacenter.
    pub exclude_local_dc: bool,
}

/// Options of `takeSnapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotOptions {
    /// Do not flush memtables first.
    pub skip_flush: bool,
    /// 4.1+: expire the snapshot after this duration (Cassandra duration text, e.g. `"1h"`).
    pub ttl: Option<String>,
}

fn check_jobs(jobs: i32) -> Result<(), NodeError> {
    if jobs < 0 {
        return Err(NodeError::InvalidArgument {
            message: format!("jobs must be 0 (all compaction threads) or more, not {jobs}"),
        });
    }
    Ok(())
}

fn check_tables(keyspace: &str, tables: &[String]) -> Result<(), NodeError> {
    check_name("keyspace", keyspace)?;
    tables.iter().try_for_each(|t| check_name("table", t))
}

impl Node {
    fn status(&self, v: Value, operation: &str) -> Result<AllSSTableOpStatus, NodeError> {
        Ok(AllSSTableOpStatus::from_code(expect_int(
            &v,
            &format!("{operation} result"),
        )?))
    }

    /// `forceKeyspaceCleanup(int jobs, String keyspace, String... tables)` (all versions).
    /// Empty `tables` = every table of the keyspace. Blocks.
    pub async fn cleanup(
        &self,
        keyspace: &str,
        tables: &[String],
        jobs: i32,
    ) -> Result<AllSSTableOpStatus, NodeError> {
        check_tables(keyspace, tables)?;
        check_jobs(jobs)?;
        let v = self
            .ss_invoke(
                "forceKeyspaceCleanup",
                &[Value::Int(jobs), string(keyspace), string_array(tables)],
                &[sig::INT, sig::STRING, sig::STRING_ARRAY],
            )
            .await?;
        self.status(v, "cleanup")
    }

    /// `forceKeyspaceFlush(String keyspace, String... tables)` (all versions). Blocks.
    pub async fn flush(&self, keyspace: &str, tables: &[String]) -> Result<(), NodeError> {
        check_tables(keyspace, tables)?;
        self.ss_invoke(
            "forceKeyspaceFlush",
            &[string(keyspace), string_array(tables)],
            &[sig::STRING, sig::STRING_ARRAY],
        )
        .await?;
        Ok(())
    }

    /// `scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData,
    /// boolean reinsertOverflowedTTL, int jobs, String keyspace, String... tables)`: the
    /// non-deprecated overload in all versions. Blocks.
    pub async fn scrub(
        &self,
        keyspace: &str,
        tables: &[String],
        options: ScrubOptions,
    ) -> Result<AllSSTableOpStatus, NodeError> {
        check_tables(keyspace, tables)?;
        check_jobs(options.jobs)?;
        let v = self
            .ss_invoke(
                "scrub",
                &[
                    Value::Bool(options.disable_snapshot),
                    Value::Bool(options.skip_corrupted),
                    Value::Bool(options.check_data),
                    Value::Bool(options.reinsert_overflowed_ttl),
                    Value::Int(options.jobs),
                    string(keyspace),
                    string_array(tables),
                ],
                &[
                    sig::BOOLEAN,
                    sig::BOOLEAN,
                    sig::BOOLEAN,
                    sig::BOOLEAN,
                    sig::INT,
                    sig::STRING,
                    sig::STRING_ARRAY,
                ],
            )
            .await?;
        self.status(v, "scrub")
    }

    /// `upgradeSSTables`, as that version's nodetool calls it. Blocks.
    /// - 3.11, 4.0: `(String keyspace, boolean excludeCurrentVersion, int jobs, String... tables)`.
    /// - 4.1+: `(String, boolean, long maxSSTableTimestamp, int, String...)`.
    pub async fn upgrade_sstables(
        &self,
        keyspace: &str,
        tables: &[String],
        options: UpgradeOptions,
    ) -> Result<AllSSTableOpStatus, NodeError> {
        check_tables(keyspace, tables)?;
        check_jobs(options.jobs)?;
        let exclude_current = Value::Bool(!options.include_all);
        let v = if self.version().has_upgrade_max_timestamp() {
            let max = options.max_timestamp.unwrap_or(i64::MAX);
            self.ss_invoke(
                "upgradeSSTables",
                &[
                    string(keyspace),
                    exclude_current,
                    Value::Long(max),
                    Value::Int(options.jobs),
                    string_array(tables),
                ],
                &[
                    sig::STRING,
                    sig::BOOLEAN,
                    sig::LONG,
                    sig::INT,
                    sig::STRING_ARRAY,
                ],
            )
            .await?
        } else {
            if options.max_timestamp.is_some() {
                return Err(self.unsupported("upgradesstables with a max timestamp"));
            }
            self.ss_invoke(
                "upgradeSSTables",
                &[
                    string(keyspace),
                    exclude_current,
                    Value::Int(options.jobs),
                    string_array(tables),
                ],
                &[sig::STRING, sig::BOOLEAN, sig::INT, sig::STRING_ARRAY],
            )
            .await?
        };
        self.status(v, "upgradesstables")
    }

    /// `StorageService.loadNewSSTables(String keyspace, String table)` (all versions; deprecated
    /// in 4.0+ in favour of import, but still there). Blocks.
    pub async fn refresh(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        check_name("keyspace", keyspace)?;
        check_name("table", table)?;
        self.ss_invoke(
            "loadNewSSTables",
            &[string(keyspace), string(table)],
            &[sig::STRING, sig::STRING],
        )
        .await?;
        Ok(())
    }

    /// `rebuild` (blocks until streaming ends):
    /// - before 5.0: `(String sourceDc, String keyspace, String tokens, String specificSources)`,
    ///   present in every version, with `null` for what is not given;
    /// - 5.0+: the same plus `boolean excludeLocalDatacenterNodes`, as 5.0's nodetool calls it.
    ///
    /// Tokens are sent as `"(s1,e1],(s2,e2]"`, sources comma-separated.
    pub async fn rebuild(&self, options: &RebuildOptions) -> Result<(), NodeError> {
        if options.exclude_local_dc && !self.version().has_rebuild_exclude_local_dc() {
            return Err(self.unsupported("rebuild excluding the local datacenter"));
        }
        if let Some(ks) = &options.keyspace {
            check_name("keyspace", ks)?;
        }
        let tokens = (!options.tokens.is_empty()).then(|| {
            options
                .tokens
                .iter()
                .map(|r| format!("({},{}]", r.start, r.end))
                .collect::<Vec<_>>()
                .join(",")
        });
        let sources =
            (!options.specific_sources.is_empty()).then(|| options.specific_sources.join(","));
        let mut params = vec![
            opt_string(options.source_dc.as_deref()),
            opt_string(options.keyspace.as_deref()),
            opt_string(tokens.as_deref()),
            opt_string(sources.as_deref()),
        ];
        let mut signature = vec![sig::STRING; 4];
        if self.version().has_rebuild_exclude_local_dc() {
            params.push(Value::Bool(options.exclude_local_dc));
            signature.push(sig::BOOLEAN);
        }
        self.ss_invoke("rebuild", &params, &signature).await?;
        Ok(())
    }

    /// Decommission this node (blocks until it has left the ring):
    /// - 4.0+: `decommission(boolean force)`; without `force` Cassandra refuses when a
    ///   datacenter would be left with fewer nodes than its replication factor;
    /// - 3.x: `decommission()`, the only form there. 3.x does not do that replication-factor
    ///   check, so every 3.x decommission behaves as forced, whatever `force` says.
    pub async fn decommission(&self, force: bool) -> Result<(), NodeError> {
        if self.version().has_decommission_force() {
            self.ss_invoke("decommission", &[Value::Bool(force)], &[sig::BOOLEAN])
                .await?;
        } else {
            self.ss_invoke("decommission", &[], &[]).await?;
        }
        Ok(())
    }

    /// `drain()` (all versions). Blocks; the mode goes DRAINING → DRAINED. On an already
    /// drained node Cassandra only logs and returns.
    pub async fn drain(&self) -> Result<(), NodeError> {
        self.ss_invoke("drain", &[], &[]).await?;
        Ok(())
    }

    /// `StorageService.truncate(String keyspace, String table)` (all versions; StorageProxy has
    /// no truncate). Cluster-wide; fails if any replica is down. Blocks.
    pub async fn truncate(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        check_name("keyspace", keyspace)?;
        check_name("table", table)?;
        self.ss_invoke(
            "truncate",
            &[string(keyspace), string(table)],
            &[sig::STRING, sig::STRING],
        )
        .await?;
        Ok(())
    }

    /// `takeSnapshot(String tag, Map options, String... entities)` (all versions). `entities`:
    /// empty = all keyspaces, else keyspace names or `ks.table` items.
    pub async fn take_snapshot(
        &self,
        tag: &str,
        entities: &[String],
        options: &SnapshotOptions,
    ) -> Result<(), NodeError> {
        let mut map = vec![("skipFlush".to_owned(), options.skip_flush.to_string())];
        if let Some(ttl) = &options.ttl {
            if !self.version().has_snapshot_ttl() {
                return Err(self.unsupported("snapshot ttl"));
            }
            map.push(("ttl".to_owned(), ttl.clone()));
        }
        self.ss_invoke(
            "takeSnapshot",
            &[string(tag), hash_map(&map), string_array(entities)],
            &[sig::STRING, sig::MAP, sig::STRING_ARRAY],
        )
        .await?;
        Ok(())
    }

    /// Clears snapshots. `tag = None` clears every snapshot; empty `keyspaces` = all keyspaces.
    /// - before 5.0: `clearSnapshot(String tag, String... keyspaces)`;
    /// - 5.0+: `clearSnapshot(Map options, String tag, String... keyspaces)` with no options
    ///   (the older form is deprecated there).
    pub async fn clear_snapshot(
        &self,
        tag: Option<&str>,
        keyspaces: &[String],
    ) -> Result<(), NodeError> {
        if self.version().has_clear_snapshot_options() {
            self.ss_invoke(
                "clearSnapshot",
                &[hash_map(&[]), opt_string(tag), string_array(keyspaces)],
                &[sig::MAP, sig::STRING, sig::STRING_ARRAY],
            )
            .await?;
        } else {
            self.ss_invoke(
                "clearSnapshot",
                &[opt_string(tag), string_array(keyspaces)],
                &[sig::STRING, sig::STRING_ARRAY],
            )
            .await?;
        }
        Ok(())
    }
}
