//! The one rule for every path a request names, whatever its type. With at least one
//! `--allowed-root` (confinement on):
//!
//! - a path the sidecar reads from, downloads into, stages in or writes a `file://` backup to
//!   ([`PathKind::Confined`], [`PathKind::Location`]) must resolve inside an allowed root once
//!   `..` and symbolic links are followed;
//! - a path naming the node's own storage ([`PathKind::NodeData`], [`PathKind::CassandraHome`],
//!   [`PathKind::NodeConfig`]) must be one of the node's own directories (those Cassandra
//!   reports, those of the `cassandra.yaml` the sidecar reads, `--backup-data-dir`), or
//!   resolve inside an allowed root;
//!
//! otherwise the request is refused with a 400 naming the field and the setting to change.
//! Without a root, paths are not confined (each type still checks its own).
//!
//! Each type declares its path fields ([`OperationType::PATH_FIELDS`]) and the paths it will
//! use ([`OperationType::paths`], defaults included); the registry applies this rule to both
//! when a request is parsed, and again, through [`Checked`], when the operation starts (a
//! symbolic link may have changed meanwhile, and the node can then be asked for its data
//! directories). Owns the rule and its messages; it must not know any type's fields.
//!
//! [`OperationType::PATH_FIELDS`]: super::OperationType::PATH_FIELDS
//! [`OperationType::paths`]: super::OperationType::paths

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use backup::confine;
use backup::location::StorageLocation;
use serde_json::Value;

use super::context::{OperationError, RunContext};
use super::operation::{Operation, OperationType};
use super::path_field::{PathField, PathKind, UsedPath};
use super::settings::{OperationSettings, ValidationPolicy};
use super::validation::ValidationError;

/// The setting every refusal names.
pub const SETTING: &str =
    "--allowed-root (config key `allowed-root`, variable DAEDALUS_ALLOWED_ROOT)";

/// Applies the rule to the value of every declared field in a submitted body.
pub fn check_body(
    fields: &[PathField],
    body: &Value,
    policy: &ValidationPolicy,
) -> Result<(), ValidationError> {
    if policy.allowed_roots.is_empty() {
        return Ok(());
    }
    for field in fields {
        for path in values(body, field.name) {
            check(field, path, policy, &[])?;
        }
    }
    Ok(())
}

/// Applies the rule to the paths an operation uses; `reported` are data directories the node
/// reported itself.
pub fn check_used(
    fields: &[PathField],
    used: &[UsedPath],
    policy: &ValidationPolicy,
    reported: &[PathBuf],
) -> Result<(), ValidationError> {
    if policy.allowed_roots.is_empty() {
        return Ok(());
    }
    for used in used {
        // An undeclared field is confined: the strictest reading.
        let field = fields
            .iter()
            .find(|f| f.name == used.field)
            .copied()
            .unwrap_or(PathField::new(used.field, PathKind::Confined));
        check(&field, &used.path, policy, reported)?;
    }
    Ok(())
}

/// Whether a directory of `field` stays inside the allowed roots (no roots: yes).
pub fn check_confined(
    field: &str,
    path: &Path,
    policy: &ValidationPolicy,
) -> Result<(), ValidationError> {
    if policy.allowed_roots.is_empty() {
        return Ok(());
    }
    confined(field, &path.to_string_lossy(), path, policy)
}

/// Whether every entry of directory `dir` (of `field`) stays inside the allowed roots: a
/// symbolic link among the files read there must not lead out of them (no roots: yes).
pub fn check_entries_confined(
    field: &str,
    dir: &Path,
    policy: &ValidationPolicy,
) -> Result<(), ValidationError> {
    if policy.allowed_roots.is_empty() {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ValidationError::invalid(field, format!("'{field}' {}: {e}", dir.display()))
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !confine::is_inside(&path, &policy.allowed_roots) {
            let resolved = confine::resolve(&path).unwrap_or_else(|_| path.clone());
            return Err(ValidationError::invalid(
                field,
                format!(
                    "'{field}' holds {}, which resolves to {}, outside every allowed root ({}): \
                     a symbolic link may not lead the files read out of them. Remove it, or \
                     allow its target with {SETTING}",
                    path.display(),
                    resolved.display(),
                    shown(&policy.allowed_roots)
                ),
            ));
        }
    }
    Ok(())
}

/// The strings at `name` (dotted) in `body`: one for a string, each string of a list.
fn values<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    let mut value = body;
    for part in name.split('.') {
        match value.get(part) {
            Some(v) => value = v,
            None => return Vec::new(),
        }
    }
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn check(
    field: &PathField,
    path: &str,
    policy: &ValidationPolicy,
    reported: &[PathBuf],
) -> Result<(), ValidationError> {
    let name = field.name;
    match field.kind {
        PathKind::Confined => confined(name, path, Path::new(path), policy),
        PathKind::Location => {
            // A location that does not parse is the type's to refuse, naming why.
            let Ok(location) = StorageLocation::parse(path) else {
                return Ok(());
            };
            let Some(directory) = &location.directory else {
                return Ok(());
            };
            confined(name, path, &directory.join(&location.bucket), policy)
        }
        PathKind::NodeData | PathKind::CassandraHome | PathKind::NodeConfig => {
            node_storage(field, path, policy, reported)
        }
    }
}

