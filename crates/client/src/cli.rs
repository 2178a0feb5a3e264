//! The operator commands (`op submit|get|list|cancel`, `status`, `topology`, `version`) as clap
//! subcommands another binary can embed, and [`run`] which executes one of them.
//!
//! Owns argument shapes, exit codes, output choice (tables or `--json`) and the live progress
//! of `--wait`. Output goes through injectable writers so tests can capture it. Must not know
//! HTTP details (that is `client`) or text layout (that is `render`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{Client, ClientConfig, DEFAULT_URL};
use crate::error::ClientError;
use crate::model::{Operation, OperationState};
use crate::progress::WaitProgress;
use crate::render;

/// Exit codes of the commands. Usage errors found by clap exit with 2 as clap does.
pub mod exit {
    /// The command succeeded; with `--wait`, the operation COMPLETED.
    pub const OK: u8 = 0;
    /// An unexpected error (unreadable response, output could not be written, ...).
    pub const ERROR: u8 = 1;
    /// Invalid arguments (e.g. a malformed `--field` or `--state`).
    pub const USAGE: u8 = 2;
    /// With `--wait`: the operation ended FAILED.
    pub const FAILED: u8 = 3;
    /// With `--wait`: the operation ended CANCELLED.
    pub const CANCELLED: u8 = 4;
    /// The sidecar answered with an HTTP error (400 invalid request, 404 unknown id, 409, 5xx).
    pub const API_ERROR: u8 = 5;
    /// The sidecar could not be reached (connection refused, timeout, TLS failure).
    pub const UNREACHABLE: u8 = 6;
    /// With `--wait`: interrupted (Ctrl-C) before the operation finished; it goes on.
    pub const INTERRUPTED: u8 = 130;
}

/// The exit codes, as shown in `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (with --wait: the operation COMPLETED)
  1  unexpected error (unreadable response, output not writable)
  2  invalid arguments
  3  with --wait: the operation FAILED (its cause is printed)
  4  with --wait: the operation was CANCELLED
  5  the sidecar answered with an HTTP error (400, 404, 409, 5xx...)
  6  the sidecar could not be reached (refused, timeout, TLS)
  130  with --wait: interrupted by Ctrl-C; the operation goes on";

/// Connection and output options shared by every command. Their long names are `--url`,
/// `--token`, `--cacert`, `--json` and `--request-timeout`; an embedding parser must not define
/// the same names.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the sidecar.
    #[arg(long, global = true, env = "DAEDALUS_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Bearer token sent as `Authorization: Bearer <TOKEN>`.
    #[arg(long, global = true, env = "DAEDALUS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM file with the CA certificate(s) to trust for an https URL.
    #[arg(long, global = true, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Print the raw JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout of each HTTP request, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
}

impl Default for GlobalArgs {
    fn default() -> Self {
        GlobalArgs {
            url: DEFAULT_URL.to_string(),
            token: None,
            cacert: None,
            json: false,
            request_timeout: 30,
        }
    }
}

impl GlobalArgs {
    /// The client configuration these options describe.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            url: self.url.clone(),
            token: self.token.clone(),
            cacert: self.cacert.clone(),
            timeout: Duration::from_secs(self.request_timeout.max(1)),
        }
    }
}

/// The client commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Submit, inspect, list and cancel operations.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Op(OpCommand),
    /// Show the Cassandra node's state.
    Status,
    /// Show the cluster topology as the node sees it.
    Topology {
        /// Only this data center.
        dc: Option<String>,
    },
    /// Show the sidecar, Cassandra and schema versions.
    Version,
}

