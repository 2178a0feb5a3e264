//! Typed, version-aware management of one Cassandra node over JMX.
//!
//! [`Node`] wraps an [`MBeanServer`] (the JMX client through [`jmx_adapter`], or
//! `fake::FakeServer`, feature `fake`, in tests) and the node's [`CassandraVersion`], and offers Cassandra's
//! management calls with the exact ObjectName, operation and signature each version needs (the
//! crate README lists them per version, with the fact-sheet sections they come from). This crate
//! must not know HTTP, operation records or SSTable files.

pub mod compaction;
pub mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod health;
pub mod import;
pub mod jmx_adapter;
pub mod maintenance;
pub mod mbean_server;
pub mod mode;
pub mod names;
pub mod node;
pub mod storage;
pub mod topology;
mod values;
pub mod version;

pub use compaction::CompactionInfo;
pub use error::{JavaThrowable, NodeError, StackFrame};
pub use health::ClusterHealth;
pub use import::ImportOptions;
pub use maintenance::{
    AllSSTableOpStatus, RebuildOptions, ScrubOptions, SnapshotOptions, TokenRange, UpgradeOptions,
};
pub use mbean_server::MBeanServer;
pub use mode::OperationMode;
pub use names::table_mbean_name;
pub use node::Node;
pub use storage::TableName;
pub use topology::{EndpointInfo, EndpointStatus};
pub use version::{CassandraVersion, VersionParseError};
