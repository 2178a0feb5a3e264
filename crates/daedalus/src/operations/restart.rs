//! The `restart` operation: drain the node, run the operator's `--restart-command`, then wait
//! until the node answers over JMX again with mode NORMAL.
//!
//! Owns the three steps, their bounds (`--drain-timeout`, `--restart-timeout`), their progress
//! (drained 0.3, command done 0.5, NORMAL 1.0) and the rule that restart needs
//! `--restart-command`. It must not know how the process restarts (the command does).

use std::process::Stdio;

use async_trait::async_trait;
use cassandra::OperationMode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::ClusterMode;
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::operation::{Operation, OperationType};
use super::settings::{OperationSettings, ValidationPolicy};
use super::topology::{drain_node, CHECK_MODE_AND_PROCESS};
use super::validation::{decode, ValidationError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartRequest {}

impl RestartRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let _: Value = decode(body)?;
        Ok(RestartRequest {})
    }
}

impl OperationType for RestartRequest {
    const TYPE: &'static str = "restart";

    const CLUSTER: ClusterMode = ClusterMode::Roll {
        one_at_a_time: true,
        wait_for_up: true,
    };

    fn parse(body: &Value, _: &ValidationPolicy) -> Result<Self, ValidationError> {
        RestartRequest::from_json(body)
    }
}

#[async_trait]
impl Operation for RestartRequest {
    fn conflict_key(&self) -> Option<String> {
        Some("*/".to_string())
    }

    fn is_exclusive(&self) -> bool {
        true
    }

    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        if settings.restart_command.is_some() {
            return Ok(());
        }
        Err(ValidationError::disabled(
            "restart is disabled on this sidecar: it needs a command that restarts the \
             Cassandra process; start the sidecar with --restart-command CMD (environment \
             DAEDALUS_RESTART_COMMAND, or restart-command in the config file). The \
             operation drains the node, runs CMD with sh -c, then waits until the node \
             answers with mode NORMAL",
        ))
    }

    fn not_resumed_because(&self) -> String {
        "the node may have been drained or restarted already: a second run would take it down \
         again"
            .to_string()
    }

    fn restart_advice(&self) -> Option<String> {
        Some(CHECK_MODE_AND_PROCESS.to_string())
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        let settings = ctx.settings().clone();
        let Some(command) = settings.restart_command.clone() else {
            return Err(OperationError::failed(
                "Disabled",
                "restart needs --restart-command; the sidecar was started without it",
            ));
        };
        ctx.checkpoint()?;
        drain_node(ctx, true).await?;
        ctx.set_progress(0.3);
        ctx.checkpoint()?;

        let deadline = tokio::time::Instant::now() + settings.restart_timeout;
        run_restart_command(ctx, &command, deadline, "drained").await?;
        ctx.set_progress(0.5);
        wait_for_normal(ctx, deadline, "of the restart").await
    }
}

/// Runs the operator's restart command (`sh -c`), bounded by `deadline`; it must succeed.
/// `state` says what the node is left as when it does not (for the failure's cause).
pub(super) async fn run_restart_command(
    ctx: &RunContext,
    command: &str,
    deadline: tokio::time::Instant,
    state: &str,
) -> Result<(), OperationError> {
    let timeout = ctx.settings().restart_timeout;
    let status = ctx
        .uninterruptible("restart command", async {
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .env("DAEDALUS_OPERATION_ID", ctx.id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    OperationError::failed(
                        "RestartCommand",
                        format!("cannot run the restart command {command:?}: {e}"),
                    )
                })?;
            match tokio::time::timeout_at(deadline, child.wait()).await {
                Ok(Ok(status)) => Ok(status),
                Ok(Err(e)) => Err(OperationError::failed(
                    "RestartCommand",
                    format!("waiting for the restart command failed: {e}"),
                )),
                Err(_) => Err(OperationError::failed(
                    "Timeout",
                    format!("the restart command did not finish within {timeout:?}; it was killed"),
                )),
            }
        })
        .await??;
    if !status.success() {
        return Err(OperationError::failed(
            "RestartCommand",
            format!("the restart command {command:?} failed ({status}); the node stays {state}"),
        ));
    }
    Ok(())
}

/// Waits until the node answers over JMX with mode NORMAL, at most until `deadline`; `after`
/// names what the wait follows in the timeout's cause.
pub(super) async fn wait_for_normal(
    ctx: &RunContext,
    deadline: tokio::time::Instant,
    after: &str,
) -> Result<(), OperationError> {
    let settings = ctx.settings().clone();
    // The old process may still answer for a moment (DRAINED), so only NORMAL counts.
    loop {
        let mode = ctx
            .read(|node| async move { node.operation_mode().await })
            .await;
        let last = match mode {
            Ok(OperationMode::Normal) => {
                ctx.report(Finding::OperationMode(
                    OperationMode::Normal.as_str().to_string(),
                ));
                return Ok(());
            }
            Ok(mode) => format!("mode {}", mode.as_str()),
            Err(e) => e.to_string(),
        };
        ctx.checkpoint()?;
        if tokio::time::Instant::now() >= deadline {
            return Err(OperationError::failed(
                "Timeout",
                format!(
                    "the node did not come back with mode NORMAL within {:?} {after}; last: {last}",
                    settings.restart_timeout
                ),
            ));
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}
