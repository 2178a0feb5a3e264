//! The live view of `--wait`: an indicatif bar with state, percent and elapsed time on a
//! terminal, or one line per state change otherwise.
//!
//! Owns only the display of progress updates; must not poll, decide exit codes or print results.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::{Operation, OperationState};
use crate::render::percent;

/// The bar: spinner, short id, state, bar, percent, elapsed time.
const BAR_TEMPLATE: &str = "{spinner} {prefix} {msg:<9} [{bar:30}] {pos:>3}% {elapsed_precise}";

/// Shows the progress of one operation while it is awaited.
pub struct WaitProgress {
    bar: Option<ProgressBar>,
    /// The last state shown, with the phase of operations that run in phases (`restore`).
    last: Option<(OperationState, Option<String>)>,
}

impl WaitProgress {
    /// A bar drawn on stderr when `draw` is true; otherwise updates become text lines.
    pub fn new(id: &str, draw: bool) -> Self {
        let bar = draw.then(|| {
            let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(short_id(id).to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        WaitProgress { bar, last: None }
    }

    /// Records one polled state of the operation.
    pub fn update(&mut self, op: &Operation, lines: &mut dyn Write) {
        let phase = op
            .extra
            .get("phase")
            .and_then(|p| p.as_str())
            .map(str::to_string);
        let now = (op.state.clone(), phase);
        let changed = self.last.as_ref() != Some(&now);
        let shown = match &now.1 {
            Some(phase) => format!("{} {phase}", op.state),
            None => op.state.to_string(),
        };
        match &self.bar {
            Some(bar) => {
                let pos = (op.progress.clamp(0.0, 1.0) * 100.0).round() as u64;
                bar.set_position(pos);
                bar.set_message(shown);
            }
            None => {
                if changed {
                    let _ = writeln!(lines, "{} {shown} {}", op.id, percent(op.progress));
                }
            }
        }
        self.last = Some(now);
    }

    /// Runs `f` (which prints a line) with the bar hidden so the line is not overdrawn.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar, if any, before the final result is printed.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for WaitProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(state: &str, progress: f64) -> Operation {
        serde_json::from_value(
            json!({"type": "flush", "id": "abc", "state": state, "progress": progress}),
        )
        .unwrap()
    }

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }

    #[test]
    fn hidden_mode_prints_one_line_per_state_change() {
        let mut p = WaitProgress::new("abc", false);
        let mut out = Vec::new();
        p.update(&op("PENDING", 0.0), &mut out);
        p.update(&op("RUNNING", 0.1), &mut out);
        p.update(&op("RUNNING", 0.5), &mut out);
        p.update(&op("COMPLETED", 1.0), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "abc PENDING 0%\nabc RUNNING 10%\nabc COMPLETED 100%\n"
        );
    }

    #[test]
    fn a_phase_is_shown_and_a_new_phase_is_a_new_line() {
        let mut p = WaitProgress::new("abc", false);
        let mut out = Vec::new();
        let with_phase = |state: &str, phase: &str, progress: f64| -> Operation {
            serde_json::from_value(json!({"type": "restore", "id": "abc", "state": state,
                "progress": progress, "phase": phase}))
            .unwrap()
        };
        p.update(&with_phase("RUNNING", "DOWNLOAD", 0.2), &mut out);
        p.update(&with_phase("RUNNING", "DOWNLOAD", 0.4), &mut out);
        p.update(&with_phase("RUNNING", "IMPORT", 0.8), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "abc RUNNING DOWNLOAD 20%\nabc RUNNING IMPORT 80%\n");
    }
}
