//! The operations that change the node's place in the ring or its mode: `rebuild`,
//! `decommission` and `drain` (the drain step is shared with `restart`).
//!
//! Owns their request fields, validation, the mode rules (drain only from NORMAL; at once when
//! already DRAINING/DRAINED; DRAINED awaited with a bound) and mode-based progress. It must not
//! decide which of them may run together (admission in the engine does).

use std::time::Duration;

use async_trait::async_trait;
use cassandra::{OperationMode, RebuildOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::ClusterMode;
use super::context::{OperationError, RunContext};
use super::fields;
use super::finding::Finding;
use super::operation::{Operation, OperationType};
use super::progress::with_mode_progress;
use super::settings::ValidationPolicy;
use super::validation::{decode, ValidationError};

/// What an operator should check after the sidecar stopped during a drain or a restart.
pub(crate) const CHECK_MODE_AND_PROCESS: &str = "check the node's mode (nodetool netstats) and \
     whether its process was restarted before submitting it again";

/// One `(start, end]` token range of `specificTokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRange {
    pub start: String,
    pub end: String,
}

/// `rebuild`: stream data from other replicas (`StorageService.rebuild`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyspace: Option<String>,
    #[serde(rename = "sourceDC", default, skip_serializing_if = "Option::is_none")]
    pub source_dc: Option<String>,
    #[serde(default)]
    pub specific_tokens: Vec<TokenRange>,
    #[serde(default)]
    pub specific_sources: Vec<String>,
}

#[derive(Deserialize)]
struct TokenInput {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RebuildInput {
    keyspace: Option<String>,
    #[serde(rename = "sourceDC")]
    source_dc: Option<String>,
    specific_tokens: Option<Vec<TokenInput>>,
    specific_sources: Option<Vec<String>>,
}

impl RebuildRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: RebuildInput = decode(body)?;
        let keyspace = fields::optional_name("keyspace", input.keyspace)?;
        let source_dc = match input.source_dc {
            Some(dc) if dc.trim().is_empty() || dc.len() > 255 || dc.contains(',') => {
                return Err(ValidationError::invalid(
                    "sourceDC",
                    format!("'sourceDC' must be a datacenter name, got {dc:?}"),
                ))
            }
            other => other,
        };
        let specific_tokens = input
            .specific_tokens
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(TokenRange {
                    start: fields::token(&format!("specificTokens[{i}].start"), t.start)?,
                    end: fields::token(&format!("specificTokens[{i}].end"), t.end)?,
                })
            })
            .collect::<Result<Vec<_>, ValidationError>>()?;
        if !specific_tokens.is_empty() && keyspace.is_none() {
            return Err(ValidationError {
                message: "'keyspace' is required with 'specificTokens' (Cassandra cannot \
                          rebuild token ranges of every keyspace)"
                    .to_string(),
                ..ValidationError::missing("keyspace")
            });
        }
        let specific_sources = input
            .specific_sources
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, h)| fields::host(&format!("specificSources[{i}]"), h))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RebuildRequest {
            keyspace,
            source_dc,
            specific_tokens,
            specific_sources,
        })
    }

    pub fn call(&self) -> RebuildOptions {
        RebuildOptions {
            keyspace: self.keyspace.clone(),
            source_dc: self.source_dc.clone(),
            tokens: self
                .specific_tokens
                .iter()
                .map(|t| cassandra::TokenRange {
                    start: t.start.clone(),
                    end: t.end.clone(),
                })
                .collect(),
            specific_sources: self.specific_sources.clone(),
            exclude_local_dc: false,
        }
    }
}

impl OperationType for RebuildRequest {
    const TYPE: &'static str = "rebuild";

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        RebuildRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for RebuildRequest {
    fn conflict_key(&self) -> Option<String> {
        Some(format!("{}/", self.keyspace.as_deref().unwrap_or("*")))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        let call = self.call();
        ctx.uninterruptible("rebuild", node.rebuild(&call))
            .await??;
        Ok(())
    }
}

/// `decommission`: the node streams its data away and leaves the ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecommissionRequest {
    /// Defaults to false, as the spec says; ignored by 3.x, which has no replication check.
    pub force: bool,
}

#[derive(Deserialize)]
struct DecommissionInput {
    force: Option<bool>,
}

impl DecommissionRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let input: DecommissionInput = decode(body)?;
        Ok(DecommissionRequest {
            force: input.force.unwrap_or(false),
        })
    }
}

impl OperationType for DecommissionRequest {
    const TYPE: &'static str = "decommission";

    const CLUSTER: ClusterMode = ClusterMode::Never(Some(
        "decommission is never cluster-wide: it removes one node from the ring; send it to \
         that node's sidecar without globalRequest",
    ));

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        DecommissionRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for DecommissionRequest {
    fn conflict_key(&self) -> Option<String> {
        Some("*/".to_string())
    }

    fn not_resumed_because(&self) -> String {
        "decommission goes on in Cassandra without the sidecar, and the node may have left the \
         ring already: a second call would fail or start over"
            .to_string()
    }

    fn is_exclusive(&self) -> bool {
        true
    }

    fn restart_advice(&self) -> Option<String> {
        Some(
            "check the node's mode (nodetool netstats); decommission goes on in Cassandra \
             without the sidecar"
                .to_string(),
        )
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        let progress = |mode: &OperationMode| match mode {
            OperationMode::Leaving => Some(0.5),
            OperationMode::Decommissioned => Some(1.0),
            _ => None,
        };
        with_mode_progress(ctx, "decommission", progress, node.decommission(self.force)).await??;
        if let Ok(mode) = ctx
            .read(|node| async move { node.operation_mode().await })
            .await
        {
            ctx.report(Finding::OperationMode(mode.as_str().to_string()));
        }
        Ok(())
    }
}

/// `drain`: flush everything and stop accepting writes; only from NORMAL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainRequest {}

impl DrainRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let _: Value = decode(body)?;
        Ok(DrainRequest {})
    }
}

