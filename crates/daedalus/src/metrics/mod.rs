//! Prometheus metrics, split by concern: `registry` (the families and their exposition) and
//! `jmx` (the metering decorator of the MBean server). HTTP request counting is a middleware of
//! `http`, which also serves `/metrics`.
//!
//! Owns nothing itself but the public face of both. It must not know the engine or operations.

mod jmx;
mod registry;

pub use jmx::MeteredServer;
pub use registry::{
    global, Metrics, RecordFigures, CLASSIC_CONTENT_TYPE, CONTENT_TYPE, JMX_BUCKETS,
    OPERATION_BUCKETS,
};
