//! Command line, environment and config file, merged into one `Settings`.
//!
//! Owns the flags (Icarus's names where Icarus has one), their `DAEDALUS_*` variables, the TOML
//! file format and the defaults. Precedence: flag > environment > config file > default. It must
//! not start anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4567";
pub const DEFAULT_JMX_SERVICE: &str = "127.0.0.1:7199";
pub const DEFAULT_WORKERS: usize = 10;
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_JMX_TIMEOUT: Duration = Duration::from_secs(30);

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
    Serve(ServeArgs),
    /// Run one operator command against a sidecar.
    Client(
        daedalus_client::cli::GlobalArgs,
        daedalus_client::cli::Command,
    ),
    /// Print the hash of a bearer token.
    HashToken(HashTokenArgs),
}

impl Cli {
    /// The serve flags, wherever they were given (the bare ones for another command).
    pub fn serve_args(self) -> ServeArgs {
        match self.command {
            Some(Command::Serve(args)) => args,
            Some(Command::Client(_)) | Some(Command::HashToken(_)) | None => self.serve,
        }
    }

    /// Serve, run an operator command, or hash a token.
    pub fn mode(self) -> Mode {
        match self.command {
            Some(Command::Serve(args)) => Mode::Serve(args),
            None => Mode::Serve(self.serve),
            Some(Command::Client(command)) => Mode::Client(self.client, command),
            Some(Command::HashToken(args)) => Mode::HashToken(args),
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (kebab-case keys, e.g. `jmx-service = "..."`).
    #[arg(long, env = "DAEDALUS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address of the HTTP API [default: 127.0.0.1:4567].
    #[arg(long, env = "DAEDALUS_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Cassandra's JMX address [default: 127.0.0.1:7199].
    #[arg(long, env = "DAEDALUS_JMX_SERVICE", value_name = "HOST:PORT")]
    pub jmx_service: Option<String>,
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
    /// How long finished operations are kept: `90s`, `30m`, `1h`, `2d`; a bare number is hours
    /// [default: 1h].
    #[arg(long, env = "DAEDALUS_OPERATIONS_EXPIRATION", value_name = "DURATION")]
    pub operations_expiration: Option<String>,
    /// Directory of the durable journal [default: $XDG_STATE_HOME/daedalus, else
    /// ~/.local/state/daedalus, else ./daedalus-data].
    #[arg(long, env = "DAEDALUS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Operations run at once; more wait PENDING [default: 10].
    #[arg(long, env = "DAEDALUS_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// When given (repeatable), `sourceDir` and `tablePath` must resolve inside one of these.
    /// In the environment, separate several with `:`.
    #[arg(
        long,
        env = "DAEDALUS_IMPORT_ROOT",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub import_root: Vec<PathBuf>,
    /// Longest wait for one JMX call: `30s`, `2m`; a bare number is seconds [default: 30s].
    #[arg(long, env = "DAEDALUS_JMX_TIMEOUT", value_name = "DURATION")]
    pub jmx_timeout: Option<String>,
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
    /// Bound on the restart command plus the wait for mode NORMAL afterwards [default: 10m].
    #[arg(long, env = "DAEDALUS_RESTART_TIMEOUT", value_name = "DURATION")]
    pub restart_timeout: Option<String>,
    /// Bound on waiting for mode DRAINED once drain() returned [default: 10m].
    #[arg(long, env = "DAEDALUS_DRAIN_TIMEOUT", value_name = "DURATION")]
    pub drain_timeout: Option<String>,
    // --- end of operation settings
    /// The node's cassandra.yaml, or the directory holding it, served by `GET /config`
    /// (404 when not given).
    #[arg(long, env = "DAEDALUS_CASSANDRA_CONFIG", value_name = "FILE|DIR")]
    pub cassandra_config: Option<PathBuf>,
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
    /// Most operations waiting PENDING; more submissions get 503 [default: 1000].
    #[arg(long, env = "DAEDALUS_MAX_PENDING", value_name = "N")]
    pub max_pending: Option<usize>,
    /// How long running operations may take to finish on SIGTERM/SIGINT: `30s`, `2m`; a bare
    /// number is seconds [default: 30s].
    #[arg(long, env = "DAEDALUS_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub shutdown_grace: Option<String>,
    /// `text` or `json` (one JSON object a line) [default: text].
    #[arg(long, env = "DAEDALUS_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    // --- end ---
}

/// The config file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub jmx_service: Option<String>,
    pub jmx_user: Option<String>,
    pub jmx_password: Option<String>,
    pub jmx_credentials: Option<PathBuf>,
    pub operations_expiration: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub workers: Option<usize>,
    #[serde(default)]
    pub import_root: Vec<PathBuf>,
    pub jmx_timeout: Option<String>,
    pub jmx_ssl_ca: Option<PathBuf>,
    // --- Operation settings.
    pub enable_truncate: Option<bool>,
    pub restart_command: Option<String>,
    pub restart_timeout: Option<String>,
    pub drain_timeout: Option<String>,
    // --- end of operation settings
    pub cassandra_config: Option<PathBuf>,
    // Production readiness.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub auth_tokens: Option<PathBuf>,
    #[serde(default)]
    pub cors_origin: Vec<String>,
    pub max_pending: Option<usize>,
    pub shutdown_grace: Option<String>,
    pub log_format: Option<String>,
}

#[derive(Debug, thiserror::Error)]
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

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub jmx_service: String,
    pub credentials: Option<Credentials>,
    pub operations_expiration: Duration,
    pub data_dir: PathBuf,
    pub workers: usize,
    pub import_roots: Vec<PathBuf>,
    pub jmx_timeout: Duration,
    /// `--jmx-ssl-ca`: JMX over TLS, trusting the certificates in this PEM file.
    pub jmx_ssl_ca: Option<PathBuf>,
    /// Truncate/restart enablement and the operations' bounds.
    pub operations: crate::operations::OperationSettings,
    /// `--cassandra-config`: cassandra.yaml or its directory.
    pub cassandra_config: Option<PathBuf>,
    // Production readiness.
    pub tls: Option<crate::http::tls::TlsFiles>,
    pub auth_tokens: Option<PathBuf>,
    pub cors_origins: Vec<String>,
    pub max_pending: usize,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
}

