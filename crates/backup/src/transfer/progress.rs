//! Bytes done out of bytes in all, reported to a callback as bytes move. Reports never go
//! back, even when a file is sent again after a failed attempt: a file is credited only with
//! bytes beyond the furthest point any of its attempts reached.

use std::sync::{Arc, Mutex};

/// Receives `(bytes done, bytes in all)`.
pub type ProgressFn = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The running total of one batch.
pub(crate) struct Progress {
    done: Mutex<u64>,
    total: u64,
    callback: Option<ProgressFn>,
}

impl Progress {
    pub(crate) fn new(total: u64, callback: Option<ProgressFn>) -> Self {
        Progress {
            done: Mutex::new(0),
            total,
            callback,
        }
    }

    /// Adds `bytes` and reports. The callback runs under the lock so that two files finishing a
    /// chunk at once can never report their totals out of order.
    fn add(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *done = (*done + bytes).min(self.total);
        if let Some(callback) = &self.callback {
            callback(*done, self.total);
        }
    }
}

/// One file's share of the progress, across its attempts.
pub(crate) struct FileProgress<'a> {
    progress: &'a Progress,
    credited: u64,
    position: u64,
}

impl<'a> FileProgress<'a> {
    pub(crate) fn new(progress: &'a Progress) -> Self {
        FileProgress {
            progress,
            credited: 0,
            position: 0,
        }
    }

    /// A new attempt starts from the first byte again.
    pub(crate) fn restart(&mut self) {
        self.position = 0;
    }

    /// `bytes` more of this attempt have moved.
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.position += bytes;
        if self.position > self.credited {
            self.progress.add(self.position - self.credited);
            self.credited = self.position;
        }
    }

    /// The whole file counts as done (skipped because already there).
    pub(crate) fn complete(&mut self, size: u64) {
        if size > self.position {
            self.advance(size - self.position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_file_is_not_counted_twice() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = Progress::new(
            100,
            Some(Arc::new(move |d, t| sink.lock().unwrap().push((d, t)))),
        );
        let mut file = FileProgress::new(&progress);
        file.advance(30);
        file.restart();
        file.advance(20);
        file.advance(20);
        file.complete(100);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(30, 100), (40, 100), (100, 100)]
        );
    }
}
