//! The daedalus integration tests, one binary: the API over the production router with a fake
//! MBean server, end-to-end runs against the Java test node and a three-node test cluster, the
//! binary's CLI, TLS, durability and shutdown. `common` holds the shared helpers.

mod common;

mod api;
mod backup_contract;
mod backup_file;
mod backup_secrets;
mod backup_servers;
mod cli_bin;
mod cluster;
mod cluster_backup;
mod commitlog_archive;
mod compat;
mod durability;
mod e2e;
mod full_disk;
mod global_restore;
mod import;
mod jmx_tls;
mod operations;
mod paths;
mod pitr;
mod prod;
mod reads;
mod restore;
mod resume;
mod shutdown;
mod tls_binary;