pub const DEFAULT_MAX_PENDING: usize = 1000;
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The production-readiness settings, resolved the same way as the others.
struct Hardening {
    tls: Option<crate::http::tls::TlsFiles>,
    auth_tokens: Option<PathBuf>,
    cors_origins: Vec<String>,
    max_pending: usize,
    shutdown_grace: Duration,
    log_format: LogFormat,
}

fn hardening(args: &mut ServeArgs, file: &mut FileConfig) -> Result<Hardening, ConfigError> {
    let invalid = |setting: &'static str, message: &str| ConfigError::Invalid {
        setting,
        message: message.to_string(),
    };
    let cert = args.tls_cert.take().or(file.tls_cert.take());
    let key = args.tls_key.take().or(file.tls_key.take());
    let client_ca = args.tls_client_ca.take().or(file.tls_client_ca.take());
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(crate::http::tls::TlsFiles {
            cert,
            key,
            client_ca,
        }),
        (None, None) if client_ca.is_some() => {
            return Err(invalid("tls-client-ca", "needs --tls-cert and --tls-key"))
        }
        (None, None) => None,
        (Some(_), None) => return Err(invalid("tls-key", "--tls-cert needs --tls-key")),
        (None, Some(_)) => return Err(invalid("tls-cert", "--tls-key needs --tls-cert")),
    };
    let max_pending = args
        .max_pending
        .or(file.max_pending)
        .unwrap_or(DEFAULT_MAX_PENDING);
    if max_pending == 0 {
        return Err(invalid("max-pending", "must be at least 1"));
    }
    let shutdown_grace = match args.shutdown_grace.take().or(file.shutdown_grace.take()) {
        Some(text) => parse_duration(&text, 1).map_err(|message| ConfigError::Invalid {
            setting: "shutdown-grace",
            message,
        })?,
        None => DEFAULT_SHUTDOWN_GRACE,
    };
    let log_format = match args.log_format.take().or(file.log_format.take()).as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(ConfigError::Invalid {
                setting: "log-format",
                message: format!("{other:?} is neither `text` nor `json`"),
            })
        }
    };
    let cors_origins = if args.cors_origin.is_empty() {
        std::mem::take(&mut file.cors_origin)
    } else {
        std::mem::take(&mut args.cors_origin)
    };
    Ok(Hardening {
        tls,
        auth_tokens: args.auth_tokens.take().or(file.auth_tokens.take()),
        cors_origins,
        max_pending,
        shutdown_grace,
        log_format,
    })
}

