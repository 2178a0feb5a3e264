//! The quick keyspace/table operations: `flush`, `refresh` (`loadNewSSTables`) and `truncate`.
//!
//! Owns their request fields, validation, the one call each makes, and truncate's rule that it
//! needs `--enable-truncate`. It must not decide when an operation runs (the engine does).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::ClusterMode;
use super::context::{OperationError, RunContext};
use super::fields;
use super::operation::{Operation, OperationType};
use super::settings::{OperationSettings, ValidationPolicy};
use super::validation::{decode, tables_key, ValidationError};

/// `flush`: `forceKeyspaceFlush(keyspace, tables...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushRequest {
    pub keyspace: String,
    pub tables: Vec<String>,
}

#[derive(Deserialize)]
struct FlushInput {
    keyspace: Option<String>,
    tables: Option<Vec<String>>,
}

impl FlushRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: FlushInput = decode(body)?;
        Ok(FlushRequest {
            keyspace: fields::name("keyspace", input.keyspace)?,
            tables: fields::tables(input.tables)?,
        })
    }
}

impl OperationType for FlushRequest {
    const TYPE: &'static str = "flush";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: false,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        FlushRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for FlushRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, tables_key(&self.tables)))
    }

    /// A second flush writes out only what reached the memtables since the first.
    fn resumable(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        ctx.uninterruptible(
            "forceKeyspaceFlush",
            node.flush(&self.keyspace, &self.tables),
        )
        .await??;
        Ok(())
    }
}

#[derive(Deserialize)]
struct KeyspaceTable {
    keyspace: Option<String>,
    table: Option<String>,
}

fn keyspace_table(body: &Value) -> Result<(String, String), ValidationError> {
    let input: KeyspaceTable = decode(body)?;
    Ok((
        fields::name("keyspace", input.keyspace)?,
        fields::name("table", input.table)?,
    ))
}

/// `refresh`: `StorageService.loadNewSSTables(keyspace, table)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub keyspace: String,
    pub table: String,
}

impl RefreshRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let (keyspace, table) = keyspace_table(body)?;
        Ok(RefreshRequest { keyspace, table })
    }
}

impl OperationType for RefreshRequest {
    const TYPE: &'static str = "refresh";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: false,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        RefreshRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for RefreshRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, self.table))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        ctx.uninterruptible("loadNewSSTables", node.refresh(&self.keyspace, &self.table))
            .await??;
        Ok(())
    }
}

/// `truncate`: `StorageService.truncate(keyspace, table)`; only with `--enable-truncate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TruncateRequest {
    pub keyspace: String,
    pub table: String,
}

impl TruncateRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let (keyspace, table) = keyspace_table(body)?;
        Ok(TruncateRequest { keyspace, table })
    }
}

impl OperationType for TruncateRequest {
    const TYPE: &'static str = "truncate";

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        TruncateRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for TruncateRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/{}", self.keyspace, self.table))
    }

    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        if settings.enable_truncate {
            return Ok(());
        }
        Err(ValidationError::disabled(
            "truncate is disabled on this sidecar; start it with --enable-truncate \
             (environment DAEDALUS_ENABLE_TRUNCATE=true, or enable-truncate = true in the \
             config file) to allow it",
        ))
    }

    fn not_resumed_because(&self) -> String {
        "truncating again would also remove what was written to the table since the first \
         truncate"
            .to_string()
    }

    fn restart_advice(&self) -> Option<String> {
        Some(format!(
            "check whether {}.{} is empty before truncating it again",
            self.keyspace, self.table
        ))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        ctx.uninterruptible("truncate", node.truncate(&self.keyspace, &self.table))
            .await??;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_is_required_where_the_spec_requires_it() {
        let e = RefreshRequest::from_json(&json!({"keyspace": "ks"})).unwrap_err();
        assert_eq!(
            (e.error, e.field.as_deref()),
            ("missing_field", Some("table"))
        );
        let e = TruncateRequest::from_json(&json!({"table": "t"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("keyspace"));
        let f = FlushRequest::from_json(&json!({"keyspace": "ks"})).unwrap();
        assert!(f.tables.is_empty());
        let e =
            FlushRequest::from_json(&json!({"keyspace": "ks", "tables": ["ok", ""]})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("tables[1]"));
    }
}
