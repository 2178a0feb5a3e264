//! Embeds the build time and the git commit for `GET /version`: `DAEDALUS_BUILD_TIME` (RFC 3339,
//! UTC; `SOURCE_DATE_EPOCH` wins when set, for reproducible builds) and `DAEDALUS_GIT_COMMIT`
//! (`git rev-parse HEAD`, "unknown" without git or outside a repository). Never fails the build.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: HEAD itself for a branch switch; for a commit, the branch's loose ref
    // file, the directory that holds it (a ref packed away and written loose again appears there)
    // and packed-refs. Only paths that exist are registered: Cargo takes a missing path as changed
    // and would rerun this script, and so rebuild the crate, on every build.
    let mut watched = Vec::new();
    watched.extend(git(&["rev-parse", "--git-path", "HEAD"]));
    watched.extend(git(&["rev-parse", "--git-path", "packed-refs"]));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                watched.push(dir.display().to_string());
            }
            watched.push(path);
        }
    }
    for path in watched {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    link_startup_code_together();
    println!("cargo:rustc-env=DAEDALUS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=DAEDALUS_BUILD_TIME={}", rfc3339(secs));
}

/// In release builds for x86_64 Linux, asks the linker to place the functions an idle sidecar runs
/// next to each other. Linux maps a file page and its neighbours (64 KiB) on every fault, so
/// start-up code scattered over the executable made most of the idle sidecar's memory; grouped, it
/// is two contiguous megabytes. `startup-order.txt` is written by `scripts/startup-order`; a name
/// that no longer exists is skipped, so a stale list costs memory, never a build. Only the linker
/// Rust uses there by default since 1.90 (its own lld) takes the option, so the list is passed only
/// then and when no other linker is configured.
fn link_startup_code_together() {
    println!("cargo:rerun-if-changed=startup-order.txt");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let release = var("PROFILE") == "release";
    let target = var("TARGET") == "x86_64-unknown-linux-gnu";
    // RUSTC_LINKER is set by Cargo when a linker is configured (environment or config); link
    // arguments in the flags may choose another linker too.
    let other_linker =
        !var("RUSTC_LINKER").is_empty() || var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("startup-order.txt");
    if release
        && target
        && !other_linker
        && rustc_minor().is_some_and(|m| m >= 90)
        && order.exists()
    {
        println!(
            "cargo:rustc-link-arg-bin=daedalus=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=daedalus=-Wl,--no-warn-symbol-ordering");
    }
}

/// The minor version of the compiler building this crate (`rustc 1.95.0 (...)` gives 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").ok()?;
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// A git command's trimmed stdout, `None` when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (civil-from-days, proleptic Gregorian).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