impl ServeArgs {
    /// Merges flags/environment (already in `self`) over the config file over the defaults.
    pub fn resolve(mut self) -> Result<Settings, ConfigError> {
        let mut file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
            None => FileConfig::default(),
        };
        let operations = resolve_operations(&self, &file)?;
        let hardening = hardening(&mut self, &mut file)?;
        let workers = self.workers.or(file.workers).unwrap_or(DEFAULT_WORKERS);
        if workers == 0 {
            return Err(ConfigError::Invalid {
                setting: "workers",
                message: "must be at least 1".into(),
            });
        }
        let operations_expiration = match self.operations_expiration.or(file.operations_expiration)
        {
            Some(text) => parse_duration(&text, 3600).map_err(|message| ConfigError::Invalid {
                setting: "operations-expiration",
                message,
            })?,
            None => DEFAULT_EXPIRATION,
        };
        let jmx_timeout = match self.jmx_timeout.or(file.jmx_timeout) {
            Some(text) => parse_duration(&text, 1).map_err(|message| ConfigError::Invalid {
                setting: "jmx-timeout",
                message,
            })?,
            None => DEFAULT_JMX_TIMEOUT,
        };
        let credentials_file = self.jmx_credentials.or(file.jmx_credentials);
        let credentials = match (
            self.jmx_user.or(file.jmx_user),
            self.jmx_password.or(file.jmx_password),
        ) {
            (Some(user), password) => Some(Credentials {
                user,
                password: password.unwrap_or_default(),
            }),
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    setting: "jmx-password",
                    message: "given without jmx-user".into(),
                })
            }
            (None, None) => match credentials_file {
                Some(path) => Some(read_credentials(&path)?),
                None => None,
            },
        };
        let import_roots = if self.import_root.is_empty() {
            file.import_root
        } else {
            self.import_root
        };
        Ok(Settings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            jmx_service: self
                .jmx_service
                .or(file.jmx_service)
                .unwrap_or_else(|| DEFAULT_JMX_SERVICE.to_string()),
            credentials,
            operations_expiration,
            data_dir: self
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
            workers,
            import_roots,
            jmx_timeout,
            jmx_ssl_ca: self.jmx_ssl_ca.or(file.jmx_ssl_ca),
            operations,
            cassandra_config: self.cassandra_config.or(file.cassandra_config),
            tls: hardening.tls,
            auth_tokens: hardening.auth_tokens,
            cors_origins: hardening.cors_origins,
            max_pending: hardening.max_pending,
            shutdown_grace: hardening.shutdown_grace,
            log_format: hardening.log_format,
        })
    }
}

