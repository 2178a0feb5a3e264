//! Global restore over a real three-node test cluster (two datacenters), each node with its own
//! sidecar: per-node backups of one tag restored with one global request (file:// and the local
//! S3 server), checked by the SHA-256 of every node's live SSTables and by the nodes' call logs
//! (TRUNCATE on exactly one node, no IMPORT before every DOWNLOAD ended); a peer's sidecar
//! killed during DOWNLOAD; the coordinator SIGKILLed mid-restore and started again; a
//! cluster-wide backup restored globally and on one node alone.
//!
//! The test nodes truncate on their own node only (a real truncate reaches the whole cluster):
//! each test makes the nodes lose their data first, so that IMPORT alone must bring it back.
//! Every node downloads into `/proc/self/cwd/restore-src`, a directory of its own, as `/tmp`
//! is on a machine of its own.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use testkit::storage::Server;

use crate::backup_servers::mount_secret;
use crate::common::cluster::{
    finished, get, millis, node, submit, wait_for, Cluster, ClusterNode, SidecarOptions,
    ONE_CLUSTER, RING,
};
use crate::common::testnode::jmx_handle;
use crate::common::{copy_fixture, NB_SETS};

const KS: &str = "spark_test";
const TABLE: &str = "test3";
const SOURCE_DIR: &str = "/proc/self/cwd/restore-src";
const CLUSTER: &str = "grestore";

/// A node's own location under the bucket `backups` in `dir` (file:// locations always name
/// the node).
fn file_location(dir: &Path, n: &ClusterNode) -> String {
    format!(
        "file://{}/backups/{CLUSTER}/{}/{}",
        dir.display(),
        n.dc,
        n.host_id
    )
}

/// A cluster whose nodes serve the same seeded `spark_test.test3`, with `extra` sidecar flags.
async fn seeded_cluster(dir: &Path, extra: Vec<String>) -> Cluster {
    let seed = copy_fixture(NB_SETS, dir);
    let seed_flag = format!("{KS}.{TABLE}={}", seed.display());
    Cluster::start(
        dir,
        &["--seed", &seed_flag, "--cluster-name", CLUSTER],
        SidecarOptions {
            extra,
            ..SidecarOptions::default()
        },
    )
    .await
}

async fn live(cluster: &Cluster) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for n in &cluster.nodes {
        all.push(n.live_hashes(cluster.jmx_port, KS, TABLE).await);
    }
    all
}

/// Runs `body` on the sidecar at `addr` to its end.
async fn run(addr: SocketAddr, body: &Value) -> Value {
    let accepted = submit(addr, body).await;
    finished(addr, accepted["id"].as_str().unwrap()).await
}

/// Each node backs itself up (non-global requests, one tag) to `location(node)`.
async fn back_up_each_node(
    cluster: &Cluster,
    location: impl Fn(&ClusterNode) -> String,
    secret: bool,
) {
    for (i, n) in cluster.nodes.iter().enumerate() {
        let location = location(n);
        let mut body = json!({"type": "backup", "storageLocation": location,
                              "snapshotTag": "snap1", "entities": format!("{KS}.{TABLE}"),
                              "createMissingBucket": true});
        if secret {
            with_secret(&mut body);
        }
        let record = run(cluster.sidecar(i).addr, &body).await;
        assert_eq!(record["state"], "COMPLETED", "{record}");
    }
}

fn with_secret(body: &mut Value) {
    body["k8sSecretName"] = json!("creds");
    body["k8sNamespace"] = json!("default");
}

/// The seeded cluster, its sidecars given the local S3 server's credentials as a mounted
/// secret (the server is kept running by the returned handle).
async fn cluster_with_s3(dir: &Path) -> (Server, Cluster) {
    let s3 = Server::s3();
    let secrets = dir.join("secrets");
    mount_secret(&s3, &secrets);
    let cluster = seeded_cluster(
        dir,
        vec![
            "--peer-timeout".into(),
            "3s".into(),
            "--backup-secrets-dir".into(),
            secrets.display().to_string(),
        ],
    )
    .await;
    (s3, cluster)
}

/// Every node ran each phase exactly once, the first node of the plan also TRUNCATE.
async fn assert_each_phase_ran_once(cluster: &Cluster, why: &str) {
    let all = ["CLEANUP", "DOWNLOAD", "IMPORT", "INIT"]
        .map(String::from)
        .to_vec();
    let mut with_truncate = all.clone();
    with_truncate.push("TRUNCATE".into());
    assert_eq!(
        phases_run(cluster).await,
        vec![with_truncate, all.clone(), all],
        "{why}"
    );
}

