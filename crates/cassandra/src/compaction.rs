//! Active compaction-manager tasks (`CompactionManager.Compactions`, fact sheet §3.7), the only
//! progress signal Cassandra exposes for cleanup, scrub and upgradesstables.
//!
//! Owns decoding the list of string maps into [`CompactionInfo`], tolerating missing keys and
//! numbers sent as numbers instead of strings. It must not decide what progress means for an
//! operation (one map per SSTable in flight; there is no whole-operation total).

use javaser::Value;

use crate::error::NodeError;
use crate::names::COMPACTION_MANAGER;
use crate::node::Node;

/// One active task. Every field is optional: keys differ between versions and may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactionInfo {
    pub keyspace: Option<String>,
    /// The `columnfamily` key.
    pub table: Option<String>,
    pub completed: Option<u64>,
    pub total: Option<u64>,
    /// `bytes`, `keys`, `ranges` (3.11) or `token range parts` (4.0+).
    pub unit: Option<String>,
    /// `OperationType` display text: `Compaction`, `Cleanup`, `Scrub`, `Upgrade sstables`, ...
    pub task_type: Option<String>,
    /// The task's UUID (`compactionId`).
    pub id: Option<String>,
    /// The table's id (`id`).
    pub table_id: Option<String>,
    /// SSTables being processed (`sstables`, 4.0+), split on commas.
    pub sstables: Vec<String>,
    /// Output directory (`targetDirectory`, 5.0+).
    pub target_directory: Option<String>,
}

impl CompactionInfo {
    /// Decodes one map. Non-string keys are ignored; empty strings count as absent.
    pub fn from_value(v: &Value) -> Result<CompactionInfo, NodeError> {
        let entries = v.as_entries().ok_or_else(|| {
            NodeError::protocol("CompactionManager.Compactions: an element is not a Map")
        })?;
        let mut info = CompactionInfo::default();
        for (k, val) in entries {
            let Some(key) = k.as_str() else { continue };
            let text = match val {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Null | Value::String(_) => None,
                other => other.as_i64().map(|n| n.to_string()),
            };
            let number = text.as_deref().and_then(|t| t.trim().parse::<u64>().ok());
            match key {
                "keyspace" => info.keyspace = text,
                "columnfamily" => info.table = text,
                "completed" => info.completed = number,
                "total" => info.total = number,
                "unit" => info.unit = text,
                "taskType" => info.task_type = text,
                "compactionId" => info.id = text,
                "id" => info.table_id = text,
                "targetDirectory" => info.target_directory = text,
                "sstables" => {
                    info.sstables = text
                        .iter()
                        .flat_map(|t| t.split(','))
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// `completed / total`, when both are known and total is not 0.
    pub fn fraction(&self) -> Option<f64> {
        match (self.completed, self.total) {
            (Some(c), Some(t)) if t > 0 => Some((c as f64 / t as f64).min(1.0)),
            _ => None,
        }
    }

    /// True when the task works on `keyspace` and, if `tables` is not empty, one of `tables`.
    pub fn is_for(&self, keyspace: &str, tables: &[String]) -> bool {
        self.keyspace.as_deref() == Some(keyspace)
            && (tables.is_empty()
                || self
                    .table
                    .as_deref()
                    .is_some_and(|t| tables.iter().any(|x| x == t)))
    }
}

impl Node {
    /// `CompactionManager.Compactions`: the tasks running now.
    pub async fn compactions(&self) -> Result<Vec<CompactionInfo>, NodeError> {
        let v = self
            .server()
            .get_attribute(COMPACTION_MANAGER, "Compactions")
            .await?;
        match v {
            Value::Null => Ok(Vec::new()),
            v => v
                .as_items()
                .ok_or_else(|| {
                    NodeError::protocol("CompactionManager.Compactions: expected a List of Maps")
                })?
                .iter()
                .map(CompactionInfo::from_value)
                .collect(),
        }
    }
}
