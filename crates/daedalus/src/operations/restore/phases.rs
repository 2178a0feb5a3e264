//! The phases of a HARDLINKS or IMPORT restore on a running node, as Esop runs them: INIT
//! (storage and manifest), CLUSTER_HEALTHCHECK, DOWNLOAD (tokens checked first, objects
//! verified by SHA-256 into `<sourceDir>/<ks>/<table>-<id>/`, resumable), TRUNCATE, IMPORT
//! (`importNewSSTables` with Esop's flags, or hard links + `loadNewSSTables`), CLEANUP (only
//! what DOWNLOAD wrote, as its `ledger` says).
//!
//! Owns the phases' work on the node and on local files, with their progress and errors. It must
//! not choose the backup (`source`) or the tables (`targets`), nor write into the download
//! directory anything the ledger has not recorded first.

use std::path::PathBuf;

use backup::request::{RestorationPhase, RestorationStrategy, RestoreRequest};
use backup::transfer::{self, DownloadFile, DownloadOutcome};
use cassandra::{ImportOptions, Node};

use super::super::backup_storage::node_facts;
use super::super::context::{OperationError, RunContext};
use super::super::finding::Finding;
use super::super::paths;
use super::dirs::{self, data_dirs};
use super::ledger::{Ledger, Removed};
use super::source::{failed, own_address, NodeLookup, Source};
use super::table_dirs::table_dirs;
use super::targets::{self, Target, TargetFile};

/// A restore under way on a running node: its backup and tables, resolved once.
pub struct Restore<'a> {
    request: &'a RestoreRequest,
    ctx: &'a RunContext,
    node: Node,
    source: Source,
    targets: Vec<Target>,
}

/// Where a phase's own progress (0..1) goes: its share of the request's `progress`.
#[derive(Clone)]
pub struct PhaseProgress {
    pub ctx: RunContext,
    /// The request's progress when the phase starts.
    pub base: f64,
    /// The part of the request's progress this phase covers.
    pub share: f64,
}

impl PhaseProgress {
    pub fn set(&self, fraction: f64) {
        self.ctx
            .set_progress(self.base + fraction.clamp(0.0, 1.0) * self.share);
    }
}

/// Adds the phase to a failure of our own; a node error keeps its Java cause unchanged (the
/// record's `phase` field names the phase).
pub fn in_phase(phase: RestorationPhase, e: OperationError) -> OperationError {
    match e {
        OperationError::Failed { kind, message } => OperationError::Failed {
            kind,
            message: format!("phase {phase}: {message}"),
        },
        other => other,
    }
}

