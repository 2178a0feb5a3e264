//! Cluster-wide requests against a real three-node test cluster (two datacenters) with a real
//! sidecar beside each node: rolling restart one node at a time and one rack at a time, rolling
//! cleanup two at a time,
//! the coordinator SIGKILLed mid-roll and started again, a peer killed mid-way, the `dc` filter,
//! and a peer that refuses the coordinator's token.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::cluster::{
    assert_all_completed, finished, get, millis, node, submit, wait_for, Cluster, SidecarOptions,
    ONE_CLUSTER, RING, ROLL_PATIENCE,
};
use crate::common::{assert_operation, request};

/// Restart goes one node at a time: each node's drain (the first step of its restart, in its own
/// call log) comes after the previous node's restart completed, i.e. after it answered NORMAL
/// again. Also measures the roll against the nodes' own restart times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_goes_one_node_at_a_time() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(
        tmp.path(),
        &["--transition-millis", "100"],
        SidecarOptions::default(),
    )
    .await;
    let pids_before: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| std::fs::read_to_string(&n.pid_file).unwrap())
        .collect();

    let started = std::time::Instant::now();
    let record = roll_restart(&cluster, json!({"type": "restart", "globalRequest": true})).await;
    let wall = started.elapsed();

    // Each node was drained once and runs in a new process.
    let mut windows = Vec::new();
    let mut node_time_ms = 0;
    let mut floor_ms = 0;
    let restarts = restarts(&cluster, &record).await;
    for (i, (n, (drained_at, sub))) in cluster.nodes.iter().zip(restarts).enumerate() {
        assert_ne!(
            std::fs::read_to_string(&n.pid_file).unwrap_or_default(),
            pids_before[i],
            "{} restarted",
            n.ip
        );
        let back_at = millis(&sub["completionTime"]);
        node_time_ms += back_at - millis(&sub["startTime"]);
        // The new process writes its pid file once it serves: drain to ready is the node's own
        // share, the rest of the roll is the sidecars' (polls, HTTP, the coordinator's checks).
        let ready_at = std::fs::metadata(&n.pid_file)
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        floor_ms += ready_at - drained_at;
        windows.push((drained_at, back_at, n.ip));
    }
    windows.sort();
    for pair in windows.windows(2) {
        assert!(
            pair[1].0 > pair[0].1,
            "{} went down at {} before {} was back at {}",
            pair[1].2,
            pair[1].0,
            pair[0].2,
            pair[0].1
        );
    }
    let roll_ms = millis(&record["completionTime"]) - millis(&record["startTime"]);
    let n = RING.len() as i64;
    println!(
        "rolling restart of {n} nodes: {:.2} s from submit to COMPLETED ({roll_ms} ms in the \
         coordinator's record); the nodes' restart operations took {node_time_ms} ms in all, so \
         coordination costs {} ms ({:.0} ms per node); the nodes themselves (drain call to the \
         new process ready) took {floor_ms} ms, so all sidecar overhead is {} ms ({:.1}% of the \
         roll, {:.0} ms per node)",
        wall.as_secs_f64(),
        roll_ms - node_time_ms,
        (roll_ms - node_time_ms) as f64 / n as f64,
        roll_ms - floor_ms,
        100.0 * (roll_ms - floor_ms) as f64 / roll_ms as f64,
        (roll_ms - floor_ms) as f64 / n as f64,
    );
}

/// Restart one rack at a time: the two nodes of dc1's rack r1 restart together (each went down
/// before the other was back), and dc2's node only once both were back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_by_rack_restarts_a_rack_together_and_racks_in_turn() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(
        tmp.path(),
        &["--transition-millis", "300"],
        SidecarOptions::default(),
    )
    .await;
    let record = roll_restart(
        &cluster,
        json!({"type": "restart", "globalRequest": true, "concurrency": "rack"}),
    )
    .await;
    assert_eq!(record["concurrency"], "rack", "{record}");

    // (went down, back) of each node: its drain call, its restart operation's completion.
    let windows: Vec<(i64, i64)> = restarts(&cluster, &record)
        .await
        .into_iter()
        .map(|(drained_at, sub)| (drained_at, millis(&sub["completionTime"])))
        .collect();
    let (a, b, c) = (windows[0], windows[1], windows[2]);
    assert_eq!((cluster.nodes[0].rack, cluster.nodes[1].rack), ("r1", "r1"));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "one rack restarts together: {a:?} {b:?}"
    );
    assert!(
        c.0 > a.1 && c.0 > b.1,
        "the next rack waits for the first: {c:?} after {a:?} {b:?}"
    );
}