/// `op` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OpCommand {
    /// Submit an operation (import, flush, cleanup, ...).
    #[command(after_help = EXIT_CODES_HELP)]
    Submit(SubmitArgs),
    /// Show one operation.
    #[command(after_help = EXIT_CODES_HELP)]
    Get {
        /// Operation id.
        id: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List operations, newest first.
    List {
        /// Only operations of this type (repeatable).
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// Only operations in this state (repeatable): PENDING, RUNNING, COMPLETED, FAILED, CANCELLED.
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
    },
    /// Ask for an operation to be cancelled.
    Cancel {
        /// Operation id.
        id: String,
    },
    /// List the backups under a storage location (runs a `list` operation and waits for it).
    #[command(after_help = EXIT_CODES_HELP)]
    ListBackups(ListBackupsArgs),
}

/// `op list-backups`: the `list` operation's request fields.
#[derive(Debug, Clone, Default, Args)]
pub struct ListBackupsArgs {
    /// `protocol://bucket` (every node) or `protocol://bucket/cluster/dc/node` (one node).
    #[arg(value_name = "STORAGE_LOCATION")]
    pub storage_location: String,
    /// Only the newest N backups.
    #[arg(long, value_name = "N")]
    pub last_n: Option<u64>,
    /// Only backups taken at or before this time (epoch milliseconds).
    #[arg(long, value_name = "MILLIS")]
    pub from_timestamp: Option<u64>,
    /// Any other request field, as KEY=VALUE (`k8sSecretName=creds`, `skipBucketVerification=true`).
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Polling interval while the listing runs, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub poll_interval_ms: u64,
}

impl ListBackupsArgs {
    /// The JSON body of the `list` operation.
    pub fn to_request(&self) -> Result<Value, String> {
        let submit = SubmitArgs {
            kind: "list".into(),
            fields: self.fields.clone(),
            ..SubmitArgs::default()
        };
        let mut body = submit.to_request()?;
        body["storageLocation"] = Value::from(self.storage_location.clone());
        if let Some(n) = self.last_n {
            body["lastN"] = Value::from(n);
        }
        if let Some(t) = self.from_timestamp {
            body["fromTimestamp"] = Value::from(t);
        }
        Ok(body)
    }
}

/// `--wait` and its polling interval.
#[derive(Debug, Clone, Default, Args)]
pub struct WaitArgs {
    /// Follow the operation until it finishes; exit non-zero when it FAILED or was CANCELLED.
    #[arg(long)]
    pub wait: bool,
    /// Polling interval of `--wait`, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
}

