//! The coordinator's run of a cluster-wide request: discovery of the nodes from its own node,
//! the plan written before anything is sent, the roll (N nodes at a time, or rack after rack),
//! following each node's sub-operation on its sidecar, and the record's `nodes` and `progress`.
//!
//! Owns the order of the roll and the rules that stop it: a failed node stops new starts; the
//! nodes not started are NOT_RUN. After a restart of the coordinator the same plan is read back
//! and each sent step is followed under the id it was sent with (sent again under that id when
//! the peer never got it), so no node runs its step twice. It must not know HTTP or the engine.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cassandra::EndpointStatus;
use daedalus_client::{Operation as PeerOperation, OperationState};
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::super::context::{OperationError, RunContext, SourcedError};
use super::board::{journal_error, Board, StepView};
use super::peer::Peer;
use super::plan::{Step, StepState};
use super::settings::Coordination;
use super::{Concurrency, GlobalRequest};

/// How often a node's sub-operation is read while it runs.
const POLL: Duration = Duration::from_millis(250);
/// The first wait before reading a node's sub-operation again; doubled up to [`POLL`].
const FIRST_POLL: Duration = Duration::from_millis(20);

/// One node as the record shows it.
fn node_json(view: &StepView) -> Value {
    json!({
        "endpoint": view.step.endpoint,
        "hostId": view.step.host_id,
        "dc": view.step.dc,
        "rack": view.step.rack,
        "operationId": view.step.sub_id.to_string(),
        "state": view.step.state.as_str(),
        "progress": view.progress,
        "error": view.step.error,
    })
}

/// The roll's `nodes` (one entry per node) and the mean of their progress.
fn render(views: &[StepView]) -> (Vec<Value>, f64) {
    let nodes = views.iter().map(node_json).collect();
    let mean = if views.is_empty() {
        0.0
    } else {
        views.iter().map(|v| v.progress).sum::<f64>() / views.len() as f64
    };
    (nodes, mean)
}

/// The request one node's sidecar is sent, made from its step.
pub(super) type SubRequest = Arc<dyn Fn(&Step) -> Value + Send + Sync>;

/// How the steps of a plan run: what each node is sent, how many at once, for how long.
pub(super) struct RollSpec {
    pub type_name: &'static str,
    pub concurrency: Concurrency,
    /// The request's `timeout`: a node's operation still running then is cancelled and FAILED.
    pub timeout: Duration,
    /// Wait until the node shows UP in the ring again before its step counts as done.
    pub wait_for_up: bool,
    pub sub_request: SubRequest,
}

