//! The `restore` operation: put a backup written by Daedalus or Esop back onto this node, with
//! Esop's strategies (IMPORT, HARDLINKS, IN_PLACE) and phases (INIT, CLUSTER_HEALTHCHECK,
//! DOWNLOAD, TRUNCATE, IMPORT, CLEANUP).
//!
//! Owns the request (Esop's `RestoreOperationRequest`, parsed and validated by
//! `backup::request`), which phases a request runs, and the restart advice. The phases live in
//! `phases`, the choice of tables in `targets`, the backup's location in `source`, the stopped
//! node's sync in `in_place`, the coordination of a global restore over the cluster in
//! `global`. It must not touch another operation's files.

mod dirs;
mod global;
mod global_point_in_time;
mod in_place;
mod ledger;
mod phases;
mod source;
mod table_dirs;
mod targets;

use async_trait::async_trait;
use backup::request::{RestorationPhase, RestorationStrategy, RestoreRequest};

use super::cluster::{ClusterMode, Spread};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::path_field::{PathField, UsedPath};
use super::settings::{OperationSettings, ValidationPolicy};
use super::storage_op::{StorageKind, StorageOp};
use super::validation::ValidationError;

/// An accepted `restore` request (Esop's `RestoreOperationRequest`). A restore recovered from
/// the journal after a restart without its proxy password fails, asking to be submitted
/// again, rather than run without it.
pub type RestoreOperation = StorageOp<Restore>;

/// The `restore` operation.
pub struct Restore;

#[async_trait]
impl StorageKind for Restore {
    type Request = RestoreRequest;
    const TYPE: &'static str = "restore";

    const PATH_FIELDS: &'static [PathField] = dirs::PATH_FIELDS;

    /// Reads Esop's `globalRequest` itself (`restore/global.rs`).
    const CLUSTER: ClusterMode = ClusterMode::Own;

    fn paths(request: &RestoreRequest) -> Vec<UsedPath> {
        dirs::used_paths(request)
    }

    fn accept(request: &mut RestoreRequest, _: &ValidationPolicy) -> Result<(), ValidationError> {
        let in_place = request.strategy() == RestorationStrategy::InPlace;
        if request.global_request && in_place && request.point_in_time.is_none() {
            // Icarus lets the request through and fails it at once (a global restore must
            // start at INIT, and IN_PLACE has no phases): refused here, with the reason.
            return Err(ValidationError::invalid(
                "globalRequest",
                "an IN_PLACE restore cannot be cluster-wide: it needs its node stopped and \
                 syncs that node's data directories in one go; send it to each stopped node's \
                 sidecar without globalRequest, or use HARDLINKS or IMPORT",
            ));
        }
        request.echo_defaults();
        Ok(())
    }

    fn allowed(
        request: &RestoreRequest,
        settings: &OperationSettings,
    ) -> Result<(), ValidationError> {
        if is_coordinated(request) {
            Spread::allowed(settings)?;
        }
        Ok(())
    }

    /// One restore at a time on a node: two would download into, truncate and load the same
    /// tables at once. One global restore at a time on a coordinator; it does not hold its own
    /// node, whose phases come to it as node restores.
    fn conflict_key(request: &RestoreRequest) -> Option<String> {
        if is_coordinated(request) {
            return Some("global".to_string());
        }
        Some("node".to_string())
    }

    fn restart_advice(request: &RestoreRequest) -> Option<String> {
        Some(restart_advice(request, &phases(request)))
    }

    /// A coordinated restore keeps its plan in the journal and carries on after a restart; a
    /// node's phase does when running it twice does no harm: INIT and CLUSTER_HEALTHCHECK
    /// change nothing, DOWNLOAD keeps the files already verified on disk, CLEANUP removes what
    /// is left to remove.
    fn resumable(request: &RestoreRequest) -> bool {
        is_coordinated(request) || not_resumed_because(request).is_none()
    }

    fn not_resumed_because(request: &RestoreRequest) -> Option<String> {
        not_resumed_because(request)
    }

    fn leaves_behind(request: &RestoreRequest) -> bool {
        deletes_failed_downloads(request)
    }

    /// Removes what an interrupted DOWNLOAD wrote, unless the request keeps downloads.
    async fn clean_up(op: &RestoreOperation, ctx: &RunContext) {
        if !deletes_failed_downloads(&op.request) {
            return;
        }
        let removed = match phases::Restore::open(&op.request, ctx).await {
            Ok(restore) => restore.remove_downloads().await,
            Err(e) => Err(e),
        };
        report_removed(ctx, removed);
    }

