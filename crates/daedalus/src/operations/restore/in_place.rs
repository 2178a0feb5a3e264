//! The IN_PLACE restore of a stopped node: its table directories are synced with the manifest
//! (objects missing or different are downloaded and verified, SSTable files the backup does not
//! have are removed), hints, saved caches and commit logs are cleared, and `cassandra.yaml` gets
//! `auto_bootstrap: false` and the backup's `initial_token` when asked.
//!
//! Owns that sync. It refuses to run while the node answers JMX, and must not touch snapshot or
//! backup directories inside the table directories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use backup::commitlog::ArchivedSegment;
use backup::request::RestoreRequest;

use super::super::commitlog_replay::{self, choose_segments, download_segments};
use super::super::context::{OperationError, RunContext};
use super::super::finding::Finding;
use super::super::restart::{run_restart_command, wait_for_normal};
use super::super::validation::ValidationError;
use super::dirs::data_dirs;
use super::phases::{download, download_file};
use super::refuse_running_node;
use super::source::{failed, NodeLookup, Source};
use super::table_dirs::table_dirs;
use super::targets::{self, Target};

/// Directories under `cassandraDirectory` whose contents belong to the data being replaced.
const CLEARED_DIRS: [&str; 3] = ["hints", "saved_caches", "commitlog"];

pub async fn run(request: &RestoreRequest, ctx: &RunContext) -> Result<(), OperationError> {
    refuse_running_node(ctx, "IN_PLACE restore").await?;
    let source = tokio::select! {
        opened = Source::open(request, NodeLookup::Stopped, ctx) => opened?,
        () = ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
    };
    // A moment the archive cannot reach is refused before anything is touched.
    let replay = match request.point_in_time_seconds() {
        Some(point) => {
            let start = source.backup.name.timestamp_millis;
            let segments =
                choose_segments(ctx, &source.storage, &source.node, start, point).await?;
            Some((point, segments))
        }
        None => None,
    };
    // With a replay to follow, syncing the tables is the first 60 % of the progress.
    let share = if replay.is_some() { 0.6 } else { 1.0 };
    let targets = targets::select(&source.backup.manifest, request).map_err(failed)?;
    ctx.report(Finding::Backup(source.backup.name.name.clone()));
    ctx.report(Finding::Tables(
        targets.iter().map(Target::name).collect::<Vec<_>>(),
    ));
    let dirs = data_dirs(request);
    let mut files = Vec::new();
    let mut table_dirs = Vec::new();
    for target in &targets {
        let table_dir = table_dir(&dirs, target)?;
        for file in &target.files {
            files.push(download_file(
                &source,
                file,
                table_dir.join(&file.relative),
            )?);
        }
        table_dirs.push(table_dir);
    }
    let keep: BTreeSet<PathBuf> = files.iter().map(|f| f.destination.clone()).collect();

    let progress_ctx = ctx.clone();
    let options = request
        .common
        .transfer_options()
        .with_progress(move |done, total| {
            if total > 0 {
                progress_ctx.set_progress(share * done as f64 / total as f64);
            }
            progress_ctx.report(Finding::DownloadedBytes(done));
        });
    download(ctx, &source, files, &options).await?;
    ctx.checkpoint()?;

    let mut removed = 0usize;
    for dir in &table_dirs {
        removed += remove_extra_sstables(dir, &keep)
            .map_err(|e| failed(format!("syncing {}: {e}", dir.display())))?;
    }
    ctx.report(Finding::FilesRemoved(removed));
    let cassandra_dir = request.cassandra_directory();
    for name in CLEARED_DIRS {
        clear_dir(&cassandra_dir.join(name)).map_err(|e| {
            failed(format!(
                "clearing {}: {e}",
                cassandra_dir.join(name).display()
            ))
        })?;
    }
    if request.update_cassandra_yaml {
        let yaml = request.cassandra_config_directory().join("cassandra.yaml");
        let tokens = source.backup.manifest.tokens.clone().unwrap_or_default();
        let text = std::fs::read_to_string(&yaml)
            .map_err(|e| failed(format!("updateCassandraYaml: {}: {e}", yaml.display())))?;
        std::fs::write(&yaml, update_yaml(&text, &tokens))
            .map_err(|e| failed(format!("updateCassandraYaml: {}: {e}", yaml.display())))?;
    }
    if let Some((point, segments)) = replay {
        replay_to_point(request, ctx, &source, &segments, point).await?;
    }
    ctx.set_progress(1.0);
    Ok(())
}

