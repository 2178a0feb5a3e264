//! Command line, environment and config file, merged into one `Settings`.
//!
//! Owns the flags (Icarus's names where Icarus has one), their `DAEDALUS_*` variables, the TOML
//! file format and the defaults. Each setting is declared once, as a field of [`ServeArgs`]: clap
//! reads its flag, variable and default from the field's attributes, serde reads the same field
//! from the file under its kebab-case key. Precedence: flag > environment > config file > default,
//! applied by one generic merge ([`ServeRequest::resolve`]), never per field. It must not start
//! anything.

use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::operations::fields::parse_duration;
use crate::operations::OperationSettings;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4567";
pub const DEFAULT_JMX_SERVICE: &str = "127.0.0.1:7199";
pub const DEFAULT_WORKERS: usize = 10;
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_JMX_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_PENDING: usize = 1000;
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(
    name = "daedalus",
    version,
    about = "Cassandra sidecar with an Icarus-compatible operations API"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Client options (`--url`, `--token`, `--cacert`, `--json`, `--request-timeout`), used by the
    /// operator commands only.
    #[command(flatten)]
    pub client: daedalus_client::cli::GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Bare `daedalus` takes the same flags as `daedalus serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up
pub enum Command {
    /// Run the sidecar (the default).
    Serve(ServeArgs),
    /// The operator commands against a running sidecar (`op`, `status`, `topology`, `version`).
    #[command(flatten)]
    Client(daedalus_client::cli::Command),
    /// Print the SHA-256 hash of a bearer token, as the `--auth-tokens` file wants it.
    HashToken(HashTokenArgs),
}

/// `daedalus hash-token`.
#[derive(Debug, Clone, Args)]
pub struct HashTokenArgs {
    /// The token; read from the first line of standard input when absent (keeps it out of the
    /// shell history).
    pub token: Option<String>,
}

/// What the command line asks for.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once at start-up
pub enum Mode {
    /// Run the sidecar.
    Serve(ServeRequest),
    /// Run one operator command against a sidecar.
    Client(
        daedalus_client::cli::GlobalArgs,
        daedalus_client::cli::Command,
    ),
    /// Print the hash of a bearer token.
    HashToken(HashTokenArgs),
}

impl Mode {
    /// Parses the process's arguments and environment; prints help or the error and exits on bad
    /// flags, as clap does.
    pub fn from_command_line() -> Mode {
        Mode::try_from_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Serve, run an operator command, or hash a token. The first item is the program name.
    pub fn try_from_args<I, T>(args: I) -> Result<Mode, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        Ok(match cli.command {
            Some(Command::Serve(args)) => {
                let serve = matches.subcommand_matches("serve").unwrap_or(&matches);
                Mode::Serve(ServeRequest::new(args, serve))
            }
            None => Mode::Serve(ServeRequest::new(cli.serve, &matches)),
            Some(Command::Client(command)) => Mode::Client(cli.client, command),
            Some(Command::HashToken(args)) => Mode::HashToken(args),
        })
    }
}

/// The sidecar's settings: each field is one setting, with its flag, its `DAEDALUS_*` variable,
/// its default and (in kebab-case) its config file key.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (kebab-case keys, e.g. `jmx-service = "..."`).
    #[arg(long, env = "DAEDALUS_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address of the HTTP API.
    #[arg(long, env = "DAEDALUS_LISTEN", value_name = "HOST:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Cassandra's JMX address.
    #[arg(
        long,
        env = "DAEDALUS_JMX_SERVICE",
        value_name = "HOST:PORT",
        default_value = DEFAULT_JMX_SERVICE
    )]
    pub jmx_service: String,
    /// JMX user name.
    #[arg(long, env = "DAEDALUS_JMX_USER")]
    pub jmx_user: Option<String>,
    /// JMX password.
    #[arg(long, env = "DAEDALUS_JMX_PASSWORD", hide_env_values = true)]
    pub jmx_password: Option<String>,
    /// File with JMX credentials: the first line that is not blank or a `#` comment holds
    /// `USER PASSWORD` separated by white space (the `jmxremote.password` format).
    #[arg(long, env = "DAEDALUS_JMX_CREDENTIALS", value_name = "FILE")]
    pub jmx_credentials: Option<PathBuf>,
    /// How long finished operations are kept: `90s`, `30m`, `1h`, `2d`, `1h 30m`; a bare number
    /// is hours.
    #[arg(
        long,
        env = "DAEDALUS_OPERATIONS_EXPIRATION",
        value_name = "DURATION",
        default_value_t = DurationOrHours::new(DEFAULT_EXPIRATION)
    )]
    pub operations_expiration: DurationOrHours,
    /// Directory of the durable journal [default: $XDG_STATE_HOME/daedalus, else
    /// ~/.local/state/daedalus, else ./daedalus-data].
    #[arg(
        long,
        env = "DAEDALUS_DATA_DIR",
        value_name = "DIR",
        default_value_os_t = default_data_dir(),
        hide_default_value = true
    )]
    pub data_dir: PathBuf,
    /// Operations run at once; more wait PENDING.
    #[arg(long, env = "DAEDALUS_WORKERS", value_name = "N", default_value_t = DEFAULT_WORKERS_NONZERO)]
    pub workers: NonZeroUsize,
    /// When given (repeatable), every path a request names must resolve inside one of these
    /// directories (`..` and symbolic links followed): those the sidecar reads, downloads into
    /// or stages in, and `file://` backup locations; a field naming the node's own storage
    /// (`dataDirs`, `cassandraDirectory`, `cassandraConfigDirectory`) may instead be one of the
    /// node's own directories. In the environment, separate several with `:`.
    #[arg(
        long,
        env = "DAEDALUS_ALLOWED_ROOT",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub allowed_root: Vec<PathBuf>,
    /// The older name of `--allowed-root` (it confined imports first); its directories add to
    /// those of `--allowed-root`.
    #[arg(
        long,
        env = "DAEDALUS_IMPORT_ROOT",
        value_name = "DIR",
        value_delimiter = ':',
        hide = true
    )]
    pub import_root: Vec<PathBuf>,
    /// Longest wait for one JMX call: `30s`, `2m`; a bare number is seconds.
    #[arg(
        long,
        env = "DAEDALUS_JMX_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationOrSeconds::new(DEFAULT_JMX_TIMEOUT)
    )]
    pub jmx_timeout: DurationOrSeconds,
    /// JMX over TLS, as Cassandra's `com.sun.management.jmxremote.ssl=true` (registry too): PEM
    /// file of the CA or server certificates to trust. Without it, JMX is plain TCP.
    #[arg(long, env = "DAEDALUS_JMX_SSL_CA", value_name = "FILE")]
    pub jmx_ssl_ca: Option<PathBuf>,
    // --- Operation settings (truncate, restart, drain); see docs/OPERATIONS.md.
    /// Allow the `truncate` operation (refused with 400 otherwise), as Icarus's flag does.
    #[arg(long, env = "DAEDALUS_ENABLE_TRUNCATE")]
    pub enable_truncate: bool,
    /// Command run with `sh -c` by the `restart` operation once the node is drained; it must
    /// make the Cassandra process restart (e.g. `systemctl restart cassandra`, `kill 1` in a
    /// container). Without it `restart` is refused with 400.
    #[arg(long, env = "DAEDALUS_RESTART_COMMAND", value_name = "CMD")]
    pub restart_command: Option<String>,
    /// Bound on the restart command plus the wait for mode NORMAL afterwards; a bare number is
    /// seconds.
    #[arg(
        long,
        env = "DAEDALUS_RESTART_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationOrSeconds::new(OperationSettings::default().restart_timeout)
    )]
    pub restart_timeout: DurationOrSeconds,
    /// Bound on waiting for mode DRAINED once drain() returned; a bare number is seconds.
    #[arg(
        long,
        env = "DAEDALUS_DRAIN_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationOrSeconds::new(OperationSettings::default().drain_timeout)
    )]
    pub drain_timeout: DurationOrSeconds,
    /// Directory of mounted Kubernetes secrets (one directory per secret, one file per key) that
    /// the backup requests' `k8sSecretName` names; without it such requests are refused.
    #[arg(long, env = "DAEDALUS_BACKUP_SECRETS_DIR", value_name = "DIR")]
    pub backup_secrets_dir: Option<PathBuf>,
    /// Cassandra's data directories (repeatable; `:`-separated in the environment), for
    /// `backup` on nodes that do not report them over JMX (3.11). 4.0+ needs none.
    #[arg(
        long,
        env = "DAEDALUS_BACKUP_DATA_DIR",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub backup_data_dir: Vec<PathBuf>,
    /// Never ask the cloud's instance metadata service (169.254.169.254 and the like) for
    /// storage credentials: without credentials from the request's secret or the environment,
    /// `backup`, `list`, `remove-backup` and `restore` then fail at once, naming what is
    /// missing. Without this flag the service is asked, as the clouds' SDKs do.
    #[arg(long, env = "DAEDALUS_NO_INSTANCE_METADATA")]
    pub no_instance_metadata: bool,
    /// Do not resume at start-up the operations a stop of the sidecar interrupted: every one
    /// then ends FAILED (`SidecarRestart`). By default those safe to run again (backup, list,
    /// flush, the DOWNLOAD and CLEANUP phases of a restore, commit-log uploads and downloads,
    /// cluster-wide coordination) carry on in the same record; see docs/OPERATIONS.md.
    #[arg(long, env = "DAEDALUS_NO_RESUME")]
    pub no_resume: bool,
    // --- end of operation settings
    // --- Cluster-wide requests: how this sidecar, as coordinator, reaches its peers.
    /// How long a peer sidecar that refuses connections or never answers is retried before its
    /// node is FAILED in a cluster-wide operation; a bare number is seconds.
    #[arg(
        long,
        env = "DAEDALUS_PEER_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationOrSeconds::new(crate::operations::cluster::settings::DEFAULT_PEER_TIMEOUT)
    )]
    pub peer_timeout: DurationOrSeconds,
    /// File whose first line is the bearer token sent to peer sidecars (needed when they check
    /// tokens: this sidecar keeps only hashes of its own).
    #[arg(long, env = "DAEDALUS_PEER_TOKEN_FILE", value_name = "FILE")]
    pub peer_token_file: Option<PathBuf>,
    /// Port of the peer sidecars; default: the port this sidecar listens on.
    #[arg(long, env = "DAEDALUS_PEER_PORT", value_name = "PORT")]
    pub peer_port: Option<u16>,
    /// `http` or `https` for peer sidecars; default: what this sidecar serves.
    #[arg(long, env = "DAEDALUS_PEER_SCHEME", value_name = "SCHEME")]
    pub peer_scheme: Option<String>,
    /// PEM CA certificate(s) to trust for `https` peers, besides the system's.
    #[arg(long, env = "DAEDALUS_PEER_CA", value_name = "FILE")]
    pub peer_ca: Option<PathBuf>,
    // --- end of cluster-wide settings
    /// The node's cassandra.yaml, or the directory holding it, served by `GET /config`
    /// (404 when not given).
    #[arg(long, env = "DAEDALUS_CASSANDRA_CONFIG", value_name = "FILE|DIR")]
    pub cassandra_config: Option<PathBuf>,
    // --- Continuous commit-log archiving; see docs/PITR.md.
    /// Directory Cassandra's `archive_command` hard-links closed commit-log segments into
    /// (`archive_command=/bin/ln %path DIR/%name`): each segment there is uploaded to
    /// `--commitlog-archive-location`, then removed from DIR. Needs that location.
    #[arg(long, env = "DAEDALUS_COMMITLOG_ARCHIVE", value_name = "DIR")]
    pub commitlog_archive: Option<PathBuf>,
    /// Where `--commitlog-archive` uploads segments, in Esop's layout
    /// (`<node prefix>/commitlog/<segment>.<last-modified millis>`): `s3|gcp|azure://bucket`
    /// (the node's cluster, datacenter and host id, read over JMX, complete it),
    /// `s3|gcp|azure://bucket/cluster/dc/node`, or `file:///dir/bucket/cluster/dc/node` inside
    /// an `--allowed-root`. Credentials as for the backup operations (environment,
    /// `--backup-secrets-dir`).
    #[arg(
        long,
        env = "DAEDALUS_COMMITLOG_ARCHIVE_LOCATION",
        value_name = "LOCATION"
    )]
    pub commitlog_archive_location: Option<String>,
    // --- end of commit-log archiving
    // --- Production readiness: TLS, auth, CORS, load bounds, shutdown, log format. ---
    /// PEM certificate chain of the API; with `--tls-key` the API speaks HTTPS only. Reloaded on
    /// SIGHUP and when the file changes.
    #[arg(long, env = "DAEDALUS_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "DAEDALUS_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates; clients must present a certificate signed by one of them.
    #[arg(long, env = "DAEDALUS_TLS_CLIENT_CA", value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// Bearer tokens file (`NAME ROLE SHA256-HEX` lines; see `daedalus hash-token`).
    #[arg(long, env = "DAEDALUS_AUTH_TOKENS", value_name = "FILE")]
    pub auth_tokens: Option<PathBuf>,
    /// Origin allowed to call the API from a browser (repeatable); no CORS headers without it.
    #[arg(
        long,
        env = "DAEDALUS_CORS_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origin: Vec<String>,
    /// Most operations waiting PENDING; more submissions get 503.
    #[arg(
        long,
        env = "DAEDALUS_MAX_PENDING",
        value_name = "N",
        default_value_t = DEFAULT_MAX_PENDING_NONZERO
    )]
    pub max_pending: NonZeroUsize,
    /// How long running operations may take to finish on SIGTERM/SIGINT: `30s`, `2m`; a bare
    /// number is seconds.
    #[arg(
        long,
        env = "DAEDALUS_SHUTDOWN_GRACE",
        value_name = "DURATION",
        default_value_t = DurationOrSeconds::new(DEFAULT_SHUTDOWN_GRACE)
    )]
    pub shutdown_grace: DurationOrSeconds,
    /// How log lines are written: plain text, or one JSON object a line.
    #[arg(
        long,
        env = "DAEDALUS_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    // --- end ---
}

