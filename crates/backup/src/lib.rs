//! Esop-compatible backups of a Cassandra node's SSTables, on `file://`, S3, GCS and Azure.
//!
//! The storage format is Esop's (the engine inside Icarus), so a backup written here restores
//! with Esop and the reverse. Everything that touches a bucket goes through one
//! [`object_store::ObjectStore`]. This crate reads local files and talks to object stores; it
//! must not talk to Cassandra (callers hand it the snapshot's files and the node's facts) nor
//! know HTTP or operation records.
//!
//! - `confine`: whether a local path stays inside given directories, symlinks resolved.
//! - `location`: parsing `storageLocation` (`proto://bucket/cluster/dc/node`).
//! - `layout`: object keys of SSTable components, manifests and topology files.
//! - `manifest`: the manifest JSON, both forms Esop reads and writes.
//! - `store`: building the object store for a location, with credentials and bucket checks.
//! - `transfer`: uploads and downloads that hash as they stream, dedup, throttle, retry, report
//!   progress and stop on cancellation.
//! - `commitlog`: archived commit-log segments (Esop's layout), which a restore to a moment
//!   needs, and the restore section of `commitlog_archiving.properties`.
//! - `catalog`: listing backups and removing them without breaking another backup.
//! - `request`: the `backup`, `list`, `remove-backup` and `restore` request bodies and their
//!   validation.

pub mod catalog;
pub mod commitlog;
pub mod confine;
pub mod layout;
pub mod location;
pub mod manifest;
pub mod request;
pub mod store;
pub mod transfer;