// --- Operation settings: flag > environment > file > default.
fn resolve_operations(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<crate::operations::OperationSettings, ConfigError> {
    let defaults = crate::operations::OperationSettings::default();
    let duration = |setting: &'static str,
                    flag: &Option<String>,
                    file: &Option<String>,
                    default| match flag.as_ref().or(file.as_ref()) {
        Some(text) => {
            parse_duration(text, 1).map_err(|message| ConfigError::Invalid { setting, message })
        }
        None => Ok(default),
    };
    let restart_command = args
        .restart_command
        .clone()
        .or_else(|| file.restart_command.clone())
        .filter(|c| !c.trim().is_empty());
    Ok(crate::operations::OperationSettings {
        enable_truncate: args.enable_truncate || file.enable_truncate.unwrap_or(false),
        restart_command,
        restart_timeout: duration(
            "restart-timeout",
            &args.restart_timeout,
            &file.restart_timeout,
            defaults.restart_timeout,
        )?,
        drain_timeout: duration(
            "drain-timeout",
            &args.drain_timeout,
            &file.drain_timeout,
            defaults.drain_timeout,
        )?,
        ..defaults
    })
}
// --- end of operation settings

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

/// `500ms`, `90s`, `30m`, `1h`, `2d`; a bare number is `bare_unit_secs` seconds per unit.
pub fn parse_duration(text: &str, bare_unit_secs: u64) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 30m or 1h"))?;
    let millis_per = match unit.trim() {
        "" => bare_unit_secs * 1000,
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ))
        }
    };
    n.checked_mul(millis_per)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
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
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s", 1), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2", 3600), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("250ms", 1), Ok(Duration::from_millis(250)));
        assert!(parse_duration("1 fortnight", 1).is_err());
        assert!(parse_duration("", 1).is_err());
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.toml");
        std::fs::write(
            &file,
            "workers = 3\nlisten = \"0.0.0.0:9\"\nimport-root = [\"/a\"]\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            listen: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        let s = args.resolve().unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.workers, 3);
        assert_eq!(s.import_roots, vec![PathBuf::from("/a")]);
        assert_eq!(s.jmx_service, DEFAULT_JMX_SERVICE);
        assert_eq!(s.operations_expiration, DEFAULT_EXPIRATION);
    }

    #[test]
    fn credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(&file, "# jmx\n\ncassandra  s3cret\n").unwrap();
        let args = ServeArgs {
            jmx_credentials: Some(file),
            ..Default::default()
        };
        let creds = args.resolve().unwrap().credentials.unwrap();
        assert_eq!(
            (creds.user.as_str(), creds.password.as_str()),
            ("cassandra", "s3cret")
        );
    }

    #[test]
    fn operation_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.toml");
        std::fs::write(
            &file,
            "enable-truncate = true\nrestart-command = \"systemctl restart cassandra\"\ndrain-timeout = \"90s\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            restart_timeout: Some("2m".into()),
            ..Default::default()
        };
        let ops = args.resolve().unwrap().operations;
        assert!(ops.enable_truncate);
        assert_eq!(
            ops.restart_command.as_deref(),
            Some("systemctl restart cassandra")
        );
        assert_eq!(ops.restart_timeout, Duration::from_secs(120));
        assert_eq!(ops.drain_timeout, Duration::from_secs(90));
        let ops = ServeArgs::default().resolve().unwrap().operations;
        assert!(!ops.enable_truncate && ops.restart_command.is_none());
        let cli = Cli::parse_from(["daedalus", "--enable-truncate", "--restart-command", "true"]);
        let ops = cli.serve_args().resolve().unwrap().operations;
        assert!(ops.enable_truncate);
        assert_eq!(ops.restart_command.as_deref(), Some("true"));
    }

    #[test]
    fn client_commands_and_serve_share_one_parser() {
        Cli::command().debug_assert();
        match Cli::parse_from(["daedalus", "status", "--url", "http://n:1", "--json"]).mode() {
            Mode::Client(global, daedalus_client::cli::Command::Status) => {
                assert_eq!(global.url, "http://n:1");
                assert!(global.json);
            }
            other => panic!("{other:?}"),
        }
        match Cli::parse_from(["daedalus", "op", "get", "x", "--wait"]).mode() {
            Mode::Client(_, daedalus_client::cli::Command::Op(_)) => {}
            other => panic!("{other:?}"),
        }
        match Cli::parse_from(["daedalus", "--cassandra-config", "/etc/cassandra"]).mode() {
            Mode::Serve(args) => assert_eq!(
                args.cassandra_config.as_deref(),
                Some(Path::new("/etc/cassandra"))
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Cli::parse_from(["daedalus", "serve", "--workers", "1"]).mode(),
            Mode::Serve(_)
        ));
        assert!(Cli::try_parse_from(["daedalus", "status", "--workers", "1"]).is_err());
    }

    #[test]
    fn hardening_settings() {
        let s = ServeArgs::default().resolve().unwrap();
        assert_eq!(s.max_pending, DEFAULT_MAX_PENDING);
        assert_eq!(s.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.tls.is_none() && s.auth_tokens.is_none() && s.cors_origins.is_empty());
        let s = Cli::parse_from([
            "daedalus",
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
        .serve_args()
        .resolve()
        .unwrap();
        assert_eq!(s.tls.unwrap().cert, PathBuf::from("c.pem"));
        assert_eq!(s.max_pending, 5);
        assert_eq!(s.shutdown_grace, Duration::from_secs(2));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.cors_origins.len(), 2);
        let only_cert = ServeArgs {
            tls_cert: Some("c.pem".into()),
            ..Default::default()
        };
        assert!(only_cert.resolve().is_err());
        let bad_format = ServeArgs {
            log_format: Some("xml".into()),
            ..Default::default()
        };
        assert!(bad_format.resolve().is_err());
        let zero = ServeArgs {
            max_pending: Some(0),
            ..Default::default()
        };
        assert!(zero.resolve().is_err());
    }

    #[test]
    fn hash_token_subcommand() {
        let cli = Cli::parse_from(["daedalus", "hash-token", "abc"]);
        assert!(matches!(
            cli.command,
            Some(Command::HashToken(HashTokenArgs { token: Some(ref t) })) if t == "abc"
        ));
    }

    #[test]
    fn bare_and_serve_take_the_same_flags() {
        let bare = Cli::parse_from(["daedalus", "--workers", "2"]).serve_args();
        let serve = Cli::parse_from(["daedalus", "serve", "--workers", "2"]).serve_args();
        assert_eq!(bare.workers, Some(2));
        assert_eq!(serve.workers, Some(2));
    }
}
