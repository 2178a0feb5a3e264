//! Which tables of a backup a restore puts back, under which names, and where each object lands
//! inside a table directory: the manifest filtered by `entities` (the backup's names), system
//! keyspaces left out unless asked for, `rename` applied.
//!
//! Pure functions over the manifest and the request. They must not touch the node or files.

use std::path::PathBuf;

use backup::manifest::{EntryType, Manifest};
use backup::request::{Entities, RestorationStrategy, RestoreRequest};

/// Cassandra's own keyspaces: never restored by HARDLINKS/IMPORT (except `system_auth` with
/// `restoreSystemAuth`), only with `restoreSystemKeyspace` by IN_PLACE.
const SYSTEM_KEYSPACES: [&str; 7] = [
    "system",
    "system_schema",
    "system_auth",
    "system_distributed",
    "system_traces",
    "system_views",
    "system_virtual_schema",
];

pub fn is_system_keyspace(keyspace: &str) -> bool {
    SYSTEM_KEYSPACES.contains(&keyspace)
}

/// One table to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The table's names in the backup.
    pub from_keyspace: String,
    pub from_table: String,
    /// The table's names on this node (`rename` applied).
    pub keyspace: String,
    pub table: String,
    /// The table id recorded in the backup.
    pub backup_id: Option<String>,
    pub files: Vec<TargetFile>,
}

