//! A cluster-wide request run as a roll: every node of the ring (of `dc` when given) is sent
//! the same request, `concurrency` nodes at a time or rack after rack, and the record shows one
//! entry per node.
//!
//! Owns the roll's stages (how `concurrency` cuts the ring) and its `nodes` in the record. The
//! plan, the run and the failure rules are the coordinator's (`coordinator.rs`). It must not
//! know HTTP or the engine.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::super::context::{OperationError, RunContext};
use super::board::StepView;
use super::coordinator::{self, RunSpec, Stage};
use super::plan::Step;
use super::spread::Concurrency;
use super::GlobalRequest;

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
pub(super) fn render(views: &[StepView]) -> (Vec<Value>, f64) {
    let nodes = views.iter().map(node_json).collect();
    let mean = if views.is_empty() {
        0.0
    } else {
        views.iter().map(|v| v.progress).sum::<f64>() / views.len() as f64
    };
    (nodes, mean)
}

/// Runs a cluster-wide request as a roll, from its journaled plan when there is one.
pub(super) async fn run(request: &GlobalRequest, ctx: &RunContext) -> Result<(), OperationError> {
    let coordination = coordinator::coordination(ctx)?;
    let (steps, _) = coordinator::load_or_create::<()>(
        ctx,
        &coordination,
        request.spread.dc.as_deref(),
        async { Ok(None) },
        |nodes| nodes,
    )
    .await?;
    let spec = RunSpec {
        type_name: request.type_name,
        stages: stages(&steps, request.spread.concurrency),
        timeout: request.spread.timeout,
        wait_for_up: request.wait_for_up,
        render,
        bodies: vec![request.sub_request.clone(); steps.len()],
    };
    coordinator::run(ctx, &coordination, steps, spec).await
}

/// The roll's stages, run one after the other, each with how many of its steps may run at
/// once: all steps in one stage `N` at a time, or one stage per rack (dc and rack) with all of
/// its steps at once.
pub(super) fn stages(steps: &[Step], concurrency: Concurrency) -> Vec<Stage> {
    batches(steps, concurrency)
        .into_iter()
        .map(|(steps, window)| Stage {
            phase: None,
            steps,
            window,
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::cluster::plan::StepState;
    use uuid::Uuid;

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