/// Before a restore to a moment is accepted: a backup to start from and archived segments up
/// to the moment exist, or it is refused (400, naming `pointInTime`). Nothing is touched.
pub async fn check_point(
    request: &RestoreRequest,
    ctx: &RunContext,
) -> Result<(), ValidationError> {
    let Some(point) = request.point_in_time_seconds() else {
        return Ok(());
    };
    let outcome = async {
        let source = Source::open(request, NodeLookup::Stopped, ctx).await?;
        let start = source.backup.name.timestamp_millis;
        choose_segments(ctx, &source.storage, &source.node, start, point).await?;
        Ok(())
    }
    .await;
    commitlog_replay::refuse_unreachable_point("pointInTime", outcome)
}

/// After the sync: the segments downloaded, the restore section written, the node started (by
/// `--restart-command`, or by the operator within `--restart-timeout`) and back with mode
/// NORMAL, having replayed up to `point`; then the restore section and the segments removed,
/// so that no later start replays them again.
async fn replay_to_point(
    request: &RestoreRequest,
    ctx: &RunContext,
    source: &Source,
    segments: &[ArchivedSegment],
    point: i64,
) -> Result<(), OperationError> {
    let download_dir = request.commitlog_download_dir();
    let storage = &source.storage;
    download_segments(
        ctx,
        storage,
        segments,
        &download_dir,
        &request.common,
        (0.6, 0.2),
    )
    .await?;
    ctx.checkpoint()?;
    let settings_file = commitlog_replay::write_restore_section(
        ctx,
        &request.cassandra_config_directory(),
        &download_dir,
        point,
    )?;
    ctx.set_progress(0.8);

    let timeout = ctx.settings().restart_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let waited = match ctx.settings().restart_command.clone() {
        Some(command) => {
            ctx.report(Finding::Phase("START".to_string()));
            match run_restart_command(ctx, &command, deadline, "stopped").await {
                Ok(()) => {
                    ctx.set_progress(0.9);
                    wait_for_normal(ctx, deadline, "of the start that replays the commit logs")
                        .await
                }
                Err(error) => Err(error),
            }
        }
        None => {
            ctx.report(Finding::Phase("WAITING_FOR_START".to_string()));
            wait_for_normal(
                ctx,
                deadline,
                "(start Cassandra to replay the commit logs; without --restart-command the \
                 sidecar waits for the operator to start it)",
            )
            .await
        }
    };
    if let Err(error) = waited {
        return Err(match error {
            OperationError::Failed { kind, message } => OperationError::Failed {
                kind,
                message: format!(
                    "{message}. The data directories hold the backup and {} still has the \
                     restore section: once the node has started and replayed, remove the \
                     restore_* lines so that a later start does not replay again",
                    settings_file.display()
                ),
            },
            other => other,
        });
    }
    let removed = commitlog_replay::remove_restore_section(&settings_file)?;
    ctx.report(Finding::RestoreSettingsRemoved(removed));
    for segment in segments {
        // A segment already gone is what is wanted.
        let _ = std::fs::remove_file(download_dir.join(&segment.name));
    }
    Ok(())
}