/// Sends a cluster-wide restart to the first node's sidecar and waits until every node
/// completed it.
async fn roll_restart(cluster: &Cluster, body: Value) -> Value {
    let coordinator = cluster.sidecar(0).addr;
    let accepted = submit(coordinator, &body).await;
    assert_operation(&accepted);
    let record = finished(coordinator, accepted["id"].as_str().unwrap()).await;
    assert_all_completed(cluster, &record).await;
    record
}

/// Each node's drain time (the first step of its restart, from its own call log, where it
/// stands once) and its restart operation as its own sidecar holds it.
async fn restarts(cluster: &Cluster, record: &Value) -> Vec<(i64, Value)> {
    let mut found = Vec::new();
    for (i, n) in cluster.nodes.iter().enumerate() {
        let drains = n.calls("drain");
        assert_eq!(drains.len(), 1, "{} drained once: {drains:?}", n.ip);
        let shown = node(record, &n.endpoint());
        let sub = get(
            cluster.sidecar(i).addr,
            shown["operationId"].as_str().unwrap(),
        )
        .await;
        found.push((drains[0]["at"].as_i64().expect("call time"), sub));
    }
    found
}

/// Cleanup with `concurrency: 2` (two nodes at once, the third when one is done); the `dc`
/// filter; decommission refused; a peer whose sidecar does not accept the coordinator's token
/// fails with an error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_cleanup_dc_filter_and_a_peer_with_a_wrong_token() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let good = "cluster-token-7b1f";
    let tokens = |token: &str| {
        let path = tmp.path().join(format!("tokens-{token}"));
        std::fs::write(
            &path,
            format!("ops operate {}\n", daedalus::http::auth::hash_token(token)),
        )
        .unwrap();
        path.display().to_string()
    };
    let (good_file, other_file) = (tokens(good), tokens("another-token"));
    let peer_token = tmp.path().join("peer-token");
    std::fs::write(&peer_token, format!("{good}\n")).unwrap();
    let cluster = Cluster::start(
        tmp.path(),
        &["--compaction-millis", "1500"],
        SidecarOptions {
            extra: vec![
                "--peer-token-file".into(),
                peer_token.display().to_string(),
                "--peer-timeout".into(),
                "3s".into(),
            ],
            per_node: [
                vec!["--auth-tokens".into(), good_file.clone()],
                vec!["--auth-tokens".into(), good_file.clone()],
                vec!["--auth-tokens".into(), good_file.clone()],
            ],
        },
    )
    .await;
    let http = testkit::http_client();
    let coordinator = cluster.sidecar(0).addr;
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r = http
            .request(method, format!("http://{coordinator}{path}"))
            .bearer_auth(good);
        if let Some(body) = body {
            r = r.json(&body);
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let run = |body: Value| {
        let call = &call;
        async move {
            let (status, accepted) =
                call(reqwest::Method::POST, "/operations".into(), Some(body)).await;
            assert_eq!(status, 201, "{accepted}");
            let id = accepted["id"].as_str().unwrap().to_string();
            let deadline = tokio::time::Instant::now() + ROLL_PATIENCE;
            loop {
                let (_, r) = call(reqwest::Method::GET, format!("/operations/{id}"), None).await;
                if matches!(
                    r["state"].as_str(),
                    Some("COMPLETED" | "FAILED" | "CANCELLED")
                ) {
                    return r;
                }
                assert!(tokio::time::Instant::now() < deadline, "{r}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // Two at a time: the first two cleanups overlap, the third starts once one of them ended.
    let record = run(json!({"type": "cleanup", "keyspace": "spark_test",
                            "globalRequest": true, "concurrency": 2}))
    .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["concurrency"], 2);
    let mut starts: Vec<i64> = cluster
        .nodes
        .iter()
        .map(|n| {
            let calls = n.calls("forceKeyspaceCleanup");
            assert_eq!(calls.len(), 1, "{}: {calls:?}", n.ip);
            calls[0]["at"].as_i64().unwrap()
        })
        .collect();
    starts.sort();
    assert!(
        starts[1] - starts[0] < 1500,
        "the first two ran at once: {starts:?}"
    );
    assert!(
        starts[2] - starts[0] >= 1500,
        "the third waited for one of them: {starts:?}"
    );

    // The dc filter: only 127.0.0.4 is in dc2.
    let record = run(json!({"type": "flush", "keyspace": "spark_test",
                            "globalRequest": true, "dc": "dc2"}))
    .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let nodes = record["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{record}");
    assert_eq!(nodes[0]["endpoint"], "127.0.0.4:7000");
    assert_eq!(nodes[0]["dc"], "dc2");
    let flushes: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|n| n.calls("forceKeyspaceFlush").len())
        .collect();
    assert_eq!(flushes, vec![0, 0, 1]);
    let record = run(json!({"type": "flush", "keyspace": "spark_test",
                            "globalRequest": true, "dc": "dc9"}))
    .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert!(
        record["failureCause"]["message"]
            .as_str()
            .unwrap()
            .contains("dc9"),
        "{record}"
    );

    // A node whose operation outlives the request's timeout: FAILED naming it, cancel asked,
    // and the roll stops there.
    let record = run(json!({"type": "cleanup", "keyspace": "spark_test",
                            "globalRequest": true, "timeout": "300ms"}))
    .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let slow = node(&record, "127.0.0.2:7000");
    let error = slow["error"].as_str().unwrap();
    assert!(
        error.contains("timeout") && error.contains("127.0.0.2"),
        "{error}"
    );
    assert_eq!(
        node(&record, "127.0.0.3:7000")["state"],
        "NOT_RUN",
        "{record}"
    );
    assert_eq!(
        node(&record, "127.0.0.4:7000")["state"],
        "NOT_RUN",
        "{record}"
    );

    // Never cluster-wide.
    let (status, refused) = call(
        reqwest::Method::POST,
        "/operations".into(),
        Some(json!({"type": "decommission", "globalRequest": true})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["field"], "globalRequest", "{refused}");

    // 127.0.0.3's sidecar only knows another token now.
    let mut cluster = cluster;
    cluster.kill_sidecar(1).await;
    cluster.options_mut().per_node[1] = vec!["--auth-tokens".into(), other_file];
    let restarted = cluster.start_sidecar(1).await;
    cluster.sidecars[1] = Some(restarted);
    let record = run(json!({"type": "flush", "keyspace": "spark_test",
                            "globalRequest": true, "dc": "dc1"}))
    .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let refused = node(&record, "127.0.0.3:7000");
    assert_eq!(refused["state"], "FAILED", "{record}");
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.3") && error.contains("401"),
        "{error}"
    );
    assert_eq!(node(&record, "127.0.0.2:7000")["state"], "COMPLETED");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.3:7000"), "{message}");
}

/// The coordinator SIGKILLed while the second node runs its step, then started again on the
/// same journal: the roll carries on and every node ran its cleanup exactly once; the same with
/// SIGTERM (nothing new starts while the sidecar stops). Then a cancel
/// mid-roll (CANCELLED, no further node starts), and a peer's sidecar killed while its node runs:
/// FAILED naming it, the node before COMPLETED, the one after NOT_RUN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_coordinator_resumes_a_cancel_stops_and_a_killed_peer_fails_by_name() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(
        tmp.path(),
        &["--compaction-millis", "2000"],
        SidecarOptions {
            extra: vec![
                "--peer-timeout".into(),
                "2s".into(),
                "--shutdown-grace".into(),
                "1s".into(),
            ],
            ..SidecarOptions::default()
        },
    )
    .await;
    let coordinator = cluster.sidecar(0).addr;
    let body = json!({"type": "cleanup", "keyspace": "spark_test", "globalRequest": true});
    let accepted = submit(coordinator, &body).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let mid = wait_for(coordinator, &id, "the second node running", |r| {
        r["nodes"][1]["state"] == "RUNNING"
    })
    .await;
    assert_eq!(mid["nodes"][0]["state"], "COMPLETED", "{mid}");
    assert_eq!(mid["nodes"][2]["state"], "PENDING", "{mid}");
    assert!(mid["progress"].as_f64().unwrap() >= 1.0 / 3.0, "{mid}");
    cluster.kill_sidecar(0).await;
    let restarted = cluster.start_sidecar(0).await;
    cluster.sidecars[0] = Some(restarted);
    let record = finished(coordinator, &id).await;
    assert_all_completed(&cluster, &record).await;
    for n in &cluster.nodes {
        assert_eq!(
            n.calls("forceKeyspaceCleanup").len(),
            1,
            "{} cleaned up exactly once",
            n.ip
        );
    }
    assert_eq!(
        node(&record, "127.0.0.3:7000")["operationId"],
        mid["nodes"][1]["operationId"],
        "the same sub-operation was followed after the restart"
    );

    // SIGTERM mid-roll: no new node starts while the sidecar stops; started again, it carries on.
    let accepted = submit(coordinator, &body).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    wait_for(coordinator, &id, "the second node running", |r| {
        r["nodes"][1]["state"] == "RUNNING"
    })
    .await;
    let mut stopping = cluster.sidecars[0].take().unwrap();
    let pid = stopping.child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(30), stopping.child.wait())
        .await
        .expect("the sidecar stops within its grace period and the drain bound")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        cluster.nodes[2].calls("forceKeyspaceCleanup").len(),
        1,
        "nothing new started while stopping"
    );
    let restarted = cluster.start_sidecar(0).await;
    cluster.sidecars[0] = Some(restarted);
    let record = finished(coordinator, &id).await;
    assert_all_completed(&cluster, &record).await;
    let cleanups: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|n| n.calls("forceKeyspaceCleanup").len())
        .collect();
    assert_eq!(cleanups, vec![2, 2, 2], "each node once more");

    // A cancel stops the roll: the node at work ends with its call's outcome, no other starts.
    let accepted = submit(coordinator, &body).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    wait_for(coordinator, &id, "the first node running", |r| {
        r["nodes"][0]["state"] == "RUNNING"
    })
    .await;
    let cancel = request(coordinator, "DELETE", &format!("/operations/{id}"), None).await;
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "CANCELLED", "{record}");
    assert!(
        matches!(
            record["nodes"][0]["state"].as_str(),
            Some("COMPLETED" | "CANCELLED")
        ),
        "{record}"
    );
    assert_eq!(record["nodes"][1]["state"], "NOT_RUN", "{record}");
    assert_eq!(record["nodes"][2]["state"], "NOT_RUN", "{record}");
    let cleanups: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|n| n.calls("forceKeyspaceCleanup").len())
        .collect();
    // The first node's operation may have been cancelled before its call (still PENDING there).
    let first = if record["nodes"][0]["state"] == "COMPLETED" {
        3
    } else {
        2
    };
    assert_eq!(
        cleanups,
        vec![first, 2, 2],
        "only the first node ran again: {record}"
    );

    // A peer that dies while its node works.
    let accepted = submit(coordinator, &body).await;
    let id = accepted["id"].as_str().unwrap().to_string();
    wait_for(coordinator, &id, "the second node running", |r| {
        r["nodes"][1]["state"] == "RUNNING"
    })
    .await;
    cluster.kill_sidecar(1).await;
    let record = finished(coordinator, &id).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let dead = node(&record, "127.0.0.3:7000");
    assert_eq!(dead["state"], "FAILED", "{record}");
    let error = dead["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.3") && error.contains("did not answer"),
        "{error}"
    );
    assert_eq!(node(&record, "127.0.0.2:7000")["state"], "COMPLETED");
    assert_eq!(node(&record, "127.0.0.4:7000")["state"], "NOT_RUN");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.3:7000") && message.contains("not run on: 127.0.0.4:7000"),
        "{message}"
    );
    assert_eq!(
        cluster.nodes[2].calls("forceKeyspaceCleanup").len(),
        2,
        "untouched"
    );
}

