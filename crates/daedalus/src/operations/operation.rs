//! The [`Operation`] trait (what the engine calls) and [`OperationType`] (how a request body
//! becomes one): the whole contract between an operation module and the rest of the sidecar.
//!
//! Owns the two traits only. It must not list the types (that is the registry in `mod.rs`) nor
//! know the engine.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::cluster::spread::{ClusterMode, Spread};
use super::context::{OperationError, RunContext};
use super::path_field::{PathField, UsedPath};
use super::settings::{OperationSettings, ValidationPolicy};
use super::validation::ValidationError;

/// What one operation does and how it relates to others. Object-safe: the engine holds
/// `Arc<dyn Operation>` and knows nothing else about a type.
#[async_trait]
pub trait Operation: Send + Sync + fmt::Debug + 'static {
    /// Two unfinished operations of the same type with the same key are duplicates (the second
    /// is refused). `None`: never a duplicate (e.g. two imports differ by their source).
    fn conflict_key(&self) -> Option<String> {
        None
    }

    /// Operations that change what the node is (drain, decommission, restart): nothing new is
    /// accepted while one is unfinished.
    fn is_exclusive(&self) -> bool {
        false
    }

    /// Whether the deployment allows this operation at all (checked before it is accepted).
    fn allowed(&self, _settings: &OperationSettings) -> Result<(), ValidationError> {
        Ok(())
    }

    /// What an operator should check when the sidecar stopped while this operation ran; `None`
    /// for "it can be submitted again".
    fn restart_advice(&self) -> Option<String> {
        None
    }

    /// Whether a run interrupted by a stop of the sidecar is safe to run again at the next start,
    /// in the same record, and carries on where it was: everything it did is either idempotent
    /// or found again (uploads skip stored objects, downloads keep verified files, a coordinator
    /// reads its journaled plan), and what it must not choose twice it keeps with
    /// [`RunContext::keep`]. Others become FAILED, their outcome unknown, saying
    /// [`Operation::not_resumed_because`].
    fn resumable(&self) -> bool {
        false
    }

    /// Checks that need the node or the storage, made before the request is accepted (a
    /// restore to a moment the archive cannot reach): a refusal is a 400 and nothing is
    /// journaled. Anything that cannot be told yet (a store that does not answer) is left to
    /// `run`, which fails with its cause. `ctx` reports nowhere and is cancelled by nobody.
    async fn preflight(&self, _ctx: &RunContext) -> Result<(), ValidationError> {
        Ok(())
    }

    /// Why an interrupted run is not run again at the next start (for a type that is not
    /// [`Operation::resumable`]), as the cause of its FAILED record says it.
    fn not_resumed_because(&self) -> String {
        "Cassandra goes on with a call the sidecar made even when the sidecar stops, so a \
         second run could do the same work twice, at the same time"
            .to_string()
    }

    /// Whether a run that ended before its end (interrupted and not resumed) may have left
    /// something on the node for [`Operation::clean_up`] to clear.
    fn leaves_behind(&self) -> bool {
        false
    }

    /// Clears what a run left behind when it will not carry on (a backup's snapshot, a restore's
    /// downloads), reporting what it did as findings. Called for an interrupted run that is not
    /// resumed, before its record ends FAILED; it must not fail (what it cannot clear, it
    /// reports).
    async fn clean_up(&self, _ctx: &RunContext) {}

    /// Runs the operation to its end. Progress, findings and cancellation go through `ctx`.
    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError>;
}

/// The static side of an operation type: its name and how a request body becomes one. Its
/// serde form is what the record shows (besides `type`) and what the journal stores.
pub trait OperationType: Operation + Serialize + DeserializeOwned + Sized {
    /// `type` as the API spells it.
    const TYPE: &'static str;

    /// Every request field that names a path on this host, and how the sidecar uses it. The
    /// registry confines them (`paths.rs`); a field that names a path and is missing here
    /// fails the test that walks the API document.
    const PATH_FIELDS: &'static [PathField] = &[];

    /// What `globalRequest: true` does with this type: refused unless declared.
    const CLUSTER: ClusterMode = ClusterMode::Never(None);

    /// The coordinator of a cluster-wide request of this type ([`ClusterMode::Coordinated`]),
    /// made from the node's validated request; it may fix what the record shows of it.
    /// `None`: rolled like the others.
    fn coordinator(&mut self, _spread: Spread) -> Option<Arc<dyn Operation>> {
        None
    }

    /// The paths this operation will use, each from a field of [`Self::PATH_FIELDS`]: those
    /// given and the defaults it falls back to.
    fn paths(&self) -> Vec<UsedPath> {
        Vec::new()
    }

    /// Parses and validates a submitted body, naming the field at fault.
    fn parse(body: &Value, policy: &ValidationPolicy) -> Result<Self, ValidationError>;
}

/// A request as a body names it: `{"type": ..., fields...}`, serialized in one go (a node's
/// request, the journal's form).
#[derive(Debug, Serialize)]
pub struct Typed<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub type_name: &'static str,
    #[serde(flatten)]
    pub request: &'a T,
}

impl<'a, T: Serialize> Typed<'a, T> {
    pub fn new(type_name: &'static str, request: &'a T) -> Typed<'a, T> {
        Typed { type_name, request }
    }
}
