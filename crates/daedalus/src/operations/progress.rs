//! Progress of operations that block in one long JMX call: read from the shared node handle
//! while the call runs.
//!
//! Owns the two signals Cassandra exposes: compaction-manager tasks (cleanup, scrub,
//! upgradesstables: completed/total bytes of this keyspace's tasks of that type) and operation
//! mode transitions (drain, decommission). It must not make the call itself or decide outcomes; a
//! failure to read progress never fails the operation.

use std::collections::HashMap;
use std::future::Future;

use cassandra::{CompactionInfo as CompactionTask, OperationMode};

use super::context::{OperationError, RunContext};
use super::finding::Finding;

/// Highest progress shown while the call has not returned: 1.0 means finished.
const RUNNING_CAP: f64 = 0.99;

/// What a compaction-style operation's tasks look like in `CompactionManager.Compactions`.
pub(crate) struct CompactionScope<'a> {
    pub keyspace: &'a str,
    /// Empty: every table of the keyspace.
    pub tables: &'a [String],
    /// `taskType` as Cassandra shows it (`Cleanup`, `Scrub`, `Upgrade sstables`).
    pub task_type: &'a str,
}

impl CompactionScope<'_> {
    fn matches(&self, task: &CompactionTask) -> bool {
        task.keyspace.as_deref() == Some(self.keyspace)
            && (self.tables.is_empty()
                || task
                    .table
                    .as_deref()
                    .is_some_and(|t| self.tables.iter().any(|x| x == t)))
            && task
                .unit
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case("bytes"))
            && task.id.is_some()
    }
}

/// Sums the tasks of one operation over time. A task seen once and gone later counts as done.
#[derive(Debug, Default)]
pub(crate) struct CompactionTally {
    /// compactionId → (completed, total, still running).
    tasks: HashMap<String, (u64, u64, bool)>,
    shown: f64,
}

impl CompactionTally {
    /// Folds in one reading; returns (progress in 0..=RUNNING_CAP, completed, total).
    pub(crate) fn update(
        &mut self,
        scope: &CompactionScope<'_>,
        tasks: &[CompactionTask],
    ) -> (f64, u64, u64) {
        for entry in self.tasks.values_mut() {
            entry.2 = false;
        }
        for task in tasks.iter().filter(|t| scope.matches(t)) {
            // Only this operation's kind of task: a regular compaction of the table is not ours.
            if !task_type_is(task, scope.task_type) {
                continue;
            }
            let (Some(id), Some(total)) = (task.id.clone(), task.total) else {
                continue;
            };
            let completed = task.completed.unwrap_or(0).min(total);
            self.tasks.insert(id, (completed, total, true));
        }
        let (mut completed, mut total) = (0u64, 0u64);
        for (c, t, running) in self.tasks.values() {
            total = total.saturating_add(*t);
            completed = completed.saturating_add(if *running { *c } else { *t });
        }
        if total > 0 {
            let fraction = (completed as f64 / total as f64).min(RUNNING_CAP);
            // Never go back: a table whose task starts late adds to the total.
            self.shown = self.shown.max(fraction);
        }
        (self.shown, completed, total)
    }
}

fn task_type_is(task: &CompactionTask, wanted: &str) -> bool {
    task.task_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
}

/// Runs `call` (uninterruptible, named `what`) while reading compaction tasks of `scope`;
/// progress and `completedBytes`/`totalBytes` go to the record.
pub(crate) async fn with_compaction_progress<F: Future>(
    ctx: &RunContext,
    what: &'static str,
    scope: CompactionScope<'_>,
    call: F,
) -> Result<F::Output, OperationError> {
    let poller = async {
        let mut tally = CompactionTally::default();
        loop {
            tokio::time::sleep(ctx.settings().poll_interval).await;
            match ctx
                .read(|node| async move { node.compactions().await })
                .await
            {
                Ok(tasks) => {
                    let (progress, completed, total) = tally.update(&scope, &tasks);
                    if total > 0 {
                        ctx.set_progress(progress);
                        ctx.report(Finding::CompletedBytes(completed));
                        ctx.report(Finding::TotalBytes(total));
                    }
                }
                Err(e) => tracing::debug!(id = %ctx.id(), error = %e, "cannot read compactions"),
            }
        }
    };
    tokio::select! {
        out = ctx.uninterruptible(what, call) => out,
        never = poller => never,
    }
}

/// Runs `call` while reading the operation mode; `progress_of` maps a mode to a progress value
/// (or `None` to leave it). The mode seen last goes to `operationMode`.
pub(crate) async fn with_mode_progress<F: Future>(
    ctx: &RunContext,
    what: &'static str,
    progress_of: impl Fn(&OperationMode) -> Option<f64>,
    call: F,
) -> Result<F::Output, OperationError> {
    let poller = async {
        loop {
            tokio::time::sleep(ctx.settings().poll_interval).await;
            if let Ok(mode) = ctx
                .read(|node| async move { node.operation_mode().await })
                .await
            {
                if let Some(p) = progress_of(&mode) {
                    ctx.set_progress(p.min(RUNNING_CAP));
                }
                ctx.report(Finding::OperationMode(mode.as_str().to_string()));
            }
        }
    };
    tokio::select! {
        out = ctx.uninterruptible(what, call) => out,
        never = poller => never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, table: &str, completed: u64, total: u64) -> CompactionTask {
        CompactionTask {
            id: Some(id.into()),
            keyspace: Some("ks".into()),
            table: Some(table.into()),
            completed: Some(completed),
            total: Some(total),
            unit: Some("bytes".into()),
            task_type: Some("Cleanup".into()),
            ..CompactionTask::default()
        }
    }

    #[test]
    fn tally_sums_tasks_of_the_scope_and_never_goes_back() {
        let tables = vec!["a".to_string(), "b".to_string()];
        let scope = CompactionScope {
            keyspace: "ks",
            tables: &tables,
            task_type: "Cleanup",
        };
        let mut tally = CompactionTally::default();
        let mut compaction = task("y", "a", 0, 1000);
        compaction.task_type = Some("Compaction".into());
        let (p, c, t) = tally.update(
            &scope,
            &[task("1", "a", 50, 100), task("x", "c", 0, 1000), compaction],
        );
        assert_eq!((c, t), (50, 100));
        assert!((p - 0.5).abs() < 1e-9);
        // a's task ended (counts as done), b's started late.
        let (p, c, t) = tally.update(&scope, &[task("2", "b", 0, 300)]);
        assert_eq!((c, t), (100, 400));
        assert!((p - 0.5).abs() < 1e-9, "kept at 0.5, not 0.25");
        let (p, _, _) = tally.update(&scope, &[task("2", "b", 300, 300)]);
        assert!(
            (p - RUNNING_CAP).abs() < 1e-9,
            "capped below 1 while running"
        );
    }
}
