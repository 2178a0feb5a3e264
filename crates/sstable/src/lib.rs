//! SSTable discovery and import preflight: which SSTable sets a directory holds, and whether each
//! one is complete and its `Data.db` matches its `Digest.crc32`.
//!
//! Blocking `std` I/O only, no async runtime; callers run it on a blocking thread. This crate
//! reads files and never writes, moves or deletes them, and knows nothing about JMX or Cassandra
//! nodes.

pub mod descriptor;
pub mod discover;
mod parallel_crc;
pub mod preflight;

pub use descriptor::{parse_file_name, Descriptor, Format, Generation, ParsedName};
pub use discover::{discover, DiscoverError, SSTableSet};
pub use preflight::{
    preflight, DigestOutcome, PreflightError, PreflightOptions, Progress, Report, SetSummary,
    BUFFER_SIZE, REQUIRED_COMPONENTS,
};
