//! The `import` operation: load SSTables from a directory into a live table through Cassandra's
//! `importNewSSTables`, after a preflight of the files.
//!
//! Owns the request fields, their validation (identifiers, path rules, `quick`), and the run:
//! version check, table check, preflight (progress 0 → 0.5), the call, failed directories. It must
//! not move or modify the source files (Cassandra copies them; `copyData` defaults to true).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use cassandra::ImportOptions;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::import_staging::Staging;
use super::operation::{Operation, OperationType};
use super::path_field::{PathField, PathKind, UsedPath};
use super::paths;
use super::settings::ValidationPolicy;
use super::validation::{decode, ValidationError};

/// Longest keyspace or table name Cassandra accepts (`SchemaConstants.NAME_LENGTH`).
const MAX_IDENTIFIER: usize = 48;

/// Share of `progress` given to the preflight; the rest arrives when Cassandra returns.
const PREFLIGHT_SHARE: f64 = 0.5;

/// An accepted `import` request, as the record shows it. `quick` has already been applied to the
/// three `no*` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    pub keyspace: String,
    pub table: String,
    pub source_dir: String,
    pub keep_level: bool,
    pub keep_repaired: bool,
    pub no_verify: bool,
    pub no_verify_tokens: bool,
    pub no_invalidate_caches: bool,
    pub quick: bool,
    pub extended_verify: bool,
    /// Ours: `false` lets Cassandra move the files instead of copying them.
    pub copy_data: bool,
    /// esop's: when present, the directory actually imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_path: Option<String>,
}

/// The body as sent: every field optional so each absence gets its own 400.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportInput {
    keyspace: Option<String>,
    table: Option<String>,
    source_dir: Option<String>,
    keep_level: Option<bool>,
    keep_repaired: Option<bool>,
    no_verify: Option<bool>,
    no_verify_tokens: Option<bool>,
    no_invalidate_caches: Option<bool>,
    quick: Option<bool>,
    extended_verify: Option<bool>,
    copy_data: Option<bool>,
    table_path: Option<String>,
}

impl ImportRequest {
    /// Parses a body; confinement to the allowed roots is the registry's (`paths.rs`).
    pub fn from_json(body: &Value, _policy: &ValidationPolicy) -> Result<Self, ValidationError> {
        let input: ImportInput = decode(body)?;
        let keyspace = identifier("keyspace", input.keyspace)?;
        let table = identifier("table", input.table)?;
        let source_dir = input
            .source_dir
            .ok_or_else(|| ValidationError::missing("sourceDir"))?;
        resolve_dir("sourceDir", &source_dir)?;
        if let Some(table_path) = &input.table_path {
            resolve_dir("tablePath", table_path)?;
        }
        let quick = input.quick.unwrap_or(false);
        Ok(ImportRequest {
            keyspace,
            table,
            source_dir,
            keep_level: input.keep_level.unwrap_or(false),
            keep_repaired: input.keep_repaired.unwrap_or(false),
            no_verify: quick || input.no_verify.unwrap_or(false),
            no_verify_tokens: quick || input.no_verify_tokens.unwrap_or(false),
            no_invalidate_caches: quick || input.no_invalidate_caches.unwrap_or(false),
            quick,
            extended_verify: input.extended_verify.unwrap_or(false),
            copy_data: input.copy_data.unwrap_or(true),
            table_path: input.table_path,
        })
    }

    /// The directory handed to Cassandra: `tablePath` when given, else `sourceDir`.
    pub fn import_dir(&self) -> &str {
        self.table_path.as_deref().unwrap_or(&self.source_dir)
    }

    /// The request field naming the imported directory.
    fn dir_field(&self) -> &'static str {
        if self.table_path.is_some() {
            "tablePath"
        } else {
            "sourceDir"
        }
    }

    /// The `importNewSSTables` arguments for a resolved directory.
    pub fn call(&self, dir: &Path) -> ImportOptions {
        ImportOptions {
            src_paths: vec![dir.to_string_lossy().into_owned()],
            reset_level: !self.keep_level,
            clear_repaired: !self.keep_repaired,
            verify_sstables: !self.no_verify,
            verify_tokens: !self.no_verify_tokens,
            invalidate_caches: !self.no_invalidate_caches,
            extended_verify: self.extended_verify,
            copy_data: self.copy_data,
            ..ImportOptions::new(Vec::new())
        }
    }
}

impl OperationType for ImportRequest {
    const TYPE: &'static str = "import";

    /// Cassandra reads (and with `copyData: false` moves) the SSTables of the imported
    /// directory.
    const PATH_FIELDS: &'static [PathField] = &[
        PathField::new("sourceDir", PathKind::Confined),
        PathField::new("tablePath", PathKind::Confined),
    ];

    fn paths(&self) -> Vec<UsedPath> {
        let mut used = vec![UsedPath::new("sourceDir", self.source_dir.clone())];
        if let Some(table_path) = &self.table_path {
            used.push(UsedPath::new("tablePath", table_path.clone()));
        }
        used
    }

    fn parse(body: &Value, policy: &ValidationPolicy) -> Result<Self, ValidationError> {
        ImportRequest::from_json(body, policy)
    }
}

#[async_trait]
impl Operation for ImportRequest {
    fn not_resumed_because(&self) -> String {
        "importing again would load the SSTables that the first run loaded a second time"
            .to_string()
    }

