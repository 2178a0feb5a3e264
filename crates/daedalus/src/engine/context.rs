//! What a running operation may touch: its progress, its extra findings, the cancel flag, the
//! node connector and the validation policy.
//!
//! Owns `RunContext` and `RunError` (how an operation ends other than successfully). It must not
//! change an operation's state: only the engine moves records between states.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use uuid::Uuid;

use super::Shared;
use crate::node::{Node, NodeError, NodeErrorKind};
use crate::operations::{OperationSettings, ValidationPolicy};

/// How an operation ended other than successfully.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// Stopped at a safe point after a cancel request.
    Cancelled,
    /// Failed; `cause` becomes `failureCause`, `message` the entry in `errors`.
    Failed { message: String, cause: Value },
}

impl RunError {
    /// A failure of our own (not a Java throwable), recorded as `{kind, message}`.
    pub fn failed(kind: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        RunError::Failed {
            cause: json!({ "kind": kind, "message": message }),
            message,
        }
    }

    pub fn own(kind: NodeErrorKind, message: impl Into<String>) -> Self {
        RunError::failed(&kind.to_string(), message)
    }

    /// The SSTables in the source directory are not fit to import.
    pub fn preflight(message: impl Into<String>) -> Self {
        RunError::failed("Preflight", message)
    }

    /// A defect of ours.
    pub fn internal(message: impl Into<String>) -> Self {
        RunError::failed("Internal", message)
    }
}

impl From<NodeError> for RunError {
    fn from(e: NodeError) -> Self {
        RunError::Failed {
            message: e.to_string(),
            cause: e.failure_cause(),
        }
    }
}

/// Cancellation state shared between the engine (which sets it) and the operation (which polls it).
#[derive(Debug, Default)]
pub(crate) struct CancelState {
    pub(crate) requested: AtomicBool,
    /// The uninterruptible call in flight, if any (e.g. `importNewSSTables`).
    pub(crate) in_flight: Mutex<Option<&'static str>>,
}

/// The running operation's handle on the engine. Cheap to clone; usable from blocking threads.
#[derive(Clone)]
pub struct RunContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: Uuid,
    pub(crate) cancel: Arc<CancelState>,
}

impl RunContext {
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn policy(&self) -> &ValidationPolicy {
        &self.shared.config.policy
    }

    /// What operations may do and their bounds (restart command, drain/restart timeouts).
    pub fn settings(&self) -> &OperationSettings {
        &self.shared.config.operations
    }

    /// Connects to the node through the engine's connector.
    pub async fn connect(&self) -> Result<Arc<dyn Node>, NodeError> {
        self.shared.connector.connect().await
    }

    /// Sets `progress` (clamped to 0..1). Kept in memory; the journal gets it with the next
    /// state change.
    pub fn set_progress(&self, progress: f64) {
        let progress = if progress.is_finite() {
            progress.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.shared
            .update_running(self.id, |r| r.progress = progress);
    }

    /// Records a finding as an extra top-level field of the record (`sstables`, `bytes`...).
    pub fn set_extra(&self, key: &str, value: Value) {
        self.shared.update_running(self.id, |r| {
            r.extra.insert(key.to_string(), value);
        });
    }

    pub fn is_cancel_requested(&self) -> bool {
        self.cancel.requested.load(Ordering::SeqCst)
    }

    /// A safe point: `Err(Cancelled)` when a cancel was requested.
    pub fn checkpoint(&self) -> Result<(), RunError> {
        if self.is_cancel_requested() {
            Err(RunError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Runs a call that cannot be interrupted (a JMX call in flight). This is the last safe point
    /// before the call: a cancel requested earlier stops here. A cancel requested while the call
    /// runs is noted in the record by the engine and takes no effect; the operation ends with the
    /// call's outcome.
    pub async fn uninterruptible<F: Future>(
        &self,
        what: &'static str,
        call: F,
    ) -> Result<F::Output, RunError> {
        {
            let mut in_flight = self
                .cancel
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if self.is_cancel_requested() {
                return Err(RunError::Cancelled);
            }
            *in_flight = Some(what);
        }
        let out = call.await;
        *self
            .cancel
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        Ok(out)
    }
}
