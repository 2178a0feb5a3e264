//! Test support shared by the workspace's tests, kept out of the product crates: nothing here
//! is compiled into the sidecar, and no product crate depends on this one (only
//! `[dev-dependencies]` do).
//!
//! - [`storage`]: local S3, GCS and Azure servers (moto, fake-gcs-server, Azurite) installed by
//!   `scripts/emulators`.

pub mod storage;
