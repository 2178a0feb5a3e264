//! The suite against real Apache Cassandra: nodes started from Maven Central's `cassandra-all` by
//! `scripts/cassandra`, the `daedalus` binary beside them, rows written and read through CQL, so
//! every check is about what the real server did, not about which calls were made.
//!
//! Tests that share a node take `harness::shared()` (one node for the whole binary, each test in its
//! own keyspace) and hold `harness::SHARED_NODE` for reading, or for writing when they stop, drain or
//! restart it. The three-node cluster runs as one sequential scenario.

mod harness;

mod backup_restore;
mod cluster;
mod jmx;
mod lifecycle;
mod operations;
mod pitr;
mod reads;
