//! How a cluster-wide request spreads over the ring: [`ClusterMode`] (what each operation type
//! declares), [`Concurrency`] and [`Spread`] (the coordinator's own fields: `concurrency`,
//! `dc`, `timeout`).
//!
//! Owns these shapes and the rules that need nothing but them. It must not parse a body, talk
//! to a peer or know an operation type by name.

use std::time::Duration;

use super::super::settings::OperationSettings;
use super::super::validation::ValidationError;

/// Default `timeout` of a cluster-wide request (Icarus's, as every request's).
pub const DEFAULT_TIMEOUT: Duration =
    Duration::from_secs(backup::request::DEFAULT_TIMEOUT_HOURS * 3600);

/// What `globalRequest: true` does with a type, as the type declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterMode {
    /// Never cluster-wide; the reason when there is more to say than "not one of these".
    Never(Option<&'static str>),
    /// The type reads `globalRequest` itself (Esop's field): no coordinator of this module.
    Own,
    /// Rolled over the ring: `concurrency` nodes at a time, one plan phase.
    Roll {
        /// It changes what a node is: one node or one rack at a time, never `N` at once.
        one_at_a_time: bool,
        /// The next node starts once the last is back in the ring (a restart).
        wait_for_up: bool,
    },
    /// Run by the type's own coordinator (`OperationType::coordinator`), every node at once
    /// unless `concurrency` says otherwise.
    Coordinated,
}

impl ClusterMode {
    /// Whether `globalRequest: true` on the type is this module's to coordinate.
    pub const fn is_coordinated_here(self) -> bool {
        matches!(self, ClusterMode::Roll { .. } | ClusterMode::Coordinated)
    }
}

/// How many nodes run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Up to N nodes at once; the next starts when one finishes.
    Nodes(u32),
    /// Every node at once (a cluster-wide backup's default, as Icarus runs one).
    All,
    /// Every node of one rack at once, rack after rack.
    Rack,
}

/// The coordinator's fields of a cluster-wide request.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub concurrency: Concurrency,
    pub dc: Option<String>,
    pub timeout: Duration,
}

impl Spread {
    /// Two unfinished cluster-wide requests with the same key are duplicates; the nodes' own
    /// operations are not. `inner` is the node operation's own key.
    pub fn conflict_key(&self, inner: Option<String>) -> Option<String> {
        let inner = inner.unwrap_or_else(|| "*".into());
        Some(format!(
            "global {inner} dc={}",
            self.dc.as_deref().unwrap_or("*")
        ))
    }

    /// Refuses the request when this sidecar has no plan store to coordinate with.
    pub fn allowed(settings: &OperationSettings) -> Result<(), ValidationError> {
        if settings.cluster.is_some() {
            return Ok(());
        }
        Err(ValidationError::invalid(
            "globalRequest",
            "this sidecar cannot coordinate cluster-wide requests (it was started without \
             a plan store)",
        ))
    }
}
