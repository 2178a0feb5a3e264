//! Client library of the Daedalus REST API (an Icarus-compatible Cassandra sidecar) and the
//! operator commands built on it.
//!
//! - [`Client`] talks to one sidecar: submit, get, list, cancel and wait for operations, and
//!   read the node's status, topology and versions.
//! - [`cli`] holds the `op …`, `status`, `topology` and `version` commands as clap subcommands
//!   that the `daedalus` binary embeds, and [`cli::run`] which executes them.
//!
//! This crate owns no server code; it must stay usable against plain Icarus too.

pub mod cli;
mod client;
mod error;
mod model;
mod progress;
pub mod render;

pub use client::{Client, ClientConfig, DEFAULT_URL, OPERATION_ID_HEADER};
pub use error::ClientError;
pub use model::{
    CassandraVersion, ClusterTopology, ErrorObject, ImportRequest, NodeStatus, NodeTopology,
    Operation, OperationState, SidecarVersion, Versions,
};
