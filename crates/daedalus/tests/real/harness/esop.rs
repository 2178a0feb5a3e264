//! Esop's command line (the backup engine inside Icarus, the newest release on Maven Central,
//! resolved and cached by `scripts/icarus`): the real peer whose backups the suite restores with
//! Daedalus. Runs it and returns what it printed; asserts nothing about what it did.

use std::process::Command;

use super::repo_root;

/// Runs `esop ARGS` to its end; panics with its output when it fails.
pub fn esop(args: &[&str]) -> String {
    let out = Command::new(repo_root().join("scripts/icarus"))
        .arg("esop")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("scripts/icarus runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "esop {args:?} failed:\n{text}");
    text
}