/// Every node loses its data of the table (its own truncate; see the module's comment).
async fn lose_data(cluster: &Cluster) {
    for n in &cluster.nodes {
        lose_node_data(cluster, n).await;
    }
}

async fn lose_node_data(cluster: &Cluster, n: &ClusterNode) {
    let handle = jmx_handle(
        &format!("{}:{}", n.ip, cluster.jmx_port),
        Duration::from_secs(10),
        None,
    );
    handle
        .read(|node| async move { node.truncate(KS, TABLE).await })
        .await
        .expect("truncate");
    assert!(n.live_hashes(cluster.jmx_port, KS, TABLE).await.is_empty());
}

fn global_restore(location: &str, strategy: &str) -> Value {
    json!({"type": "restore", "storageLocation": location, "snapshotTag": "snap1",
           "restorationStrategyType": strategy, "restorationPhase": "INIT",
           "globalRequest": true, "entities": format!("{KS}.{TABLE}"),
           "import": {"type": "import", "sourceDir": SOURCE_DIR},
           "concurrentConnections": 1})
}

/// How many calls of each of `operations` every node logged so far.
fn counts(cluster: &Cluster, operation: &str) -> Vec<usize> {
    cluster
        .nodes
        .iter()
        .map(|n| n.calls(operation).len())
        .collect()
}

/// A node's sub-operation of `phase`, as its record shows it.
fn phase_of<'a>(shown: &'a Value, phase: &str) -> &'a Value {
    shown["phases"]
        .as_array()
        .unwrap_or_else(|| panic!("no phases in {shown}"))
        .iter()
        .find(|p| p["phase"] == phase)
        .unwrap_or_else(|| panic!("no phase {phase} in {shown}"))
}

