//! A cluster-wide request run phase by phase (a global restore): every phase runs on every node
//! (or on one node, for a phase whose effect is cluster-wide already), all of a phase's nodes at
//! once, and a phase starts only when every node finished the one before. The first phase with
//! a failed node stops the run; the steps never sent are NOT_RUN.
//!
//! Owns the plan of a phased run (each phase's nodes, with the sub-operation id each gets), its
//! stages and the record's `nodes` for it. What each node is sent belongs to the caller; the
//! journaled plan, the run, its stop rules and its outcome are the coordinator's
//! (`coordinator.rs`), as for every cluster-wide run. It must not know HTTP, the engine or any
//! operation type's fields.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use super::super::context::{OperationError, RunContext};
use super::board::StepView;
use super::coordinator::{self, RunSpec, Stage};
use super::plan::{Step, StepState};

/// One phase of a phased request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// As the sub-requests and the record name it (`DOWNLOAD`).
    pub name: String,
    /// Runs on the first node of the plan only: its effect reaches the whole cluster.
    pub one_node: bool,
}

/// What a phased run needs from its request.
pub struct PhasedRequest<'a> {
    /// The operation type, for messages.
    pub type_name: &'static str,
    pub phases: Vec<Phase>,
    /// Only the nodes of this datacenter.
    pub dc: Option<&'a str>,
    /// The whole run fails once this has passed (each node's operation is asked to cancel).
    pub timeout: Duration,
    /// The body sent to `step`'s sidecar for the step's phase.
    pub sub_request: &'a (dyn Fn(&Step) -> Result<Value, String> + Send + Sync),
    /// The nodes to run on, when not the ring the coordinator's node reports (stopped nodes).
    pub nodes: Option<Vec<Step>>,
}

/// The record's `nodes` for these steps, and the mean of the nodes' progress (each node's the
/// mean of its phases'). A node shows the last phase it ran (or its first, before any ran).
fn nodes_json(views: &[StepView]) -> (Vec<Value>, f64) {
    let mut order: Vec<&str> = Vec::new();
    for v in views {
        if !order.contains(&v.step.endpoint.as_str()) {
            order.push(&v.step.endpoint);
        }
    }
    let mut nodes = Vec::new();
    let mut sum = 0.0;
    for endpoint in &order {
        let own: Vec<&StepView> = views
            .iter()
            .filter(|v| v.step.endpoint == *endpoint)
            .collect();
        let ran = |v: &&&StepView| !matches!(v.step.state, StepState::Pending | StepState::NotRun);
        let current = own.iter().rev().find(ran).unwrap_or(&own[0]);
        let progress = own.iter().map(|v| v.progress).sum::<f64>() / own.len() as f64;
        sum += progress;
        let error = own.iter().find_map(|v| {
            v.step
                .error
                .as_ref()
                .map(|e| format!("phase {}: {e}", v.step.phase.as_deref().unwrap_or_default()))
        });
        let phases: Vec<Value> = own
            .iter()
            .map(|v| {
                json!({
                    "phase": v.step.phase,
                    "operationId": v.step.sub_id.to_string(),
                    "state": v.step.state.as_str(),
                    "progress": v.progress,
                    "error": v.step.error,
                })
            })
            .collect();
        nodes.push(json!({
            "endpoint": current.step.endpoint,
            "hostId": current.step.host_id,
            "dc": current.step.dc,
            "rack": current.step.rack,
            "phase": current.step.phase,
            "operationId": current.step.sub_id.to_string(),
            "state": current.step.state.as_str(),
            "progress": progress,
            "error": error,
            "phases": phases,
        }));
    }
    let mean = if order.is_empty() {
        0.0
    } else {
        sum / order.len() as f64
    };
    (nodes, mean)
}

/// The plan of a phased request over `nodes` (in roll order): each phase's steps, phase after
/// phase, with fresh sub-operation ids.
fn plan(nodes: &[Step], phases: &[Phase]) -> Vec<Step> {
    let mut steps = Vec::new();
    for phase in phases {
        let count = if phase.one_node { 1 } else { nodes.len() };
        for node in nodes.iter().take(count) {
            steps.push(Step {
                position: steps.len() as u32,
                sub_id: Uuid::new_v4(),
                state: StepState::Pending,
                error: None,
                phase: Some(phase.name.clone()),
                ..node.clone()
            });
        }
    }
    steps
}

