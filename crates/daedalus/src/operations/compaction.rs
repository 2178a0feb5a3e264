//! The compaction-style operations: `cleanup`, `scrub` and `upgradesstables`.
//!
//! Owns their request fields (names and defaults as in the Icarus spec), validation, the call,
//! progress from the compaction manager, and the mapping of Cassandra's status code to an
//! outcome. It must not read progress itself (that is `progress.rs`).

use async_trait::async_trait;
use cassandra::{AllSSTableOpStatus, ScrubOptions, UpgradeOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::ClusterMode;
use super::context::{OperationError, RunContext};
use super::fields;
use super::finding::Finding;
use super::operation::{Operation, OperationType};
use super::progress::{with_compaction_progress, CompactionScope};
use super::settings::ValidationPolicy;
use super::validation::{decode, tables_key, ValidationError};

/// Cassandra's `AllSSTableOpStatus` as an outcome: 0 succeeds, anything else fails with a
/// sentence naming the code.
pub(crate) fn status_outcome(
    ctx: &RunContext,
    operation: &str,
    status: AllSSTableOpStatus,
) -> Result<(), OperationError> {
    let code = match status {
        AllSSTableOpStatus::Successful => 0,
        AllSSTableOpStatus::Aborted => 1,
        AllSSTableOpStatus::UnableToCancel => 2,
        AllSSTableOpStatus::Other(code) => code,
    };
    ctx.report(Finding::Status(code));
    match code {
        0 => Ok(()),
        1 => Err(OperationError::failed(
            "Aborted",
            format!("{operation} aborted (Cassandra status 1)"),
        )),
        2 => Err(OperationError::failed(
            "UnableToCancel",
            format!(
                "{operation} failed: unable to mark SSTables compacting (another operation is \
                 using them; Cassandra status 2)"
            ),
        )),
        other => Err(OperationError::failed(
            "UnknownStatus",
            format!("{operation} ended with unknown Cassandra status {other}"),
        )),
    }
}

/// `cleanup`: `forceKeyspaceCleanup(jobs, keyspace, tables...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupRequest {
    pub keyspace: String,
    pub tables: Vec<String>,
    pub jobs: i32,
}

#[derive(Deserialize)]
struct KeyspaceTablesJobs {
    keyspace: Option<String>,
    tables: Option<Vec<String>>,
    jobs: Option<i64>,
}

impl CleanupRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: KeyspaceTablesJobs = decode(body)?;
        Ok(CleanupRequest {
            keyspace: fields::name("keyspace", input.keyspace)?,
            tables: fields::tables(input.tables)?,
            jobs: fields::jobs(input.jobs)?,
        })
    }
}

impl OperationType for CleanupRequest {
    const TYPE: &'static str = "cleanup";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: false,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        CleanupRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for CleanupRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, tables_key(&self.tables)))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        let scope = CompactionScope {
            keyspace: &self.keyspace,
            tables: &self.tables,
            task_type: "Cleanup",
        };
        let status = with_compaction_progress(
            ctx,
            "forceKeyspaceCleanup",
            scope,
            node.cleanup(&self.keyspace, &self.tables, self.jobs),
        )
        .await??;
        status_outcome(ctx, "cleanup", status)
    }
}

/// `scrub`: `scrub(disableSnapshot, skipCorrupted, checkData, reinsertOverflowedTTL, jobs,
/// keyspace, tables...)` (the overload the node's nodetool uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrubRequest {
    pub keyspace: String,
    pub tables: Vec<String>,
    pub jobs: i32,
    pub disable_snapshot: bool,
    pub skip_corrupted: bool,
    pub no_validate: bool,
    #[serde(rename = "reinsertOverflowedTTL")]
    pub reinsert_overflowed_ttl: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScrubInput {
    keyspace: Option<String>,
    tables: Option<Vec<String>>,
    jobs: Option<i64>,
    disable_snapshot: Option<bool>,
    skip_corrupted: Option<bool>,
    no_validate: Option<bool>,
    #[serde(rename = "reinsertOverflowedTTL")]
    reinsert_overflowed_ttl: Option<bool>,
}

impl ScrubRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: ScrubInput = decode(body)?;
        Ok(ScrubRequest {
            keyspace: fields::name("keyspace", input.keyspace)?,
            tables: fields::tables(input.tables)?,
            jobs: fields::jobs(input.jobs)?,
            disable_snapshot: input.disable_snapshot.unwrap_or(false),
            skip_corrupted: input.skip_corrupted.unwrap_or(false),
            no_validate: input.no_validate.unwrap_or(false),
            reinsert_overflowed_ttl: input.reinsert_overflowed_ttl.unwrap_or(false),
        })
    }

    pub fn call(&self) -> ScrubOptions {
        ScrubOptions {
            disable_snapshot: self.disable_snapshot,
            skip_corrupted: self.skip_corrupted,
            check_data: !self.no_validate,
            reinsert_overflowed_ttl: self.reinsert_overflowed_ttl,
            jobs: self.jobs,
        }
    }
}

