//! Preflight over copies of the real SSTable fixtures (copied into temporary directories; the
//! fixtures themselves are never written).

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sstable::{
    discover, preflight, DigestOutcome, Generation, PreflightError, PreflightOptions, Progress,
    Report,
};

fn fixtures() -> PathBuf {
    let root = std::env::var_os("SSTABLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/sstables")
        });
    assert!(
        root.is_dir(),
        "SSTable fixtures not found at {} (set SSTABLE_FIXTURES)",
        root.display()
    );
    root
}

/// Every fixture directory that holds SSTable files.
fn fixture_dirs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut has_data = false;
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with("-Data.db") {
                has_data = true;
            }
        }
        if has_data {
            out.push(dir.to_path_buf());
        }
    }
    let mut out = Vec::new();
    walk(&fixtures(), &mut out);
    out.sort();
    out
}

/// Copies one fixture directory (relative to the fixture root) into a fresh temp dir.
fn copy_fixture(rel: &str) -> tempfile::TempDir {
    copy_dir(&fixtures().join(rel))
}

fn copy_dir(src: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let dest = tmp.path().join(path.file_name().unwrap());
        fs::write(&dest, fs::read(&path).unwrap()).unwrap();
    }
    tmp
}

fn run(dir: &Path, verify_digest: bool) -> Result<Report, PreflightError> {
    preflight(dir, PreflightOptions { verify_digest }, &mut |_| {
        ControlFlow::Continue(())
    })
}

const NB_CLUST: &str = "apache-cassandra-legacy/legacy_tables/legacy_nb_clust";
const DA_CLUST: &str = "apache-cassandra-legacy/legacy_tables/legacy_da_clust";
const MD_IOT: &str = "sstable-to-arrow/baselines/iot-5b608090e03d11ebb4c1d335f841c590";
const DSE_BB: &str = "sstable-to-arrow-dse/SSTableToArrowTesting/Standard";
const TWO_NB: &str = "sstable-transformer-input-four/spark_test/test3";

#[test]
fn every_fixture_set_passes_with_its_recorded_digest() {
    let dirs = fixture_dirs();
    let mut sets = 0;
    for src in &dirs {
        let tmp = copy_dir(src);
        let report =
            run(tmp.path(), true).unwrap_or_else(|e| panic!("{} should pass: {e}", src.display()));
        for set in &report.sets {
            let digest = fs::read_to_string(src.join(format!("{}-Digest.crc32", set.name)))
                .unwrap()
                .trim()
                .parse::<u32>()
                .unwrap();
            assert_eq!(
                set.digest,
                DigestOutcome::Verified { crc32: digest },
                "{}",
                set.name
            );
            assert!(set.components.iter().any(|c| c == "Data.db"));
        }
        let on_disk: u64 = fs::read_dir(src)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(report.total_bytes, on_disk, "{}", src.display());
        sets += report.sets.len();
    }
    // PROVENANCE.md: 20 SSTables in 18 table folders.
    assert_eq!(dirs.len(), 18);
    assert_eq!(sets, 20);
}

#[test]
fn missing_required_component_names_set_and_component() {
    let tmp = copy_fixture(NB_CLUST);
    fs::remove_file(tmp.path().join("nb-1-big-Statistics.db")).unwrap();
    match run(tmp.path(), true) {
        Err(e @ PreflightError::MissingComponent { .. }) => {
            assert_eq!(e.set(), Some("nb-1-big"));
            assert_eq!(e.component(), Some("Statistics.db"));
            assert!(e.to_string().contains("nb-1-big"), "{e}");
        }
        other => panic!("expected MissingComponent, got {other:?}"),
    }
}

#[test]
fn missing_toc_listed_component_is_reported() {
    let tmp = copy_fixture(DA_CLUST);
    fs::remove_file(tmp.path().join("da-1-bti-Partitions.db")).unwrap();
    match run(tmp.path(), false) {
        Err(PreflightError::TocListsAbsent { set, component }) => {
            assert_eq!(set, "da-1-bti");
            assert_eq!(component, "Partitions.db");
        }
        other => panic!("expected TocListsAbsent, got {other:?}"),
    }
}

#[test]
fn toc_naming_a_file_that_does_not_exist() {
    let tmp = copy_fixture(DA_CLUST);
    let toc = tmp.path().join("da-1-bti-TOC.txt");
    let mut text = fs::read_to_string(&toc).unwrap();
    text.push_str("Index.db\n");
    fs::write(&toc, text).unwrap();
    match run(tmp.path(), true) {
        Err(PreflightError::TocListsAbsent { set, component }) => {
            assert_eq!(set, "da-1-bti");
            assert_eq!(component, "Index.db");
        }
        other => panic!("expected TocListsAbsent, got {other:?}"),
    }
}