// Constants: a zero default would fail the build here, never a start-up.
const DEFAULT_WORKERS_NONZERO: NonZeroUsize = match NonZeroUsize::new(DEFAULT_WORKERS) {
    Some(n) => n,
    None => panic!("DEFAULT_WORKERS is 0"),
};
const DEFAULT_MAX_PENDING_NONZERO: NonZeroUsize = match NonZeroUsize::new(DEFAULT_MAX_PENDING) {
    Some(n) => n,
    None => panic!("DEFAULT_MAX_PENDING is 0"),
};

/// The serve settings as parsed from flags and environment, with the names of the settings that
/// were given there (they win over the config file; the others were defaults).
#[derive(Debug, Clone)]
pub struct ServeRequest {
    args: ServeArgs,
    /// clap ids (snake_case field names) whose value came from a flag or a variable.
    explicit: BTreeSet<String>,
}

impl ServeRequest {
    fn new(args: ServeArgs, matches: &ArgMatches) -> ServeRequest {
        let explicit = matches
            .ids()
            .filter(|id| {
                matches!(
                    matches.value_source(id.as_str()),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .map(|id| id.as_str().to_string())
            .collect();
        ServeRequest { args, explicit }
    }

    /// The parsed flags and environment, before the config file is merged in.
    pub fn args(&self) -> &ServeArgs {
        &self.args
    }

    /// Merges flags/environment over the config file over the defaults, then checks the
    /// combinations no single setting can check.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let args = match self.args.config.clone() {
            Some(path) => merge_file(self.args, &self.explicit, &path)?,
            None => self.args,
        };
        args.into_settings()
    }
}

/// The file's keys replace the settings not given explicitly: the settings go through TOML and
/// back, so every file value is parsed and checked by the same field types as the flags.
fn merge_file(
    args: ServeArgs,
    explicit: &BTreeSet<String>,
    path: &Path,
) -> Result<ServeArgs, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: toml::Table = toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    let flags = toml::Table::try_from(&args).map_err(|e| ConfigError::Invalid {
        setting: "command line",
        message: e.to_string(),
    })?;
    if file.contains_key("config") {
        return Err(ConfigError::FileValue {
            path: path.to_path_buf(),
            key: "config".into(),
            message: "unknown field `config`: a config file cannot name another".into(),
        });
    }
    let read_back = |table: toml::Table| -> Result<ServeArgs, ConfigError> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            ConfigError::FileValue {
                path: path.to_path_buf(),
                key: e.path().to_string(),
                message: e.into_inner().message().to_string(),
            }
        })
    };
    // Every file value is checked, also those a flag or variable overrides.
    let mut whole_file = flags.clone();
    whole_file.extend(file.clone());
    read_back(whole_file)?;
    let mut merged = flags;
    for (key, value) in file {
        if !explicit.contains(&key.replace('-', "_")) {
            merged.insert(key, value);
        }
    }
    let mut resolved = read_back(merged)?;
    resolved.config = Some(path.to_path_buf());
    Ok(resolved)
}