impl OperationType for DrainRequest {
    const TYPE: &'static str = "drain";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: true,
        wait_for_up: false,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        DrainRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for DrainRequest {
    fn conflict_key(&self) -> Option<String> {
        Some("*/".to_string())
    }

    fn not_resumed_because(&self) -> String {
        "drain goes on in Cassandra without the sidecar and leaves the node not accepting \
         writes: whether it should be drained still is the operator's call"
            .to_string()
    }

    fn is_exclusive(&self) -> bool {
        true
    }

    fn restart_advice(&self) -> Option<String> {
        Some(CHECK_MODE_AND_PROCESS.to_string())
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        drain_node(ctx, false).await
    }
}

/// Drains the node: from NORMAL calls `drain()` then waits (bounded by `--drain-timeout`) for
/// DRAINED; when already DRAINED returns at once; when DRAINING returns at once unless
/// `await_draining` (restart needs DRAINED before it stops the process). Other modes fail.
pub(crate) async fn drain_node(
    ctx: &RunContext,
    await_draining: bool,
) -> Result<(), OperationError> {
    let mode = ctx
        .read(|node| async move { node.operation_mode().await })
        .await?;
    ctx.report(Finding::OperationMode(mode.as_str().to_string()));
    match mode {
        OperationMode::Normal => {}
        OperationMode::Drained => {
            ctx.report(Finding::AlreadyDrained(true));
            return Ok(());
        }
        OperationMode::Draining if !await_draining => {
            ctx.report(Finding::AlreadyDrained(true));
            return Ok(());
        }
        OperationMode::Draining => {
            return wait_for_mode(ctx, OperationMode::Drained, ctx.settings().drain_timeout).await;
        }
        other => {
            return Err(OperationError::failed(
                "InvalidState",
                format!(
                    "drain needs the node in mode NORMAL, but it is {}",
                    other.as_str()
                ),
            ))
        }
    }
    let progress = |mode: &OperationMode| match mode {
        OperationMode::Draining => Some(0.5),
        OperationMode::Drained => Some(1.0),
        _ => None,
    };
    let node = ctx.node().await?;
    with_mode_progress(ctx, "drain", progress, node.drain()).await??;
    wait_for_mode(ctx, OperationMode::Drained, ctx.settings().drain_timeout).await
}

/// Polls the mode until it is `wanted`; fails after `bound`. A read that fails is retried (the
/// node may be restarting).
pub(crate) async fn wait_for_mode(
    ctx: &RunContext,
    wanted: OperationMode,
    bound: Duration,
) -> Result<(), OperationError> {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let last = match ctx
            .read(|node| async move { node.operation_mode().await })
            .await
        {
            Ok(mode) if mode == wanted => {
                ctx.report(Finding::OperationMode(mode.as_str().to_string()));
                return Ok(());
            }
            Ok(mode) => mode.as_str().to_string(),
            Err(e) => format!("unreadable ({e})"),
        };
        ctx.checkpoint()?;
        if tokio::time::Instant::now() >= deadline {
            return Err(OperationError::failed(
                "Timeout",
                format!(
                    "the node did not reach mode {} within {bound:?}; last mode {last}",
                    wanted.as_str()
                ),
            ));
        }
        tokio::time::sleep(ctx.settings().poll_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rebuild_fields() {
        let r = RebuildRequest::from_json(&json!({
            "keyspace": "ks", "sourceDC": "dc2",
            "specificTokens": [{"start": "-100", "end": "200"}],
            "specificSources": ["127.0.0.2"]
        }))
        .unwrap();
        assert_eq!(
            r.call().tokens,
            vec![cassandra::TokenRange {
                start: "-100".to_string(),
                end: "200".to_string()
            }]
        );
        let shown = serde_json::to_value(&r).unwrap();
        assert_eq!(shown["sourceDC"], "dc2");
        assert_eq!(shown["specificTokens"][0]["end"], "200");

        let e = RebuildRequest::from_json(&json!({"specificTokens": [{"start": "1", "end": "2"}]}))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("keyspace"));
        let e = RebuildRequest::from_json(&json!({
            "keyspace": "ks", "specificTokens": [{"start": "1", "end": "x"}]
        }))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("specificTokens[0].end"));
        let e = RebuildRequest::from_json(&json!({
            "keyspace": "ks", "specificTokens": [{"start": "1"}]
        }))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("specificTokens[0].end"));
        let e = RebuildRequest::from_json(&json!({"specificTokens": [{"start": 1, "end": "2"}]}))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("specificTokens[0].start"));
        assert!(RebuildRequest::from_json(&json!({}))
            .unwrap()
            .keyspace
            .is_none());
    }

    #[test]
    fn decommission_force_defaults_to_false() {
        assert!(
            !DecommissionRequest::from_json(&json!({"type": "decommission"}))
                .unwrap()
                .force
        );
        assert!(
            DecommissionRequest::from_json(&json!({"force": true}))
                .unwrap()
                .force
        );
        let e = DecommissionRequest::from_json(&json!({"force": "yes"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("force"));
    }
}
