//! The backups a bucket holds, read from their manifests, and their removal.
//!
//! Listing reads `<node prefix>/manifests/*.json` of one node, or of every node of the bucket
//! (`cluster/dc/node` found by listing the bucket level by level, so data objects are never
//! enumerated); object_store's listings follow continuation tokens, so any number of keys is
//! seen. Removal deletes the chosen manifests first (so a half-done removal never leaves a
//! manifest pointing at deleted objects), then every object they reference that no remaining
//! manifest of the node references. Objects no manifest references at all (left by a failed
//! or running backup) are never touched: a running backup may be about to claim them.
//! Owns reading and deleting backups; it must not upload (that is `transfer`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::layout::{self, parse_manifest_name, ManifestName};
use crate::location::NodePath;
use crate::manifest::{ClusterTopology, Manifest, ManifestError};
use crate::request::RemovalSelector;

/// Manifests read at once while listing.
const MANIFEST_READS_IN_FLIGHT: usize = 8;

/// Why listing or removing backups failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The store refused a listing, read or deletion.
    #[error("{action} {path} failed: {source}")]
    Store {
        action: &'static str,
        path: String,
        source: object_store::Error,
    },
    /// A manifest is not readable JSON; nothing is removed while one is, since what it
    /// references is unknown.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// No backup of the node has the snapshot tag (and schema version) a restore asks for.
    #[error("no backup with snapshot tag {tag:?}{} under {node}; backups there: {existing}", schema_version.as_ref().map(|v| format!(" and schema version {v}")).unwrap_or_default())]
    NoSuchBackup {
        tag: String,
        schema_version: Option<String>,
        node: String,
        existing: String,
    },
    /// No backup of the node was taken at or before the moment a restore asks for.
    #[error("no backup{} of {node} was taken at or before {at}, so nothing can be restored to that moment; backups there: {existing}", tag.as_ref().map(|t| format!(" with snapshot tag {t:?}")).unwrap_or_default())]
    NoBackupBefore {
        at: String,
        tag: Option<String>,
        node: String,
        existing: String,
    },
    /// The named backup does not exist on the node.
    #[error("backup {name:?} does not exist under {node}; backups there: {existing}")]
    NotFound {
        name: String,
        node: String,
        existing: String,
    },
}

fn store_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(object_store::Error) -> CatalogError {
    let path = path.to_string();
    move |source| CatalogError::Store {
        action,
        path,
        source,
    }
}

/// Which nodes of a bucket to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One node's prefix.
    Node(NodePath),
    /// Every `cluster/dc/node` of the bucket.
    Bucket,
    /// Every node of the bucket in these datacenters (a global request's `dc`).
    Datacenters(Vec<String>),
}

/// One backup of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBackup {
    pub node: NodePath,
    /// The manifest name's parts (full tag, tag, schema version, timestamp).
    pub name: ManifestName,
    /// The manifest's store path.
    pub manifest_path: Path,
    /// The manifest itself.
    pub manifest: Manifest,
}

impl NodeBackup {
    /// Bytes of the backup's objects: the sum of its entries (as Esop's listing counts them;
    /// the manifest's own `size` is absent from older manifests).
    pub fn size(&self) -> u64 {
        self.manifest.total_size()
    }
}

/// One backup across the nodes that have it (a global backup shares its name on all nodes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    /// The full tag, the manifest name without `.json`.
    pub name: String,
    pub snapshot_tag: String,
    pub schema_version: Option<String>,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Bytes over all its nodes.
    pub size: u64,
    /// Objects over all its nodes.
    pub files: usize,
    /// `cluster/dc/node` of each node holding it.
    pub nodes: Vec<String>,
}

/// The nodes of a scope: the one named, or every `cluster/dc/node` found in the bucket.
pub async fn nodes(store: &dyn ObjectStore, scope: &Scope) -> Result<Vec<NodePath>, CatalogError> {
    match scope {
        Scope::Node(node) => Ok(vec![node.clone()]),
        Scope::Bucket | Scope::Datacenters(_) => {
            let mut found = Vec::new();
            for cluster in child_prefixes(store, None).await? {
                for dc in child_prefixes(store, Some(&cluster)).await? {
                    for node in child_prefixes(store, Some(&dc)).await? {
                        // Listed parts come back percent-encoded where object_store encodes.
                        let parts: Vec<String> = node
                            .parts()
                            .map(|p| {
                                percent_encoding::percent_decode_str(p.as_ref())
                                    .decode_utf8_lossy()
                                    .into_owned()
                            })
                            .collect();
                        if let [cluster, dc, node] = parts.as_slice() {
                            if let Scope::Datacenters(dcs) = scope {
                                if !dcs.contains(dc) {
                                    continue;
                                }
                            }
                            found.push(NodePath {
                                cluster: cluster.clone(),
                                dc: dc.clone(),
                                node: node.clone(),
                            });
                        }
                    }
                }
            }
            Ok(found)
        }
    }
}