impl Target {
    pub fn name(&self) -> String {
        format!("{}.{}", self.keyspace, self.table)
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// One object of a table and its place inside the table directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFile {
    /// The key below the node prefix.
    pub key: String,
    /// `nb-1-big-Data.db`, or `.<index>/nb-1-big-Data.db` for a secondary index component.
    pub relative: PathBuf,
    pub size: u64,
    pub sha256: Option<String>,
}

/// The tables of `manifest` the request restores, sorted by their names on the node. A
/// keyspace with no tables yields nothing and is no error.
pub fn select(manifest: &Manifest, request: &RestoreRequest) -> Result<Vec<Target>, String> {
    let entities = Entities::parse(request.entities.as_deref()).map_err(|e| e.to_string())?;
    let renames = request.renames();
    let in_place = request.strategy() == RestorationStrategy::InPlace;
    let mut targets = Vec::new();
    for (keyspace, ks) in &manifest.snapshot.keyspaces {
        let wanted_system = (in_place && request.restore_system_keyspace)
            || (keyspace == "system_auth" && request.restore_system_auth);
        if is_system_keyspace(keyspace) && !wanted_system {
            continue;
        }
        for (table, content) in &ks.tables {
            if !entities.includes(keyspace, table) {
                continue;
            }
            let (to_keyspace, to_table) = renames
                .iter()
                .find(|(from, _)| from.0 == *keyspace && from.1 == *table)
                .map(|(_, to)| to.clone())
                .unwrap_or_else(|| (keyspace.clone(), table.clone()));
            let mut files = Vec::new();
            for entry in content.entries() {
                if entry.entry_type != EntryType::File {
                    continue;
                }
                let relative = relative_in_table(&entry.object_key).ok_or_else(|| {
                    format!(
                        "manifest entry {} of {keyspace}.{table} is not an SSTable key \
                         data/<ks>/<table>-<id>/[.<index>/]<gen>-<checksum>/<file>",
                        entry.object_key
                    )
                })?;
                files.push(TargetFile {
                    key: entry.object_key.clone(),
                    relative,
                    size: entry.size,
                    sha256: entry.hash.clone(),
                });
            }
            files.sort_by(|a, b| a.relative.cmp(&b.relative));
            if let Some(pair) = files.windows(2).find(|w| w[0].relative == w[1].relative) {
                return Err(format!(
                    "manifest lists {} twice for {keyspace}.{table} ({} and {})",
                    pair[0].relative.display(),
                    pair[0].key,
                    pair[1].key
                ));
            }
            targets.push(Target {
                from_keyspace: keyspace.clone(),
                from_table: table.clone(),
                keyspace: to_keyspace,
                table: to_table,
                backup_id: content.id.clone(),
                files,
            });
        }
    }
    targets.sort_by(|a, b| (&a.keyspace, &a.table).cmp(&(&b.keyspace, &b.table)));
    Ok(targets)
}

/// Where an SSTable object goes inside its table directory: `data/<ks>/<t>-<id>/<gen>-<sum>/<f>`
/// → `<f>`; `data/<ks>/<t>-<id>/.<index>/<gen>-<sum>/<f>` → `.<index>/<f>`. Anything else
/// (or a name that could leave the directory) is `None`.
pub fn relative_in_table(key: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = key.split('/').collect();
    let safe = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\\');
    if parts.first() != Some(&"data") || !parts.iter().all(|p| safe(p)) {
        return None;
    }
    match parts.as_slice() {
        [_, _, _, _, file] if !file.starts_with('.') => Some(PathBuf::from(file)),
        [_, _, _, index, _, file] if index.starts_with('.') && !file.starts_with('.') => {
            Some(PathBuf::from(index).join(file))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup::manifest::ManifestEntry;
    use serde_json::json;

    fn manifest() -> Manifest {
        let mut m = Manifest::new("snap-sv-1", vec!["1".into()], "sv");
        let entry = |key: &str| ManifestEntry {
            object_key: key.to_string(),
            entry_type: EntryType::File,
            size: 3,
            hash: Some("a".repeat(64)),
            kms_key_id: None,
        };
        m.table_mut("ks", "t")
            .add_entry("nb-1-big", entry("data/ks/t-0a/1-9/nb-1-big-Data.db"));
        m.table_mut("ks", "t")
            .add_entry("nb-1-big", entry("data/ks/t-0a/.idx/1-8/nb-1-big-Data.db"));
        m.table_mut("ks", "empty");
        m.table_mut("system_auth", "roles").add_entry(
            "nb-1-big",
            entry("data/system_auth/roles-0b/1-7/nb-1-big-Data.db"),
        );
        m.table_mut("system", "local").add_entry(
            "nb-1-big",
            entry("data/system/local-0c/1-6/nb-1-big-Data.db"),
        );
        m.snapshot.keyspaces.entry("no_tables".into()).or_default();
        m
    }

    fn request(extra: serde_json::Value) -> RestoreRequest {
        let mut body = json!({"storageLocation": "file:///tmp/b/c/d/n", "snapshotTag": "snap",
            "restorationStrategyType": "IMPORT", "restorationPhase": "DOWNLOAD",
            "import": {"sourceDir": "/tmp/src"}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        serde_json::from_value(body).unwrap()
    }

    fn names(targets: &[Target]) -> Vec<String> {
        targets.iter().map(Target::name).collect()
    }

    #[test]
    fn system_keyspaces_are_left_out_unless_asked_for() {
        let targets = select(&manifest(), &request(json!({}))).unwrap();
        assert_eq!(names(&targets), ["ks.empty", "ks.t"]);
        assert!(targets[0].files.is_empty());
        assert_eq!(
            targets[1]
                .files
                .iter()
                .map(|f| f.relative.to_str().unwrap())
                .collect::<Vec<_>>(),
            [".idx/nb-1-big-Data.db", "nb-1-big-Data.db"]
        );
        let targets = select(&manifest(), &request(json!({"restoreSystemAuth": true}))).unwrap();
        assert_eq!(names(&targets), ["ks.empty", "ks.t", "system_auth.roles"]);
        let in_place = request(json!({"restorationStrategyType": "IN_PLACE",
            "restoreSystemKeyspace": true}));
        assert_eq!(select(&manifest(), &in_place).unwrap().len(), 4);
    }

    #[test]
    fn entities_use_the_backup_names_and_rename_gives_the_node_names() {
        let req = request(json!({"entities": "ks.t", "rename": {"ks.t": "other.t2"}}));
        let targets = select(&manifest(), &req).unwrap();
        assert_eq!(names(&targets), ["other.t2"]);
        assert_eq!(
            (
                targets[0].from_keyspace.as_str(),
                targets[0].from_table.as_str()
            ),
            ("ks", "t")
        );
        let req = request(json!({"entities": "no_tables"}));
        assert!(select(&manifest(), &req).unwrap().is_empty());
    }

    #[test]
    fn keys_map_into_the_table_directory_and_nowhere_else() {
        assert_eq!(
            relative_in_table("data/ks/t-1/2-3/nb-2-big-Data.db"),
            Some(PathBuf::from("nb-2-big-Data.db"))
        );
        assert_eq!(
            relative_in_table("data/ks/t-1/.i/2-3/nb-2-big-Data.db"),
            Some(PathBuf::from(".i/nb-2-big-Data.db"))
        );
        for bad in [
            "data/ks/t-1/../x",
            "data/ks/t-1/2-3/..",
            "schema/ks/t-1/2-3/f",
            "data/ks/t-1/f",
            "data/ks/t-1/x/2-3/f",
            "data/ks//2-3/f",
        ] {
            assert_eq!(relative_in_table(bad), None, "{bad}");
        }
    }
}
