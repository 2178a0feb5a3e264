//! Preflight digest throughput against a plain sequential read of the same bytes.
//!
//! Builds one SSTable set whose `Data.db` is `SSTABLE_BENCH_MIB` MiB (default 1024) in a
//! temporary directory, then alternates (a) a plain read of `Data.db` with the same buffer size
//! preflight uses, (b) `preflight` with digest verification and (c) a serial read + CRC32 loop,
//! `SSTABLE_BENCH_ROUNDS` times (default 7), and prints the median throughput of each and their
//! ratios to (a), twice:
//! - warm: the file is in the page cache, so this measures the CPU cost of hashing against the
//!   cost of copying the bytes out of the kernel (the worst case for the ratio);
//! - cold: before every run the file's pages are dropped from the page cache
//!   (`posix_fadvise(POSIX_FADV_DONTNEED)`, this file only), so both read from the disk, as an
//!   import of freshly copied SSTables mostly does.
//!
//! Run: `cargo bench -p sstable --bench digest`

use std::fs::{self, File};
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use sstable::{preflight, PreflightOptions, BUFFER_SIZE};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn build_set(dir: &Path, bytes: u64) -> std::io::Result<()> {
    let mut data = File::create(dir.join("nb-1-big-Data.db"))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut chunk = vec![0u8; 1 << 20];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut written = 0;
    while written < bytes {
        for word in chunk.chunks_mut(8) {
            // xorshift64: incompressible, cheap filler.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let n = chunk.len().min((bytes - written) as usize);
        data.write_all(&chunk[..n])?;
        hasher.update(&chunk[..n]);
        written += n as u64;
    }
    data.sync_all()?;
    fs::write(dir.join("nb-1-big-Statistics.db"), b"stats")?;
    fs::write(
        dir.join("nb-1-big-Digest.crc32"),
        hasher.finalize().to_string(),
    )?;
    fs::write(
        dir.join("nb-1-big-TOC.txt"),
        "Data.db\nStatistics.db\nDigest.crc32\nTOC.txt\n",
    )?;
    Ok(())
}

/// Read and CRC32 in one loop on one thread, through one `BUFFER_SIZE` buffer: the serial
/// design, shown beside preflight so the gain of overlapping the two is measured, not assumed.
fn serial_read_and_crc(path: &Path) -> (u64, u32) {
    let mut file = File::open(path).expect("open Data.db");
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut hasher = crc32fast::Hasher::new();
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).expect("read Data.db");
        if n == 0 {
            return (total, hasher.finalize());
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
}

fn plain_read(path: &Path) -> u64 {
    let mut file = File::open(path).expect("open Data.db");
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).expect("read Data.db");
        if n == 0 {
            return total;
        }
        // Touch the bytes so the read cannot be optimised into nothing.
        total += n as u64;
        std::hint::black_box(&buffer[..n]);
    }
}

/// Drops the file's clean pages from the page cache (it was `sync_all`ed when written).
#[allow(unsafe_code)] // std has no `posix_fadvise`; the workspace denies unsafe everywhere else.
fn evict(path: &Path) {
    use std::os::fd::AsRawFd;
    let file = File::open(path).expect("open Data.db");
    // SAFETY: a plain syscall on a file descriptor that stays open for the whole call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, and
    // then one small round only checks that the benchmark still works.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mib = if smoke {
        1
    } else {
        env_or("SSTABLE_BENCH_MIB", 1024)
    };
    let rounds = if smoke {
        1
    } else {
        env_or("SSTABLE_BENCH_ROUNDS", 7).max(1)
    };
    let bytes = mib * 1024 * 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    build_set(dir.path(), bytes).expect("build set");
    let data = dir.path().join("nb-1-big-Data.db");

    // Warm-up so both runs start from the same page-cache state.
    assert_eq!(plain_read(&data), bytes);

    let mut results = Vec::new();
    for cold in [false, true] {
        let mut reads = Vec::new();
        let mut checks = Vec::new();
        let mut serials = Vec::new();
        for _ in 0..rounds {
            if cold {
                evict(&data);
            }
            let start = Instant::now();
            assert_eq!(plain_read(&data), bytes);
            reads.push(start.elapsed());

            if cold {
                evict(&data);
            }
            let start = Instant::now();
            let report = preflight(dir.path(), PreflightOptions::default(), &mut |_| {
                ControlFlow::Continue(())
            })
            .expect("preflight passes");
            checks.push(start.elapsed());
            assert_eq!(report.sets.len(), 1);

            if cold {
                evict(&data);
            }
            let start = Instant::now();
            let (read, _) = serial_read_and_crc(&data);
            serials.push(start.elapsed());
            assert_eq!(read, bytes);
        }
        let per_round: Vec<String> = reads
            .iter()
            .zip(&checks)
            .map(|(read, check)| format!("{:.2}", read.as_secs_f64() / check.as_secs_f64()))
            .collect();
        results.push((
            if cold { "cold" } else { "warm" },
            mib_per_s(bytes, median(reads)),
            mib_per_s(bytes, median(checks)),
            mib_per_s(bytes, median(serials)),
            per_round.join(" "),
        ));
    }
    println!(
        "data file: {mib} MiB, buffer {} KiB, {rounds} rounds, medians",
        BUFFER_SIZE / 1024
    );
    println!(
        "cache  plain read MiB/s  preflight MiB/s  ratio  serial read+CRC MiB/s  ratio  preflight ratio per round"
    );
    for (label, read, check, serial, per_round) in results {
        println!(
            "{label:<5}  {read:>16.1}  {check:>15.1}  {:>5.2}  {serial:>21.1}  {:>5.2}  {per_round}",
            check / read,
            serial / read,
        );
    }
}