async fn child_prefixes(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
) -> Result<Vec<Path>, CatalogError> {
    let root = Path::from("");
    let listing = store
        .list_with_delimiter(prefix)
        .await
        .map_err(store_err("listing", prefix.unwrap_or(&root)))?;
    Ok(listing.common_prefixes)
}

/// Every backup of every node of the scope, oldest first (then by node).
pub async fn node_backups(
    store: &Arc<dyn ObjectStore>,
    scope: &Scope,
) -> Result<Vec<NodeBackup>, CatalogError> {
    let mut all = Vec::new();
    for node in nodes(store.as_ref(), scope).await? {
        all.extend(backups_of_node(store, &node).await?);
    }
    all.sort_by(|a, b| {
        (a.name.timestamp_millis, &a.node, &a.name.name).cmp(&(
            b.name.timestamp_millis,
            &b.node,
            &b.name.name,
        ))
    });
    Ok(all)
}

/// The manifests of a node, by name, without reading them.
pub async fn manifest_names(
    store: &dyn ObjectStore,
    node: &NodePath,
) -> Result<Vec<(Path, ManifestName)>, CatalogError> {
    let prefix = Path::from(format!("{}/manifests", node.prefix()));
    let metas: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(store_err("listing", &prefix))?;
    Ok(metas
        .into_iter()
        .filter_map(|meta| {
            let file = meta.location.filename()?.to_string();
            if !file.ends_with(".json") {
                return None;
            }
            parse_manifest_name(&file).map(|name| (meta.location, name))
        })
        .collect())
}

async fn read_manifest(store: &dyn ObjectStore, path: &Path) -> Result<Manifest, CatalogError> {
    let bytes = store
        .get(path)
        .await
        .map_err(store_err("reading", path))?
        .bytes()
        .await
        .map_err(store_err("reading", path))?;
    Ok(Manifest::from_json(path.as_ref(), &bytes)?)
}

async fn backups_of_node(
    store: &Arc<dyn ObjectStore>,
    node: &NodePath,
) -> Result<Vec<NodeBackup>, CatalogError> {
    let manifests = manifest_names(store.as_ref(), node).await?;
    futures::stream::iter(manifests)
        .map(|(path, name)| {
            let store = Arc::clone(store);
            let node = node.clone();
            async move {
                let manifest = read_manifest(store.as_ref(), &path).await?;
                Ok::<_, CatalogError>(NodeBackup {
                    node,
                    name,
                    manifest_path: path,
                    manifest,
                })
            }
        })
        .buffer_unordered(MANIFEST_READS_IN_FLIGHT)
        .try_collect()
        .await
}

/// The backup a restore asks for: on `node`, the manifest whose snapshot tag is exactly `tag`
/// (Esop matches a prefix, so `snap1` also took `snap10-…`) and, when given, whose schema
/// version is `schema_version`; the latest wins. Only that manifest is read. None matching is
/// an error listing the backups that do exist.
pub async fn choose_backup(
    store: &dyn ObjectStore,
    node: &NodePath,
    tag: &str,
    schema_version: Option<&str>,
) -> Result<NodeBackup, CatalogError> {
    choose_manifest(store, node, Some(tag), schema_version, None).await
}

/// The backup a restore to the moment `at` (epoch millis) starts from: on `node`, the latest
/// taken at or before it, of snapshot tag `tag` when given. None is an error listing the
/// backups that do exist.
pub async fn choose_backup_before(
    store: &dyn ObjectStore,
    node: &NodePath,
    tag: Option<&str>,
    at: u64,
) -> Result<NodeBackup, CatalogError> {
    choose_manifest(store, node, tag, None, Some(at)).await
}