#[test]
fn one_corrupted_byte_in_data_fails_the_digest() {
    let tmp = copy_fixture(NB_CLUST);
    let data = tmp.path().join("nb-1-big-Data.db");
    let mut bytes = fs::read(&data).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&data, bytes).unwrap();
    match run(tmp.path(), true) {
        Err(e @ PreflightError::DigestMismatch { .. }) => {
            let PreflightError::DigestMismatch {
                ref set,
                expected,
                actual,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(set, "nb-1-big");
            assert_eq!(expected, 2568411107);
            assert_ne!(actual, expected);
            assert_eq!(e.component(), Some("Data.db"));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    // With verification off the same directory passes, and says the digest was not checked.
    let report = run(tmp.path(), false).unwrap();
    assert_eq!(report.sets[0].digest, DigestOutcome::NotChecked);
}

#[test]
fn garbage_in_digest_file_is_invalid_digest() {
    let tmp = copy_fixture(NB_CLUST);
    fs::write(tmp.path().join("nb-1-big-Digest.crc32"), "not a number").unwrap();
    assert!(matches!(
        run(tmp.path(), true),
        Err(PreflightError::InvalidDigest { ref set, .. }) if set == "nb-1-big"
    ));
    // A value above u32::MAX cannot be a CRC32 either.
    fs::write(tmp.path().join("nb-1-big-Digest.crc32"), "4294967296").unwrap();
    assert!(matches!(
        run(tmp.path(), true),
        Err(PreflightError::InvalidDigest { .. })
    ));
}

#[test]
fn digest_absent_and_not_in_toc_is_not_an_error() {
    let tmp = copy_fixture(NB_CLUST);
    fs::remove_file(tmp.path().join("nb-1-big-Digest.crc32")).unwrap();
    let toc = tmp.path().join("nb-1-big-TOC.txt");
    let text: String = fs::read_to_string(&toc)
        .unwrap()
        .lines()
        .filter(|l| l.trim() != "Digest.crc32")
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&toc, text).unwrap();
    let report = run(tmp.path(), true).unwrap();
    assert_eq!(report.sets[0].digest, DigestOutcome::NoDigest);
}

#[test]
fn empty_directory_is_no_sstables() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        run(tmp.path(), true),
        Err(PreflightError::NoSSTables { .. })
    ));
    // Files that are not SSTable components do not count.
    fs::write(tmp.path().join("README.md"), "hello").unwrap();
    fs::write(tmp.path().join("tmp-nb-1-big-Data.db"), "partial").unwrap();
    fs::create_dir(tmp.path().join("nb-1-big-Data.db.d")).unwrap();
    match run(tmp.path(), true) {
        Err(e @ PreflightError::NoSSTables { .. }) => {
            assert!(e.to_string().starts_with("no SSTables in "), "{e}")
        }
        other => panic!("expected NoSSTables, got {other:?}"),
    }
}

#[test]
fn missing_directory_is_a_listing_error() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        run(&tmp.path().join("absent"), true),
        Err(PreflightError::ListDir { .. })
    ));
}

#[test]
fn datastax_bb_set_parses_and_passes_but_is_flagged() {
    // Written by DataStax's fork; Apache Cassandra refuses `bti` versions below `da` at import,
    // but its structure and digest are sound, so preflight passes it.
    let tmp = copy_fixture(DSE_BB);
    let report = run(tmp.path(), true).unwrap();
    assert_eq!(report.sets.len(), 1);
    assert_eq!(report.sets[0].name, "bb-1-bti");
    assert!(report.sets[0].descriptor.is_datastax_only());
}

#[test]
fn uuid_generation_set_passes() {
    let src = copy_fixture(NB_CLUST);
    let tmp = tempfile::tempdir().unwrap();
    let uuid = "3gdg_0ofm_2khbk2ltk7ulmy1ow8";
    for entry in fs::read_dir(src.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let renamed = name.replacen("nb-1-big-", &format!("nb-{uuid}-big-"), 1);
        fs::rename(&path, tmp.path().join(renamed)).unwrap();
    }
    let report = run(tmp.path(), true).unwrap();
    assert_eq!(report.sets.len(), 1);
    assert_eq!(
        report.sets[0].descriptor.generation,
        Generation::Uuid(uuid.into())
    );
    assert_eq!(report.sets[0].name, format!("nb-{uuid}-big"));
    assert!(matches!(
        report.sets[0].digest,
        DigestOutcome::Verified { .. }
    ));
}

#[test]
fn two_sets_in_one_directory_and_progress_reaches_total() {
    let tmp = copy_fixture(TWO_NB);
    let sets = discover(tmp.path()).unwrap();
    assert_eq!(
        sets.iter().map(|s| s.name()).collect::<Vec<_>>(),
        ["nb-1-big", "nb-2-big"]
    );
    assert_eq!(sets[0].size_of("Data.db"), Some(34));

    let mut seen: Vec<Progress> = Vec::new();
    let report = preflight(tmp.path(), PreflightOptions::default(), &mut |p| {
        seen.push(p);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(report.sets.len(), 2);
    assert!(seen.iter().all(|p| p.total_bytes == 68));
    assert_eq!(seen.first().unwrap().checked_bytes, 0);
    assert_eq!(seen.last().unwrap().checked_bytes, 68);
    assert!(seen
        .windows(2)
        .all(|w| w[0].checked_bytes <= w[1].checked_bytes));
}

#[test]
fn progress_is_reported_per_buffer_on_large_files() {
    // md-2-big-Data.db is 1,097,150 bytes: more than four 256 KiB buffers.
    let tmp = copy_fixture(MD_IOT);
    let mut seen = Vec::new();
    run_with(tmp.path(), &mut |p| {
        seen.push(p.checked_bytes);
        ControlFlow::Continue(())
    })
    .unwrap();
    let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
    assert!(distinct.len() >= 5, "{seen:?}");
    assert_eq!(*seen.last().unwrap(), 1_097_150);
}

#[test]
fn break_from_the_callback_cancels() {
    let tmp = copy_fixture(MD_IOT);
    // At once.
    assert!(matches!(
        run_with(tmp.path(), &mut |_| ControlFlow::Break(())),
        Err(PreflightError::Cancelled)
    ));
    // In the middle of hashing.
    let mut calls = 0;
    let result = run_with(tmp.path(), &mut |p| {
        calls += 1;
        if p.checked_bytes > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(matches!(result, Err(PreflightError::Cancelled)));
    assert_eq!(calls, 2);
}

fn run_with(
    dir: &Path,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Report, PreflightError> {
    preflight(dir, PreflightOptions::default(), progress)
}
