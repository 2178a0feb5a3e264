//! The state every handler may reach, and how each handler picks the part it needs.
//!
//! Owns [`AppState`] and its `FromRef` projections. It must not hold behaviour.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;

use super::records::RecordJson;
use crate::engine::Engine;
use crate::node::NodeHandle;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub records: Arc<RecordJson>,
    /// `--cassandra-config`: where `GET /config` finds `cassandra.yaml`.
    pub cassandra_config: Option<PathBuf>,
}

impl FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Engine {
        state.engine.clone()
    }
}

impl FromRef<AppState> for Arc<RecordJson> {
    fn from_ref(state: &AppState) -> Arc<RecordJson> {
        state.records.clone()
    }
}

impl FromRef<AppState> for NodeHandle {
    fn from_ref(state: &AppState) -> NodeHandle {
        state.engine.node().clone()
    }
}