fn confined(
    field: &str,
    given: &str,
    path: &Path,
    policy: &ValidationPolicy,
) -> Result<(), ValidationError> {
    let resolved = resolved(field, given, path)?;
    if confine::is_inside(&resolved, &policy.allowed_roots) {
        return Ok(());
    }
    Err(ValidationError::invalid(
        field,
        format!(
            "'{field}' {given:?} resolves to {}, outside every allowed root ({}): a request may \
             only name directories inside them. Use a directory inside one, or allow another \
             with {SETTING}",
            resolved.display(),
            shown(&policy.allowed_roots)
        ),
    ))
}

fn node_storage(
    field: &PathField,
    given: &str,
    policy: &ValidationPolicy,
    reported: &[PathBuf],
) -> Result<(), ValidationError> {
    let name = field.name;
    let resolved = resolved(name, given, Path::new(given))?;
    if confine::is_inside(&resolved, &policy.allowed_roots) {
        return Ok(());
    }
    let data: Vec<PathBuf> = policy
        .node_dirs
        .data
        .iter()
        .chain(reported)
        .cloned()
        .collect();
    let (own, what) = match field.kind {
        PathKind::NodeData => (
            data.iter().any(|d| confine::same(&resolved, d)),
            format!(
                "one of the node's data directories ({})",
                known(&data, "none known")
            ),
        ),
        PathKind::CassandraHome => (
            data.iter()
                .any(|d| confine::same(&resolved.join("data"), d)),
            format!(
                "the directory holding one of the node's data directories as `data` ({})",
                known(&data, "none known")
            ),
        ),
        _ => (
            policy
                .node_dirs
                .config
                .as_deref()
                .is_some_and(|c| confine::same(&resolved, c)),
            format!(
                "the directory of the cassandra.yaml the sidecar reads ({})",
                policy.node_dirs.config.as_deref().map_or_else(
                    || "none: the sidecar was started without --cassandra-config".to_string(),
                    |c| c.display().to_string()
                )
            ),
        ),
    };
    if own {
        return Ok(());
    }
    Err(ValidationError::invalid(
        name,
        format!(
            "'{name}' {given:?} resolves to {}, which is not {what} and is outside every \
             allowed root ({}): name the node's own directory (the sidecar knows them from \
             Cassandra, --cassandra-config and --backup-data-dir), leave the field out where it \
             has a default, or allow the directory with {SETTING}",
            resolved.display(),
            shown(&policy.allowed_roots)
        ),
    ))
}

fn resolved(field: &str, given: &str, path: &Path) -> Result<PathBuf, ValidationError> {
    confine::resolve(path).map_err(|e| {
        ValidationError::invalid(
            field,
            format!(
                "'{field}' {given:?} must be an absolute path that resolves inside an allowed \
                 root (set with {SETTING}): {e}"
            ),
        )
    })
}

fn shown(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn known(dirs: &[PathBuf], none: &str) -> String {
    if dirs.is_empty() {
        none.to_string()
    } else {
        shown(dirs)
    }
}

/// An operation of a type with path fields, which applies the rule again when it starts,
/// before the type's own `run` touches anything.
#[derive(Debug)]
pub struct Checked<T>(pub T);

#[async_trait]
impl<T: OperationType> Operation for Checked<T> {
    fn conflict_key(&self) -> Option<String> {
        self.0.conflict_key()
    }

    fn is_exclusive(&self) -> bool {
        self.0.is_exclusive()
    }

    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        self.0.allowed(settings)
    }

    fn restart_advice(&self) -> Option<String> {
        self.0.restart_advice()
    }

    fn resumable(&self) -> bool {
        self.0.resumable()
    }

    async fn preflight(&self, ctx: &RunContext) -> Result<(), ValidationError> {
        self.0.preflight(ctx).await
    }

    fn not_resumed_because(&self) -> String {
        self.0.not_resumed_because()
    }

    fn leaves_behind(&self) -> bool {
        self.0.leaves_behind()
    }

    async fn clean_up(&self, ctx: &RunContext) {
        self.0.clean_up(ctx).await
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        recheck(T::PATH_FIELDS, &self.0.paths(), ctx).await?;
        self.0.run(ctx).await
    }
}

/// The rule at the start of a run. A node directory the settings do not know may be one the
/// node reports (`AllDataFileLocations`), which is asked only then; a node that does not
/// answer (stopped for an IN_PLACE restore) adds none.
pub async fn recheck(
    fields: &[PathField],
    used: &[UsedPath],
    ctx: &RunContext,
) -> Result<(), OperationError> {
    let policy = ctx.policy();
    let Err(first) = check_used(fields, used, policy, &[]) else {
        return Ok(());
    };
    let needs_node = used.iter().any(|u| {
        fields.iter().any(|f| {
            f.name == u.field && matches!(f.kind, PathKind::NodeData | PathKind::CassandraHome)
        })
    });
    if !needs_node {
        return Err(refused(first));
    }
    let reported: Vec<PathBuf> = ctx
        .read(|n| async move { n.data_file_locations().await })
        .await
        .map(|dirs| dirs.into_iter().map(PathBuf::from).collect())
        .unwrap_or_default();
    check_used(fields, used, policy, &reported).map_err(refused)
}

