//! Daedalus: a sidecar for Apache Cassandra with an Icarus-compatible REST API of asynchronous,
//! durable operations.
//!
//! Layers, top to bottom (each module imports only modules below it): `http` (routes, record
//! JSON, errors as JSON) → `engine` (state machine, workers, expiry, restart recovery) →
//! `operations` (the `Operation` trait, the registry, one module per type) and `journal`
//! (SQLite) → `record` (the operation record) → `node` (the one shared handle on
//! `cassandra::Node`) → `metrics`. `commitlog_archive` (continuous commit-log archiving) is a
//! background task beside the engine, on `operations`' storage bridge, `node` and `metrics`.
//! `config` turns flags, environment and config file into `Settings`; docs/ARCHITECTURE.md
//! draws the shape.

pub mod cassandra_yaml;
pub mod commitlog_archive;
pub mod config;
pub mod engine;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod node;
pub mod operations;
pub mod record;
pub mod shutdown;
