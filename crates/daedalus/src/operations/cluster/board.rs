//! The live view of a cluster-wide run: one entry per step (a node, or a node's phase) with
//! its state and progress, journaled before it is shown, and shown on the record as `nodes`
//! and `progress` the way the run's kind renders them.
//!
//! Owns the step views and the order "journal, then show". How the steps run belongs to the
//! roll and the phased run; it must not send anything to a peer.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use uuid::Uuid;

use super::super::context::{OperationError, RunContext};
use super::super::finding::Finding;
use super::plan::{PlanStore, Step, StepState};

/// One step as the run sees it.
#[derive(Debug, Clone)]
pub(super) struct StepView {
    pub step: Step,
    pub progress: f64,
}

/// Turns the step views into the record's `nodes` and the overall progress.
pub(super) type Render = fn(&[StepView]) -> (Vec<Value>, f64);

/// What every step task of one run shares.
pub(super) struct Board {
    pub id: Uuid,
    pub ctx: RunContext,
    plans: Arc<PlanStore>,
    views: Mutex<Vec<StepView>>,
    render: Render,
}

impl Board {
    /// A board over `steps` as the plan holds them (completed ones count as done).
    pub fn new(ctx: &RunContext, plans: Arc<PlanStore>, steps: &[Step], render: Render) -> Board {
        let views = steps
            .iter()
            .map(|s| StepView {
                step: s.clone(),
                progress: if s.state == StepState::Completed {
                    1.0
                } else {
                    0.0
                },
            })
            .collect();
        Board {
            id: ctx.id(),
            ctx: ctx.clone(),
            plans,
            views: Mutex::new(views),
            render,
        }
    }

    pub fn views(&self) -> MutexGuard<'_, Vec<StepView>> {
        self.views.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn step(&self, index: usize) -> Step {
        self.views()[index].step.clone()
    }

    /// Shows `nodes` and the progress on the record.
    pub fn publish(&self) {
        // Shown under the lock: a task's view of the steps never replaces a newer one.
        let views = self.views();
        let (nodes, progress) = (self.render)(&views);
        self.ctx.report(Finding::Nodes(nodes));
        self.ctx.set_progress(progress);
    }

    pub fn set_progress(&self, index: usize, progress: f64) {
        self.views()[index].progress = progress;
        self.publish();
    }

    /// Journals a step's state, then shows it.
    pub async fn set_state(
        &self,
        index: usize,
        state: StepState,
        error: Option<String>,
    ) -> Result<(), OperationError> {
        let position = self.step(index).position;
        self.plans
            .set(self.id, position, state, error.clone())
            .await
            .map_err(journal_error)?;
        {
            let mut views = self.views();
            let view = &mut views[index];
            view.step.state = state;
            view.step.error = error;
            if state == StepState::Completed {
                view.progress = 1.0;
            }
        }
        self.publish();
        Ok(())
    }
}

/// A plan store that cannot be read or written, as a failure cause.
pub(super) fn journal_error(e: super::plan::PlanError) -> OperationError {
    OperationError::failed("Journal", e.to_string())
}