impl<'a> Restore<'a> {
    /// Opens the storage, chooses the backup and the tables (every phase needs them).
    pub async fn open(
        request: &'a RestoreRequest,
        ctx: &'a RunContext,
    ) -> Result<Restore<'a>, OperationError> {
        let node = ctx.node().await?;
        if request.strategy() == RestorationStrategy::Import && !node.version().has_import() {
            return Err(failed(format!(
                "the IMPORT strategy needs Cassandra 4.0 or newer (importNewSSTables), the node \
                 runs {}: use HARDLINKS",
                node.version().raw
            )));
        }
        let facts = node_facts(ctx).await?;
        let address = own_address(ctx, &facts.node).await?;
        let source = Source::open(
            request,
            NodeLookup::Live {
                facts,
                address: &address,
            },
            ctx,
        )
        .await?;
        let targets = targets::select(&source.backup.manifest, request).map_err(failed)?;
        ctx.report(Finding::Backup(source.backup.name.name.clone()));
        ctx.report(Finding::Tables(
            targets.iter().map(Target::name).collect::<Vec<_>>(),
        ));
        ctx.report(Finding::TotalBytes(
            targets.iter().map(Target::bytes).sum::<u64>(),
        ));
        Ok(Restore {
            request,
            ctx,
            node,
            source,
            targets,
        })
    }

    /// Runs one phase; `progress` takes the phase's own fraction (0..1).
    pub async fn run_phase(
        &mut self,
        phase: RestorationPhase,
        progress: &PhaseProgress,
    ) -> Result<(), OperationError> {
        match phase {
            RestorationPhase::Init => {
                self.table_dirs().await?;
                Ok(())
            }
            RestorationPhase::ClusterHealthcheck => self.health_check(phase).await,
            RestorationPhase::Download => {
                self.health_check(phase).await?;
                self.download(progress).await
            }
            RestorationPhase::Truncate => {
                self.health_check(phase).await?;
                self.truncate(progress).await
            }
            RestorationPhase::Import => {
                self.health_check(phase).await?;
                match self.request.strategy() {
                    RestorationStrategy::Hardlinks => self.hardlink(progress).await,
                    _ => self.import(progress).await,
                }
            }
            RestorationPhase::Cleanup => self.cleanup().await,
        }
    }

    /// Esop's check before DOWNLOAD, TRUNCATE and IMPORT: mode NORMAL, no node down, joining,
    /// leaving or moving, one schema version.
    async fn health_check(&self, phase: RestorationPhase) -> Result<(), OperationError> {
        let health = self.node.cluster_health().await?;
        let problems = health.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(OperationError::failed(
            "HealthCheck",
            format!(
                "the cluster is not healthy before {phase}: {}",
                problems.join("; ")
            ),
        ))
    }

    /// Each target's data directory on the node, in target order. A table missing on the node
    /// is an error naming it (restore restores data, not schema).
    async fn table_dirs(&self) -> Result<Vec<PathBuf>, OperationError> {
        let on_node = self.node.tables().await?;
        let mut dirs = Vec::with_capacity(self.targets.len());
        for target in &self.targets {
            let present = on_node
                .iter()
                .any(|t| t.keyspace == target.keyspace && t.table == target.table);
            if !present {
                return Err(failed(format!(
                    "table {} does not exist on the node: create it first (the backup's schema \
                     is in the manifest's schemaContent of {}.{})",
                    target.name(),
                    target.from_keyspace,
                    target.from_table
                )));
            }
            dirs.push(self.table_dir(target).await?);
        }
        Ok(dirs)
    }

    async fn table_dir(&self, target: &Target) -> Result<PathBuf, OperationError> {
        if self.node.version().at_least(4, 0) {
            let paths = self
                .node
                .table_data_paths(&target.keyspace, &target.table)
                .await?;
            return paths
                .first()
                .map(PathBuf::from)
                .ok_or_else(|| failed(format!("table {} has no data directory", target.name())));
        }
        // 3.x has no DataPaths: the newest `<table>-<id>` directory of the data directories,
        // which the links go into, so they must be the node's own.
        let reported: Vec<PathBuf> = self
            .node
            .data_file_locations()
            .await
            .map(|d| d.into_iter().map(PathBuf::from).collect())
            .unwrap_or_default();
        paths::check_used(
            dirs::PATH_FIELDS,
            &dirs::data_dir_paths(self.request),
            self.ctx.policy(),
            &reported,
        )
        .map_err(|e| failed(e.message))?;
        let mut found: Vec<(std::time::SystemTime, PathBuf)> =
            table_dirs(&data_dirs(self.request), &target.keyspace, &target.table)
                .into_iter()
                .map(|d| (d.modified, d.path))
                .collect();
        found.sort();
        found.pop().map(|(_, p)| p).ok_or_else(|| {
            failed(format!(
                "no directory of table {} in dataDirs {:?}",
                target.name(),
                data_dirs(self.request)
            ))
        })
    }

    /// `<sourceDir>/<ks>/<table>-<local id>` of each target, in target order.
    async fn download_dirs(&self) -> Result<Vec<PathBuf>, OperationError> {
        let source_dir = self
            .request
            .import
            .as_ref()
            .map(|i| i.source_dir())
            .unwrap_or_default();
        Ok(self
            .table_dirs()
            .await?
            .iter()
            .zip(&self.targets)
            .map(|(dir, target)| {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| target.table.clone());
                source_dir.join(&target.keyspace).join(name)
            })
            .collect())
    }

    /// The download directory (`import.sourceDir`).
    fn source_dir(&self) -> PathBuf {
        self.request
            .import
            .as_ref()
            .map(|i| i.source_dir())
            .unwrap_or_default()
    }

    async fn download(&self, progress: &PhaseProgress) -> Result<(), OperationError> {
        self.check_tokens().await?;
        let dirs = self.download_dirs().await?;
        let mut files = Vec::new();
        for (target, dir) in self.targets.iter().zip(&dirs) {
            for file in &target.files {
                files.push(download_file(&self.source, file, dir.join(&file.relative))?);
            }
        }
        if self.request.no_download_data {
            return self.check_downloaded(&files, progress).await;
        }
        let within = self.ctx.policy().allowed_roots.clone();
        let mut ledger = Ledger::read(&self.source_dir()).map_err(failed)?;
        self.leave_foreign_files_alone(&ledger, &files).await?;
        let destinations: Vec<PathBuf> = files.iter().map(|f| f.destination.clone()).collect();
        ledger
            .prepare(&destinations, &within)
            .map_err(|e| failed(format!("preparing the download directory: {e}")))?;
        let progress = progress.clone();
        let mut options =
            self.request
                .common
                .transfer_options()
                .with_progress(move |done, total| {
                    if total > 0 {
                        progress.set(done as f64 / total as f64);
                    }
                    progress.ctx.report(Finding::DownloadedBytes(done));
                });
        options.write_within = within;
        download(self.ctx, &self.source, files, &options).await
    }

    /// A destination that exists and that no restore wrote is left as it is: used when it
    /// holds the backup's bytes already, else the download fails before writing anything
    /// (downloading would replace it, and CLEANUP would not remove it).
    async fn leave_foreign_files_alone(
        &self,
        ledger: &Ledger,
        files: &[DownloadFile],
    ) -> Result<(), OperationError> {
        for file in files {
            let path = &file.destination;
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            if ledger.owns(path) {
                continue;
            }
            self.ctx.checkpoint()?;
            let same = meta.is_file()
                && meta.len() == file.size
                && transfer::hash_file(path)
                    .await
                    .is_ok_and(|d| file.has_hash(&d.sha256));
            if !same {
                return Err(failed(format!(
                    "{} is already there, was not written by a restore and is not {}: it is \
                     left alone and nothing was downloaded; move it away, or choose another \
                     import.sourceDir",
                    path.display(),
                    file.key
                )));
            }
        }
        Ok(())
    }

    /// `noDownloadData`: the files must already be in place with the manifest's hash.
    async fn check_downloaded(
        &self,
        files: &[DownloadFile],
        progress: &PhaseProgress,
    ) -> Result<(), OperationError> {
        for (i, file) in files.iter().enumerate() {
            self.ctx.checkpoint()?;
            let digest = transfer::hash_file(&file.destination).await.map_err(|e| {
                failed(format!(
                    "noDownloadData is set but {} is not usable: {e}",
                    file.destination.display()
                ))
            })?;
            if !file.has_hash(&digest.sha256) {
                return Err(failed(format!(
                    "noDownloadData is set but {} does not have the hash of {}",
                    file.destination.display(),
                    file.key
                )));
            }
            progress.set((i + 1) as f64 / files.len() as f64);
        }
        self.ctx.report(Finding::FilesAlreadyPresent(files.len()));
        Ok(())
    }

    /// The node must own the tokens the backup's node owned, or its data would land on the
    /// wrong replicas.
    async fn check_tokens(&self) -> Result<(), OperationError> {
        let Some(expected) = &self.source.backup.manifest.tokens else {
            return Ok(());
        };
        let mut expected = expected.clone();
        let mut actual = self.node.tokens().await?;
        expected.sort();
        actual.sort();
        if expected == actual {
            return Ok(());
        }
        let missing: Vec<&String> = expected.iter().filter(|t| !actual.contains(t)).collect();
        let extra: Vec<&String> = actual.iter().filter(|t| !expected.contains(t)).collect();
        let shown = |v: &[&String]| {
            let mut s: Vec<String> = v.iter().take(5).map(|t| t.to_string()).collect();
            if v.len() > 5 {
                s.push(format!("… {} more", v.len() - 5));
            }
            s.join(", ")
        };
        Err(OperationError::failed(
            "Tokens",
            format!(
                "the node's tokens differ from backup {}'s ({} on the node, {} in the backup): \
                 not on the node: [{}]; only on the node: [{}]; restore onto the node that owns \
                 these tokens (initial_token)",
                self.source.backup.name.name,
                actual.len(),
                expected.len(),
                shown(&missing),
                shown(&extra)
            ),
        ))
    }

    async fn truncate(&self, progress: &PhaseProgress) -> Result<(), OperationError> {
        self.table_dirs().await?;
        for (i, target) in self.targets.iter().enumerate() {
            self.ctx
                .uninterruptible(
                    "truncate",
                    self.node.truncate(&target.keyspace, &target.table),
                )
                .await??;
            progress.set((i + 1) as f64 / self.targets.len() as f64);
        }
        Ok(())
    }

    /// The downloads of each target with files, checked to be complete (by size).
    async fn downloaded(&self) -> Result<Vec<(&Target, PathBuf, PathBuf)>, OperationError> {
        let table_dirs = self.table_dirs().await?;
        let download_dirs = self.download_dirs().await?;
        let mut out = Vec::new();
        for ((target, table_dir), download_dir) in
            self.targets.iter().zip(table_dirs).zip(download_dirs)
        {
            if target.files.is_empty() {
                continue;
            }
            for file in &target.files {
                let path = download_dir.join(&file.relative);
                let size = std::fs::metadata(&path).map(|m| m.len()).ok();
                if size != Some(file.size) {
                    return Err(failed(format!(
                        "{} of table {} is not downloaded ({}): run phase DOWNLOAD first",
                        path.display(),
                        target.name(),
                        match size {
                            None => "missing".to_string(),
                            Some(s) => format!("{s} bytes, {} expected", file.size),
                        }
                    )));
                }
            }
            out.push((target, table_dir, download_dir));
        }
        Ok(out)
    }

    async fn import(&self, progress: &PhaseProgress) -> Result<(), OperationError> {
        let flags = self
            .request
            .import
            .as_ref()
            .map(|i| i.import_flags())
            .unwrap_or_else(|| backup::request::ImportSpec::default().import_flags());
        let work = self.downloaded().await?;
        for (i, (target, _, download_dir)) in work.iter().enumerate() {
            // Cassandra is another process: it is handed the directory itself, never a path that
            // means something only to the sidecar (relative, under /proc/self, through a link).
            let dir = std::fs::canonicalize(download_dir)
                .unwrap_or_else(|_| download_dir.clone())
                .to_string_lossy()
                .into_owned();
            let call = ImportOptions {
                reset_level: flags.reset_level,
                clear_repaired: flags.clear_repaired,
                verify_sstables: flags.verify,
                verify_tokens: flags.verify_tokens,
                invalidate_caches: flags.invalidate_caches,
                extended_verify: flags.extended_verify,
                copy_data: flags.copy_data,
                ..ImportOptions::new(vec![dir.clone()])
            };
            let failed_dirs = self
                .ctx
                .uninterruptible(
                    "importNewSSTables",
                    self.node
                        .import_new_sstables(&target.keyspace, &target.table, &call),
                )
                .await??;
            if !failed_dirs.is_empty() {
                return Err(OperationError::failed(
                    "Java",
                    format!(
                        "Cassandra failed to import table {} from {} (see the node's log)",
                        target.name(),
                        failed_dirs.join(", ")
                    ),
                ));
            }
            progress.set((i + 1) as f64 / work.len() as f64);
            self.ctx.report(Finding::TablesImported(i + 1));
        }
        Ok(())
    }

    async fn hardlink(&self, progress: &PhaseProgress) -> Result<(), OperationError> {
        let work = self.downloaded().await?;
        for (i, (target, table_dir, download_dir)) in work.iter().enumerate() {
            let links: Vec<(PathBuf, PathBuf)> = target
                .files
                .iter()
                .map(|f| (download_dir.join(&f.relative), table_dir.join(&f.relative)))
                .collect();
            let name = target.name();
            // Linking and loading are one step: a cancel between them would leave linked files
            // that are not live.
            self.ctx
                .uninterruptible("loadNewSSTables", async {
                    let linked = tokio::task::spawn_blocking(move || link_all(&links))
                        .await
                        .map_err(|e| OperationError::internal(format!("link task: {e}")))?
                        .map_err(|e| failed(format!("table {name}: {e}")))?;
                    if let Err(e) = self.node.refresh(&target.keyspace, &target.table).await {
                        // Nothing was loaded: the links must not stay behind.
                        unlink_all(&linked);
                        return Err(OperationError::from(e));
                    }
                    Ok(())
                })
                .await??;
            progress.set((i + 1) as f64 / work.len() as f64);
            self.ctx.report(Finding::TablesImported(i + 1));
        }
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), OperationError> {
        if !self.request.no_delete_truncates {
            let mut keyspaces: Vec<String> =
                self.targets.iter().map(|t| t.keyspace.clone()).collect();
            keyspaces.sort();
            keyspaces.dedup();
            let tags = self.node.snapshot_tags().await?;
            for tag in tags.iter().filter(|t| t.starts_with("truncated-")) {
                self.node.clear_snapshot(Some(tag), &keyspaces).await?;
            }
        }
        if !self.request.no_delete_downloads {
            let removed = self.remove_downloads().await?;
            // Shown only when it happens, so the record of an ordinary CLEANUP is unchanged.
            if removed.kept > 0 {
                self.ctx.report(Finding::FilesKept(removed.kept));
            }
        }
        Ok(())
    }

    /// Removes what DOWNLOAD wrote, and the directories it made once empty; a file of the same
    /// name that was there before stays.
    pub async fn remove_downloads(&self) -> Result<Removed, OperationError> {
        let files: Vec<PathBuf> = self
            .download_dirs()
            .await?
            .iter()
            .zip(&self.targets)
            .flat_map(|(dir, target)| target.files.iter().map(|f| dir.join(&f.relative)))
            .collect();
        let removed = Ledger::read(&self.source_dir())
            .and_then(|mut ledger| ledger.remove(&files))
            .map_err(failed)?;
        tracing::info!(
            removed = removed.files,
            kept = removed.kept,
            "downloads removed"
        );
        Ok(removed)
    }
}

