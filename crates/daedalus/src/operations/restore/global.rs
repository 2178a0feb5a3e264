//! A global restore (`globalRequest: true`, HARDLINKS or IMPORT): this sidecar coordinates it
//! over the cluster, as Icarus does. INIT, DOWNLOAD, TRUNCATE, IMPORT and CLEANUP run one
//! after the other on every node (TRUNCATE on one node only: Cassandra truncates a table on the
//! whole cluster), or the one `restorationPhase` everywhere with `singlePhase`.
//!
//! Owns which phases a global restore runs and what each node is sent: the request made
//! non-global, with the phase set and the storage location naming that node's backup. The run
//! over the cluster belongs to `cluster::phased`. It must not run a phase itself.

use backup::location::NodeFacts;
use backup::request::{RestorationPhase, RestoreRequest};
use serde_json::Value;

use super::super::cluster::phased::{self, Phase, PhasedRequest};
use super::super::cluster::plan::Step;
use super::super::context::{OperationError, RunContext};
use super::super::storage_op;
use super::source::failed;

/// The phases of a global restore without `singlePhase`, in order (CLUSTER_HEALTHCHECK is not
/// one: DOWNLOAD, TRUNCATE and IMPORT check the cluster's health on each node first).
const GLOBAL_PHASES: [RestorationPhase; 5] = [
    RestorationPhase::Init,
    RestorationPhase::Download,
    RestorationPhase::Truncate,
    RestorationPhase::Import,
    RestorationPhase::Cleanup,
];

/// The phases the coordinator runs over the cluster for `request`.
pub fn phases(request: &RestoreRequest) -> Vec<RestorationPhase> {
    match request.restoration_phase {
        Some(phase) if request.single_phase => vec![phase],
        _ => GLOBAL_PHASES.to_vec(),
    }
}

pub async fn run(request: &RestoreRequest, ctx: &RunContext) -> Result<(), OperationError> {
    let location = request
        .common
        .location()
        .map_err(|e| failed(format!("storageLocation: {}", e.reason)))?;
    // Each node's location names its own backup, as Icarus rewrites it: the live cluster's
    // name, the node's datacenter and host id in place of whatever the location named (a
    // cluster-wide backup writes exactly there). With resolveHostIdFromTopology or newCluster
    // each node finds its entry in the backup's topology file, so it gets the bucket alone.
    let cluster = ctx.read(|n| async move { n.cluster_name().await }).await?;
    let by_topology = request.resolve_host_id_from_topology || request.new_cluster;
    let phases_run = phases(request);
    let sub_request = move |step: &Step| -> Result<Value, String> {
        let storage_location = if by_topology {
            location.bucket_url()
        } else {
            location
                .for_node(&NodeFacts {
                    cluster: cluster.clone(),
                    dc: step.dc.clone(),
                    node: step.host_id.clone(),
                })
                .map_err(|e| e.to_string())?
                .raw
        };
        let phase = phases_run
            .iter()
            .copied()
            .find(|p| Some(p.to_string().as_str()) == step.phase.as_deref())
            .ok_or_else(|| format!("the plan names an unknown phase {:?}", step.phase))?;
        Ok(node_request(request, phase, &storage_location))
    };
    let hours = request.timeout_hours();
    phased::run(
        PhasedRequest {
            type_name: "restore",
            phases: phases(request)
                .into_iter()
                .map(|p| Phase {
                    name: p.to_string(),
                    one_node: p == RestorationPhase::Truncate,
                })
                .collect(),
            dc: request.dc.as_deref(),
            timeout: std::time::Duration::from_secs(hours.saturating_mul(3600)),
            sub_request: &sub_request,
            nodes: None,
        },
        ctx,
    )
    .await
}

/// The request one node gets for one phase: the global request's fields (unset ones left out)
/// without the coordinator's, non-global, with the phase and the node's location; its secrets
/// revealed (only the operation's record form hides them).
fn node_request(
    request: &RestoreRequest,
    phase: RestorationPhase,
    storage_location: &str,
) -> Value {
    let mut node = request.clone();
    node.restoration_phase = Some(phase);
    node.common.storage_location = Some(storage_location.to_string());
    storage_op::node_request("restore", &node, &["globalRequest", "singlePhase", "dc"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Value) -> RestoreRequest {
        let bytes = serde_json::to_vec(&body).unwrap();
        let request: RestoreRequest = backup::request::from_json(&bytes).unwrap();
        request.validate().unwrap();
        request
    }

    fn global() -> Value {
        json!({"type": "restore", "storageLocation": "s3://bucket", "snapshotTag": "snap1",
               "restorationStrategyType": "IMPORT", "restorationPhase": "INIT",
               "globalRequest": true, "dc": "dc1", "entities": "ks.t",
               "import": {"type": "import", "sourceDir": "/tmp/src"}})
    }

    #[test]
    fn a_global_restore_runs_five_phases_or_its_single_phase() {
        assert_eq!(
            phases(&request(global())),
            vec![
                RestorationPhase::Init,
                RestorationPhase::Download,
                RestorationPhase::Truncate,
                RestorationPhase::Import,
                RestorationPhase::Cleanup
            ]
        );
        let mut single = global();
        single["singlePhase"] = json!(true);
        single["restorationPhase"] = json!("IMPORT");
        assert_eq!(phases(&request(single)), vec![RestorationPhase::Import]);
    }

    #[test]
    fn each_node_gets_the_real_proxy_password_the_record_hides() {
        let mut body = global();
        body["proxySettings"] = json!({"useProxy": true, "proxyHost": "proxy",
            "proxyPort": 3128, "proxyUsername": "u", "proxyPassword": "s3cr@t"});
        let request = request(body);
        let sent = node_request(
            &request,
            RestorationPhase::Download,
            "s3://bucket/c/dc1/host-1",
        );
        assert_eq!(sent["proxySettings"]["proxyPassword"], "s3cr@t");
    }

    #[test]
    fn each_node_gets_the_request_non_global_with_its_phase_and_location() {
        let body = node_request(
            &request(global()),
            RestorationPhase::Download,
            "s3://bucket/c/dc1/host-1",
        );
        assert_eq!(body["type"], "restore");
        assert_eq!(body["restorationPhase"], "DOWNLOAD");
        assert_eq!(body["storageLocation"], "s3://bucket/c/dc1/host-1");
        assert_eq!(body["entities"], "ks.t");
        assert_eq!(body["import"]["sourceDir"], "/tmp/src");
        for gone in ["globalRequest", "singlePhase", "dc"] {
            assert!(body.get(gone).is_none(), "{gone}: {body}");
        }
        assert!(
            body.as_object().unwrap().values().all(|v| !v.is_null()),
            "{body}"
        );
        // What a node gets is a valid non-global request of its own.
        let node = request(body);
        assert!(!node.global_request);
        assert_eq!(node.restoration_phase, Some(RestorationPhase::Download));
    }
}