impl ServeArgs {
    fn into_settings(self) -> Result<Settings, ConfigError> {
        let invalid = |setting: &'static str, message: &str| ConfigError::Invalid {
            setting,
            message: message.to_string(),
        };
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(crate::http::tls::TlsFiles {
                cert,
                key,
                client_ca: self.tls_client_ca,
            }),
            (None, None) if self.tls_client_ca.is_some() => {
                return Err(invalid("tls-client-ca", "needs --tls-cert and --tls-key"))
            }
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls-key", "--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(invalid("tls-cert", "--tls-key needs --tls-cert")),
        };
        let credentials = match (self.jmx_user, self.jmx_password) {
            (Some(user), password) => Some(Credentials {
                user,
                password: password.unwrap_or_default(),
            }),
            (None, Some(_)) => return Err(invalid("jmx-password", "given without jmx-user")),
            (None, None) => match self.jmx_credentials {
                Some(path) => Some(read_credentials(&path)?),
                None => None,
            },
        };
        let operations = OperationSettings {
            enable_truncate: self.enable_truncate,
            restart_command: self.restart_command.filter(|c| !c.trim().is_empty()),
            restart_timeout: self.restart_timeout.get(),
            drain_timeout: self.drain_timeout.get(),
            backup_secrets_dir: self.backup_secrets_dir,
            backup_data_dirs: self.backup_data_dir,
            instance_metadata: !self.no_instance_metadata,
            resume: !self.no_resume,
            ..OperationSettings::default()
        };
        let commitlog_archive = crate::commitlog_archive::ArchiveSettings::from_flags(
            self.commitlog_archive,
            self.commitlog_archive_location,
        )
        .map_err(|e| invalid(e.setting(), &e.to_string()))?;
        let mut allowed_roots = self.allowed_root;
        allowed_roots.extend(self.import_root);
        let peer_scheme = match self.peer_scheme.as_deref() {
            None => None,
            Some(s @ ("http" | "https")) => Some(s.to_string()),
            Some(_) => return Err(invalid("peer-scheme", "must be http or https")),
        };
        let peer_token = match &self.peer_token_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let token = text.lines().next().unwrap_or("").trim().to_string();
                if token.is_empty() {
                    return Err(invalid(
                        "peer-token-file",
                        "the file's first line must be the token",
                    ));
                }
                Some(token)
            }
        };
        let peers = PeerOptions {
            timeout: self.peer_timeout.get(),
            token: peer_token,
            port: self.peer_port,
            scheme: peer_scheme,
            ca: self.peer_ca,
        };
        Ok(Settings {
            peers,
            listen: self.listen,
            jmx_service: self.jmx_service,
            credentials,
            operations_expiration: self.operations_expiration.get(),
            data_dir: self.data_dir,
            workers: self.workers.get(),
            allowed_roots,
            jmx_timeout: self.jmx_timeout.get(),
            jmx_ssl_ca: self.jmx_ssl_ca,
            operations,
            cassandra_config: self.cassandra_config,
            commitlog_archive,
            tls,
            auth_tokens: self.auth_tokens,
            cors_origins: self.cors_origin,
            max_pending: self.max_pending.get(),
            shutdown_grace: self.shutdown_grace.get(),
            log_format: self.log_format,
        })
    }
}

