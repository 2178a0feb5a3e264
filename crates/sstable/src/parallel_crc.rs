//! The CRC32 of a whole file computed by a few threads at once. The file is cut into fixed
//! segments that the threads claim in file order from a shared counter; each thread reads the
//! segment it claimed with positioned reads into its own buffer and checksums it there, and the
//! segments' CRCs are combined in file order at the end. No buffer passes between threads, so
//! no thread ever waits for another to wake up, and a thread that the scheduler holds back
//! simply claims fewer segments. It reads only, and knows nothing of SSTables.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// Bytes read at once by each thread.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// Bytes per segment: large enough that the kernel's read-ahead ramps up within it and that
/// claiming costs nothing, small enough that the threads finish close together.
const SEGMENT_SIZE: u64 = 16 * 1024 * 1024;

/// Threads at most, the calling one included: two already make the checksum cost no more than
/// the reading on a machine with a spare core, and an import should not take more of the node.
const MAX_THREADS: usize = 2;

/// Read speed of the first segment above which the bytes are taken to come from memory (the
/// page cache), where a second thread halves the checksum's share. Below it they come from a
/// device, where a second reader only makes two streams compete for it (measured on a virtual
/// disk: 0.6-0.7x of one reader's speed), so the calling thread goes on alone.
const FROM_MEMORY_BYTES_PER_SECOND: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;

/// When helper threads join the calling one.
#[derive(Debug, Clone, Copy)]
enum Helpers {
    /// From the start (the tests' choice: helpers always take part).
    #[cfg_attr(not(test), allow(dead_code))]
    Always,
    /// After the first segment, if it was read at least this fast (bytes per second).
    IfFirstSegmentFasterThan(f64),
}

/// Why [`crc32_of_file`] ended without a result.
#[derive(Debug)]
pub(crate) enum CrcError<E> {
    /// A read failed.
    Read(io::Error),
    /// `progress` returned `ControlFlow::Break`.
    Stopped(E),
}

/// The CRC32 of `file`, expected to be `length` bytes long, and the number of bytes found:
/// fewer than `length` if the file ended early, more if it continues past `length` (then the
/// CRC is that of the first `length` bytes and meaningless to the caller).
///
/// `progress` runs on the calling thread with the bytes checksummed so far by all threads,
/// after each of that thread's reads and once when it has no segment left; a `Break` stops
/// every thread.
///
/// Each helper thread opens `path` itself: with its own open file it keeps its own read-ahead
/// state, so the kernel sees two sequential readers instead of one reader jumping between
/// segments (which defeats read-ahead when the file is not in the page cache).
pub(crate) fn crc32_of_file<E>(
    file: &File,
    path: &Path,
    length: u64,
    progress: &mut dyn FnMut(u64) -> ControlFlow<E>,
) -> Result<(u32, u64), CrcError<E>> {
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    crc32_in_segments(
        file,
        Some(path),
        length,
        SEGMENT_SIZE,
        threads.min(MAX_THREADS),
        Helpers::IfFirstSegmentFasterThan(FROM_MEMORY_BYTES_PER_SECOND),
        progress,
    )
}

/// One segment's checksum and how many of its bytes the file had.
struct Segment {
    crc: crc32fast::Hasher,
    read: u64,
}

/// What the threads share.
struct Work<'a> {
    file: &'a File,
    /// Opened again by each helper thread; `None`: helpers read through `file`.
    path: Option<&'a Path>,
    length: u64,
    segment_size: u64,
    segments: u64,
    next: AtomicU64,
    hashed: AtomicU64,
    stop: AtomicBool,
    done: Mutex<Vec<Option<Segment>>>,
}

