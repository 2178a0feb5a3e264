//! Read buffers that go back to their pool when the last `Bytes` over them is dropped, wherever
//! that happens (after a store wrote a part, after a file was written). Reusing them keeps the
//! process's memory at the peak of buffers alive instead of letting the allocator's per-thread
//! arenas fill with freed chunks, which otherwise doubled the resident size of large uploads.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Buffers of one size, handed out and taken back.
pub(crate) struct BufferPool {
    size: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    pub(crate) fn new(size: usize) -> Arc<Self> {
        Arc::new(BufferPool {
            size,
            free: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn buffer_size(&self) -> usize {
        self.size
    }

    /// A buffer of `buffer_size()` bytes, reused when one is free.
    pub(crate) fn take(&self) -> Vec<u8> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        reused.unwrap_or_else(|| vec![0; self.size])
    }

    /// The first `length` bytes of `buffer` as `Bytes`; the buffer comes back to the pool when
    /// they and every slice of them are dropped.
    pub(crate) fn freeze(self: &Arc<Self>, buffer: Vec<u8>, length: usize) -> Bytes {
        Bytes::from_owner(Pooled {
            buffer,
            length,
            pool: self.clone(),
        })
    }
}

struct Pooled {
    buffer: Vec<u8>,
    length: usize,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.length]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        self.pool
            .free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_returns_when_its_last_slice_is_dropped() {
        let pool = BufferPool::new(8);
        let mut buffer = pool.take();
        buffer[..3].copy_from_slice(b"abc");
        let address = buffer.as_ptr();
        let bytes = pool.freeze(buffer, 3);
        let mut slice = bytes.clone();
        let tail = slice.split_off(1);
        assert_eq!((&slice[..], &tail[..]), (&b"a"[..], &b"bc"[..]));
        drop(bytes);
        drop(slice);
        assert!(pool.free.lock().unwrap().is_empty());
        drop(tail);
        let reused = pool.take();
        assert_eq!(reused.as_ptr(), address);
    }
}