/// Runs `request` over the cluster, phase after phase, from its journaled plan when there is one.
pub async fn run(request: PhasedRequest<'_>, ctx: &RunContext) -> Result<(), OperationError> {
    let coordination = coordinator::coordination(ctx)?;
    let expand = |nodes: Vec<Step>| plan(&nodes, &request.phases);
    let (steps, _) = match request.nodes {
        Some(nodes) => {
            let given = async { Ok(nodes) };
            coordinator::load_or_create_over::<()>(
                ctx,
                &coordination,
                given,
                async { Ok(None) },
                expand,
            )
            .await?
        }
        None => {
            coordinator::load_or_create::<()>(
                ctx,
                &coordination,
                request.dc,
                async { Ok(None) },
                expand,
            )
            .await?
        }
    };
    let bodies = coordinator::bodies(&steps, request.sub_request)?;
    let stages = request
        .phases
        .iter()
        .map(|phase| {
            let indices: Vec<usize> = steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.phase.as_deref() == Some(phase.name.as_str()))
                .map(|(i, _)| i)
                .collect();
            Stage {
                phase: Some(phase.name.clone()),
                window: indices.len(),
                steps: indices,
            }
        })
        .collect();
    let spec = RunSpec {
        type_name: request.type_name,
        stages,
        timeout: request.timeout,
        wait_for_up: false,
        render: nodes_json,
        bodies,
    };
    coordinator::run(ctx, &coordination, steps, spec).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u32) -> Step {
        Step {
            position: i,
            endpoint: format!("10.0.0.{i}:7000"),
            ip: format!("10.0.0.{i}"),
            host_id: format!("host-{i}"),
            dc: "dc1".into(),
            rack: format!("r{i}"),
            sub_id: Uuid::new_v4(),
            state: StepState::Pending,
            error: None,
            phase: None,
        }
    }

    fn phases() -> Vec<Phase> {
        ["INIT", "DOWNLOAD", "TRUNCATE", "IMPORT"]
            .into_iter()
            .map(|name| Phase {
                name: name.into(),
                one_node: name == "TRUNCATE",
            })
            .collect()
    }

    #[test]
    fn the_plan_runs_every_phase_on_every_node_but_a_one_node_phase() {
        let nodes = [node(1), node(2), node(3)];
        let steps = plan(&nodes, &phases());
        let shape: Vec<(u32, &str, &str)> = steps
            .iter()
            .map(|s| (s.position, s.phase.as_deref().unwrap(), s.ip.as_str()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, "INIT", "10.0.0.1"),
                (1, "INIT", "10.0.0.2"),
                (2, "INIT", "10.0.0.3"),
                (3, "DOWNLOAD", "10.0.0.1"),
                (4, "DOWNLOAD", "10.0.0.2"),
                (5, "DOWNLOAD", "10.0.0.3"),
                (6, "TRUNCATE", "10.0.0.1"),
                (7, "IMPORT", "10.0.0.1"),
                (8, "IMPORT", "10.0.0.2"),
                (9, "IMPORT", "10.0.0.3"),
            ]
        );
        let mut ids: Vec<Uuid> = steps.iter().map(|s| s.sub_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), steps.len(), "one sub-operation id per step");
        assert!(steps.iter().all(|s| s.state == StepState::Pending));
    }

    #[test]
    fn each_node_shows_its_last_phase_and_the_mean_of_its_phases() {
        let nodes = [node(1), node(2)];
        let mut views: Vec<StepView> = plan(&nodes, &phases())
            .into_iter()
            .map(|step| StepView {
                step,
                progress: 0.0,
            })
            .collect();
        // INIT done on both; DOWNLOAD done on the first, failed on the second at half way.
        for i in [0, 1, 2] {
            views[i].step.state = StepState::Completed;
            views[i].progress = 1.0;
        }
        views[3].step.state = StepState::Failed;
        views[3].step.error = Some("the sidecar of 10.0.0.2:7000 did not answer".into());
        views[3].progress = 0.5;
        for v in views.iter_mut().skip(4) {
            v.step.state = StepState::NotRun;
        }
        let (shown, mean) = nodes_json(&views);
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[0]["endpoint"], "10.0.0.1:7000");
        assert_eq!(shown[0]["phase"], "DOWNLOAD");
        assert_eq!(shown[0]["state"], "COMPLETED");
        assert!(shown[0]["error"].is_null());
        // The first node has 4 steps (it truncates): 2 of them done.
        assert_eq!(shown[0]["progress"], 0.5);
        assert_eq!(shown[1]["phase"], "DOWNLOAD");
        assert_eq!(shown[1]["state"], "FAILED");
        assert_eq!(
            shown[1]["error"],
            "phase DOWNLOAD: the sidecar of 10.0.0.2:7000 did not answer"
        );
        assert_eq!(shown[1]["operationId"], views[3].step.sub_id.to_string());
        // The second: INIT 1.0, DOWNLOAD 0.5, IMPORT 0 over 3 steps.
        assert_eq!(shown[1]["progress"], 0.5);
        assert_eq!(shown[1]["phases"].as_array().unwrap().len(), 3);
        assert_eq!(shown[1]["phases"][2]["state"], "NOT_RUN");
        assert_eq!(mean, 0.5);
    }
}