/// What to fetch for one manifest file into `destination`: the object under the backup's node
/// prefix, verified against the manifest's hash (a file without one cannot be verified).
pub fn download_file(
    source: &Source,
    file: &TargetFile,
    destination: PathBuf,
) -> Result<DownloadFile, OperationError> {
    let sha256 = file.sha256.clone().ok_or_else(|| {
        failed(format!(
            "object {} has no hash in the manifest, so it cannot be verified",
            file.key
        ))
    })?;
    Ok(DownloadFile {
        key: source.storage.node_object(&source.node, &file.key),
        destination,
        sha256: Some(sha256),
        size: file.size,
    })
}

/// Downloads and verifies `files` from the backup's store, and shows on the record how many
/// were fetched and how many were already in place.
pub async fn download(
    ctx: &RunContext,
    source: &Source,
    files: Vec<DownloadFile>,
    options: &transfer::TransferOptions,
) -> Result<(), OperationError> {
    let results = transfer::download(
        source.storage.store().clone(),
        files,
        options,
        ctx.cancelled(),
    )
    .await
    .map_err(|e| match e {
        transfer::TransferError::Cancelled => OperationError::Cancelled,
        outside @ transfer::TransferError::Outside { .. } => OperationError::failed(
            "Download",
            format!(
                "{outside}; the directories are the roots of {}",
                paths::SETTING
            ),
        ),
        other => OperationError::failed("Download", other.to_string()),
    })?;
    let fetched = results
        .iter()
        .filter(|r| r.outcome == DownloadOutcome::Downloaded)
        .count();
    ctx.report(Finding::FilesDownloaded(fetched));
    ctx.report(Finding::FilesAlreadyPresent(results.len() - fetched));
    Ok(())
}