/// The peer settings as given; the port and scheme default to this sidecar's own.
#[derive(Clone)]
pub struct PeerOptions {
    pub timeout: Duration,
    pub token: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for PeerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerOptions")
            .field("timeout", &self.timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("ca", &self.ca)
            .finish()
    }
}

impl PeerOptions {
    /// The settings of a sidecar serving on `port`, over TLS or not.
    pub fn resolve(
        &self,
        port: u16,
        tls: bool,
    ) -> crate::operations::cluster::settings::PeerSettings {
        crate::operations::cluster::settings::PeerSettings {
            scheme: self
                .scheme
                .clone()
                .unwrap_or_else(|| if tls { "https" } else { "http" }.to_string()),
            port: self.port.unwrap_or(port),
            token: self.token.clone(),
            ca: self.ca.clone(),
            timeout: self.timeout,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// A key of the config file is unknown or its value does not fit the setting.
    #[error("config file {}: {key}: {message}", path.display())]
    FileValue {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

/// JMX user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How cluster-wide requests reach the peers (port and scheme filled in once listening).
    pub peers: PeerOptions,
    pub listen: String,
    pub jmx_service: String,
    pub credentials: Option<Credentials>,
    pub operations_expiration: Duration,
    pub data_dir: PathBuf,
    pub workers: usize,
    /// `--allowed-root` and its older name `--import-root`: the directories requests may name.
    pub allowed_roots: Vec<PathBuf>,
    pub jmx_timeout: Duration,
    /// `--jmx-ssl-ca`: JMX over TLS, trusting the certificates in this PEM file.
    pub jmx_ssl_ca: Option<PathBuf>,
    /// Truncate/restart enablement and the operations' bounds.
    pub operations: OperationSettings,
    /// `--cassandra-config`: cassandra.yaml or its directory.
    pub cassandra_config: Option<PathBuf>,
    /// `--commitlog-archive` with its `--commitlog-archive-location`.
    pub commitlog_archive: Option<crate::commitlog_archive::ArchiveSettings>,
    // Production readiness.
    pub tls: Option<crate::http::tls::TlsFiles>,
    pub auth_tokens: Option<PathBuf>,
    pub cors_origins: Vec<String>,
    pub max_pending: usize,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Reads `USER PASSWORD` from the first meaningful line of a credentials file.
pub fn read_credentials(path: &Path) -> Result<Credentials, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| ConfigError::Invalid {
            setting: "jmx-credentials",
            message: format!("{} holds no `USER PASSWORD` line", path.display()),
        })?;
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some(user), Some(password)) => Ok(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        }),
        _ => Err(ConfigError::Invalid {
            setting: "jmx-credentials",
            message: format!("{}: expected `USER PASSWORD`", path.display()),
        }),
    }
}