    /// A restore to a moment the archive cannot reach is refused before it is accepted.
    async fn preflight(op: &RestoreOperation, ctx: &RunContext) -> Result<(), ValidationError> {
        if is_coordinated(&op.request) {
            return global_point_in_time::check(&op.request, ctx).await;
        }
        in_place::check_point(&op.request, ctx).await
    }

    async fn run(op: &RestoreOperation, ctx: &RunContext) -> Result<(), OperationError> {
        op.run_with_timeout(ctx).await
    }
}

/// A global HARDLINKS or IMPORT restore, or a global restore to a moment: this sidecar
/// coordinates it over the cluster.
fn is_coordinated(request: &RestoreRequest) -> bool {
    request.global_request
        && (request.strategy() != RestorationStrategy::InPlace || request.point_in_time.is_some())
}

/// Why a node's restore interrupted by a stop of the sidecar is not run again; `None` when it
/// is (see `Restore::resumable`).
fn not_resumed_because(request: &RestoreRequest) -> Option<String> {
    if request.strategy() == RestorationStrategy::InPlace {
        return Some(
            "an IN_PLACE restore rewrites the data directories of a stopped node, which may have \
             been started meanwhile: running it again is for the operator to decide"
                .to_string(),
        );
    }
    match request.restoration_phase {
        Some(RestorationPhase::Truncate) => Some(
            "truncating again would also remove what was written to the tables since the first \
             truncate"
                .to_string(),
        ),
        Some(RestorationPhase::Import) => Some(
            "importing again would load the SSTables that the first run loaded a second time"
                .to_string(),
        ),
        _ => None,
    }
}

/// A node's DOWNLOAD that did not finish removes what it wrote (Esop's `noDeleteDownloads`
/// keeps it, and `noDownloadData` writes nothing).
fn deletes_failed_downloads(request: &RestoreRequest) -> bool {
    !is_coordinated(request)
        && request.strategy() != RestorationStrategy::InPlace
        && request.restoration_phase == Some(RestorationPhase::Download)
        && !request.no_delete_downloads
        && !request.no_download_data
}

