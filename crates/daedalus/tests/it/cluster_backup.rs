//! Cluster-wide backups (`backup` with `globalRequest: true`) against the real three-node test
//! cluster (two datacenters), a sidecar beside each node: to `file://` and to the local S3
//! server, every node's manifest under its own `cluster/dc/hostId` with the one full tag, the
//! topology written once; the `dc` filter; `list` on each node finding its part; the
//! coordinator SIGKILLed and started again (same tag, nothing sent twice); a cancel; a peer
//! killed mid-way (FAILED naming it, the others' states shown, no topology).

use std::path::{Path, PathBuf};

use backup::manifest::{ClusterTopology, Manifest};
use serde_json::{json, Value};
use testkit::storage::Server;

use crate::backup_servers::mount_secret;
use crate::common::cluster::{
    finished, get, millis, node, submit, wait_for, Cluster, ClusterNode, SidecarOptions,
    ONE_CLUSTER, RING,
};
use crate::common::{request, shared_dir, NB_SETS};

/// The cluster name the test nodes report: the first part of every node prefix.
const CLUSTER_NAME: &str = "Test Cluster";

/// Every node seeds `spark_test.test3` with the fixture's SSTables.
fn seeded() -> Vec<String> {
    let seed = shared_dir().join("fixtures/sstables").join(NB_SETS);
    vec![
        "--seed".to_string(),
        format!("spark_test.test3={}", seed.display()),
    ]
}

async fn start(dir: &Path, options: SidecarOptions) -> Cluster {
    let flags = seeded();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Cluster::start(dir, &flags, options).await
}

