//! What a running operation is given: the shared node, a progress reporter, its cancellation and
//! the deployment's settings; and how it ends when it does not succeed ([`OperationError`]).
//!
//! Owns [`RunContext`], [`Reporter`], [`Cancellation`] and [`OperationError`]. It must not change
//! an operation's state (only the engine moves records between states) nor know the journal.

use std::future::Future;
use std::sync::{Arc, Mutex};

use cassandra::{Node, NodeError};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::finding::Finding;
use super::settings::{OperationSettings, ValidationPolicy};
use crate::node::NodeHandle;

/// How an operation ended other than successfully.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperationError {
    /// Stopped at a safe point after a cancel request.
    #[error("cancelled")]
    Cancelled,
    /// A node call failed; a Java throwable stays reachable as the error's source.
    #[error("{}: {source}", source.kind_name())]
    Node {
        #[from]
        source: NodeError,
    },
    /// Failed for a reason of the sidecar's own (`kind` is what `failureCause.kind` shows).
    #[error("{message}")]
    Failed { kind: &'static str, message: String },
    /// Failed in several places at once (the nodes of a cluster-wide request): `failureCause`
    /// is `{kind, message}` and the record's `errors` has one entry per place.
    #[error("{message}")]
    FailedAt {
        kind: &'static str,
        message: String,
        errors: Vec<SourcedError>,
    },
}

/// One place's failure: where (`source`, e.g. a node's endpoint) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedError {
    pub source: String,
    pub message: String,
}

impl OperationError {
    /// A failure of the sidecar's own, shown as `failureCause {kind, message}`.
    pub fn failed(kind: &'static str, message: impl Into<String>) -> OperationError {
        OperationError::Failed {
            kind,
            message: message.into(),
        }
    }

    /// The errors of each place that failed, when the failure names any (else the failure is
    /// this sidecar's own).
    pub fn sourced(&self) -> Option<&[SourcedError]> {
        match self {
            OperationError::FailedAt { errors, .. } if !errors.is_empty() => Some(errors),
            _ => None,
        }
    }

    /// The SSTables in the source directory are not fit to import.
    pub fn preflight(message: impl Into<String>) -> OperationError {
        OperationError::failed("Preflight", message)
    }

    /// A defect of ours.
    pub fn internal(message: impl Into<String>) -> OperationError {
        OperationError::failed("Internal", message)
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, OperationError::Cancelled)
    }
}

/// Where a running operation's progress and findings go (the engine's record).
#[async_trait::async_trait]
pub trait Reporter: Send + Sync {
    /// `progress`, already clamped to 0..1.
    fn progress(&self, fraction: f64);
    /// An extra top-level field of the record (`sstables`, `bytes`, `operationMode`...).
    fn field(&self, key: &str, value: Value);
    /// Like `field`, and in the journal when this returns (`Err`: why it is not).
    async fn keep(&self, key: &str, value: Value) -> Result<(), String>;
}

/// What the run before this one (interrupted by a stop of the sidecar) left in the record.
#[derive(Debug, Clone, Default)]
pub struct Resumed {
    /// Which run this is: 1 for the first.
    pub attempt: u32,
    /// The record's fields as the journal had them when the sidecar stopped.
    pub fields: Map<String, Value>,
}

/// A cancel request and the uninterruptible call in flight, shared by the engine (which
/// requests) and the operation (which polls or awaits the token).
#[derive(Debug, Default)]
pub struct Cancellation {
    token: CancellationToken,
    in_flight: Mutex<Option<&'static str>>,
}

impl Cancellation {
    /// Requests the cancel; returns the uninterruptible call in flight at that moment, if any.
    pub fn request(&self) -> Option<&'static str> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        self.token.cancel();
        *in_flight
    }

    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when a cancel is requested.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// The running operation's handle. Cheap to clone; usable from blocking threads.
#[derive(Clone)]
pub struct RunContext {
    id: Uuid,
    node: NodeHandle,
    reporter: Arc<dyn Reporter>,
    cancel: Arc<Cancellation>,
    settings: Arc<OperationSettings>,
    policy: Arc<ValidationPolicy>,
    stopping: CancellationToken,
    resumed: Arc<Resumed>,
}

impl RunContext {
    pub fn new(
        id: Uuid,
        node: NodeHandle,
        reporter: Arc<dyn Reporter>,
        cancel: Arc<Cancellation>,
        settings: Arc<OperationSettings>,
        policy: Arc<ValidationPolicy>,
    ) -> RunContext {
        RunContext {
            id,
            node,
            reporter,
            cancel,
            settings,
            policy,
            stopping: CancellationToken::new(),
            resumed: Arc::new(Resumed {
                attempt: 1,
                fields: Map::new(),
            }),
        }
    }

    /// The same context, for a run that carries on from an interrupted one.
    pub fn with_resumed(mut self, resumed: Resumed) -> RunContext {
        self.resumed = Arc::new(resumed);
        self
    }