/// The restore sub-operations each node's sidecar ran, by phase (the coordinator's own record
/// left out).
async fn phases_run(cluster: &Cluster) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for i in 0..RING.len() {
        let list = crate::common::request(cluster.sidecar(i).addr, "GET", "/operations", None)
            .await
            .body;
        let mut phases: Vec<String> = list
            .as_array()
            .unwrap_or_else(|| panic!("{list}"))
            .iter()
            .filter(|r| r["type"] == "restore" && r["globalRequest"] != true)
            .map(|r| {
                r["restorationPhase"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        phases.sort();
        all.push(phases);
    }
    all
}

/// Runs the global restore `body` through `coordinator` and checks it brought back `expected`,
/// `import_call` being the node call that loads the files (IMPORT or HARDLINKS).
async fn restore_and_check(
    cluster: &Cluster,
    coordinator: SocketAddr,
    body: &Value,
    expected: &[Vec<String>],
    import_call: &str,
) {
    let (truncates, imports) = (counts(cluster, "truncate"), counts(cluster, import_call));
    let record = run(coordinator, body).await;
    assert_restored(
        cluster,
        &record,
        expected,
        &truncates,
        import_call,
        &imports,
    )
    .await;
}

/// A completed global restore: every node ran every phase (TRUNCATE on the first node only),
/// each with its own backup, no IMPORT before the last DOWNLOAD ended, and every node serves
/// its backed-up bytes again.
async fn assert_restored(
    cluster: &Cluster,
    record: &Value,
    expected: &[Vec<String>],
    truncates_before: &[usize],
    import_call: &str,
    imports_before: &[usize],
) {
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["progress"], 1.0, "{record}");
    assert_eq!(record["phase"], "CLEANUP", "{record}");
    let truncates: Vec<usize> = counts(cluster, "truncate")
        .iter()
        .zip(truncates_before)
        .map(|(now, before)| now - before)
        .collect();
    assert_eq!(truncates, vec![1, 0, 0], "TRUNCATE ran on one node only");
    let imports: Vec<usize> = counts(cluster, import_call)
        .iter()
        .zip(imports_before)
        .map(|(now, before)| now - before)
        .collect();
    assert_eq!(imports, vec![1, 1, 1], "{import_call} once per node");

    let mut last_download_end = 0;
    for (i, n) in cluster.nodes.iter().enumerate() {
        let shown = node(record, &n.endpoint());
        assert_eq!(shown["state"], "COMPLETED", "{shown}");
        assert_eq!(shown["hostId"], n.host_id);
        assert_eq!(shown["dc"], n.dc);
        assert_eq!(shown["progress"], 1.0, "{shown}");
        let download = phase_of(shown, "DOWNLOAD");
        let sub = get(
            cluster.sidecar(i).addr,
            download["operationId"].as_str().unwrap(),
        )
        .await;
        assert_eq!(sub["state"], "COMPLETED", "{sub}");
        assert_eq!(sub["restorationPhase"], "DOWNLOAD", "{sub}");
        assert!(sub.get("globalRequest").is_none_or(|g| g == false), "{sub}");
        let location = sub["storageLocation"].as_str().unwrap();
        assert!(
            location.ends_with(&format!("/{}/{}", n.dc, n.host_id)),
            "each node restores its own backup: {location}"
        );
        last_download_end = last_download_end.max(millis(&sub["completionTime"]));
        assert!(
            !n.home().join("restore-src").exists(),
            "CLEANUP removed {}'s downloads",
            n.ip
        );
    }
    for n in &cluster.nodes {
        let call = n.calls(import_call).last().cloned().unwrap();
        let at = call["at"].as_i64().unwrap();
        assert!(
            at >= last_download_end,
            "{} imported at {at}, before the last DOWNLOAD ended at {last_download_end}",
            n.ip
        );
    }
    assert_eq!(
        live(cluster).await,
        expected,
        "every node serves its backed-up bytes"
    );
    report_timing(cluster, record).await;
}

/// Prints how long the restore took against its critical path: for each phase, the longest
/// of its nodes' own operations (start to completion on their sidecars); the rest is the
/// coordination's (polling, HTTP, journal writes).
async fn report_timing(cluster: &Cluster, record: &Value) {
    let total = millis(&record["completionTime"]) - millis(&record["startTime"]);
    let mut critical = 0;
    let mut per_phase = Vec::new();
    for phase in ["INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"] {
        let mut longest = 0;
        for (i, n) in cluster.nodes.iter().enumerate() {
            let shown = node(record, &n.endpoint());
            let Some(step) = shown["phases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["phase"] == phase)
            else {
                continue;
            };
            let sub = get(
                cluster.sidecar(i).addr,
                step["operationId"].as_str().unwrap(),
            )
            .await;
            longest = longest.max(millis(&sub["completionTime"]) - millis(&sub["startTime"]));
        }
        critical += longest;
        per_phase.push(format!("{phase} {longest} ms"));
    }
    println!(
        "global restore of {} nodes: {total} ms in the coordinator's record; the nodes' own \
         operations on the critical path: {critical} ms ({}); coordination: {} ms ({:.0}%)",
        cluster.nodes.len(),
        per_phase.join(", "),
        total - critical,
        100.0 * (total - critical) as f64 / total.max(1) as f64
    );
}

/// Per-node backups with one tag, taken by each node's sidecar, restored by one global request
/// sent to one sidecar: from file:// with IMPORT, then from the local S3 server with HARDLINKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_restore_brings_back_every_nodes_own_backup() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let (_s3, cluster) = cluster_with_s3(tmp.path()).await;
    let before = live(&cluster).await;
    assert!(before.iter().all(|h| h.len() == 16), "seeded: {before:?}");
    back_up_each_node(&cluster, |n| file_location(tmp.path(), n), false).await;
    back_up_each_node(&cluster, |_| "s3://grestore".to_string(), true).await;
    // Each node gets the location with its own cluster, dc and host id in place of these.
    let file_location = format!("file://{}/backups/any/any/any", tmp.path().display());
    let coordinator = cluster.sidecar(0).addr;

    lose_data(&cluster).await;
    let body = global_restore(&file_location, "IMPORT");
    restore_and_check(&cluster, coordinator, &body, &before, "importNewSSTables").await;
    assert_each_phase_ran_once(&cluster, "each node ran each phase once").await;

    lose_data(&cluster).await;
    let mut body = global_restore("s3://grestore", "HARDLINKS");
    with_secret(&mut body);
    restore_and_check(&cluster, coordinator, &body, &before, "loadNewSSTables").await;

    // IN_PLACE needs its node stopped: refused cluster-wide, naming the field.
    let refused = crate::common::request(
        coordinator,
        "POST",
        "/operations",
        Some(
            json!({"type": "restore", "storageLocation": file_location, "snapshotTag": "snap1",
                   "globalRequest": true})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["field"], "globalRequest", "{}", refused.body);
}

/// One node's sidecar killed while its node downloads: the restore stops after DOWNLOAD,
/// FAILED naming that node (in `failureCause`, `errors` and `nodes`), and no node imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_killed_during_download_fails_the_restore_by_name_before_any_import() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = seeded_cluster(tmp.path(), vec!["--peer-timeout".into(), "2s".into()]).await;
    back_up_each_node(&cluster, |n| file_location(tmp.path(), n), false).await;
    let location = file_location(tmp.path(), &cluster.nodes[0]);
    lose_data(&cluster).await;
    // 127.0.0.3's DOWNLOAD waits on its token check until the fault is cleared.
    let faults = crate::common::testnode::FAULTS;
    let slow = jmx::JmxClient::connect(jmx::JmxConfig::new("127.0.0.3", cluster.jmx_port))
        .await
        .unwrap();
    slow.invoke(
        faults,
        "hang",
        &[jmx::Value::String("Tokens".into())],
        &["java.lang.String"],
    )
    .await
    .unwrap();

    let coordinator = cluster.sidecar(0).addr;
    let accepted = submit(coordinator, &global_restore(&location, "IMPORT")).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let mid = wait_for(coordinator, &id, "127.0.0.3 downloading", |r| {
        r["phase"] == "DOWNLOAD"
            && r["nodes"][1]["phase"] == "DOWNLOAD"
            && r["nodes"][1]["state"] == "RUNNING"
    })
    .await;
    assert_eq!(mid["nodes"][1]["endpoint"], "127.0.0.3:7000", "{mid}");
    cluster.kill_sidecar(1).await;
    let record = finished(coordinator, &id).await;
    slow.invoke(faults, "clear", &[], &[]).await.unwrap();

    assert_eq!(record["state"], "FAILED", "{record}");
    assert_eq!(record["phase"], "DOWNLOAD", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains("phase DOWNLOAD")
            && message.contains("127.0.0.3:7000")
            && message.contains("did not answer")
            && message.contains("phases not run: TRUNCATE, IMPORT, CLEANUP"),
        "{message}"
    );
    let errors = record["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one entry per failed node: {record}");
    assert_eq!(errors[0]["source"], "127.0.0.3:7000");
    let dead = node(&record, "127.0.0.3:7000");
    assert_eq!(dead["state"], "FAILED", "{dead}");
    assert!(
        dead["error"]
            .as_str()
            .unwrap()
            .starts_with("phase DOWNLOAD: "),
        "{dead}"
    );
    for endpoint in ["127.0.0.2:7000", "127.0.0.4:7000"] {
        let shown = node(&record, endpoint);
        assert_eq!(shown["phase"], "DOWNLOAD", "{shown}");
        assert_eq!(shown["state"], "COMPLETED", "{shown}");
        assert_eq!(phase_of(shown, "IMPORT")["state"], "NOT_RUN", "{shown}");
    }
    assert_eq!(
        counts(&cluster, "importNewSSTables"),
        vec![0, 0, 0],
        "no IMPORT anywhere"
    );
    assert_eq!(
        counts(&cluster, "truncate"),
        vec![1, 1, 1],
        "only lose_data's"
    );
}

/// The coordinator SIGKILLed while two nodes still download (its own node's DOWNLOAD done),
/// then started again on the same journal: it follows the same sub-operations, carries on with
/// TRUNCATE, IMPORT and CLEANUP, and no node ran a phase twice. Then a cancel mid-DOWNLOAD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_coordinator_resumes_the_restore_without_running_a_phase_twice() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = seeded_cluster(tmp.path(), vec!["--peer-timeout".into(), "5s".into()]).await;
    let before = live(&cluster).await;
    back_up_each_node(&cluster, |n| file_location(tmp.path(), n), false).await;
    let location = file_location(tmp.path(), &cluster.nodes[0]);
    lose_data(&cluster).await;
    let (truncates, imports) = (
        counts(&cluster, "truncate"),
        counts(&cluster, "importNewSSTables"),
    );
    let faults = crate::common::testnode::FAULTS;
    for ip in ["127.0.0.3", "127.0.0.4"] {
        let client = jmx::JmxClient::connect(jmx::JmxConfig::new(ip, cluster.jmx_port))
            .await
            .unwrap();
        client
            .invoke(
                faults,
                "delay",
                &[jmx::Value::String("Tokens".into()), jmx::Value::Long(4000)],
                &["java.lang.String", "long"],
            )
            .await
            .unwrap();
        let _ = client.close().await;
    }

    let coordinator = cluster.sidecar(0).addr;
    let accepted = submit(coordinator, &global_restore(&location, "IMPORT")).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let mid = wait_for(coordinator, &id, "the others still downloading", |r| {
        r["phase"] == "DOWNLOAD"
            && r["nodes"][0]["phase"] == "DOWNLOAD"
            && r["nodes"][0]["state"] == "COMPLETED"
            && r["nodes"][1]["state"] == "RUNNING"
            && r["nodes"][2]["state"] == "RUNNING"
    })
    .await;
    cluster.kill_sidecar(0).await;
    let restarted = cluster.start_sidecar(0).await;
    cluster.sidecars[0] = Some(restarted);
    let record = finished(coordinator, &id).await;
    assert_restored(
        &cluster,
        &record,
        &before,
        &truncates,
        "importNewSSTables",
        &imports,
    )
    .await;
    for (i, n) in cluster.nodes.iter().enumerate() {
        assert_eq!(
            phase_of(node(&record, &n.endpoint()), "DOWNLOAD")["operationId"],
            mid["nodes"][i]["operationId"],
            "{}: the same DOWNLOAD was followed after the restart",
            n.ip
        );
    }
    assert_each_phase_ran_once(&cluster, "no node ran a phase twice").await;

    // A cancel while two nodes still download (their token reads still take 4 s): the phase
    // under way is cancelled on the nodes, no later phase runs anywhere.
    let imports = counts(&cluster, "importNewSSTables");
    let accepted = submit(coordinator, &global_restore(&location, "IMPORT")).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    wait_for(coordinator, &id, "the others still downloading", |r| {
        r["phase"] == "DOWNLOAD" && r["nodes"][1]["state"] == "RUNNING"
    })
    .await;
    let cancel =
        crate::common::request(coordinator, "DELETE", &format!("/operations/{id}"), None).await;
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "CANCELLED", "{record}");
    for n in &cluster.nodes {
        let shown = node(&record, &n.endpoint());
        assert_eq!(phase_of(shown, "IMPORT")["state"], "NOT_RUN", "{shown}");
    }
    assert_eq!(counts(&cluster, "importNewSSTables"), imports, "no import");
}

