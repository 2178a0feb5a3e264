//! The read endpoints against the real node answer what nodetool (the same jars, the same node)
//! prints: mode, version, schema version, cluster name, addresses and host ids.

use crate::harness::{shared, Sidecar, SHARED_NODE};

/// The value after `label` on the first line of `text` that has it (`Label: value`).
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|rest| rest.trim_start_matches([' ', ':']).trim())
        .unwrap_or_else(|| panic!("no {label} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_equal_what_nodetool_prints() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let sidecar = Sidecar::start(
        node,
        "127.0.0.1:0",
        &["--cassandra-config", &node.conf_dir().display().to_string()],
    )
    .await;

    let netstats = node.nodetool(&["netstats"]);
    let status = sidecar.get("/status").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["nodeState"], field(&netstats, "Mode"));

    let version = node.nodetool(&["version"]);
    let cassandra = sidecar.get("/version/cassandra").await.body;
    assert_eq!(cassandra["version"], field(&version, "ReleaseVersion"));
    let release: Vec<u64> = field(&version, "ReleaseVersion")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(
        [
            &cassandra["major"],
            &cassandra["minor"],
            &cassandra["patch"]
        ],
        [release[0], release[1], release[2]]
            .map(serde_json::Value::from)
            .each_ref()
    );

    let describe = node.nodetool(&["describecluster"]);
    let schema = sidecar.get("/version/schema").await.body;
    let schema_line = describe
        .lines()
        .find(|l| l.contains(": [") && l.contains(&node.options.address))
        .unwrap_or_else(|| panic!("no schema version line in:\n{describe}"));
    assert_eq!(
        schema["schemaVersion"],
        schema_line.trim().split(':').next().unwrap()
    );

    let info = node.nodetool(&["info"]);
    let topology = sidecar.get("/topology").await.body;
    assert_eq!(topology["clusterName"], field(&describe, "Name"));
    let nodes = topology["topology"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{topology}");
    assert_eq!(nodes[0]["nodeId"], field(&info, "ID"));
    assert_eq!(nodes[0]["dc"], field(&info, "Data Center"));
    assert_eq!(nodes[0]["rack"], field(&info, "Rack"));
    assert_eq!(nodes[0]["ipAddress"], node.options.address.as_str());
    let status = node.nodetool(&["status"]);
    let row = status
        .lines()
        .find(|l| l.contains(&node.options.address))
        .unwrap();
    assert!(
        row.starts_with("UN") && row.contains(field(&info, "ID")),
        "{row}"
    );

    let config = sidecar.get("/config").await;
    assert_eq!(config.status, 200, "{:?}", config.body);
    assert_eq!(config.body["cluster_name"], field(&describe, "Name"));
    let ready = sidecar.get("/ready").await.body;
    assert_eq!(ready["status"], "READY", "{ready}");
}