async fn choose_manifest(
    store: &dyn ObjectStore,
    node: &NodePath,
    tag: Option<&str>,
    schema_version: Option<&str>,
    at_or_before: Option<u64>,
) -> Result<NodeBackup, CatalogError> {
    let names = manifest_names(store, node).await?;
    let chosen = names
        .iter()
        .filter(|(_, name)| tag.is_none_or(|t| name.tag == t))
        .filter(|(_, name)| {
            schema_version.is_none() || name.schema_version.as_deref() == schema_version
        })
        .filter(|(_, name)| at_or_before.is_none_or(|at| name.timestamp_millis <= at))
        .max_by_key(|(_, name)| (name.timestamp_millis, name.name.clone()));
    let Some((path, name)) = chosen else {
        let mut existing: Vec<String> = names.iter().map(|(_, n)| n.name.clone()).collect();
        existing.sort();
        let existing = if existing.is_empty() {
            "none".to_string()
        } else {
            existing.join(", ")
        };
        if let Some(at) = at_or_before {
            return Err(CatalogError::NoBackupBefore {
                at: crate::commitlog::millis_text(at),
                tag: tag.map(str::to_string),
                node: node.prefix(),
                existing,
            });
        }
        return Err(CatalogError::NoSuchBackup {
            tag: tag.unwrap_or_default().to_string(),
            schema_version: schema_version.map(str::to_string),
            node: node.prefix(),
            existing,
        });
    };
    let manifest = read_manifest(store, path).await?;
    Ok(NodeBackup {
        node: node.clone(),
        name: name.clone(),
        manifest_path: path.clone(),
        manifest,
    })
}

/// The latest cluster topology (`topology/<tag>-<schemaVersion>-<millis>.json` at the bucket
/// root) of the backups tagged exactly `tag`, for a restore that finds its node in it
/// (`resolveHostIdFromTopology`, `newCluster`). `None` when no backup with that tag wrote one.
pub async fn latest_topology(
    store: &dyn ObjectStore,
    tag: &str,
) -> Result<Option<(ManifestName, ClusterTopology)>, CatalogError> {
    topology_at(store, Some(tag), None).await
}

/// The cluster topology of the latest cluster-wide backup taken at or before `at` (epoch
/// millis), of snapshot tag `tag` when given: the nodes a restore of the whole cluster to that
/// moment goes to. `None` when no such backup wrote one.
pub async fn topology_before(
    store: &dyn ObjectStore,
    tag: Option<&str>,
    at: u64,
) -> Result<Option<(ManifestName, ClusterTopology)>, CatalogError> {
    topology_at(store, tag, Some(at)).await
}

async fn topology_at(
    store: &dyn ObjectStore,
    tag: Option<&str>,
    at_or_before: Option<u64>,
) -> Result<Option<(ManifestName, ClusterTopology)>, CatalogError> {
    let prefix = Path::from("topology");
    let metas: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(store_err("listing", &prefix))?;
    let latest = metas
        .into_iter()
        .filter_map(|meta| {
            let file = meta.location.filename()?.to_string();
            let name = parse_manifest_name(&file)?;
            let wanted = tag.is_none_or(|t| name.tag == t)
                && at_or_before.is_none_or(|at| name.timestamp_millis <= at);
            (file.ends_with(".json") && wanted).then_some((meta.location, name))
        })
        .max_by_key(|(_, name)| (name.timestamp_millis, name.name.clone()));
    let Some((path, name)) = latest else {
        return Ok(None);
    };
    let bytes = store
        .get(&path)
        .await
        .map_err(store_err("reading", &path))?
        .bytes()
        .await
        .map_err(store_err("reading", &path))?;
    Ok(Some((
        name,
        ClusterTopology::from_json(path.as_ref(), &bytes)?,
    )))
}

/// The backups of a scope, one entry per backup name, oldest first.
pub async fn list_backups(
    store: &Arc<dyn ObjectStore>,
    scope: &Scope,
) -> Result<Vec<BackupSummary>, CatalogError> {
    Ok(summarize(&node_backups(store, scope).await?))
}

/// Groups node backups by name (a global backup shares one name on every node).
pub fn summarize(backups: &[NodeBackup]) -> Vec<BackupSummary> {
    let mut by_name: BTreeMap<&str, BackupSummary> = BTreeMap::new();
    for backup in backups {
        let summary = by_name
            .entry(&backup.name.name)
            .or_insert_with(|| BackupSummary {
                name: backup.name.name.clone(),
                snapshot_tag: backup.name.tag.clone(),
                schema_version: backup.name.schema_version.clone(),
                timestamp: backup.name.timestamp_millis,
                size: 0,
                files: 0,
                nodes: Vec::new(),
            });
        summary.size = summary.size.saturating_add(backup.size());
        summary.files += backup.manifest.entries().count();
        summary.nodes.push(backup.node.prefix());
    }
    let mut summaries: Vec<BackupSummary> = by_name.into_values().collect();
    summaries.sort_by(|a, b| (a.timestamp, &a.name).cmp(&(b.timestamp, &b.name)));
    summaries
}