/// `op submit <type>` and the request fields.
#[derive(Debug, Clone, Default, Args)]
pub struct SubmitArgs {
    /// Operation type: import, cleanup, flush, scrub, upgradesstables, rebuild, refresh,
    /// decommission, drain, restart, truncate, restore (its fields through `--field`), ...
    #[arg(value_name = "TYPE")]
    pub kind: String,
    /// Keyspace.
    #[arg(long)]
    pub keyspace: Option<String>,
    /// Table.
    #[arg(long)]
    pub table: Option<String>,
    /// Tables (comma separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Number of jobs (cleanup, scrub, upgradesstables).
    #[arg(long)]
    pub jobs: Option<i64>,
    /// import: directory holding the SSTables.
    #[arg(long)]
    pub source_dir: Option<String>,
    /// import: sets noVerify, noVerifyTokens and noInvalidateCaches.
    #[arg(long)]
    pub quick: bool,
    /// import: keep the SSTables' level.
    #[arg(long)]
    pub keep_level: bool,
    /// import: keep the SSTables' repaired status.
    #[arg(long)]
    pub keep_repaired: bool,
    /// import: do not verify the SSTables.
    #[arg(long)]
    pub no_verify: bool,
    /// import: do not verify that the tokens belong to the node.
    #[arg(long)]
    pub no_verify_tokens: bool,
    /// import: do not invalidate caches.
    #[arg(long)]
    pub no_invalidate_caches: bool,
    /// import: extended verification.
    #[arg(long)]
    pub extended_verify: bool,
    /// import: copy the SSTables, leaving the source directory intact (the server's default).
    #[arg(long, conflicts_with = "no_copy_data")]
    pub copy_data: bool,
    /// import: move the SSTables instead of copying them.
    #[arg(long)]
    pub no_copy_data: bool,
    /// Any other request field, as KEY=VALUE (VALUE parsed as JSON when it is valid JSON,
    /// else sent as a string). Repeatable.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

impl SubmitArgs {
    /// The JSON body of `POST /operations`. Only options that were given are sent.
    pub fn to_request(&self) -> Result<Value, String> {
        let kind = self.kind.trim();
        if kind.is_empty() {
            return Err("the operation type must not be empty".into());
        }
        let mut body = Map::new();
        body.insert("type".into(), Value::from(kind));
        let mut put = |k: &str, v: Value| {
            body.insert(k.to_string(), v);
        };
        if let Some(v) = &self.keyspace {
            put("keyspace", Value::from(v.as_str()));
        }
        if let Some(v) = &self.table {
            put("table", Value::from(v.as_str()));
        }
        if !self.tables.is_empty() {
            put("tables", Value::from(self.tables.clone()));
        }
        if let Some(v) = self.jobs {
            put("jobs", Value::from(v));
        }
        if let Some(v) = &self.source_dir {
            put("sourceDir", Value::from(v.as_str()));
        }
        let flags = [
            ("quick", self.quick),
            ("keepLevel", self.keep_level),
            ("keepRepaired", self.keep_repaired),
            ("noVerify", self.no_verify),
            ("noVerifyTokens", self.no_verify_tokens),
            ("noInvalidateCaches", self.no_invalidate_caches),
            ("extendedVerify", self.extended_verify),
        ];
        for (name, set) in flags {
            if set {
                put(name, Value::Bool(true));
            }
        }
        if self.copy_data {
            put("copyData", Value::Bool(true));
        }
        if self.no_copy_data {
            put("copyData", Value::Bool(false));
        }
        for field in &self.fields {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("--field {field:?} is not KEY=VALUE"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("--field {field:?} has an empty key"));
            }
            if key == "type" {
                return Err("--field cannot set `type`; give it as the first argument".into());
            }
            let value = serde_json::from_str::<Value>(value)
                .unwrap_or_else(|_| Value::from(value.to_string()));
            body.insert(key.to_string(), value);
        }
        Ok(Value::Object(body))
    }
}

/// A standalone command line: the global options and one command. The `daedalus` binary may
/// embed [`GlobalArgs`] and [`Command`] in its own parser instead.
#[derive(Debug, Clone, Parser)]
#[command(name = "daedalus", about = "Operate a Daedalus sidecar", after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Whether `--wait` draws a live progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on stderr when stdout is a terminal; state-change lines on the error writer otherwise.
    Auto,
    /// Never a bar; state-change lines on the error writer.
    Hidden,
}

/// Where a command writes: results to `out`, diagnostics and progress to `err`.
pub struct Output<'a> {
    /// Results (tables or JSON).
    pub out: &'a mut (dyn Write + Send),
    /// Errors, progress lines and failure causes.
    pub err: &'a mut (dyn Write + Send),
    /// Live progress bar or not.
    pub progress: ProgressMode,
}

/// Runs one command against the sidecar, writing to stdout/stderr. See [`exit`] for the codes.
pub async fn run(global: GlobalArgs, command: Command) -> ExitCode {
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let code = run_with(
        global,
        command,
        Output {
            out: &mut stdout,
            err: &mut stderr,
            progress: ProgressMode::Auto,
        },
    )
    .await;
    ExitCode::from(code)
}