/// What `link_all` made in a table directory: its links and the index directories it created.
/// A link never replaces a file (`hard_link` refuses an existing name), so removing these
/// removes nothing that was there before.
#[derive(Debug, Default)]
pub struct Linked {
    pub links: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

/// Hard-links every `(from, to)`, creating index directories; on the first failure removes
/// every link and directory made so far and names the file. Returns what it made.
pub fn link_all(links: &[(PathBuf, PathBuf)]) -> Result<Linked, String> {
    let mut made = Linked::default();
    for (from, to) in links {
        let mut result = Ok(());
        if let Some(parent) = to.parent() {
            if !parent.exists() {
                result = std::fs::create_dir(parent);
                if result.is_ok() {
                    made.dirs.push(parent.to_path_buf());
                }
            }
        }
        let result = result.and_then(|()| std::fs::hard_link(from, to));
        if let Err(e) = result {
            let count = made.links.len();
            unlink_all(&made);
            return Err(format!(
                "cannot hard-link {} to {}: {e}; the {count} links made before were removed",
                from.display(),
                to.display(),
            ));
        }
        made.links.push(to.clone());
    }
    Ok(made)
}

/// Removes the links `link_all` made, then the directories it created once empty.
fn unlink_all(made: &Linked) {
    for path in &made.links {
        let _ = std::fs::remove_file(path);
    }
    for dir in made.dirs.iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_link_removes_every_link_made_before() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let dst = tmp.path().join("table");
        std::fs::create_dir_all(src.join(".idx")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        for f in ["a-Data.db", "b-Data.db", ".idx/c-Data.db"] {
            std::fs::write(src.join(f), f).unwrap();
        }
        std::fs::write(dst.join("b-Data.db"), "already there").unwrap();
        let links: Vec<(PathBuf, PathBuf)> = ["a-Data.db", ".idx/c-Data.db", "b-Data.db"]
            .iter()
            .map(|f| (src.join(f), dst.join(f)))
            .collect();
        let e = link_all(&links).unwrap_err();
        assert!(e.contains("b-Data.db") && e.contains("2 links"), "{e}");
        assert!(!dst.join("a-Data.db").exists());
        assert!(!dst.join(".idx/c-Data.db").exists());
        assert_eq!(
            std::fs::read_to_string(dst.join("b-Data.db")).unwrap(),
            "already there"
        );

        assert!(
            !dst.join(".idx").exists(),
            "the index directory it made is gone too"
        );

        let made = link_all(&links[..2]).unwrap();
        assert_eq!(made.links.len(), 2);
        assert_eq!(made.dirs, [dst.join(".idx")]);
        assert_eq!(
            std::fs::read_to_string(dst.join(".idx/c-Data.db")).unwrap(),
            ".idx/c-Data.db",
            "index components go to the index directory"
        );
    }
}
