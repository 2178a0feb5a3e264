//! The cassandra integration tests, one binary: `fake_node` checks every call's ObjectName,
//! signature and decoding against the recording fake for each version; `testnode` runs the
//! same calls through the native JMX client against the Java test node.

mod fake_node;
mod testnode;