/// Runs one command writing through the given writers; returns the exit code (see [`exit`]).
pub async fn run_with(global: GlobalArgs, command: Command, io: Output<'_>) -> u8 {
    let Output { out, err, progress } = io;
    let mut ctx = Ctx {
        json: global.json,
        out,
        err,
        progress,
    };
    let client = match Client::new(global.client_config()) {
        Ok(c) => c,
        Err(e) => return ctx.fail(&e),
    };
    let result = match command {
        Command::Op(op) => run_op(&client, op, &mut ctx).await,
        Command::Status => match client.status().await {
            Ok(s) => ctx.show(&s, render::status),
            Err(e) => Err(Failure::Client(e)),
        },
        Command::Topology { dc } => match client.topology(dc.as_deref()).await {
            Ok(t) => ctx.show(&t, render::topology),
            Err(e) => Err(Failure::Client(e)),
        },
        Command::Version => match client.versions().await {
            Ok(v) => ctx.show(&v, render::versions),
            Err(e) => Err(Failure::Client(e)),
        },
    };
    match result {
        Ok(code) => code,
        Err(Failure::Client(e)) => ctx.fail(&e),
        Err(Failure::Usage(msg)) => {
            let _ = writeln!(ctx.err, "error: {msg}");
            exit::USAGE
        }
        Err(Failure::Io(e)) => {
            let _ = writeln!(ctx.err, "error: cannot write output: {e}");
            exit::ERROR
        }
    }
}

enum Failure {
    Client(ClientError),
    Usage(String),
    Io(std::io::Error),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

struct Ctx<'a> {
    json: bool,
    out: &'a mut (dyn Write + Send),
    err: &'a mut (dyn Write + Send),
    progress: ProgressMode,
}

impl Ctx<'_> {
    /// Prints a value as JSON or through its human renderer.
    fn show<T: Serialize>(&mut self, value: &T, human: fn(&T) -> String) -> Result<u8, Failure> {
        if self.json {
            let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
            writeln!(self.out, "{text}")?;
        } else {
            write!(self.out, "{}", human(value))?;
        }
        self.out.flush()?;
        Ok(exit::OK)
    }

    fn fail(&mut self, e: &ClientError) -> u8 {
        let _ = writeln!(self.err, "error: {e}");
        match e {
            ClientError::Api { .. } => exit::API_ERROR,
            ClientError::Connect { .. } | ClientError::Timeout { .. } | ClientError::Tls { .. } => {
                exit::UNREACHABLE
            }
            ClientError::InvalidUrl { .. } | ClientError::Cacert { .. } => exit::USAGE,
            ClientError::Decode { .. } | ClientError::Transport { .. } => exit::ERROR,
        }
    }
}

async fn run_op(client: &Client, command: OpCommand, ctx: &mut Ctx<'_>) -> Result<u8, Failure> {
    match command {
        OpCommand::Submit(args) => {
            let body = args.to_request().map_err(Failure::Usage)?;
            let op = client.submit(&body).await?;
            if args.wait.wait {
                let _ = writeln!(ctx.err, "submitted {} operation {}", op.kind, op.id);
                follow(client, &op.id, &args.wait, ctx).await
            } else {
                ctx.show(&op, render::operation_detail)
            }
        }
        OpCommand::Get { id, wait } => {
            if wait.wait {
                follow(client, &id, &wait, ctx).await
            } else {
                let op = client.get(&id).await?;
                ctx.show(&op, render::operation_detail)
            }
        }
        OpCommand::List { types, states } => {
            let mut parsed = Vec::new();
            for s in &states {
                let state = OperationState::from(s.as_str());
                if let OperationState::Other(name) = &state {
                    return Err(Failure::Usage(format!(
                        "unknown state {name:?}; use one of PENDING, RUNNING, COMPLETED, FAILED, CANCELLED"
                    )));
                }
                parsed.push(state);
            }
            let ops = client.list(&types, &parsed).await?;
            ctx.show(&ops, |ops: &Vec<Operation>| render::operations_table(ops))
        }
        OpCommand::ListBackups(args) => {
            let body = args.to_request().map_err(Failure::Usage)?;
            let op = client.submit(&body).await?;
            let wait = WaitArgs {
                wait: true,
                poll_interval_ms: args.poll_interval_ms,
            };
            let (mut out, mut err) = (std::io::sink(), std::io::sink());
            let mut quiet = Ctx {
                progress: ProgressMode::Hidden,
                json: true,
                out: &mut out,
                err: &mut err,
            };
            let code = follow(client, &op.id, &wait, &mut quiet).await?;
            let op = client.get(&op.id).await?;
            if code != exit::OK {
                return ctx.show(&op, render::operation_detail).map(|_| code);
            }
            let listing = op.extra.get("response").cloned().unwrap_or(Value::Null);
            ctx.show(&listing, render::backups_table)
        }
        OpCommand::Cancel { id } => {
            let op = client.cancel(&id).await?;
            if ctx.json {
                ctx.show(&op, render::operation_detail)
            } else if op.state.is_finished() && op.state != OperationState::Cancelled {
                // The sidecar answers 202 for a finished operation too, leaving it as it was.
                writeln!(
                    ctx.out,
                    "{} had already ended {}; nothing to cancel",
                    op.id, op.state
                )?;
                Ok(exit::OK)
            } else {
                writeln!(
                    ctx.out,
                    "cancellation requested for {}; state now {}",
                    op.id, op.state
                )?;
                Ok(exit::OK)
            }
        }
    }
}

