//! The one coordinator of every cluster-wide run (a roll, a cluster-wide backup, a phased
//! restore): the plan loaded from the journal or discovered and written before anything is
//! sent, the run of its stages, following each node's sub-operation on its sidecar, and the
//! epilogue that turns the steps' end states into the run's outcome.
//!
//! A run is a list of stages: a roll is one stage of every node with its concurrency as the
//! window (or one stage per rack), a phased run one stage per phase with all of its nodes at
//! once. A stage starts once the one before ended, and not at all after a failure or a cancel;
//! inside a stage no new step starts after one failed. After a restart of the coordinator the
//! same plan is read back and each sent step is followed under the id it was sent with (sent
//! again under that id when the peer never got it), so no node runs a step twice.
//!
//! Owns that skeleton. What each node is sent, how the stages are cut and how the record shows
//! the nodes are the callers' (`roll`, `phased`, `backup`); it must not know HTTP, the engine
//! or any operation type's fields.

use std::time::Duration;

use cassandra::EndpointStatus;
use daedalus_client::{Operation as PeerOperation, OperationState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::super::context::{OperationError, RunContext, SourcedError};
use super::super::finding::Finding;
use super::board::{journal_error, Board, Render};
use super::peer::Peer;
use super::plan::{Step, StepState};
use super::settings::Coordination;

/// How often a node's sub-operation is read while it runs.
const POLL: Duration = Duration::from_millis(250);
/// The first wait before reading a node's sub-operation again; doubled up to [`POLL`].
const FIRST_POLL: Duration = Duration::from_millis(20);

/// Steps that run together: up to `window` at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stage {
    /// The phase the stage runs (a phased run); `None` for a roll.
    pub phase: Option<String>,
    /// Indices into the plan's steps, in the order they start.
    pub steps: Vec<usize>,
    pub window: usize,
}

/// What a run needs besides its plan.
pub(super) struct RunSpec {
    /// The operation type, for messages.
    pub type_name: &'static str,
    pub stages: Vec<Stage>,
    /// The whole run fails once this has passed (each node's operation is asked to cancel).
    pub timeout: Duration,
    /// Wait until the node shows UP in the ring again before its step counts as done.
    pub wait_for_up: bool,
    /// How the record shows the steps.
    pub render: Render,
    /// The body each step's sidecar is sent, by step index.
    pub bodies: Vec<Value>,
}

/// The coordinator's settings, or why this sidecar cannot coordinate.
pub(super) fn coordination(ctx: &RunContext) -> Result<Coordination, OperationError> {
    ctx.settings().cluster.clone().ok_or_else(|| {
        OperationError::failed(
            "Disabled",
            "this sidecar cannot coordinate cluster-wide requests",
        )
    })
}

/// The run's plan and header, read back from the journal, or, on the first run, `header` made,
/// the ring of `dc` discovered, made into steps by `expand` and journaled before anything is
/// sent.
pub(super) async fn load_or_create<H: Serialize + DeserializeOwned>(
    ctx: &RunContext,
    coordination: &Coordination,
    dc: Option<&str>,
    header: impl Future<Output = Result<Option<H>, OperationError>>,
    expand: impl FnOnce(Vec<Step>) -> Vec<Step>,
) -> Result<(Vec<Step>, Option<H>), OperationError> {
    load_or_create_over(ctx, coordination, discover(ctx, dc), header, expand).await
}

/// [`load_or_create`] over the nodes `nodes` gives instead of the ring the coordinator's node
/// reports (a restore of stopped nodes reads them from the backup's topology).
pub(super) async fn load_or_create_over<H: Serialize + DeserializeOwned>(
    ctx: &RunContext,
    coordination: &Coordination,
    nodes: impl Future<Output = Result<Vec<Step>, OperationError>>,
    header: impl Future<Output = Result<Option<H>, OperationError>>,
    expand: impl FnOnce(Vec<Step>) -> Vec<Step>,
) -> Result<(Vec<Step>, Option<H>), OperationError> {
    let id = ctx.id();
    let plans = &coordination.plans;
    let steps = plans.load(id).await.map_err(journal_error)?;
    if !steps.is_empty() {
        tracing::info!(%id, steps = steps.len(), "resuming the cluster-wide run from its plan");
        let stored = plans.header(id).await.map_err(journal_error)?;
        let header = stored.and_then(|v| serde_json::from_value(v).ok());
        return Ok((steps, header));
    }
    let header = header.await?;
    let steps = expand(nodes.await?);
    let stored = match &header {
        Some(header) => Some(
            serde_json::to_value(header)
                .map_err(|e| OperationError::internal(format!("the plan's header as JSON: {e}")))?,
        ),
        None => None,
    };
    plans
        .create_with_header(id, stored, steps.clone())
        .await
        .map_err(journal_error)?;
    Ok((steps, header))
}

