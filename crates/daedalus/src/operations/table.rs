//! The quick keyspace/table operations: `flush`, `refresh` (`loadNewSSTables`) and `truncate`.
//!
//! Owns their request fields, validation and the one call each makes. It must not decide whether
//! truncate is allowed (admission in the engine does, from `--enable-truncate`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields;
use super::{decode, ValidationError};
use crate::engine::{RunContext, RunError};

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

    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        ctx.checkpoint()?;
        let node = ctx.connect().await?;
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

    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        ctx.checkpoint()?;
        let node = ctx.connect().await?;
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

    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        ctx.checkpoint()?;
        let node = ctx.connect().await?;
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