/// How many polls in a row may fail transiently (sidecar restarting, 502/503/504) before
/// `--wait` gives up. The operation itself lives on in the sidecar's journal meanwhile.
pub const WAIT_TRANSIENT_RETRIES: u32 = 5;

/// True for failures `--wait` rides out: the sidecar unreachable or temporarily unavailable.
fn is_transient(e: &ClientError) -> bool {
    e.is_unreachable() || matches!(e.status(), Some(502..=504))
}

/// `--wait`: polls until the operation finishes, showing progress, then prints the final
/// record and maps the final state to the exit code. Up to [`WAIT_TRANSIENT_RETRIES`]
/// consecutive transient failures are retried. With [`ProgressMode::Auto`], Ctrl-C stops
/// waiting (not the operation) and exits with [`exit::INTERRUPTED`].
async fn follow(
    client: &Client,
    id: &str,
    wait: &WaitArgs,
    ctx: &mut Ctx<'_>,
) -> Result<u8, Failure> {
    let draw = ctx.progress == ProgressMode::Auto && std::io::stdout().is_terminal();
    let mut progress = WaitProgress::new(id, draw);
    let interval = Duration::from_millis(wait.poll_interval_ms.max(10));
    let listen_for_interrupt = ctx.progress == ProgressMode::Auto;
    let interrupt = async move {
        if listen_for_interrupt && tokio::signal::ctrl_c().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::pin!(interrupt);
    let mut failures = 0u32;
    let mut last: Option<Operation> = None;
    let op = loop {
        let polled = tokio::select! {
            polled = client.get(id) => polled,
            _ = &mut interrupt => break None,
        };
        match polled {
            Ok(op) => {
                failures = 0;
                progress.update(&op, &mut *ctx.err);
                if op.state.is_finished() {
                    break Some(op);
                }
                last = Some(op);
            }
            Err(e) if is_transient(&e) && failures < WAIT_TRANSIENT_RETRIES => {
                failures += 1;
                progress.suspend(|| {
                    let _ = writeln!(
                        ctx.err,
                        "warning: {e}; retrying ({failures}/{WAIT_TRANSIENT_RETRIES})"
                    );
                });
            }
            Err(e) => {
                progress.finish();
                return Err(Failure::Client(e));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut interrupt => break None,
        }
    };
    progress.finish();
    let Some(op) = op else {
        let state = last
            .map(|o| o.state.to_string())
            .unwrap_or_else(|| "unknown".into());
        let _ = writeln!(
            ctx.err,
            "stopped waiting; operation {id} is still {state} and goes on in the sidecar \
             (follow it again with `op get {id} --wait`, stop it with `op cancel {id}`)"
        );
        return Ok(exit::INTERRUPTED);
    };
    let code = match op.state {
        OperationState::Completed => exit::OK,
        OperationState::Failed => exit::FAILED,
        OperationState::Cancelled => exit::CANCELLED,
        _ => exit::ERROR,
    };
    ctx.show(&op, render::operation_detail)?;
    match op.state {
        OperationState::Failed => {
            let summary = op
                .failure_cause
                .as_ref()
                .and_then(|c| render::failure_cause(c).lines().next().map(str::to_string))
                .map(|first| format!(": {first}"))
                .unwrap_or_default();
            let _ = writeln!(ctx.err, "error: operation {} FAILED{summary}", op.id);
            if ctx.json {
                if let Some(cause) = &op.failure_cause {
                    let _ = write!(ctx.err, "{}", render::failure_cause(cause));
                }
            }
        }
        OperationState::Cancelled => {
            let _ = writeln!(ctx.err, "error: operation {} was CANCELLED", op.id);
        }
        _ => {}
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("daedalus").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn submit_import_builds_the_icarus_body() {
        let cli = parse(&[
            "op",
            "submit",
            "import",
            "--keyspace",
            "ks",
            "--table",
            "t",
            "--source-dir",
            "/x",
            "--quick",
            "--keep-level",
            "--no-copy-data",
            "--wait",
        ]);
        let Command::Op(OpCommand::Submit(args)) = cli.command else {
            panic!("not a submit");
        };
        assert!(args.wait.wait);
        assert_eq!(
            args.to_request().unwrap(),
            json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/x",
                   "quick": true, "keepLevel": true, "copyData": false})
        );
    }

    #[test]
    fn generic_fields_parse_json_values() {
        let cli = parse(&[
            "op",
            "submit",
            "decommission",
            "--field",
            "force=true",
            "--field",
            "note=hello",
            "--tables",
            "a,b",
            "--jobs",
            "2",
        ]);
        let Command::Op(OpCommand::Submit(args)) = cli.command else {
            panic!("not a submit");
        };
        assert_eq!(
            args.to_request().unwrap(),
            json!({"type": "decommission", "force": true, "note": "hello", "tables": ["a", "b"], "jobs": 2})
        );
    }

    #[test]
    fn malformed_field_is_a_usage_error() {
        let args = SubmitArgs {
            kind: "flush".into(),
            fields: vec!["nokey".into()],
            ..Default::default()
        };
        assert!(args.to_request().unwrap_err().contains("KEY=VALUE"));
        let args = SubmitArgs {
            kind: "flush".into(),
            fields: vec!["type=import".into()],
            ..Default::default()
        };
        assert!(args.to_request().is_err());
    }

    #[test]
    fn copy_data_flags_conflict() {
        let r = Cli::try_parse_from([
            "daedalus",
            "op",
            "submit",
            "import",
            "--copy-data",
            "--no-copy-data",
        ]);
        assert!(r.is_err());
    }

    #[test]
    fn the_command_future_is_send_so_a_binary_may_spawn_it() {
        fn assert_send<T: Send>(_: &T) {}
        let fut = run(GlobalArgs::default(), Command::Status);
        assert_send(&fut);
        let mut out = Vec::new();
        let mut err = Vec::new();
        let fut = run_with(
            GlobalArgs::default(),
            Command::Status,
            Output {
                out: &mut out,
                err: &mut err,
                progress: ProgressMode::Hidden,
            },
        );
        assert_send(&fut);
    }

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let codes = [
            exit::OK,
            exit::ERROR,
            exit::USAGE,
            exit::FAILED,
            exit::CANCELLED,
            exit::API_ERROR,
            exit::UNREACHABLE,
            exit::INTERRUPTED,
        ];
        for (i, a) in codes.iter().enumerate() {
            assert!(codes[i + 1..].iter().all(|b| b != a), "code {a} reused");
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {a}  ")),
                "code {a} undocumented"
            );
        }
    }

    #[test]
    fn global_options_are_accepted_after_the_subcommand() {
        let cli = parse(&[
            "op",
            "list",
            "--url",
            "http://h:1",
            "--json",
            "--state",
            "RUNNING",
        ]);
        assert_eq!(cli.global.url, "http://h:1");
        assert!(cli.global.json);
    }
}