/// Every step's body, made before anything is sent: a request that cannot be made for one
/// node fails the run before any node starts.
pub(super) fn bodies(
    steps: &[Step],
    make: impl Fn(&Step) -> Result<Value, String>,
) -> Result<Vec<Value>, OperationError> {
    steps
        .iter()
        .map(|step| {
            make(step).map_err(|e| {
                OperationError::failed(
                    "ClusterFailure",
                    format!("cannot make the request for {}: {e}", step.endpoint),
                )
            })
        })
        .collect()
}

/// What every step task shares.
struct Run {
    board: Board,
    bodies: Vec<Value>,
    deadline: Instant,
    wait_for_up: bool,
}

/// Runs the plan's steps (those not finished yet) stage after stage, showing every node in the
/// record; `Ok` when every step completed, else which failed, each by name.
pub(super) async fn run(
    ctx: &RunContext,
    coordination: &Coordination,
    steps: Vec<Step>,
    spec: RunSpec,
) -> Result<(), OperationError> {
    let id = ctx.id();
    let run = Arc::new(Run {
        board: Board::new(ctx, coordination.plans.clone(), &steps, spec.render),
        bodies: spec.bodies,
        deadline: Instant::now() + spec.timeout,
        wait_for_up: spec.wait_for_up,
    });
    run.board.publish();

    let mut stopped_at: Option<usize> = None;
    for (i, stage) in spec.stages.iter().enumerate() {
        if ctx.stopping().is_cancelled() {
            break;
        }
        if ctx.is_cancel_requested() {
            stopped_at = Some(i);
            break;
        }
        if let Some(phase) = &stage.phase {
            ctx.report(Finding::Phase(phase.clone()));
        }
        if !run_stage(&run, coordination, stage).await {
            stopped_at = Some(i);
            break;
        }
    }

    // Stopping: nothing new started; the steps sent are followed until the engine stops this
    // run, and the next start carries on from the plan.
    if ctx.stopping().is_cancelled() {
        tracing::info!(%id, "the sidecar is stopping; the run carries on at the next start");
        std::future::pending::<()>().await;
    }
    epilogue(&run.board, spec.type_name, &spec.stages, stopped_at).await
}

/// Runs the steps of `stage` in order, up to its window at once; starts no new one after a
/// failure or a cancel. Returns whether every step of the stage completed.
async fn run_stage(run: &Arc<Run>, coordination: &Coordination, stage: &Stage) -> bool {
    let ctx = &run.board.ctx;
    let mut next = stage.steps.iter().copied();
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut ok = true;
    loop {
        while !ctx.stopping().is_cancelled() && running.len() < stage.window.max(1) {
            let Some(index) = next.next() else { break };
            match run.board.step(index).state {
                StepState::Completed => continue,
                StepState::Failed | StepState::Cancelled | StepState::NotRun => {
                    ok = false;
                    continue;
                }
                // A sent step runs on its node whatever happens here: it is followed.
                StepState::Sent => {}
                StepState::Pending if !ok || ctx.is_cancel_requested() => continue,
                StepState::Pending => {}
            }
            let (run, coordination) = (run.clone(), coordination.clone());
            running.spawn(async move {
                match drive(&run, &coordination, index).await {
                    Ok(completed) => completed,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot journal a step of the cluster-wide run");
                        false
                    }
                }
            });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(true)) => {}
            Some(Ok(false)) => ok = false,
            Some(Err(e)) => {
                tracing::error!(error = %e, "a step of the cluster-wide run ended abnormally");
                ok = false;
            }
        }
    }
    ok && !ctx.is_cancel_requested()
}