    fn restart_advice(&self) -> Option<String> {
        Some(format!(
            "check whether the SSTables from {} reached table {}.{} (its data directory, \
             nodetool tablestats, and importNewSSTables in the node's system.log) before \
             submitting the import again{}",
            self.import_dir(),
            self.keyspace,
            self.table,
            if self.copy_data {
                "; the source directory was copied, not moved"
            } else {
                ""
            }
        ))
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let node = ctx.node().await?;
        if !node.version().has_import() {
            return Err(OperationError::failed(
                "Unsupported",
                format!(
                    "import needs Cassandra 4.0 or newer, node runs {}",
                    node.version().raw
                ),
            ));
        }
        let (keyspace, table) = (&self.keyspace, &self.table);
        let found = ctx
            .read(|node| async move { node.table_mbean(keyspace, table).await })
            .await?;
        if found.is_none() {
            return Err(OperationError::failed(
                "Unsupported",
                format!(
                    "table {}.{} does not exist on the node (no ColumnFamilies MBean)",
                    self.keyspace, self.table
                ),
            ));
        }
        ctx.checkpoint()?;

        // The directory may have changed since the request was accepted: apply the rules again
        // and import the resolved path, never the one a symlink pointed to at submit time.
        let field = self.dir_field();
        let dir = resolve_dir(field, self.import_dir())
            .and_then(|dir| {
                paths::check_confined(field, &dir, ctx.policy())?;
                paths::check_entries_confined(field, &dir, ctx.policy())?;
                Ok(dir)
            })
            .map_err(|e| OperationError::preflight(e.message))?;

        let report = self.preflight(ctx, dir.clone()).await?;
        ctx.report(Finding::Sstables(report.sets.len()));
        ctx.report(Finding::Bytes(report.total_bytes));
        ctx.checkpoint()?;

        // Cassandra imports nothing from a directory not named for the table: stage one that is.
        let staging = Staging::prepare(&dir, &self.keyspace, &self.table, &ctx.id().to_string())
            .map_err(|e| {
                OperationError::preflight(format!(
                    "staging {} as {}/{} for Cassandra's importer: {e}",
                    dir.display(),
                    self.keyspace,
                    self.table
                ))
            })?;
        let import_from = staging
            .as_ref()
            .map_or(dir.clone(), |s| s.dir().to_path_buf());
        let call = self.call(&import_from);
        let outcome = ctx
            .uninterruptible(
                "importNewSSTables",
                node.import_new_sstables(&self.keyspace, &self.table, &call),
            )
            .await;
        if let Some(staging) = staging {
            staging.finish(!self.copy_data).map_err(|e| {
                OperationError::failed(
                    "Staging",
                    format!(
                        "removing the staging directory under {} after the import: {e}",
                        dir.display()
                    ),
                )
            })?;
        }
        let failed: Vec<String> = outcome??
            .into_iter()
            .map(|failed| {
                if Path::new(&failed) == import_from.as_path() {
                    dir.display().to_string()
                } else {
                    failed
                }
            })
            .collect();
        if !failed.is_empty() {
            ctx.report(Finding::FailedDirectories(failed.clone()));
            return Err(OperationError::failed(
                "Java",
                format!("Cassandra failed to import from: {}", failed.join(", ")),
            ));
        }
        Ok(())
    }
}

impl ImportRequest {
    async fn preflight(
        &self,
        ctx: &RunContext,
        dir: PathBuf,
    ) -> Result<sstable::Report, OperationError> {
        let options = sstable::PreflightOptions {
            verify_digest: !self.no_verify,
        };
        let ctx_for_thread = ctx.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            sstable::preflight(&dir, options, &mut |p: sstable::Progress| {
                ctx_for_thread.set_progress(p.fraction() * PREFLIGHT_SHARE);
                if ctx_for_thread.is_cancel_requested() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
        })
        .await
        .map_err(|e| OperationError::internal(format!("preflight task failed: {e}")))?;
        match outcome {
            Ok(report) => Ok(report),
            Err(sstable::PreflightError::Cancelled) => Err(OperationError::Cancelled),
            Err(sstable::PreflightError::NoSSTables { .. }) => Err(OperationError::preflight(
                format!("no SSTables in {}", self.dir_field()),
            )),
            Err(e) => Err(OperationError::preflight(e.to_string())),
        }
    }
}

pub(super) fn identifier(field: &str, value: Option<String>) -> Result<String, ValidationError> {
    let value = value.ok_or_else(|| ValidationError::missing(field))?;
    if value.is_empty()
        || value.len() > MAX_IDENTIFIER
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ValidationError::invalid(
            field,
            format!(
                "'{field}' must be a Cassandra identifier: 1 to {MAX_IDENTIFIER} letters, digits or underscores, got {value:?}"
            ),
        ));
    }
    Ok(value)
}

/// The directory as it resolves (`..` and symlinks followed): absolute, existing, a readable
/// directory. Confinement to the allowed roots is `paths.rs`'s.
pub fn resolve_dir(field: &str, path: &str) -> Result<PathBuf, ValidationError> {
    let given = Path::new(path);
    if path.is_empty() {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' must not be empty"),
        ));
    }
    if !given.is_absolute() {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' must be an absolute path, got {path:?}"),
        ));
    }
    let resolved = given.canonicalize().map_err(|e| {
        ValidationError::invalid(field, format!("'{field}' {path:?} cannot be resolved: {e}"))
    })?;
    if !resolved.is_dir() {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' {path:?} is not a directory"),
        ));
    }
    if let Err(e) = std::fs::read_dir(&resolved) {
        return Err(ValidationError::invalid(
            field,
            format!("'{field}' {path:?} is not readable: {e}"),
        ));
    }
    Ok(resolved)
}