/// What every step task shares: the board, what each node is sent, the deadline.
struct Roll {
    board: Board,
    type_name: &'static str,
    sub_request: SubRequest,
    deadline: Instant,
    wait_for_up: bool,
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

pub(super) async fn run(request: &GlobalRequest, ctx: &RunContext) -> Result<(), OperationError> {
    let coordination = coordination(ctx)?;
    let id = ctx.id();
    let plans = coordination.plans.clone();
    let mut steps = plans.load(id).await.map_err(journal_error)?;
    if steps.is_empty() {
        steps = discover(ctx, request.spread.dc.as_deref()).await?;
        plans
            .create(id, steps.clone())
            .await
            .map_err(journal_error)?;
    } else {
        tracing::info!(%id, nodes = steps.len(), "resuming the cluster-wide roll from its plan");
    }
    let sub_request = request.sub_request.clone();
    let spec = RollSpec {
        type_name: request.type_name,
        concurrency: request.spread.concurrency,
        timeout: request.spread.timeout,
        wait_for_up: request.wait_for_up,
        sub_request: Arc::new(move |_| sub_request.clone()),
    };
    follow_plan(ctx, &coordination, steps, spec).await
}

/// Runs the steps of a journaled plan (those not finished yet) as `spec` says, showing every
/// node in the record; `Ok` when every node completed, else which failed, each by name.
pub(super) async fn follow_plan(
    ctx: &RunContext,
    coordination: &Coordination,
    steps: Vec<Step>,
    spec: RollSpec,
) -> Result<(), OperationError> {
    let id = ctx.id();
    let plans = coordination.plans.clone();
    let roll = Arc::new(Roll {
        board: Board::new(ctx, plans, &steps, render),
        type_name: spec.type_name,
        sub_request: spec.sub_request,
        deadline: Instant::now() + spec.timeout,
        wait_for_up: spec.wait_for_up,
    });
    roll.board.publish();

    let batches = batches(&steps, spec.concurrency);
    let mut stopped = steps
        .iter()
        .any(|s| matches!(s.state, StepState::Failed | StepState::Cancelled));
    for (batch, window) in batches {
        if stopped || ctx.stopping().is_cancelled() {
            break;
        }
        stopped = run_batch(&roll, coordination, &batch, window.max(1)).await;
    }

    // Stopping: nothing new started; the steps sent are followed until the engine stops this
    // run, and the next start carries on from the plan.
    if ctx.stopping().is_cancelled() {
        tracing::info!(%id, "the sidecar is stopping; the roll carries on at the next start");
        std::future::pending::<()>().await;
    }

    // Whatever never started stays untouched, and says so.
    for index in 0..steps.len() {
        if roll.board.step(index).state == StepState::Pending {
            roll.board.set_state(index, StepState::NotRun, None).await?;
        }
    }
    let views = roll.board.views().clone();
    let failed: Vec<&StepView> = views
        .iter()
        .filter(|v| matches!(v.step.state, StepState::Failed))
        .collect();
    if failed.is_empty() && ctx.is_cancel_requested() {
        return Err(OperationError::Cancelled);
    }
    if failed.is_empty() && views.iter().all(|v| v.step.state == StepState::Completed) {
        return Ok(());
    }
    let not_run: Vec<&str> = views
        .iter()
        .filter(|v| v.step.state == StepState::NotRun)
        .map(|v| v.step.endpoint.as_str())
        .collect();
    let mut message = format!(
        "{} failed on {} of {} nodes: {}",
        roll.type_name,
        failed.len(),
        views.len(),
        failed
            .iter()
            .map(|v| format!(
                "{} ({}/{}): {}",
                v.step.endpoint,
                v.step.dc,
                v.step.rack,
                v.step.error.as_deref().unwrap_or("failed")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if !not_run.is_empty() {
        message.push_str(&format!(
            "; the roll stopped, not run on: {}",
            not_run.join(", ")
        ));
    }
    let errors = failed
        .iter()
        .map(|v| SourcedError {
            source: v.step.endpoint.clone(),
            message: v.step.error.clone().unwrap_or_else(|| "failed".into()),
        })
        .collect();
    Err(OperationError::FailedAt {
        kind: "ClusterFailure",
        message,
        errors,
    })
}

/// The roll's batches, run one after the other, each with how many of its steps may run at
/// once: all steps in one batch `N` at a time, or one batch per rack (dc and rack) with all of
/// its steps at once.
fn batches(steps: &[Step], concurrency: Concurrency) -> Vec<(Vec<usize>, usize)> {
    match concurrency {
        Concurrency::Nodes(n) => vec![((0..steps.len()).collect(), n as usize)],
        Concurrency::All => vec![((0..steps.len()).collect(), steps.len())],
        Concurrency::Rack => {
            let mut racks: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
            for (i, s) in steps.iter().enumerate() {
                racks.entry((&s.dc, &s.rack)).or_default().push(i);
            }
            racks
                .into_values()
                .map(|v| {
                    let n = v.len();
                    (v, n)
                })
                .collect()
        }
    }
}

/// Runs the steps of `batch` (in order), up to `window` at once; stops starting new ones after
/// a failure or a cancel. Returns whether the roll must stop.
async fn run_batch(
    roll: &Arc<Roll>,
    coordination: &Coordination,
    batch: &[usize],
    window: usize,
) -> bool {
    let mut next = batch.iter().copied().peekable();
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut stop = false;
    loop {
        while !stop && !roll.board.ctx.stopping().is_cancelled() && running.len() < window {
            let Some(index) = next.next() else { break };
            if roll.board.step(index).state.is_finished() {
                continue;
            }
            let roll = roll.clone();
            let coordination = coordination.clone();
            running.spawn(async move {
                match drive(&roll, &coordination, index).await {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot journal a step of the roll");
                        false
                    }
                }
            });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(true)) => {}
            Some(Ok(false)) | Some(Err(_)) => stop = true,
        }
        if roll.board.ctx.is_cancel_requested() {
            stop = true;
        }
    }
    stop
}

/// Runs one node's step to its end; `Ok(true)` when it completed.
async fn drive(
    roll: &Roll,
    coordination: &Coordination,
    index: usize,
) -> Result<bool, OperationError> {
    let step = roll.board.step(index);
    let peer = match Peer::new(&step.endpoint, &step.ip, &coordination.peers) {
        Ok(peer) => peer,
        Err(e) => {
            roll.board
                .set_state(index, StepState::Failed, Some(e.to_string()))
                .await?;
            return Ok(false);
        }
    };
    tracing::info!(
        peer = peer.name(),
        state = step.state.as_str(),
        "node step starts"
    );
    if step.state == StepState::Pending {
        // Journaled before the request leaves: a restarted coordinator asks the peer first.
        roll.board.set_state(index, StepState::Sent, None).await?;
    }
    let body = (roll.sub_request)(&step);
    let outcome = follow(
        &roll.board.ctx,
        roll.deadline,
        &peer,
        step.sub_id,
        &body,
        |p| roll.board.set_progress(index, p),
    )
    .await;
    let (state, error) = match outcome {
        Ok(op) => match op.state {
            OperationState::Completed => match wait_until_up(roll, &step).await {
                Ok(()) => (StepState::Completed, None),
                Err(e) => (StepState::Failed, Some(e)),
            },
            OperationState::Cancelled => (StepState::Cancelled, None),
            _ => (StepState::Failed, Some(peer_failure(&op))),
        },
        Err(reason) => (StepState::Failed, Some(reason)),
    };
    tracing::info!(peer = peer.name(), sub_id = %step.sub_id, state = state.as_str(), error = error.as_deref().unwrap_or(""), "node step finished");
    roll.board.set_state(index, state, error).await?;
    Ok(state == StepState::Completed)
}

/// Finds the sub-operation on the peer (sending `body` under its planned id if the peer never
/// got it) and polls it until it finishes, `deadline` passes, or a cancel comes; each poll's
/// progress goes to `progress`.
pub(super) async fn follow(
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
pub(super) fn peer_failure(op: &PeerOperation) -> String {
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
async fn wait_until_up(roll: &Roll, step: &Step) -> Result<(), String> {
    if !roll.wait_for_up {
        return Ok(());
    }
    let mut last = String::new();
    while Instant::now() < roll.deadline {
        let endpoint = step.endpoint.clone();
        match roll
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
pub(super) async fn discover(
    ctx: &RunContext,
    dc: Option<&str>,
) -> Result<Vec<Step>, OperationError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn step(position: u32, dc: &str, rack: &str) -> Step {
        Step {
            position,
            endpoint: format!("10.0.0.{position}"),
            ip: format!("10.0.0.{position}"),
            host_id: String::new(),
            dc: dc.into(),
            rack: rack.into(),
            sub_id: Uuid::new_v4(),
            state: StepState::Pending,
            error: None,
            phase: None,
        }
    }

    #[test]
    fn racks_run_one_after_the_other_with_all_their_nodes_at_once() {
        let steps = [
            step(0, "dc1", "r1"),
            step(1, "dc1", "r1"),
            step(2, "dc1", "r2"),
            step(3, "dc2", "r1"),
            step(4, "dc2", "r1"),
        ];
        assert_eq!(
            batches(&steps, Concurrency::Rack),
            vec![(vec![0, 1], 2), (vec![2], 1), (vec![3, 4], 2)]
        );
        assert_eq!(
            batches(&steps, Concurrency::Nodes(2)),
            vec![(vec![0, 1, 2, 3, 4], 2)]
        );
        assert_eq!(
            batches(&steps, Concurrency::All),
            vec![(vec![0, 1, 2, 3, 4], 5)]
        );
    }

    #[test]
    fn the_record_shows_each_node_with_its_ids() {
        let view = StepView {
            step: step(3, "dc2", "r1"),
            progress: 0.5,
        };
        let shown = node_json(&view);
        assert_eq!(shown["endpoint"], "10.0.0.3");
        assert_eq!(shown["dc"], "dc2");
        assert_eq!(shown["state"], "PENDING");
        assert_eq!(shown["progress"], 0.5);
        assert_eq!(shown["operationId"], view.step.sub_id.to_string());
        assert!(shown["error"].is_null());
    }
}