/// `<store>/<bucket>/<cluster>/<dc>/<hostId>`: where a node's part of a file:// backup lives.
fn node_dir(store: &Path, bucket: &str, n: &ClusterNode) -> PathBuf {
    store
        .join(bucket)
        .join(CLUSTER_NAME)
        .join(n.dc)
        .join(n.host_id)
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The snapshots left on a node's `spark_test.test3`.
fn snapshots(n: &ClusterNode) -> Vec<String> {
    let ks = n.data_dir.join("spark_test");
    let table = file_names(&ks)
        .into_iter()
        .find(|t| t.starts_with("test3-"))
        .expect("the seeded table");
    file_names(&ks.join(table).join("snapshots"))
}

/// The record's `snapshotName`, checked to be `<tag>-<schema version>-<millis>`.
fn full_tag(record: &Value, tag: &str) -> String {
    let name = record["snapshotName"]
        .as_str()
        .unwrap_or_else(|| panic!("no snapshotName in {record}"))
        .to_string();
    let parsed = backup::layout::parse_full_tag(&name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(parsed.tag, tag, "{name}");
    name
}

/// The node's sub-operation, as its own sidecar shows it: a plain backup under `full_tag`.
async fn sub_backup(cluster: &Cluster, i: usize, record: &Value, full_tag: &str) -> Value {
    let shown = node(record, &cluster.nodes[i].endpoint());
    let sub = get(
        cluster.sidecar(i).addr,
        shown["operationId"].as_str().unwrap(),
    )
    .await;
    assert_eq!(sub["type"], "backup", "{sub}");
    assert_eq!(sub["globalRequest"], false, "{sub}");
    assert_eq!(sub["skipBucketVerification"], true, "{sub}");
    assert_eq!(sub["snapshotName"], full_tag, "{sub}");
    sub
}

/// Lists `location` on node `i`'s own sidecar; returns the backup names.
async fn list_on(cluster: &Cluster, i: usize, location: &str, extra: Value) -> Vec<String> {
    let mut body = json!({"type": "list", "storageLocation": location});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let addr = cluster.sidecar(i).addr;
    let accepted = submit(addr, &body).await;
    let record = finished(addr, accepted["id"].as_str().unwrap()).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    record["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

/// To file:// (every node, then `dc` dc2 only) and to the local S3 server: each node's manifest
/// under its own prefix with the one full tag, the topology once, every node COMPLETED, and
/// `list` on each node finds its part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_backup_to_file_and_s3_puts_each_node_under_its_own_location() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let s3 = Server::s3();
    let secrets = tmp.path().join("secrets");
    mount_secret(&s3, &secrets);
    let cluster = start(
        tmp.path(),
        SidecarOptions {
            extra: vec!["--backup-secrets-dir".into(), secrets.display().to_string()],
            ..SidecarOptions::default()
        },
    )
    .await;
    let coordinator = cluster.sidecar(0).addr;
    let store = tmp.path().join("store");

    // file://: the cluster/dc/node parts of the location are each node's own.
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "gsnap",
                "createMissingBucket": true,
                "storageLocation": format!("file://{}/bucket/any/any/any", store.display()),
                "entities": "spark_test", "timeout": 1}),
    )
    .await;
    let record = finished(coordinator, accepted["id"].as_str().unwrap()).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["progress"], 1.0);
    assert_eq!(record["errors"], json!([]), "{record}");
    let tag = full_tag(&record, "gsnap");
    assert_eq!(record["uploadClusterTopology"], true, "{record}");
    let nodes = record["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), RING.len(), "{record}");
    let schema_version = backup::layout::parse_full_tag(&tag)
        .unwrap()
        .schema_version
        .unwrap();
    let mut slowest_node_ms = 0;
    for (i, n) in cluster.nodes.iter().enumerate() {
        let shown = node(&record, &n.endpoint());
        assert_eq!(shown["state"], "COMPLETED", "{shown}");
        assert_eq!(shown["hostId"], n.host_id);
        assert_eq!(shown["dc"], n.dc);
        let sub = sub_backup(&cluster, i, &record, &tag).await;
        assert_eq!(sub["uploadClusterTopology"], false, "{sub}");
        slowest_node_ms =
            slowest_node_ms.max(millis(&sub["completionTime"]) - millis(&sub["startTime"]));
        let dir = node_dir(&store, "bucket", n);
        assert_eq!(
            file_names(&dir.join("manifests")),
            vec![format!("{tag}.json")],
            "{}",
            n.ip
        );
        let manifest_path = dir.join("manifests").join(format!("{tag}.json"));
        let manifest = Manifest::from_json(
            &manifest_path.display().to_string(),
            &std::fs::read(&manifest_path).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest.schema_version, Some(schema_version.clone()));
        assert!(manifest.entries().count() > 0, "{}", n.ip);
        for entry in manifest.entries() {
            assert!(
                dir.join(&entry.object_key).is_file(),
                "{}",
                entry.object_key
            );
        }
        assert!(snapshots(n).is_empty(), "{} snapshot cleared", n.ip);
        // The node's part is an ordinary backup of that node.
        let here = format!("file://{}", node_dir(&store, "bucket", n).display());
        assert_eq!(
            list_on(&cluster, i, &here, json!({})).await,
            vec![tag.clone()]
        );
    }
    let global_ms = millis(&record["completionTime"]) - millis(&record["startTime"]);
    println!(
        "cluster-wide backup of {} nodes to file://: {global_ms} ms in the coordinator's record; \
         the slowest node's own backup took {slowest_node_ms} ms, so coordination (bucket check, \
         plan, peer calls, polls, topology) costs {} ms",
        RING.len(),
        global_ms - slowest_node_ms
    );
    let topology_dir = store.join("bucket/topology");
    assert_eq!(file_names(&topology_dir), vec![format!("{tag}.json")]);
    assert_eq!(
        record["topology"],
        format!("topology/{tag}.json"),
        "{record}"
    );
    let topology = ClusterTopology::from_json(
        "topology",
        &std::fs::read(topology_dir.join(format!("{tag}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(topology.cluster_name.as_deref(), Some(CLUSTER_NAME));
    assert_eq!(topology.topology.len(), RING.len());
    for n in &cluster.nodes {
        assert!(
            topology.topology.iter().any(|t| {
                t.node_id.as_deref() == Some(n.host_id) && t.dc.as_deref() == Some(n.dc)
            }),
            "{} in the topology",
            n.ip
        );
    }

    // The dc filter: only 127.0.0.4 (dc2) is backed up, and the topology lists it alone.
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "dc2only", "dc": "dc2",
                "storageLocation": format!("file://{}/bucket/any/any/any", store.display()),
                "entities": "spark_test"}),
    )
    .await;
    let record = finished(coordinator, accepted["id"].as_str().unwrap()).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let dc2_tag = full_tag(&record, "dc2only");
    let nodes = record["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{record}");
    assert_eq!(nodes[0]["endpoint"], "127.0.0.4:7000");
    for n in &cluster.nodes {
        let has = file_names(&node_dir(&store, "bucket", n).join("manifests"))
            .contains(&format!("{dc2_tag}.json"));
        assert_eq!(has, n.dc == "dc2", "{}", n.ip);
    }
    let topology = ClusterTopology::from_json(
        "topology",
        &std::fs::read(topology_dir.join(format!("{dc2_tag}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(topology.topology.len(), 1);

    // S3 (moto): the bucket created once by the coordinator, credentials from the mounted secret.
    let secret = json!({"k8sSecretName": "creds"});
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "s3snap",
                "storageLocation": "s3://gbackups", "createMissingBucket": true,
                "k8sSecretName": "creds", "entities": "spark_test.test3"}),
    )
    .await;
    let record = finished(coordinator, accepted["id"].as_str().unwrap()).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let tag = full_tag(&record, "s3snap");
    for (i, n) in cluster.nodes.iter().enumerate() {
        assert_eq!(node(&record, &n.endpoint())["state"], "COMPLETED");
        sub_backup(&cluster, i, &record, &tag).await;
        let here = format!("s3://gbackups/{CLUSTER_NAME}/{}/{}", n.dc, n.host_id);
        assert_eq!(
            list_on(&cluster, i, &here, secret.clone()).await,
            vec![tag.clone()],
            "{}",
            n.ip
        );
    }
    // One backup of three nodes in the bucket, and one topology object.
    let addr = cluster.sidecar(1).addr;
    let accepted = submit(
        addr,
        &json!({"type": "list", "storageLocation": "s3://gbackups", "k8sSecretName": "creds"}),
    )
    .await;
    let listing = finished(addr, accepted["id"].as_str().unwrap()).await;
    let backups = listing["response"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{listing}");
    assert_eq!(backups[0]["name"], tag);
    assert_eq!(backups[0]["nodes"].as_array().unwrap().len(), RING.len());
    let objects = testkit::http_client()
        .get(format!(
            "{}/gbackups?list-type=2&prefix=topology/",
            s3.server_url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        objects.matches("<Key>").count(),
        1,
        "one topology object: {objects}"
    );
    assert!(
        objects.contains(&format!("<Key>topology/{tag}.json</Key>")),
        "{objects}"
    );
}

/// The coordinator SIGKILLed while a peer's backup runs, then started again: the same full tag,
/// the peer's backup followed (not sent again), the topology written. A cancel stops every
/// node's backup. Then a peer's sidecar killed mid-way: FAILED naming it in `errors` and
/// `nodes`, the others COMPLETED, no topology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_resumes_and_a_killed_peer_fails_the_backup_by_name() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = start(
        tmp.path(),
        SidecarOptions {
            extra: vec!["--peer-timeout".into(), "2s".into()],
            ..SidecarOptions::default()
        },
    )
    .await;
    let coordinator = cluster.sidecar(0).addr;
    let store = tmp.path().join("store");
    let location = format!("file://{}/bucket/any/any/any", store.display());
    // A few KB at 1 KB/s: each node's upload takes seconds.
    let slow = json!({"value": 1, "unit": "KBPS"});

    // dc2 only (127.0.0.4), so the coordinator's own node is not part of it.
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "resumed", "dc": "dc2",
                "createMissingBucket": true,
                "storageLocation": location, "entities": "spark_test.test3",
                "concurrentConnections": 1, "bandwidth": slow}),
    )
    .await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let mid = wait_for(coordinator, &id, "the dc2 node uploading", |r| {
        r["nodes"][0]["state"] == "RUNNING" && r["nodes"][0]["progress"].as_f64() > Some(0.0)
    })
    .await;
    let tag = full_tag(&mid, "resumed");
    cluster.kill_sidecar(0).await;
    let restarted = cluster.start_sidecar(0).await;
    cluster.sidecars[0] = Some(restarted);
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(
        record["snapshotName"], tag,
        "the same tag after the restart"
    );
    assert_eq!(
        record["nodes"][0]["operationId"], mid["nodes"][0]["operationId"],
        "the same sub-operation followed"
    );
    let peer = cluster.sidecar(2).addr;
    let backups = request(peer, "GET", "/operations?type=backup", None).await;
    assert_eq!(
        backups.body.as_array().map(Vec::len),
        Some(1),
        "sent once: {}",
        backups.body
    );
    assert_eq!(
        file_names(&node_dir(&store, "bucket", &cluster.nodes[2]).join("manifests")),
        vec![format!("{tag}.json")]
    );
    assert_eq!(
        file_names(&store.join("bucket/topology")),
        vec![format!("{tag}.json")]
    );

    // A cancel reaches every node (a bucket where nothing is uploaded yet, at 10 B/s: minutes of
    // upload left): each backup stops without a manifest, no topology.
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "cancelled",
                "storageLocation": format!("file://{}/fresh/any/any/any", store.display()),
                "createMissingBucket": true, "entities": "spark_test.test3",
                "concurrentConnections": 1, "bandwidth": {"value": 10, "unit": "BPS"}}),
    )
    .await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let moving = wait_for(coordinator, &id, "every node uploading", |r| {
        r["nodes"].as_array().is_some_and(|nodes| {
            nodes.len() == RING.len() && nodes.iter().all(|n| n["progress"].as_f64() > Some(0.0))
        })
    })
    .await;
    let tag = full_tag(&moving, "cancelled");
    let cancel = request(coordinator, "DELETE", &format!("/operations/{id}"), None).await;
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "CANCELLED", "{record}");
    for (i, n) in cluster.nodes.iter().enumerate() {
        assert_eq!(
            node(&record, &n.endpoint())["state"],
            "CANCELLED",
            "{record}"
        );
        let sub = sub_backup(&cluster, i, &record, &tag).await;
        assert_eq!(sub["state"], "CANCELLED", "{sub}");
        assert!(
            file_names(&node_dir(&store, "fresh", n).join("manifests")).is_empty(),
            "{}",
            n.ip
        );
    }
    assert!(file_names(&store.join("fresh/topology")).is_empty());

    // A peer's sidecar killed while its node uploads.
    let accepted = submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "broken",
                "storageLocation": location, "entities": "spark_test.test3",
                "concurrentConnections": 1, "bandwidth": slow}),
    )
    .await;
    let id = accepted["id"].as_str().unwrap().to_string();
    wait_for(coordinator, &id, "127.0.0.3 uploading", |r| {
        r["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["endpoint"] == "127.0.0.3:7000" && n["progress"].as_f64() > Some(0.0))
    })
    .await;
    cluster.kill_sidecar(1).await;
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let tag = full_tag(&record, "broken");
    let dead = node(&record, "127.0.0.3:7000");
    assert_eq!(dead["state"], "FAILED", "{record}");
    let error = dead["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.3") && error.contains("did not answer"),
        "{error}"
    );
    for endpoint in ["127.0.0.2:7000", "127.0.0.4:7000"] {
        assert_eq!(node(&record, endpoint)["state"], "COMPLETED", "{record}");
    }
    let errors = record["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one entry per failed node: {record}");
    assert_eq!(errors[0]["source"], "127.0.0.3:7000");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{record}"
    );
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.3:7000"), "{message}");
    assert!(record.get("topology").is_none(), "{record}");
    assert!(
        !store
            .join("bucket/topology")
            .join(format!("{tag}.json"))
            .exists(),
        "no topology for a failed backup"
    );
    // The nodes that completed have their part, under the same tag.
    for i in [0, 2] {
        let n = &cluster.nodes[i];
        assert!(
            file_names(&node_dir(&store, "bucket", n).join("manifests"))
                .contains(&format!("{tag}.json")),
            "{}",
            n.ip
        );
    }
}