/// Sidecars serving HTTPS: the coordinator reaches its peers over TLS on its own port without
/// being told the scheme (`--peer-ca` trusts the test CA).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_are_reached_over_tls_when_the_sidecars_serve_it() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let ips: Vec<String> = RING.iter().map(|r| r.0.to_string()).collect();
    let cert = rcgen::CertificateParams::new(ips)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let cluster = Cluster::start(
        tmp.path(),
        &[],
        SidecarOptions {
            extra: vec![
                "--tls-cert".into(),
                cert_file.display().to_string(),
                "--tls-key".into(),
                key_file.display().to_string(),
                "--peer-ca".into(),
                cert_file.display().to_string(),
            ],
            ..SidecarOptions::default()
        },
    )
    .await;
    let http = testkit::http_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let base = format!("https://{}", cluster.sidecar(0).addr);
    let accepted: Value = http
        .post(format!("{base}/operations"))
        .json(&json!({"type": "flush", "keyspace": "spark_test", "globalRequest": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = accepted["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{accepted}"));
    let deadline = tokio::time::Instant::now() + ROLL_PATIENCE;
    let record = loop {
        let r: Value = http
            .get(format!("{base}/operations/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if matches!(r["state"].as_str(), Some("COMPLETED" | "FAILED")) {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["nodes"].as_array().unwrap().len(), RING.len());
    for n in &cluster.nodes {
        assert_eq!(n.calls("forceKeyspaceFlush").len(), 1, "{}", n.ip);
    }
}