fn crc32_in_segments<E>(
    file: &File,
    path: Option<&Path>,
    length: u64,
    segment_size: u64,
    threads: usize,
    helpers_join: Helpers,
    progress: &mut dyn FnMut(u64) -> ControlFlow<E>,
) -> Result<(u32, u64), CrcError<E>> {
    let segments = length.div_ceil(segment_size);
    let threads = threads.clamp(1, usize::try_from(segments).unwrap_or(usize::MAX).max(1));
    let work = Work {
        file,
        path,
        length,
        segment_size,
        segments,
        next: AtomicU64::new(0),
        hashed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        done: Mutex::new((0..segments).map(|_| None).collect()),
    };
    let mut stopped = None;
    let outcomes: Vec<io::Result<()>> = thread::scope(|scope| {
        let mut report = || match progress(work.hashed.load(Ordering::Relaxed)) {
            ControlFlow::Continue(()) => true,
            ControlFlow::Break(e) => {
                stopped = Some(e);
                false
            }
        };
        let started = Instant::now();
        let first = match helpers_join {
            Helpers::Always => Ok(()),
            Helpers::IfFirstSegmentFasterThan(_) => work.run(work.file, &mut report, 1),
        };
        let spawn = match helpers_join {
            Helpers::Always => true,
            Helpers::IfFirstSegmentFasterThan(speed) => {
                first.is_ok()
                    && work.next.load(Ordering::Relaxed) < work.segments
                    && read_fast(segment_size, started.elapsed(), speed)
            }
        };
        let helpers: Vec<_> = if spawn {
            (1..threads)
                .map(|_| scope.spawn(|| work.run_helper()))
                .collect()
        } else {
            Vec::new()
        };
        let own = first.and_then(|()| work.run(work.file, &mut report, u64::MAX));
        // Once more after its last read: the helper may have claimed every segment, and the
        // caller must still see progress and be able to stop.
        if own.is_ok() && !work.stop.load(Ordering::Relaxed) {
            report();
        }
        if own.is_err() || stopped.is_some() {
            work.stop.store(true, Ordering::Relaxed);
        }
        let mut outcomes = vec![own];
        outcomes.extend(helpers.into_iter().map(|helper| {
            helper
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a checksumming thread panicked")))
        }));
        outcomes
    });
    if let Some(e) = stopped {
        return Err(CrcError::Stopped(e));
    }
    for outcome in outcomes {
        outcome.map_err(CrcError::Read)?;
    }

    let done = work
        .done
        .into_inner()
        .map_err(|_| CrcError::Read(io::Error::other("a checksumming thread panicked")))?;
    let mut crc = crc32fast::Hasher::new();
    let mut read = 0u64;
    for segment in done {
        let segment = segment.ok_or_else(|| {
            CrcError::Read(io::Error::other(
                "a segment was claimed but not checksummed",
            ))
        })?;
        crc.combine(&segment.crc);
        read += segment.read;
    }
    if read == length {
        // Anything past the expected length means the file grew.
        let mut probe = [0u8; 1];
        read += read_at(file, &mut probe, length).map_err(CrcError::Read)? as u64;
    }
    Ok((crc.finalize(), read))
}

impl Work<'_> {
    /// A helper thread's share, through its own open file when the path is known.
    fn run_helper(&self) -> io::Result<()> {
        let keep_going = &mut || !self.stop.load(Ordering::Relaxed);
        match self.path {
            Some(path) => match File::open(path) {
                Ok(own) => self.run(&own, keep_going, u64::MAX),
                Err(e) => {
                    self.stop.store(true, Ordering::Relaxed);
                    Err(e)
                }
            },
            None => self.run(self.file, keep_going, u64::MAX),
        }
    }

    /// Claims and checksums up to `budget` segments of `file` until none is left or it must
    /// stop; `keep_going` runs after every read.
    fn run(
        &self,
        file: &File,
        keep_going: &mut dyn FnMut() -> bool,
        mut budget: u64,
    ) -> io::Result<()> {
        let mut buffer = vec![0u8; BUFFER_SIZE];
        loop {
            if budget == 0 {
                return Ok(());
            }
            budget -= 1;
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.segments {
                return Ok(());
            }
            let start = index * self.segment_size;
            let end = (start + self.segment_size).min(self.length);
            let mut crc = crc32fast::Hasher::new();
            let mut at = start;
            while at < end {
                let want = usize::try_from(end - at).map_or(buffer.len(), |w| w.min(buffer.len()));
                let n = match read_at(file, &mut buffer[..want], at) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        self.stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                crc.update(&buffer[..n]);
                at += n as u64;
                self.hashed.fetch_add(n as u64, Ordering::Relaxed);
                if !keep_going() {
                    self.stop.store(true, Ordering::Relaxed);
                    return Ok(());
                }
            }
            let segment = Segment {
                crc,
                read: at - start,
            };
            match self.done.lock() {
                Ok(mut done) => done[index as usize] = Some(segment),
                Err(_) => return Err(io::Error::other("a checksumming thread panicked")),
            }
        }
    }
}

/// Whether `bytes` read in `took` is at least `speed` bytes per second.
fn read_fast(bytes: u64, took: Duration, speed: f64) -> bool {
    bytes as f64 >= speed * took.as_secs_f64()
}

