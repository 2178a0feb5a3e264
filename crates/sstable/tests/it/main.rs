//! The sstable crate's integration tests, one binary: discovery and import preflight over copies
//! of the real SSTable fixtures in `tests/data/fixtures/sstables`.

mod preflight;