    /// Which run of this operation this is: 1, or more once it was resumed after a stop of the
    /// sidecar.
    pub fn attempt(&self) -> u32 {
        self.resumed.attempt
    }

    /// A field an interrupted run of this operation kept with [`RunContext::keep`] (or that the
    /// journal had anyway when the sidecar stopped); `None` on a first run.
    pub fn kept(&self, finding_key: &str) -> Option<&Value> {
        if self.resumed.attempt <= 1 {
            return None;
        }
        self.resumed.fields.get(finding_key)
    }

    /// Records a finding and waits until the journal has it, so that a run resumed after a
    /// stop of the sidecar finds it ([`RunContext::kept`]): what must not be chosen twice (the
    /// snapshot a backup is about to take) is kept before it is acted on.
    pub async fn keep(&self, finding: Finding) -> Result<(), OperationError> {
        let Some((key, value)) = finding.into_field() else {
            return Ok(());
        };
        self.reporter.keep(&key, value).await.map_err(|e| {
            OperationError::failed(
                "Journal",
                format!("cannot journal {key} before acting on it: {e}"),
            )
        })
    }

    /// The same context, told that the sidecar is stopping through `token`.
    pub fn with_stopping(mut self, token: CancellationToken) -> RunContext {
        self.stopping = token;
        self
    }

    /// Resolves when the sidecar begins to stop. An operation that can carry on after a restart
    /// (`Operation::resumable`) starts nothing new from then on.
    pub fn stopping(&self) -> &CancellationToken {
        &self.stopping
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn policy(&self) -> &ValidationPolicy {
        &self.policy
    }

    /// What operations may do and their bounds (restart command, drain/restart timeouts).
    pub fn settings(&self) -> &OperationSettings {
        &self.settings
    }

    /// The shared node handle (for bounded reads: [`NodeHandle::read`]).
    pub fn handle(&self) -> &NodeHandle {
        &self.node
    }

    /// The node, connected and with its current version.
    pub async fn node(&self) -> Result<Node, OperationError> {
        Ok(self.node.node().await?)
    }

    /// A short read on the node, bounded by `--jmx-timeout`.
    pub async fn read<T, F, Fut>(&self, read: F) -> Result<T, NodeError>
    where
        F: FnOnce(Node) -> Fut,
        Fut: Future<Output = Result<T, NodeError>>,
    {
        self.node.read(read).await
    }

    /// Sets `progress` (clamped to 0..1). Kept in memory; the journal gets it with the next
    /// state change.
    pub fn set_progress(&self, progress: f64) {
        let progress = if progress.is_finite() {
            progress.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.reporter.progress(progress);
    }

    /// Records a finding as a top-level field of the record.
    pub fn report(&self, finding: Finding) {
        if let Some((key, value)) = finding.into_field() {
            self.reporter.field(&key, value);
        }
    }

    pub fn is_cancel_requested(&self) -> bool {
        self.cancel.is_requested()
    }

    /// Resolves when a cancel is requested (for `select!` against a wait).
    pub fn cancelled(&self) -> &CancellationToken {
        self.cancel.token()
    }

    /// A safe point: `Err(Cancelled)` when a cancel was requested.
    pub fn checkpoint(&self) -> Result<(), OperationError> {
        if self.is_cancel_requested() {
            Err(OperationError::Cancelled)
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
    ) -> Result<F::Output, OperationError> {
        {
            let mut in_flight = self
                .cancel
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if self.is_cancel_requested() {
                return Err(OperationError::Cancelled);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_java_failure_keeps_its_throwable_as_source() {
        let thrown = cassandra::JavaThrowable::new("java.io.IOException", Some("disk"));
        let e = OperationError::from(NodeError::java(thrown));
        let node = std::error::Error::source(&e).expect("the node error");
        let java = node.source().expect("the throwable");
        assert_eq!(java.to_string(), "java.io.IOException: disk");
        assert_eq!(
            e.to_string(),
            "Java: Cassandra threw java.io.IOException: disk"
        );
    }

    #[test]
    fn a_failure_in_several_places_names_each_and_none_is_our_own() {
        let at = |errors: Vec<SourcedError>| OperationError::FailedAt {
            kind: "ClusterFailure",
            message: "failed on 1 of 3 nodes".into(),
            errors,
        };
        let one = SourcedError {
            source: "10.0.0.2:7000".into(),
            message: "boom".into(),
        };
        let e = at(vec![one.clone()]);
        assert_eq!(e.sourced(), Some(&[one][..]));
        assert_eq!(e.to_string(), "failed on 1 of 3 nodes");
        assert_eq!(at(Vec::new()).sourced(), None);
        assert_eq!(OperationError::failed("X", "y").sourced(), None);
    }

    #[test]
    fn a_cancel_names_the_call_in_flight() {
        let c = Cancellation::default();
        *c.in_flight.lock().unwrap() = Some("drain");
        assert_eq!(c.request(), Some("drain"));
        assert!(c.is_requested() && c.token().is_cancelled());
    }
}