/// icarus#3 both ways round a cluster-wide backup: restored by a global restore, then on one
/// node alone by ordinary non-global requests, phase by phase, with that node's own location;
/// then a cluster-wide backup to the local S3 server restored cluster-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_backup_restores_globally_and_on_one_node_alone() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let (_s3, cluster) = cluster_with_s3(tmp.path()).await;
    let before = live(&cluster).await;
    let coordinator = cluster.sidecar(0).addr;
    let location = format!("file://{}/backups/any/any/any", tmp.path().display());
    let backup = run(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "gsnap",
                "entities": format!("{KS}.{TABLE}"), "storageLocation": location,
                "createMissingBucket": true}),
    )
    .await;
    assert_eq!(backup["state"], "COMPLETED", "{backup}");

    lose_data(&cluster).await;
    let mut body = global_restore(&location, "IMPORT");
    body["snapshotTag"] = json!("gsnap");
    restore_and_check(&cluster, coordinator, &body, &before, "importNewSSTables").await;

    // 127.0.0.4 alone: its own part of the cluster-wide backup, phase after phase.
    let alone = &cluster.nodes[2];
    lose_node_data(&cluster, alone).await;
    let imports = counts(&cluster, "importNewSSTables");
    for phase in ["INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"] {
        let mut body = global_restore(&file_location(tmp.path(), alone), "IMPORT");
        body["globalRequest"] = json!(false);
        body["snapshotTag"] = json!("gsnap");
        body["restorationPhase"] = json!(phase);
        let record = run(cluster.sidecar(2).addr, &body).await;
        assert_eq!(record["state"], "COMPLETED", "{phase}: {record}");
        assert_eq!(record["phase"], phase, "{record}");
        assert!(record.get("nodes").is_none(), "not coordinated: {record}");
    }
    let after = counts(&cluster, "importNewSSTables");
    assert_eq!(
        (
            after[0] - imports[0],
            after[1] - imports[1],
            after[2] - imports[2]
        ),
        (0, 0, 1),
        "only 127.0.0.4 imported"
    );
    assert_eq!(live(&cluster).await, before);

    // The same round trip through the local S3 server: backed up and restored cluster-wide.
    let mut body = json!({"type": "backup", "globalRequest": true, "snapshotTag": "s3snap",
        "entities": format!("{KS}.{TABLE}"), "storageLocation": "s3://ground-trip",
        "createMissingBucket": true});
    with_secret(&mut body);
    let backup = run(coordinator, &body).await;
    assert_eq!(backup["state"], "COMPLETED", "{backup}");
    lose_data(&cluster).await;
    let mut body = global_restore("s3://ground-trip", "HARDLINKS");
    body["snapshotTag"] = json!("s3snap");
    with_secret(&mut body);
    restore_and_check(&cluster, coordinator, &body, &before, "loadNewSSTables").await;
}