/// A duration in humantime's forms (`500ms`, `90s`, `30m`, `1h`, `2d`, `1h 30m`), or a bare whole
/// number of `BARE_UNIT_SECS`-second units, as a flag, a variable or a file value (string or
/// integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDuration<const BARE_UNIT_SECS: u64>(Duration);

/// A duration where a bare number means hours.
pub type DurationOrHours = SettingDuration<3600>;
/// A duration where a bare number means seconds.
pub type DurationOrSeconds = SettingDuration<1>;

impl<const BARE_UNIT_SECS: u64> SettingDuration<BARE_UNIT_SECS> {
    pub const fn new(duration: Duration) -> Self {
        SettingDuration(duration)
    }

    pub const fn get(self) -> Duration {
        self.0
    }

    fn from_units(units: u64) -> Result<Self, String> {
        units
            .checked_mul(BARE_UNIT_SECS)
            .map(|secs| SettingDuration(Duration::from_secs(secs)))
            .ok_or_else(|| format!("{units} is too long"))
    }
}

impl<const BARE_UNIT_SECS: u64> FromStr for SettingDuration<BARE_UNIT_SECS> {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_duration(text, BARE_UNIT_SECS).map(SettingDuration)
    }
}

impl<const BARE_UNIT_SECS: u64> fmt::Display for SettingDuration<BARE_UNIT_SECS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_duration(self.0).fmt(f)
    }
}