/// `read_at`, retried when interrupted.
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buffer, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn crc_in<E>(
        file: &File,
        length: u64,
        segment: u64,
        threads: usize,
    ) -> Result<(u32, u64), CrcError<E>> {
        crc32_in_segments(
            file,
            None,
            length,
            segment,
            threads,
            Helpers::Always,
            &mut |_| ControlFlow::Continue(()),
        )
    }

    #[test]
    fn equals_the_crc_of_the_whole_file_for_any_cut() {
        for len in [0, 1, 999, 1000, 1001, 7 * 1000 + 17, BUFFER_SIZE + 3] {
            let content = pattern(len);
            let file = file_with(&content);
            let expected = crc32fast::hash(&content);
            for segment in [1000, 4096, 1 << 20] {
                for threads in [1, 2, 5] {
                    let (crc, read) = crc_in::<()>(&file, len as u64, segment, threads).unwrap();
                    assert_eq!(read, len as u64, "len {len} segment {segment}");
                    assert_eq!(
                        crc, expected,
                        "len {len} segment {segment} threads {threads}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_public_entry_uses_the_default_cut() {
        let content = pattern(3 * BUFFER_SIZE + 5);
        let mut named = tempfile::NamedTempFile::new().unwrap();
        named.write_all(&content).unwrap();
        let (crc, read) = crc32_of_file::<()>(
            named.as_file(),
            named.path(),
            content.len() as u64,
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
        assert_eq!(
            (crc, read),
            (crc32fast::hash(&content), content.len() as u64)
        );
    }

    /// Helpers that open the file themselves, joining after a fast first segment or never:
    /// the same CRC either way, and a helper that cannot open the file fails the whole.
    #[test]
    fn helpers_joining_after_the_first_segment_give_the_same_crc() {
        let content = pattern(7 * 1000 + 17);
        let mut named = tempfile::NamedTempFile::new().unwrap();
        named.write_all(&content).unwrap();
        let expected = crc32fast::hash(&content);
        for speed in [0.0, f64::INFINITY] {
            let (crc, read) = crc32_in_segments::<()>(
                named.as_file(),
                Some(named.path()),
                content.len() as u64,
                1000,
                2,
                Helpers::IfFirstSegmentFasterThan(speed),
                &mut |_| ControlFlow::Continue(()),
            )
            .unwrap();
            assert_eq!((crc, read), (expected, content.len() as u64), "{speed}");
        }
        let gone = named.path().with_extension("gone");
        let outcome = crc32_in_segments::<()>(
            named.as_file(),
            Some(&gone),
            content.len() as u64,
            1000,
            2,
            Helpers::IfFirstSegmentFasterThan(0.0),
            &mut |_| ControlFlow::Continue(()),
        );
        assert!(matches!(outcome, Err(CrcError::Read(_))));
    }

    #[test]
    fn a_shorter_or_longer_file_is_reported_by_its_length() {
        let content = pattern(5000);
        let file = file_with(&content);
        for threads in [1, 2] {
            let (_, read) = crc_in::<()>(&file, 8000, 1000, threads).unwrap();
            assert_eq!(read, 5000, "threads {threads}");
            let (_, read) = crc_in::<()>(&file, 3000, 1000, threads).unwrap();
            assert!(read > 3000, "threads {threads}: read {read}");
        }
    }

    #[test]
    fn progress_counts_every_byte_and_a_break_stops_all_threads() {
        let content = pattern(50 * 1000);
        let file = file_with(&content);
        let mut last = 0;
        crc32_in_segments::<()>(
            &file,
            None,
            50_000,
            1000,
            2,
            Helpers::Always,
            &mut |hashed| {
                assert!(hashed >= last);
                last = hashed;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        assert!(last > 0 && last <= 50_000, "{last}");

        // Progress runs at least once, whichever thread claimed the segments.
        let mut calls = 0;
        let outcome = crc32_in_segments(&file, None, 50_000, 1000, 2, Helpers::Always, &mut |_| {
            calls += 1;
            ControlFlow::Break("enough")
        });
        assert!(matches!(outcome, Err(CrcError::Stopped("enough"))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_read_error_is_returned() {
        // A directory opens as a file on Linux but every read fails with EISDIR.
        let dir = tempfile::tempdir().unwrap();
        let file = File::open(dir.path()).unwrap();
        for threads in [1, 2] {
            let outcome = crc_in::<()>(&file, 10_000, 1000, threads);
            assert!(
                matches!(outcome, Err(CrcError::Read(_))),
                "threads {threads}"
            );
        }
    }
}
