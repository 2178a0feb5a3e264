//! Reading a file on one thread while the caller consumes it on another: one reader thread fills
//! a small fixed set of buffers ([`CHUNKS_IN_FLIGHT`] of [`BUFFER_SIZE`]) and hands them over a
//! bounded channel; the caller's closure sees each chunk in order on the calling thread and the
//! buffer goes back to the reader. Reading and checksumming thus overlap, and memory stays at a
//! few buffers whatever the file size. It knows nothing of SSTables or of what the bytes are for.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Bytes read per chunk.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// Buffers that exist at once: one being filled, one being consumed, and one waiting in between
/// so neither side stalls on the other's jitter.
pub(crate) const CHUNKS_IN_FLIGHT: usize = 3;

/// Why [`for_each_chunk`] ended early.
#[derive(Debug)]
pub(crate) enum ChunkedReadError<E> {
    /// The reader's `read` failed.
    Read(io::Error),
    /// The consumer returned `ControlFlow::Break`.
    Stopped(E),
}

/// Streams `file` from its current position to its end, or until more than `limit` bytes have
/// been read, through `consume`, and returns the number of bytes read.
///
/// Stopping early (a `Break` from `consume`) ends the reader before this returns.
pub(crate) fn for_each_chunk<E>(
    file: File,
    limit: u64,
    consume: &mut dyn FnMut(&[u8]) -> ControlFlow<E>,
) -> Result<u64, ChunkedReadError<E>> {
    let (filled_tx, filled_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(CHUNKS_IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    for _ in 0..CHUNKS_IN_FLIGHT {
        empty_tx
            .send(vec![0u8; BUFFER_SIZE])
            .expect("the receiver is alive and the channel has room for every buffer");
    }
    thread::scope(|scope| {
        scope.spawn(move || read_chunks(file, limit, empty_rx, filled_tx));
        // Returning drops `filled_rx` and `empty_tx`, which ends the reader wherever it waits.
        consume_chunks(filled_rx, empty_tx, consume)
    })
}

/// The reader thread: fills free buffers until end of file, `limit` exceeded, an error, or the
/// consumer gone.
fn read_chunks(
    mut file: File,
    limit: u64,
    empty: Receiver<Vec<u8>>,
    filled: SyncSender<io::Result<(Vec<u8>, usize)>>,
) {
    let mut total = 0u64;
    while let Ok(mut buffer) = empty.recv() {
        let mut len = 0;
        let outcome = loop {
            if len == buffer.len() {
                break Ok(());
            }
            match file.read(&mut buffer[len..]) {
                Ok(0) => break Ok(()),
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = outcome {
            let _ = filled.send(Err(e));
            return;
        }
        total += len as u64;
        let last = len < buffer.len() || total > limit;
        if len > 0 && filled.send(Ok((buffer, len))).is_err() {
            return;
        }
        if last {
            return;
        }
    }
}

/// The calling thread's side: hands each chunk to `consume` and returns its buffer.
fn consume_chunks<E>(
    filled: Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: SyncSender<Vec<u8>>,
    consume: &mut dyn FnMut(&[u8]) -> ControlFlow<E>,
) -> Result<u64, ChunkedReadError<E>> {
    let mut total = 0u64;
    // The channel closes when the reader is done; an error is sent before it closes.
    for chunk in filled {
        let (buffer, len) = chunk.map_err(ChunkedReadError::Read)?;
        total += len as u64;
        if let ControlFlow::Break(e) = consume(&buffer[..len]) {
            return Err(ChunkedReadError::Stopped(e));
        }
        // The reader may already have stopped; then the buffer is simply dropped.
        let _ = empty.send(buffer);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.rewind().unwrap();
        file
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn delivers_every_byte_in_order() {
        for len in [0, 1, BUFFER_SIZE, BUFFER_SIZE + 1, 5 * BUFFER_SIZE + 17] {
            let content = pattern(len);
            let mut seen = Vec::new();
            let read = for_each_chunk::<()>(file_with(&content), u64::MAX, &mut |chunk| {
                seen.extend_from_slice(chunk);
                ControlFlow::Continue(())
            })
            .unwrap();
            assert_eq!(read, len as u64);
            assert!(seen == content, "content differs for length {len}");
        }
    }

    #[test]
    fn stops_reading_past_the_limit() {
        let content = pattern(10 * BUFFER_SIZE);
        let read =
            for_each_chunk::<()>(file_with(&content), 10, &mut |_| ControlFlow::Continue(()))
                .unwrap();
        assert_eq!(read, BUFFER_SIZE as u64);
    }

    #[test]
    fn a_break_stops_the_stream_and_returns_its_value() {
        let content = pattern(20 * BUFFER_SIZE);
        let mut calls = 0;
        let outcome = for_each_chunk(file_with(&content), u64::MAX, &mut |_| {
            calls += 1;
            if calls == 2 {
                ControlFlow::Break("enough")
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(matches!(outcome, Err(ChunkedReadError::Stopped("enough"))));
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_read_error_is_returned() {
        // A directory opens as a file on Linux but every read fails with EISDIR.
        let dir = tempfile::tempdir().unwrap();
        let file = File::open(dir.path()).unwrap();
        let outcome = for_each_chunk::<()>(file, u64::MAX, &mut |_| ControlFlow::Continue(()));
        assert!(matches!(outcome, Err(ChunkedReadError::Read(_))));
    }
}