impl OperationType for ScrubRequest {
    const TYPE: &'static str = "scrub";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: false,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        ScrubRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for ScrubRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, tables_key(&self.tables)))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        let scope = CompactionScope {
            keyspace: &self.keyspace,
            tables: &self.tables,
            task_type: "Scrub",
        };
        let status = with_compaction_progress(
            ctx,
            "scrub",
            scope,
            node.scrub(&self.keyspace, &self.tables, self.call()),
        )
        .await??;
        status_outcome(ctx, "scrub", status)
    }
}

/// `upgradesstables`: `upgradeSSTables(keyspace, excludeCurrentVersion = !includeAllSStables,
/// [maxSSTableTimestamp,] jobs, tables...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeSSTablesRequest {
    pub keyspace: String,
    pub tables: Vec<String>,
    pub jobs: i32,
    #[serde(rename = "includeAllSStables")]
    pub include_all_sstables: bool,
}

#[derive(Deserialize)]
struct UpgradeInput {
    keyspace: Option<String>,
    tables: Option<Vec<String>>,
    jobs: Option<i64>,
    #[serde(rename = "includeAllSStables")]
    include_all_sstables: Option<bool>,
}

impl UpgradeSSTablesRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: UpgradeInput = decode(body)?;
        Ok(UpgradeSSTablesRequest {
            keyspace: fields::name("keyspace", input.keyspace)?,
            tables: fields::tables(input.tables)?,
            jobs: fields::jobs(input.jobs)?,
            include_all_sstables: input.include_all_sstables.unwrap_or(false),
        })
    }
}

impl OperationType for UpgradeSSTablesRequest {
    const TYPE: &'static str = "upgradesstables";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: false,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        UpgradeSSTablesRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for UpgradeSSTablesRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, tables_key(&self.tables)))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        let scope = CompactionScope {
            keyspace: &self.keyspace,
            tables: &self.tables,
            task_type: "Upgrade sstables",
        };
        let options = UpgradeOptions {
            include_all: self.include_all_sstables,
            jobs: self.jobs,
            max_timestamp: None,
        };
        let status = with_compaction_progress(
            ctx,
            "upgradeSSTables",
            scope,
            node.upgrade_sstables(&self.keyspace, &self.tables, options),
        )
        .await??;
        status_outcome(ctx, "upgradesstables", status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_field_names_follow_the_spec() {
        let r = ScrubRequest::from_json(&json!({"type": "scrub", "keyspace": "ks"})).unwrap();
        assert_eq!(r.tables, Vec::<String>::new());
        assert_eq!(r.jobs, 0);
        assert!(!r.disable_snapshot && !r.skip_corrupted && !r.no_validate);
        assert!(r.call().check_data, "noValidate=false validates");
        let r = ScrubRequest::from_json(&json!({
            "keyspace": "ks", "noValidate": true, "reinsertOverflowedTTL": true, "jobs": 2
        }))
        .unwrap();
        assert!(!r.call().check_data && r.reinsert_overflowed_ttl);
        let shown = serde_json::to_value(&r).unwrap();
        assert_eq!(shown["reinsertOverflowedTTL"], true);
        assert_eq!(shown["noValidate"], true);

        let u = UpgradeSSTablesRequest::from_json(
            &json!({"keyspace": "ks", "includeAllSStables": true}),
        )
        .unwrap();
        assert!(u.include_all_sstables);
        assert_eq!(
            serde_json::to_value(&u).unwrap()["includeAllSStables"],
            true
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = CleanupRequest::from_json(&json!({"tables": ["t"]})).unwrap_err();
        assert_eq!(
            (e.error, e.field.as_deref()),
            ("missing_field", Some("keyspace"))
        );
        let e = CleanupRequest::from_json(&json!({"keyspace": "ks", "jobs": -2})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("jobs"));
        let e = CleanupRequest::from_json(&json!({"keyspace": "ks", "jobs": "2"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("jobs"));
        let e = CleanupRequest::from_json(&json!({"keyspace": "ks", "tables": "t"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("tables"));
        let e = ScrubRequest::from_json(&json!({"keyspace": "k,s"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("keyspace"));
        let e = ScrubRequest::from_json(&json!({"keyspace": "ks", "skipCorrupted": "yes"}))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("skipCorrupted"));
    }
}