/// What a removal deleted, or would delete when dry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    /// `cluster/dc/node: name` of each backup removed.
    pub removed_backups: Vec<String>,
    /// Store paths of the manifests deleted.
    pub manifests: Vec<String>,
    /// Store paths of the data objects deleted (those no remaining backup references).
    pub objects: Vec<String>,
    /// Objects of the removed backups kept because a remaining backup references them.
    pub kept_shared: usize,
    /// Bytes of the deleted data objects.
    pub freed_bytes: u64,
    /// Store paths of topology files deleted: those of backups no node holds any more.
    pub topologies: Vec<String>,
    /// Nothing was deleted.
    pub dry: bool,
}

/// Removes the backups `selector` picks on every node of the scope, each node on its own
/// (objects are shared only within a node's prefix). `now_millis` is the time `olderThan`
/// counts back from; ages are compared without overflow.
pub async fn remove_backups(
    store: &Arc<dyn ObjectStore>,
    scope: &Scope,
    selector: &RemovalSelector,
    now_millis: u64,
    dry: bool,
) -> Result<Removal, CatalogError> {
    let mut removal = Removal {
        dry,
        ..Removal::default()
    };
    let mut found_by_name = false;
    let mut existing = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for node in nodes(store.as_ref(), scope).await? {
        let backups = backups_of_node(store, &node).await?;
        existing.extend(backups.iter().map(|b| b.name.name.clone()));
        let chosen = choose(&backups, selector, now_millis);
        if chosen.is_empty() {
            continue;
        }
        found_by_name = true;
        removed.extend(
            chosen
                .iter()
                .map(|&i| (node.clone(), backups[i].name.name.clone())),
        );
        remove_on_node(store, &node, &backups, &chosen, dry, &mut removal).await?;
    }
    remove_orphan_topologies(store, &removed, dry, &mut removal).await?;
    if let RemovalSelector::Name(name) = selector {
        if !found_by_name {
            let node = match scope {
                Scope::Node(node) => node.prefix(),
                Scope::Bucket => "any node of the bucket".to_string(),
                Scope::Datacenters(dcs) => format!("any node of datacenters {}", dcs.join(", ")),
            };
            let existing = if existing.is_empty() {
                "none".to_string()
            } else {
                existing.into_iter().collect::<Vec<_>>().join(", ")
            };
            return Err(CatalogError::NotFound {
                name: name.clone(),
                node,
                existing,
            });
        }
    }
    Ok(removal)
}

/// Deletes `topology/<name>.json` of each removed backup that no node of the bucket still has
/// (a global backup's topology stays while any node keeps its manifest).
async fn remove_orphan_topologies(
    store: &Arc<dyn ObjectStore>,
    removed: &BTreeSet<(NodePath, String)>,
    dry: bool,
    removal: &mut Removal,
) -> Result<(), CatalogError> {
    if removed.is_empty() {
        return Ok(());
    }
    // Listed again rather than inferred, so a node that gained the backup meanwhile counts;
    // the removed (node, backup) pairs are left out, which also makes a dry run right.
    let mut still_held = BTreeSet::new();
    for node in nodes(store.as_ref(), &Scope::Bucket).await? {
        for (_, name) in manifest_names(store.as_ref(), &node).await? {
            if !removed.contains(&(node.clone(), name.name.clone())) {
                still_held.insert(name.name);
            }
        }
    }
    let removed_names: BTreeSet<String> = removed.iter().map(|(_, name)| name.clone()).collect();
    let mut orphans = Vec::new();
    for name in removed_names.difference(&still_held) {
        let path = Path::from(layout::topology_key(name));
        match store.head(&path).await {
            Ok(_) => orphans.push(path),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => {
                return Err(CatalogError::Store {
                    action: "checking",
                    path: path.to_string(),
                    source,
                })
            }
        }
    }
    removal
        .topologies
        .extend(orphans.iter().map(Path::to_string));
    if !dry {
        delete_all(store, orphans).await?;
    }
    Ok(())
}

