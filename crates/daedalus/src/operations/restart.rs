//! The `restart` operation: drain the node, run the operator's `--restart-command`, then wait
//! until the node answers over JMX again with mode NORMAL.
//!
//! Owns the three steps, their bounds (`--drain-timeout`, `--restart-timeout`) and their
//! progress (drained 0.3, command done 0.5, NORMAL 1.0). It must not decide whether restart is
//! allowed (admission refuses it without `--restart-command`) nor know how the process restarts.

use std::process::Stdio;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::topology::drain_node;
use super::{decode, ValidationError};
use crate::engine::{RunContext, RunError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartRequest {}

impl RestartRequest {
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        let _: Value = decode(body)?;
        Ok(RestartRequest {})
    }

    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        let settings = ctx.settings().clone();
        let Some(command) = settings.restart_command.clone() else {
            return Err(RunError::failed(
                "Disabled",
                "restart needs --restart-command; the sidecar was started without it",
            ));
        };
        ctx.checkpoint()?;
        {
            let node = ctx.connect().await?;
            drain_node(ctx, &node, true).await?;
        }
        ctx.set_progress(0.3);
        ctx.checkpoint()?;

        let deadline = tokio::time::Instant::now() + settings.restart_timeout;
        let status = ctx
            .uninterruptible("restart command", async {
                let mut child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(&command)
                    .env("DAEDALUS_OPERATION_ID", ctx.id().to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| {
                        RunError::failed(
                            "RestartCommand",
                            format!("cannot run the restart command {command:?}: {e}"),
                        )
                    })?;
                match tokio::time::timeout_at(deadline, child.wait()).await {
                    Ok(Ok(status)) => Ok(status),
                    Ok(Err(e)) => Err(RunError::failed(
                        "RestartCommand",
                        format!("waiting for the restart command failed: {e}"),
                    )),
                    Err(_) => Err(RunError::failed(
                        "Timeout",
                        format!(
                            "the restart command did not finish within {:?}; it was killed",
                            settings.restart_timeout
                        ),
                    )),
                }
            })
            .await??;
        if !status.success() {
            return Err(RunError::failed(
                "RestartCommand",
                format!(
                    "the restart command {command:?} failed ({status}); the node stays drained"
                ),
            ));
        }
        ctx.set_progress(0.5);

        // The old process may still answer for a moment (DRAINED), so only NORMAL counts.
        loop {
            let last = match ctx.connect().await {
                Ok(node) => match node.operation_mode().await {
                    Ok(mode) if mode == "NORMAL" => {
                        ctx.set_extra("operationMode", json!(mode));
                        return Ok(());
                    }
                    Ok(mode) => format!("mode {mode}"),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            ctx.checkpoint()?;
            if tokio::time::Instant::now() >= deadline {
                return Err(RunError::failed(
                    "Timeout",
                    format!(
                        "the node did not come back with mode NORMAL within {:?} of the restart; last: {last}",
                        settings.restart_timeout
                    ),
                ));
            }
            tokio::time::sleep(settings.poll_interval).await;
        }
    }
}
