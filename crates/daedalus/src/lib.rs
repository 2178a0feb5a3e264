//! Daedalus: a sidecar for Apache Cassandra with an Icarus-compatible REST API of asynchronous,
//! durable operations.
//!
//! Layers, top to bottom: `http` (axum routes, `error` maps failures to statuses) → `engine`
//! (state machine, worker pool, expiry, restart recovery) → `journal` (SQLite) and `operations`
//! (request validation and the work itself) → `node` (the port to Cassandra; `node_jmx` is the
//! adapter). `config` turns flags, environment and config file into `Settings`; `record` is the
//! operation record every layer shares.

pub mod config;
pub mod engine;
pub mod error;
pub mod facts;
pub mod facts_jmx;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod node;
pub mod node_jmx;
pub mod operations;
pub mod record;
pub mod shutdown;