/// Records what removing the downloads did.
fn report_removed(ctx: &RunContext, removed: Result<ledger::Removed, OperationError>) {
    match removed {
        Ok(removed) => {
            ctx.report(Finding::FilesRemoved(removed.files));
            if removed.kept > 0 {
                ctx.report(Finding::FilesKept(removed.kept));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot remove the downloads of a DOWNLOAD that did not finish");
            ctx.report(Finding::DownloadsNotRemoved(e.to_string()));
        }
    }
}

/// The phases `request` runs on this node: its one `restorationPhase`; none for IN_PLACE,
/// which runs in one go (a global request runs its phases over the cluster).
fn phases(request: &RestoreRequest) -> Vec<RestorationPhase> {
    if is_coordinated(request) && request.point_in_time.is_none() {
        return global::phases(request);
    }
    request.restoration_phase.into_iter().collect()
}

impl RestoreOperation {
    fn is_coordinated(&self) -> bool {
        is_coordinated(&self.request)
    }

    fn phases(&self) -> Vec<RestorationPhase> {
        phases(&self.request)
    }
}

impl RestoreOperation {
    async fn run_with_timeout(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let hours = self.request.timeout_hours();
        let limit = std::time::Duration::from_secs(hours.saturating_mul(3600));
        match tokio::time::timeout(limit, self.run_until_done(ctx)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(OperationError::failed(
                "Timeout",
                format!("the restore did not finish within its timeout of {hours} h"),
            )),
        }
    }
}

impl RestoreOperation {
    async fn run_until_done(&self, ctx: &RunContext) -> Result<(), OperationError> {
        if self.is_coordinated() {
            if self.request.point_in_time.is_some() {
                return global_point_in_time::run(&self.request, ctx).await;
            }
            return global::run(&self.request, ctx).await;
        }
        if self.request.strategy() == RestorationStrategy::InPlace {
            return in_place::run(&self.request, ctx).await;
        }
        let phases = self.phases();
        // Opening the storage may wait on an unreachable store (its client retries): a cancel
        // stops that wait.
        let mut restore = tokio::select! {
            opened = phases::Restore::open(&self.request, ctx) => opened?,
            () = ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
        };
        let count = phases.len() as f64;
        for (i, phase) in phases.iter().enumerate() {
            ctx.checkpoint()?;
            ctx.report(Finding::Phase(phase.to_string()));
            let progress = phases::PhaseProgress {
                ctx: ctx.clone(),
                base: i as f64 / count,
                share: 1.0 / count,
            };
            let ran = restore.run_phase(*phase, &progress).await;
            if ran.is_err() && deletes_failed_downloads(&self.request) {
                report_removed(ctx, restore.remove_downloads().await);
            }
            ran.map_err(|e| phases::in_phase(*phase, e))?;
        }
        ctx.set_progress(1.0);
        Ok(())
    }
}

/// What to do after the sidecar stopped while this restore ran, naming the phase to run again.
fn restart_advice(request: &RestoreRequest, phases: &[RestorationPhase]) -> String {
    if request.strategy() == RestorationStrategy::InPlace {
        return "the IN_PLACE restore was interrupted while syncing the data directories: keep \
                Cassandra stopped and submit the same restore again (files already downloaded \
                with the right hash are kept), then start Cassandra"
            .to_string();
    }
    let advice = |phase: RestorationPhase| match phase {
        RestorationPhase::Init | RestorationPhase::ClusterHealthcheck => {
            format!("rerun phase {phase}: it changed nothing")
        }
        RestorationPhase::Download => "rerun phase DOWNLOAD: files already in import.sourceDir \
             with the right hash are not fetched again"
            .to_string(),
        RestorationPhase::Truncate => "rerun phase TRUNCATE: truncating a table twice only \
             takes one more truncated-* snapshot"
            .to_string(),
        RestorationPhase::Import => "check which tables already hold the restored SSTables \
             (nodetool tablestats) and rerun phase IMPORT with entities naming the others: \
             running it again for a table that was loaded would load its SSTables twice"
            .to_string(),
        RestorationPhase::Cleanup => "rerun phase CLEANUP".to_string(),
    };
    match phases {
        [phase] => format!("restore phase {phase} was interrupted: {}", advice(*phase)),
        _ => format!(
            "the restore ran every phase and was interrupted in one of them (the record's \
             `phase` field names the last one shown): from DOWNLOAD on, rerun that phase with \
             singlePhase set, then the ones after it. DOWNLOAD: {}. IMPORT: {}",
            advice(RestorationPhase::Download),
            advice(RestorationPhase::Import)
        ),
    }
}

/// A restore that rewrites the files a running node has open (IN_PLACE, `commitlog-restore`)
/// runs only when JMX does not answer; `what` names it in the cause.
pub(in crate::operations) async fn refuse_running_node(
    ctx: &RunContext,
    what: &str,
) -> Result<(), OperationError> {
    match ctx
        .read(|node| async move { node.schema_version().await })
        .await
    {
        Ok(version) => Err(source::failed(format!(
            "{what} works on a stopped node only, and this node answers (schema version \
             {version}): stop Cassandra first, or restore with HARDLINKS or IMPORT"
        ))),
        Err(e) if e.is_unreachable() || e.is_timeout() => Ok(()),
        Err(e) => Err(source::failed(format!(
            "{what} works on a stopped node only, and the node's JMX answered: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{Operation, OperationType};
    use serde_json::{json, Value};

    fn from_json(body: &Value) -> Result<RestoreOperation, ValidationError> {
        RestoreOperation::parse(body, &ValidationPolicy::default())
    }

    fn body() -> Value {
        json!({"type": "restore", "storageLocation": "file:///tmp/b/cluster/dc/node",
               "snapshotTag": "snap1", "restorationStrategyType": "import",
               "restorationPhase": "download",
               "import": {"type": "import", "sourceDir": "/tmp/restore-src"}})
    }

    #[test]
    fn a_valid_request_round_trips_through_the_journal_form() {
        let op = from_json(&body()).unwrap();
        assert_eq!(op.phases(), vec![RestorationPhase::Download]);
        let stored = serde_json::to_value(&op).unwrap();
        assert_eq!(stored["snapshotTag"], "snap1");
        assert_eq!(stored["restorationPhase"], "DOWNLOAD");
        let back: RestoreOperation = serde_json::from_value(stored).unwrap();
        assert_eq!(back, op);
    }

    #[test]
    fn the_proxy_password_is_redacted_in_the_record_and_gone_after_the_journal() {
        let mut body = body();
        body["proxySettings"] = json!({"useProxy": true, "proxyHost": "proxy", "proxyPort": 3128,
            "proxyUsername": "u", "proxyPassword": "hunter2-pw"});
        let op = from_json(&body).unwrap();
        assert_eq!(
            op.request
                .common
                .proxy_settings
                .as_ref()
                .map(|p| p.proxy_password.is_some()),
            Some(true),
            "the running operation has it"
        );
        let stored = serde_json::to_value(&op).unwrap();
        assert_eq!(stored["proxySettings"]["proxyUsername"], "u");
        assert_eq!(stored["proxySettings"]["proxyPassword"], "***");
        assert!(!stored.to_string().contains("hunter2"), "{stored}");
        assert!(!format!("{op:?}").contains("hunter2"), "{op:?}");
        // Read back from the journal: the password is gone and the restore says so when run.
        let back: RestoreOperation = serde_json::from_value(stored).unwrap();
        assert!(back.request.common.has_withheld_secret());
        assert_eq!(
            back.request
                .common
                .proxy_settings
                .as_ref()
                .and_then(|p| p.proxy_password.as_ref()?.expose()),
            None,
            "\"***\" is never taken for the password"
        );
        assert!(!op.request.common.has_withheld_secret());
    }

    #[test]
    fn every_esop_rule_is_a_400_naming_its_field() {
        let cases = [
            ("snapshotTag", json!(null), "snapshotTag", "missing_field"),
            (
                "restorationPhase",
                json!(null),
                "restorationPhase",
                "invalid_field",
            ),
            ("import", json!(null), "import", "invalid_field"),
            (
                "import",
                json!({"sourceDir": "/var/lib/cassandra/data/x"}),
                "import.sourceDir",
                "invalid_field",
            ),
            ("rename", json!({"ks.t": "ks"}), "rename", "invalid_field"),
            (
                "restoreSystemKeyspace",
                json!(true),
                "restoreSystemKeyspace",
                "invalid_field",
            ),
            ("entities", json!("ks1,ks2.t"), "entities", "invalid_field"),
            (
                "storageLocation",
                json!("ftp://x"),
                "storageLocation",
                "invalid_field",
            ),
            (
                "restorationStrategyType",
                json!("COPY"),
                "restorationStrategyType",
                "invalid_field",
            ),
        ];
        for (field, value, named, code) in cases {
            let mut body = body();
            body[field] = value;
            let e = from_json(&body).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(named), "{field}: {e:?}");
            assert_eq!(e.error, code, "{field}: {e:?}");
        }
        let mut in_place = body();
        in_place["restorationStrategyType"] = json!("IN_PLACE");
        let e = from_json(&in_place).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("restorationPhase"), "{e:?}");
        in_place["restorationPhase"] = Value::Null;
        in_place["rename"] = json!({"a.b": "c.d"});
        let e = from_json(&in_place).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("rename"), "{e:?}");
    }

    #[test]
    fn a_global_request_is_coordinated_over_its_phases_unless_in_place() {
        let mut body = body();
        body["storageLocation"] = json!("s3://bucket");
        body["globalRequest"] = json!(true);
        body["restorationPhase"] = json!("INIT");
        let op = from_json(&body).unwrap();
        assert_eq!(
            op.phases(),
            vec![
                RestorationPhase::Init,
                RestorationPhase::Download,
                RestorationPhase::Truncate,
                RestorationPhase::Import,
                RestorationPhase::Cleanup
            ]
        );
        assert!(op.resumable());
        assert_eq!(op.conflict_key().as_deref(), Some("global"));
        body["singlePhase"] = json!(true);
        body["restorationPhase"] = json!("TRUNCATE");
        let op = from_json(&body).unwrap();
        assert_eq!(op.phases(), vec![RestorationPhase::Truncate]);
        body["globalRequest"] = json!(false);
        let op = from_json(&body).unwrap();
        assert!(!op.resumable());
        assert_eq!(op.conflict_key().as_deref(), Some("node"));
        // IN_PLACE needs its node stopped: never cluster-wide.
        let mut in_place = body.clone();
        in_place["globalRequest"] = json!(true);
        in_place["singlePhase"] = Value::Null;
        in_place["restorationPhase"] = Value::Null;
        in_place["restorationStrategyType"] = json!("IN_PLACE");
        let e = from_json(&in_place).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("globalRequest"), "{e:?}");
        assert!(e.message.contains("IN_PLACE"), "{e:?}");
    }

    #[test]
    fn restart_advice_names_the_phase_to_rerun() {
        let op = from_json(&body()).unwrap();
        let advice = op.restart_advice().unwrap();
        assert!(advice.contains("phase DOWNLOAD"), "{advice}");
        let mut body = body();
        body["restorationPhase"] = json!("IMPORT");
        let advice = from_json(&body).unwrap().restart_advice().unwrap();
        assert!(advice.contains("rerun phase IMPORT"), "{advice}");
    }
}