/// The table's directory in the data directories: the one with the backup's table id, else
/// any `<table>-<id>`, else a new `<first data dir>/<ks>/<table>-<backup's id>`.
fn table_dir(data_dirs: &[PathBuf], target: &Target) -> Result<PathBuf, OperationError> {
    let mut candidates: Vec<(String, PathBuf)> =
        table_dirs(data_dirs, &target.keyspace, &target.table)
            .into_iter()
            .map(|d| (d.id, d.path))
            .collect();
    candidates.sort();
    if let Some((_, path)) = candidates
        .iter()
        .find(|(id, _)| Some(id) == target.backup_id.as_ref())
        .or(candidates.first())
    {
        return Ok(path.clone());
    }
    let first = data_dirs
        .first()
        .ok_or_else(|| failed("dataDirs is empty"))?;
    let id = target.backup_id.clone().ok_or_else(|| {
        failed(format!(
            "table {} has no directory in dataDirs and the manifest gives no table id",
            target.name()
        ))
    })?;
    Ok(first
        .join(&target.keyspace)
        .join(format!("{}-{id}", target.table)))
}

/// Removes SSTable component files of `dir` and its `.<index>/` directories that are not in
/// `keep`; returns how many went. Other files and directories (snapshots, backups) stay.
fn remove_extra_sstables(dir: &Path, keep: &BTreeSet<PathBuf>) -> std::io::Result<usize> {
    let mut removed = 0;
    let mut dirs = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') && entry.path().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_file()
                && backup::layout::parse_sstable_name(&name).is_some()
                && !keep.contains(&path)
            {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Empties a directory (absent is fine), keeping the directory itself.
fn clear_dir(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// `cassandra.yaml` with `auto_bootstrap: false` and `initial_token: <tokens>` set: an existing
/// (or commented-out) line of each key is replaced, a missing one appended. Other lines stay
/// byte for byte.
fn update_yaml(text: &str, tokens: &[String]) -> String {
    let wanted = [
        ("auto_bootstrap", "false".to_string()),
        ("initial_token", tokens.join(",")),
    ];
    let mut done = [false; 2];
    let mut out = Vec::new();
    for line in text.lines() {
        let bare = line.trim_start().trim_start_matches('#').trim_start();
        let mut replaced = false;
        for (i, (key, value)) in wanted.iter().enumerate() {
            if !done[i] && bare.starts_with(&format!("{key}:")) {
                out.push(format!("{key}: {value}"));
                done[i] = true;
                replaced = true;
            }
        }
        if !replaced {
            out.push(line.to_string());
        }
    }
    for (i, (key, value)) in wanted.iter().enumerate() {
        if !done[i] {
            out.push(format!("{key}: {value}"));
        }
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_are_replaced_or_appended() {
        let text = "cluster_name: 'x'\n# initial_token:\nnum_tokens: 1\n";
        let out = update_yaml(text, &["-1".into(), "5".into()]);
        assert_eq!(
            out,
            "cluster_name: 'x'\ninitial_token: -1,5\nnum_tokens: 1\nauto_bootstrap: false\n"
        );
    }

    #[test]
    fn only_sstables_missing_from_the_backup_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t-1");
        std::fs::create_dir_all(dir.join(".idx")).unwrap();
        std::fs::create_dir_all(dir.join("snapshots/s")).unwrap();
        for f in [
            "nb-1-big-Data.db",
            "nb-2-big-Data.db",
            ".idx/nb-3-big-Data.db",
            "snapshots/s/nb-9-big-Data.db",
            "notes.txt",
        ] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        let keep = BTreeSet::from([dir.join("nb-1-big-Data.db")]);
        assert_eq!(remove_extra_sstables(&dir, &keep).unwrap(), 2);
        assert!(dir.join("nb-1-big-Data.db").exists());
        assert!(!dir.join("nb-2-big-Data.db").exists());
        assert!(!dir.join(".idx/nb-3-big-Data.db").exists());
        assert!(dir.join("snapshots/s/nb-9-big-Data.db").exists());
        assert!(dir.join("notes.txt").exists());
    }
}