impl<const BARE_UNIT_SECS: u64> Serialize for SettingDuration<BARE_UNIT_SECS> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, const BARE_UNIT_SECS: u64> Deserialize<'de> for SettingDuration<BARE_UNIT_SECS> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<const BARE_UNIT_SECS: u64>;
        impl<const BARE_UNIT_SECS: u64> serde::de::Visitor<'_> for Visitor<BARE_UNIT_SECS> {
            type Value = SettingDuration<BARE_UNIT_SECS>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"90s\", \"30m\" or \"1h\", or a whole number")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, units: u64) -> Result<Self::Value, E> {
                SettingDuration::from_units(units).map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, units: i64) -> Result<Self::Value, E> {
                let units =
                    u64::try_from(units).map_err(|_| E::custom(format!("{units} is negative")))?;
                self.visit_u64(units)
            }
        }
        deserializer.deserialize_any(Visitor::<BARE_UNIT_SECS>)
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(state).join("daedalus");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/state/daedalus");
    }
    PathBuf::from("daedalus-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeRequest {
        match Mode::try_from_args(std::iter::once("daedalus").chain(args.iter().copied())) {
            Ok(Mode::Serve(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    fn resolve(args: &[&str]) -> Result<Settings, ConfigError> {
        serve(args).resolve()
    }

    fn config_file(dir: &tempfile::TempDir, toml: &str) -> String {
        let file = dir.path().join("d.toml");
        std::fs::write(&file, toml).unwrap();
        file.to_str().unwrap().to_string()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s", 1), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2", 3600), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration(" 2 ", 3600), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("250ms", 1), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("90 s", 1), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m", 1), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2d", 1), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("1h 30m", 1), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0", 1), Ok(Duration::ZERO));
        assert!(parse_duration("1 fortnight", 1).is_err());
        assert!(parse_duration("", 1).is_err());
        assert!(parse_duration("-5s", 1).is_err());
        assert!(parse_duration("99999999999999999999", 1).is_err());
        assert!(parse_duration(&u64::MAX.to_string(), 3600).is_err());
    }

    /// Peers default to this sidecar's own port and scheme; the flags say otherwise, the token
    /// file's first line is the token, and bad values are named.
    #[test]
    fn peer_settings() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.peers.timeout, Duration::from_secs(60));
        let own = s.peers.resolve(4567, false);
        assert_eq!((own.scheme.as_str(), own.port), ("http", 4567));
        assert!(own.token.is_none());
        assert_eq!(s.peers.resolve(4567, true).scheme, "https");

        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("peer-token");
        std::fs::write(&token, "s3cret\nignored\n").unwrap();
        let s = resolve(&[
            "--peer-timeout",
            "5s",
            "--peer-port",
            "9000",
            "--peer-scheme",
            "https",
            "--peer-token-file",
            token.to_str().unwrap(),
        ])
        .unwrap();
        let peers = s.peers.resolve(4567, false);
        assert_eq!((peers.scheme.as_str(), peers.port), ("https", 9000));
        assert_eq!(peers.timeout, Duration::from_secs(5));
        assert_eq!(peers.token.as_deref(), Some("s3cret"));
        assert!(!format!("{:?} {peers:?}", s.peers).contains("s3cret"));

        let e = resolve(&["--peer-scheme", "ftp"]).unwrap_err();
        assert!(e.to_string().contains("peer-scheme"), "{e}");
        std::fs::write(&token, "\n").unwrap();
        let e = resolve(&["--peer-token-file", token.to_str().unwrap()]).unwrap_err();
        assert!(e.to_string().contains("peer-token-file"), "{e}");
    }

    #[test]
    fn durations_print_as_they_parse() {
        for text in ["1h", "30s", "10m", "1h 30m 250ms"] {
            let parsed: DurationOrSeconds = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn defaults() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert_eq!(s.jmx_service, DEFAULT_JMX_SERVICE);
        assert_eq!(s.workers, DEFAULT_WORKERS);
        assert_eq!(s.operations_expiration, DEFAULT_EXPIRATION);
        assert_eq!(s.jmx_timeout, DEFAULT_JMX_TIMEOUT);
        assert_eq!(s.data_dir, default_data_dir());
        assert!(s.credentials.is_none() && s.allowed_roots.is_empty());
        let ops = s.operations;
        assert_eq!(
            ops.restart_timeout,
            OperationSettings::default().restart_timeout
        );
        assert_eq!(
            ops.drain_timeout,
            OperationSettings::default().drain_timeout
        );
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "workers = 3\nlisten = \"0.0.0.0:9\"\nimport-root = [\"/a\"]\n",
        );
        let s = resolve(&["--config", &file, "--listen", "127.0.0.1:1"]).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.workers, 3);
        assert_eq!(s.allowed_roots, vec![PathBuf::from("/a")]);
        assert_eq!(s.jmx_service, DEFAULT_JMX_SERVICE);
        assert_eq!(s.operations_expiration, DEFAULT_EXPIRATION);
        // A flag equal to its default is still a flag: it beats the file.
        let s = resolve(&["--config", &file, "--workers", "10"]).unwrap();
        assert_eq!(s.workers, 10);
        // A list flag replaces the file's list.
        let s = resolve(&["--config", &file, "--import-root", "/b"]).unwrap();
        assert_eq!(s.allowed_roots, vec![PathBuf::from("/b")]);
    }

    /// `--allowed-root` (key `allowed-root`) and its older name `--import-root` (key
    /// `import-root`) are one setting: repeatable, and adding up when both are given.
    #[test]
    fn allowed_roots_under_both_names() {
        let dir = tempfile::tempdir().unwrap();
        let s = resolve(&["--allowed-root", "/a", "--allowed-root", "/b"]).unwrap();
        assert_eq!(s.allowed_roots, [PathBuf::from("/a"), PathBuf::from("/b")]);
        let file = config_file(&dir, "allowed-root = [\"/f\"]\n");
        let s = resolve(&["--config", &file]).unwrap();
        assert_eq!(s.allowed_roots, [PathBuf::from("/f")]);
        let s = resolve(&["--config", &file, "--allowed-root", "/g"]).unwrap();
        assert_eq!(
            s.allowed_roots,
            [PathBuf::from("/g")],
            "the flag replaces the file's"
        );
        let s = resolve(&["--config", &file, "--import-root", "/old"]).unwrap();
        assert_eq!(
            s.allowed_roots,
            [PathBuf::from("/f"), PathBuf::from("/old")]
        );
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("--allowed-root") && !help.contains("--import-root"),
            "{help}"
        );
    }

    #[test]
    fn the_instance_metadata_service_is_asked_unless_turned_off() {
        assert!(resolve(&[]).unwrap().operations.instance_metadata);
        let s = resolve(&["--no-instance-metadata"]).unwrap();
        assert!(!s.operations.instance_metadata);
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "no-instance-metadata = true\n");
        assert!(
            !resolve(&["--config", &file])
                .unwrap()
                .operations
                .instance_metadata
        );
    }

    #[test]
    fn interrupted_operations_resume_unless_turned_off() {
        assert!(resolve(&[]).unwrap().operations.resume);
        assert!(!resolve(&["--no-resume"]).unwrap().operations.resume);
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "no-resume = true\n");
        assert!(!resolve(&["--config", &file]).unwrap().operations.resume);
    }

    /// Run in a child process (the environment is shared by the tests of this process): the
    /// variable beats the file, the flag beats the variable.
    #[test]
    fn environment_sits_between_flags_and_file() {
        const CHILD: &str = "DAEDALUS_CONFIG_TEST_CHILD";
        if std::env::var_os(CHILD).is_none() {
            let dir = tempfile::tempdir().unwrap();
            let file = config_file(&dir, "workers = 3\nmax-pending = 4\njmx-timeout = 5\n");
            let child = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "config::tests::environment_sits_between_flags_and_file",
                ])
                .env(CHILD, "1")
                .env("DAEDALUS_CONFIG", &file)
                .env("DAEDALUS_WORKERS", "7")
                .env("DAEDALUS_MAX_PENDING", "8")
                .env("DAEDALUS_IMPORT_ROOT", "/x:/y")
                .env("DAEDALUS_ALLOWED_ROOT", "/z")
                .env("DAEDALUS_NO_INSTANCE_METADATA", "true")
                .output()
                .unwrap();
            assert!(
                child.status.success(),
                "{}{}",
                String::from_utf8_lossy(&child.stdout),
                String::from_utf8_lossy(&child.stderr)
            );
            // The filter matched: the checks below ran in the child.
            assert!(String::from_utf8_lossy(&child.stdout).contains("1 passed"));
            return;
        }
        let s = resolve(&["--max-pending", "9"]).unwrap();
        assert_eq!(s.workers, 7);
        assert_eq!(s.max_pending, 9);
        assert_eq!(s.jmx_timeout, Duration::from_secs(5));
        // The older name's directories add to the new one's.
        assert_eq!(
            s.allowed_roots,
            [
                PathBuf::from("/z"),
                PathBuf::from("/x"),
                PathBuf::from("/y")
            ]
        );
        assert!(!s.operations.instance_metadata);
    }

    #[test]
    fn file_durations_keep_their_bare_unit() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "operations-expiration = \"2\"\njmx-timeout = 45\nshutdown-grace = \"1m 30s\"\n",
        );
        let s = resolve(&["--config", &file]).unwrap();
        assert_eq!(s.operations_expiration, Duration::from_secs(7200));
        assert_eq!(s.jmx_timeout, Duration::from_secs(45));
        assert_eq!(s.shutdown_grace, Duration::from_secs(90));
        let file = config_file(&dir, "operations-expiration = 3\n");
        let s = resolve(&["--config", &file]).unwrap();
        assert_eq!(s.operations_expiration, Duration::from_secs(3 * 3600));
        let s = resolve(&["--operations-expiration", "2"]).unwrap();
        assert_eq!(s.operations_expiration, Duration::from_secs(7200));
    }

    #[test]
    fn bad_file_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        for (toml, key, words) in [
            ("workers = \"many\"\n", "workers", "invalid type"),
            ("workers = 0\n", "workers", "nonzero"),
            ("jmx-timeout = \"soon\"\n", "jmx-timeout", "soon"),
            ("jmx-timeout = -1\n", "jmx-timeout", "negative"),
            ("log-format = \"xml\"\n", "log-format", "xml"),
            (
                "enable-truncate = \"yes\"\n",
                "enable-truncate",
                "invalid type",
            ),
            ("unknown-thing = 1\n", "unknown-thing", "unknown field"),
            ("config = \"other.toml\"\n", "config", "unknown field"),
        ] {
            let file = config_file(&dir, toml);
            let err = match resolve(&["--config", &file]) {
                Ok(s) => panic!("{toml:?} was accepted: {s:?}"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(key) && err.contains(words),
                "{toml:?} gave {err:?}"
            );
        }
        // A bad value is an error even where a flag overrides it.
        let file = config_file(&dir, "workers = \"many\"\n");
        let err = resolve(&["--config", &file, "--workers", "2"]).unwrap_err();
        assert!(err.to_string().contains("workers"), "{err}");
        let file = config_file(&dir, "workers = \n");
        let err = resolve(&["--config", &file]).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
        let missing = dir.path().join("absent.toml");
        let err = resolve(&["--config", missing.to_str().unwrap()]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    }

    #[test]
    fn bad_flags_name_their_flag() {
        for (args, flag) in [
            (&["--workers", "0"][..], "--workers"),
            (&["--max-pending", "0"], "--max-pending"),
            (&["--jmx-timeout", "1 fortnight"], "--jmx-timeout"),
            (&["--log-format", "xml"], "--log-format"),
        ] {
            let err = Mode::try_from_args(std::iter::once("daedalus").chain(args.iter().copied()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(flag), "{args:?} gave {err}");
        }
    }

    #[test]
    fn credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(&file, "# jmx\n\ncassandra  s3cret\n").unwrap();
        let creds = resolve(&["--jmx-credentials", file.to_str().unwrap()])
            .unwrap()
            .credentials
            .unwrap();
        assert_eq!(
            (creds.user.as_str(), creds.password.as_str()),
            ("cassandra", "s3cret")
        );
        let user = resolve(&["--jmx-user", "u"]).unwrap().credentials.unwrap();
        assert_eq!((user.user.as_str(), user.password.as_str()), ("u", ""));
        assert!(resolve(&["--jmx-password", "p"]).is_err());
        std::fs::write(&file, "# only a comment\n").unwrap();
        assert!(resolve(&["--jmx-credentials", file.to_str().unwrap()]).is_err());
    }

    #[test]
    fn operation_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "enable-truncate = true\nrestart-command = \"systemctl restart cassandra\"\ndrain-timeout = \"90s\"\n",
        );
        let ops = resolve(&["--config", &file, "--restart-timeout", "2m"])
            .unwrap()
            .operations;
        assert!(ops.enable_truncate);
        assert_eq!(
            ops.restart_command.as_deref(),
            Some("systemctl restart cassandra")
        );
        assert_eq!(ops.restart_timeout, Duration::from_secs(120));
        assert_eq!(ops.drain_timeout, Duration::from_secs(90));
        let ops = resolve(&[]).unwrap().operations;
        assert!(!ops.enable_truncate && ops.restart_command.is_none());
        let ops = resolve(&["--enable-truncate", "--restart-command", "true"])
            .unwrap()
            .operations;
        assert!(ops.enable_truncate);
        assert_eq!(ops.restart_command.as_deref(), Some("true"));
        let ops = resolve(&["--restart-command", "  "]).unwrap().operations;
        assert!(ops.restart_command.is_none());
    }

    #[test]
    fn backup_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "backup-secrets-dir = \"/run/secrets\"\nbackup-data-dir = [\"/d1\", \"/d2\"]\n",
        );
        let ops = resolve(&["--config", &file]).unwrap().operations;
        assert_eq!(ops.backup_secrets_dir, Some(PathBuf::from("/run/secrets")));
        assert_eq!(
            ops.backup_data_dirs,
            [PathBuf::from("/d1"), PathBuf::from("/d2")]
        );
        let ops = resolve(&["--backup-data-dir", "/x"]).unwrap().operations;
        assert_eq!(ops.backup_data_dirs, [PathBuf::from("/x")]);
        assert!(ops.backup_secrets_dir.is_none());
    }

    #[test]
    fn commitlog_archive_settings() {
        assert!(resolve(&[]).unwrap().commitlog_archive.is_none());
        let s = resolve(&[
            "--commitlog-archive",
            "/var/lib/cassandra/commitlog_archive",
            "--commitlog-archive-location",
            "s3://bucket",
        ])
        .unwrap();
        let archive = s.commitlog_archive.unwrap();
        assert_eq!(
            archive.dir,
            PathBuf::from("/var/lib/cassandra/commitlog_archive")
        );
        assert!(archive.location.is_global());
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "commitlog-archive = \"/a\"\ncommitlog-archive-location = \"file:///b/bucket/c/dc/n\"\n",
        );
        let archive = resolve(&["--config", &file])
            .unwrap()
            .commitlog_archive
            .unwrap();
        assert_eq!(archive.dir, PathBuf::from("/a"));
        assert_eq!(archive.location.bucket, "bucket");
        for (args, words) in [
            (
                &["--commitlog-archive", "/a"][..],
                "commitlog-archive-location",
            ),
            (
                &["--commitlog-archive-location", "s3://b"],
                "commitlog-archive",
            ),
            (
                &[
                    "--commitlog-archive",
                    "/a",
                    "--commitlog-archive-location",
                    "ftp://b",
                ],
                "ftp",
            ),
            (
                &[
                    "--commitlog-archive",
                    "relative",
                    "--commitlog-archive-location",
                    "s3://b",
                ],
                "absolute",
            ),
        ] {
            let err = resolve(args).unwrap_err().to_string();
            assert!(err.contains(words), "{args:?} gave {err}");
        }
    }

    #[test]
    fn client_commands_and_serve_share_one_parser() {
        Cli::command().debug_assert();
        let mode = |args: &[&str]| {
            Mode::try_from_args(std::iter::once("daedalus").chain(args.iter().copied()))
        };
        match mode(&["status", "--url", "http://n:1", "--json"]).unwrap() {
            Mode::Client(global, daedalus_client::cli::Command::Status) => {
                assert_eq!(global.url, "http://n:1");
                assert!(global.json);
            }
            other => panic!("{other:?}"),
        }
        match mode(&["op", "get", "x", "--wait"]).unwrap() {
            Mode::Client(_, daedalus_client::cli::Command::Op(_)) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            serve(&["--cassandra-config", "/etc/cassandra"])
                .args()
                .cassandra_config
                .as_deref(),
            Some(Path::new("/etc/cassandra"))
        );
        assert!(matches!(
            mode(&["serve", "--workers", "1"]).unwrap(),
            Mode::Serve(_)
        ));
        assert!(mode(&["status", "--workers", "1"]).is_err());
    }

    #[test]
    fn hardening_settings() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.max_pending, DEFAULT_MAX_PENDING);
        assert_eq!(s.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.tls.is_none() && s.auth_tokens.is_none() && s.cors_origins.is_empty());
        let s = resolve(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--max-pending",
            "5",
            "--shutdown-grace",
            "2s",
            "--log-format",
            "json",
            "--cors-origin",
            "https://a.example,https://b.example",
        ])
        .unwrap();
        assert_eq!(s.tls.unwrap().cert, PathBuf::from("c.pem"));
        assert_eq!(s.max_pending, 5);
        assert_eq!(s.shutdown_grace, Duration::from_secs(2));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.cors_origins.len(), 2);
        assert!(resolve(&["--tls-cert", "c.pem"]).is_err());
        assert!(resolve(&["--tls-key", "k.pem"]).is_err());
        assert!(resolve(&["--tls-client-ca", "ca.pem"]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(
            &dir,
            "log-format = \"json\"\nmax-pending = 7\ncors-origin = [\"https://c.example\"]\n",
        );
        let s = resolve(&["--config", &file]).unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.max_pending, 7);
        assert_eq!(s.cors_origins, ["https://c.example"]);
    }

    #[test]
    fn hash_token_subcommand() {
        let mode = Mode::try_from_args(["daedalus", "hash-token", "abc"]).unwrap();
        assert!(matches!(
            mode,
            Mode::HashToken(HashTokenArgs { token: Some(ref t) }) if t == "abc"
        ));
    }

    #[test]
    fn bare_and_serve_take_the_same_flags() {
        let bare = serve(&["--workers", "2"]);
        let sub = serve(&["serve", "--workers", "2"]);
        assert_eq!(bare.args().workers.get(), 2);
        assert_eq!(sub.args().workers.get(), 2);
        // The file applies under `serve` too, and its flags still win.
        let dir = tempfile::tempdir().unwrap();
        let file = config_file(&dir, "workers = 3\njmx-service = \"h:1\"\n");
        let s = resolve(&["serve", "--config", &file, "--workers", "2"]).unwrap();
        assert_eq!((s.workers, s.jmx_service.as_str()), (2, "h:1"));
    }
}