fn refused(error: ValidationError) -> OperationError {
    OperationError::failed(
        "Configuration",
        format!("{}; nothing was touched", error.message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[PathField] = &[
        PathField::new("sourceDir", PathKind::Confined),
        PathField::new("import.sourceDir", PathKind::Confined),
        PathField::new("storageLocation", PathKind::Location),
        PathField::new("dataDirs", PathKind::NodeData),
        PathField::new("cassandraDirectory", PathKind::CassandraHome),
        PathField::new("cassandraConfigDirectory", PathKind::NodeConfig),
    ];

    struct Dirs {
        _tmp: tempfile::TempDir,
        base: PathBuf,
        policy: ValidationPolicy,
    }

    fn dirs() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        for d in ["root/in", "outside", "cassandra/data", "conf"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::os::unix::fs::symlink(base.join("outside"), base.join("root/link")).unwrap();
        let policy = ValidationPolicy {
            allowed_roots: vec![base.join("root")],
            node_dirs: super::super::settings::NodeDirs {
                data: vec![base.join("cassandra/data")],
                config: Some(base.join("conf")),
            },
        };
        Dirs {
            _tmp: tmp,
            base,
            policy,
        }
    }

    fn refused_field(body: Value, policy: &ValidationPolicy) -> Option<String> {
        check_body(FIELDS, &body, policy).err().map(|e| {
            assert!(e.message.contains("--allowed-root"), "{}", e.message);
            e.field.unwrap()
        })
    }

    #[test]
    fn every_kind_of_field_is_confined_or_the_nodes_own() {
        let d = dirs();
        let (b, p) = (&d.base, &d.policy);
        let s = |p: &Path| p.display().to_string();
        for (field, value) in [
            ("sourceDir", json!(s(&b.join("outside")))),
            ("sourceDir", json!(s(&b.join("root/../outside")))),
            ("sourceDir", json!(s(&b.join("root/link/new")))),
            ("sourceDir", json!("relative/dir")),
            (
                "storageLocation",
                json!(format!("file://{}/bucket/c/d/n", s(&b.join("outside")))),
            ),
            (
                "storageLocation",
                json!(format!("file://{}/bucket/c/d/n", s(&b.join("root/link")))),
            ),
            (
                "dataDirs",
                json!([s(&b.join("cassandra/data")), s(&b.join("outside"))]),
            ),
            ("cassandraDirectory", json!(s(&b.join("outside")))),
            ("cassandraConfigDirectory", json!(s(&b.join("outside")))),
        ] {
            let body = json!({ field: value });
            assert_eq!(
                refused_field(body, p).as_deref(),
                Some(field),
                "{field} {value}"
            );
        }
        let nested = json!({"import": {"sourceDir": s(&b.join("root/link"))}});
        assert_eq!(
            refused_field(nested, p).as_deref(),
            Some("import.sourceDir")
        );

        for (field, value) in [
            ("sourceDir", json!(s(&b.join("root/in")))),
            ("sourceDir", json!(s(&b.join("root/not-yet/x")))),
            ("storageLocation", json!("s3://bucket/c/d/n")),
            (
                "storageLocation",
                json!(format!("file://{}/bucket/c/d/n", s(&b.join("root")))),
            ),
            (
                "dataDirs",
                json!([s(&b.join("cassandra/data")), s(&b.join("root/in"))]),
            ),
            ("cassandraDirectory", json!(s(&b.join("cassandra")))),
            ("cassandraDirectory", json!(s(&b.join("root/c")))),
            ("cassandraConfigDirectory", json!(s(&b.join("conf")))),
        ] {
            let body = json!({ field: value });
            assert_eq!(refused_field(body, p), None, "{field} {value}");
        }
        // Without a root nothing is confined.
        let open = ValidationPolicy::default();
        assert_eq!(
            refused_field(json!({"sourceDir": s(&b.join("outside"))}), &open),
            None
        );
    }

    #[test]
    fn used_paths_are_checked_and_reported_directories_count_as_the_nodes() {
        let d = dirs();
        let elsewhere = d.base.join("outside");
        let used = [UsedPath::new("dataDirs", elsewhere.display().to_string())];
        let e = check_used(FIELDS, &used, &d.policy, &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("dataDirs"));
        assert!(e.message.contains("data directories"), "{}", e.message);
        assert!(check_used(FIELDS, &used, &d.policy, std::slice::from_ref(&elsewhere)).is_ok());
        let undeclared = [UsedPath::new(
            "somethingDir",
            elsewhere.display().to_string(),
        )];
        assert!(check_used(FIELDS, &undeclared, &d.policy, &[]).is_err());
    }
}