/// Indexes into `backups` of those the selector picks.
fn choose(backups: &[NodeBackup], selector: &RemovalSelector, now_millis: u64) -> Vec<usize> {
    match selector {
        RemovalSelector::Name(name) => backups
            .iter()
            .enumerate()
            .filter(|(_, b)| &b.name.name == name)
            .map(|(i, _)| i)
            .collect(),
        RemovalSelector::OlderThanMillis(age) => {
            let cutoff = now_millis.saturating_sub(*age);
            backups
                .iter()
                .enumerate()
                .filter(|(_, b)| b.name.timestamp_millis < cutoff)
                .map(|(i, _)| i)
                .collect()
        }
        RemovalSelector::Oldest => backups
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| (b.name.timestamp_millis, b.name.name.clone()))
            .map(|(i, _)| vec![i])
            .unwrap_or_default(),
    }
}

async fn remove_on_node(
    store: &Arc<dyn ObjectStore>,
    node: &NodePath,
    backups: &[NodeBackup],
    chosen: &[usize],
    dry: bool,
    removal: &mut Removal,
) -> Result<(), CatalogError> {
    let still_needed: BTreeSet<&str> = backups
        .iter()
        .enumerate()
        .filter(|(i, _)| !chosen.contains(i))
        .flat_map(|(_, b)| b.manifest.object_keys())
        .collect();
    let mut doomed: BTreeMap<&str, u64> = BTreeMap::new();
    let mut shared = BTreeSet::new();
    for &i in chosen {
        for entry in backups[i].manifest.entries() {
            if still_needed.contains(entry.object_key.as_str()) {
                shared.insert(entry.object_key.as_str());
            } else {
                doomed.insert(&entry.object_key, entry.size);
            }
        }
    }
    let manifest_paths: Vec<Path> = chosen
        .iter()
        .map(|&i| backups[i].manifest_path.clone())
        .collect();
    let object_paths: Vec<Path> = doomed
        .keys()
        .map(|key| Path::from(format!("{}/{key}", node.prefix())))
        .collect();
    removal.removed_backups.extend(
        chosen
            .iter()
            .map(|&i| format!("{node}: {}", backups[i].name.name)),
    );
    removal
        .manifests
        .extend(manifest_paths.iter().map(Path::to_string));
    removal
        .objects
        .extend(object_paths.iter().map(Path::to_string));
    removal.kept_shared += shared.len();
    removal.freed_bytes = doomed
        .values()
        .fold(removal.freed_bytes, |acc, size| acc.saturating_add(*size));
    if dry {
        return Ok(());
    }
    // Manifests first: once they are gone, nothing claims the objects deleted next.
    delete_all(store, manifest_paths).await?;
    delete_all(store, object_paths).await
}

async fn delete_all(store: &Arc<dyn ObjectStore>, paths: Vec<Path>) -> Result<(), CatalogError> {
    if paths.is_empty() {
        return Ok(());
    }
    let locations = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
    let mut results = store.delete_stream(locations);
    while let Some(result) = results.next().await {
        match result {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => {
                return Err(CatalogError::Store {
                    action: "deleting",
                    path: "objects of the backup".to_string(),
                    source,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::NodeTopology;
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    fn topology(node_id: &str) -> ClusterTopology {
        ClusterTopology {
            timestamp: 1,
            cluster_name: Some("c".into()),
            schema_version: None,
            topology: vec![NodeTopology {
                hostname: None,
                cluster: Some("c".into()),
                dc: Some("dc1".into()),
                rack: None,
                node_id: Some(node_id.into()),
                ip_address: Some("10.0.0.1".into()),
            }],
        }
    }

    #[tokio::test]
    async fn the_latest_topology_of_the_exact_tag_is_read() {
        let store = InMemory::new();
        let sv = "f1159959-593d-33d1-9ade-712ea55b31ef";
        for (tag, millis, id) in [
            ("snap1", 1u64, "old"),
            ("snap1", 3, "new"),
            ("snap10", 9, "other"),
        ] {
            let key = layout::topology_key(&layout::full_tag(tag, sv, millis));
            store
                .put(&Path::from(key), PutPayload::from(topology(id).to_json()))
                .await
                .unwrap();
        }
        let (name, found) = latest_topology(&store, "snap1").await.unwrap().unwrap();
        assert_eq!(name.timestamp_millis, 3);
        assert_eq!(found.topology[0].node_id.as_deref(), Some("new"));
        assert!(latest_topology(&store, "snap").await.unwrap().is_none());
    }
}