/// The run's outcome from its steps: the steps never started are NOT_RUN; every step completed
/// is `Ok`, a cancel with no failure is `Cancelled`, anything else fails naming each node.
async fn epilogue(
    board: &Board,
    type_name: &str,
    stages: &[Stage],
    stopped_at: Option<usize>,
) -> Result<(), OperationError> {
    let count = board.views().len();
    for index in 0..count {
        if board.step(index).state == StepState::Pending {
            board.set_state(index, StepState::NotRun, None).await?;
        }
    }
    let views = board.views().clone();
    let failed: Vec<&Step> = views
        .iter()
        .map(|v| &v.step)
        .filter(|s| s.state == StepState::Failed)
        .collect();
    if failed.is_empty() && views.iter().all(|v| v.step.state == StepState::Completed) {
        return Ok(());
    }
    if failed.is_empty() && board.ctx.is_cancel_requested() {
        return Err(OperationError::Cancelled);
    }
    let on_nodes = failed
        .iter()
        .map(|s| {
            format!(
                "{} ({}/{}): {}",
                s.endpoint,
                s.dc,
                s.rack,
                s.error.as_deref().unwrap_or("failed")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let phased = stages.iter().any(|s| s.phase.is_some());
    let message = if phased {
        let phase = stopped_at
            .and_then(|i| stages[i].phase.as_deref())
            .unwrap_or("?");
        let nodes_in_phase = views
            .iter()
            .filter(|v| v.step.phase.as_deref() == Some(phase))
            .count();
        let mut message = if failed.is_empty() {
            format!("{type_name} stopped in phase {phase}: a node's operation was cancelled")
        } else {
            format!(
                "{type_name} stopped in phase {phase}: failed on {} of {nodes_in_phase} nodes: {on_nodes}",
                failed.len()
            )
        };
        let not_run: Vec<&str> = stages
            .iter()
            .skip(stopped_at.map_or(stages.len(), |i| i + 1))
            .filter_map(|s| s.phase.as_deref())
            .collect();
        if !not_run.is_empty() {
            message.push_str(&format!("; phases not run: {}", not_run.join(", ")));
        }
        message
    } else {
        let mut message = format!(
            "{type_name} failed on {} of {} nodes: {on_nodes}",
            failed.len(),
            views.len()
        );
        let not_run: Vec<&str> = views
            .iter()
            .filter(|v| v.step.state == StepState::NotRun)
            .map(|v| v.step.endpoint.as_str())
            .collect();
        if !not_run.is_empty() {
            message.push_str(&format!(
                "; the roll stopped, not run on: {}",
                not_run.join(", ")
            ));
        }
        message
    };
    let errors = failed
        .iter()
        .map(|s| {
            let error = s.error.as_deref().unwrap_or("failed");
            SourcedError {
                source: s.endpoint.clone(),
                message: match &s.phase {
                    Some(phase) => format!("phase {phase}: {error}"),
                    None => error.to_string(),
                },
            }
        })
        .collect();
    Err(OperationError::FailedAt {
        kind: "ClusterFailure",
        message,
        errors,
    })
}

/// Runs one step to its end; `Ok(true)` when it completed.
async fn drive(
    run: &Run,
    coordination: &Coordination,
    index: usize,
) -> Result<bool, OperationError> {
    let step = run.board.step(index);
    let peer = match Peer::new(&step.endpoint, &step.ip, &coordination.peers) {
        Ok(peer) => peer,
        Err(e) => {
            run.board
                .set_state(index, StepState::Failed, Some(e.to_string()))
                .await?;
            return Ok(false);
        }
    };
    let phase = step.phase.as_deref().unwrap_or_default();
    tracing::info!(peer = peer.name(), phase, sub_id = %step.sub_id, state = step.state.as_str(), "node step starts");
    if step.state == StepState::Pending {
        // Journaled before the request leaves: a restarted coordinator asks the peer first.
        run.board.set_state(index, StepState::Sent, None).await?;
    }
    let outcome = follow(
        &run.board.ctx,
        run.deadline,
        &peer,
        step.sub_id,
        &run.bodies[index],
        |p| run.board.set_progress(index, p),
    )
    .await;
    let (state, error) = match outcome {
        Ok(op) => match op.state {
            OperationState::Completed => match wait_until_up(run, &step).await {
                Ok(()) => (StepState::Completed, None),
                Err(e) => (StepState::Failed, Some(e)),
            },
            OperationState::Cancelled => (StepState::Cancelled, None),
            _ => (StepState::Failed, Some(peer_failure(&op))),
        },
        Err(reason) => (StepState::Failed, Some(reason)),
    };
    tracing::info!(peer = peer.name(), phase, sub_id = %step.sub_id, state = state.as_str(),
        error = error.as_deref().unwrap_or(""), "node step finished");
    run.board.set_state(index, state, error).await?;
    Ok(state == StepState::Completed)
}

/// Finds the sub-operation on the peer (sending `body` under its planned id if the peer never
/// got it) and polls it until it finishes, `deadline` passes, or a cancel comes; each poll's
/// progress goes to `progress`.
async fn follow(
    ctx: &RunContext,
    deadline: Instant,
    peer: &Peer,
    sub_id: Uuid,
    body: &Value,
    progress: impl Fn(f64),
) -> Result<PeerOperation, String> {
    tracing::info!(peer = peer.name(), %sub_id, "following the node's operation");
    let mut op = match peer.get(sub_id).await.map_err(|e| e.to_string())? {
        Some(op) => op,
        None => {
            tracing::info!(peer = peer.name(), %sub_id, "sending the node's operation");
            peer.submit(sub_id, body).await.map_err(|e| e.to_string())?
        }
    };
    let mut cancel_sent = false;
    // Short operations end within a few tens of milliseconds: the first reads come soon, then
    // the pace slows to POLL.
    let mut pause = FIRST_POLL;
    loop {
        progress(op.progress.clamp(0.0, 1.0));
        if op.state.is_finished() {
            return Ok(op);
        }
        if ctx.is_cancel_requested() && !cancel_sent {
            peer.cancel(sub_id).await;
            cancel_sent = true;
        }
        if Instant::now() >= deadline {
            peer.cancel(sub_id).await;
            return Err(format!(
                "operation {sub_id} on {} still {} at the request's timeout; cancel requested",
                peer.name(),
                op.state.as_str()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL);
        op = match peer.get(sub_id).await {
            Ok(Some(op)) => op,
            Ok(None) => {
                return Err(format!(
                    "the sidecar of {} no longer knows operation {sub_id}",
                    peer.name()
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
    }
}

/// The reason a peer gave for a FAILED sub-operation.
fn peer_failure(op: &PeerOperation) -> String {
    let cause = op
        .failure_cause
        .as_ref()
        .and_then(|c| c.get("message").and_then(Value::as_str).map(str::to_string));
    let errors: Vec<&str> = op
        .errors
        .iter()
        .filter_map(|e| e.message.as_deref())
        .collect();
    let why = cause.unwrap_or_else(|| errors.join("; "));
    format!("operation {} {}: {why}", op.id, op.state.as_str())
}

/// After a restart, the node must be back in the ring as the coordinator's node sees it
/// before the next one goes down.
async fn wait_until_up(run: &Run, step: &Step) -> Result<(), String> {
    if !run.wait_for_up {
        return Ok(());
    }
    let mut last = String::new();
    while Instant::now() < run.deadline {
        let endpoint = step.endpoint.clone();
        match run
            .board
            .ctx
            .read(|node| async move { node.topology().await })
            .await
        {
            Ok(ring) => match ring.iter().find(|e| e.endpoint == endpoint) {
                Some(e) if e.status == EndpointStatus::Up => return Ok(()),
                Some(e) => last = format!("{:?}", e.status),
                None => last = "not in the ring".into(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!(
        "{} did not show UP again before the request's timeout; last seen: {last}",
        step.endpoint
    ))
}

/// The nodes of the ring (of `dc` when given) in roll order: by datacenter, rack, address.
async fn discover(ctx: &RunContext, dc: Option<&str>) -> Result<Vec<Step>, OperationError> {
    let ring = ctx
        .read(|node| async move { node.topology().await })
        .await?;
    let mut nodes: Vec<_> = ring
        .into_iter()
        .filter(|e| dc.is_none_or(|dc| e.datacenter.as_deref() == Some(dc)))
        .collect();
    if nodes.is_empty() {
        return Err(OperationError::failed(
            "NoNodes",
            match dc {
                Some(dc) => format!("no node of the ring is in datacenter {dc:?}"),
                None => "the node reports an empty ring".to_string(),
            },
        ));
    }
    nodes.sort_by(|a, b| (&a.datacenter, &a.rack, &a.ip).cmp(&(&b.datacenter, &b.rack, &b.ip)));
    Ok(nodes
        .into_iter()
        .enumerate()
        .map(|(i, e)| Step {
            position: i as u32,
            endpoint: e.endpoint,
            ip: e.ip,
            host_id: e.host_id,
            dc: e.datacenter.unwrap_or_default(),
            rack: e.rack.unwrap_or_default(),
            sub_id: Uuid::new_v4(),
            state: StepState::Pending,
            error: None,
            phase: None,
        })
        .collect())
}
