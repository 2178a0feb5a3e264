//! The `daedalus` binary: parse settings, open the journal, start the engine, serve HTTP(S) until
//! SIGTERM or SIGINT, then shut down gracefully; or run one operator command
//! (`daedalus op|status|topology|version`) against a running sidecar, or hash a bearer token
//! (`daedalus hash-token`). Everything else lives in the library.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use daedalus::config::{HashTokenArgs, LogFormat, Mode};
use daedalus::engine::{Engine, EngineConfig};
use daedalus::http::auth::{hash_token, TokenStore};
use daedalus::http::tls::TlsReloader;
use daedalus::http::HttpOptions;
use daedalus::journal::Journal;
use daedalus::node::NodeHandle;
use daedalus::operations::cluster::plan::PlanStore;
use daedalus::operations::cluster::settings::Coordination;
use daedalus::operations::{NodeDirs, ValidationPolicy};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    // Before anything can build an HTTP client or a TLS configuration: they all use this one.
    tls_provider::install();
    // The operator commands (`op`, `status`, `topology`, `version`) run against a sidecar and exit.
    let settings = match Mode::from_command_line() {
        Mode::Client(global, command) => {
            return Ok(daedalus_client::cli::run(global, command).await)
        }
        Mode::HashToken(args) => {
            print_token_hash(&args)?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Mode::Serve(request) => request.resolve()?,
    };
    let filter = EnvFilter::try_from_env("DAEDALUS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }

    // One node handle for operations, progress and the read endpoints; every call is metered.
    let (host, port) = daedalus::node::parse_address(&settings.jmx_service)
        .map_err(anyhow::Error::msg)
        .context("--jmx-service")?;
    let mut jmx_config = jmx::JmxConfig::new(host, port);
    jmx_config.credentials = settings.credentials.as_ref().map(|c| jmx::Credentials {
        user: c.user.clone(),
        password: c.password.clone(),
    });
    jmx_config.tls = settings.jmx_ssl_ca.clone().map(jmx::TlsConfig::new);
    let node = NodeHandle::jmx(jmx_config, settings.jmx_timeout);
    let tokens = match &settings.auth_tokens {
        Some(path) => {
            let store = TokenStore::load(path).context("--auth-tokens")?;
            tracing::info!(tokens = store.len(), "bearer-token authentication on");
            Some(Arc::new(store))
        }
        None => None,
    };
    let tls = match &settings.tls {
        Some(files) => Some(TlsReloader::new(files.clone()).context("--tls-cert/--tls-key")?),
        None => {
            daedalus::shutdown::ignore_hangup();
            None
        }
    };
    let journal = Journal::open(&settings.data_dir)?;
    tracing::info!(journal = %journal.path().display(), "journal open");
    // Bound before the engine starts, so a resumed cluster-wide roll knows the port peers use.
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let local = listener.local_addr()?;
    let mut operations = settings.operations.clone();
    operations.cluster = Some(Coordination {
        peers: settings.peers.resolve(local.port(), tls.is_some()),
        plans: Arc::new(PlanStore::open(journal.path())?),
    });
    let config = EngineConfig {
        workers: settings.workers,
        expiration: settings.operations_expiration,
        policy: ValidationPolicy {
            allowed_roots: settings.allowed_roots.clone(),
            node_dirs: node_dirs(&settings),
        },
        operations,
        max_pending: settings.max_pending,
    };
    // Refused here, before serving, when its directory or location cannot be used.
    let archiver = match &settings.commitlog_archive {
        Some(archive) => Some(
            daedalus::commitlog_archive::Archiver::start(
                archive,
                node.clone(),
                settings.operations.clone(),
                settings.allowed_roots.clone(),
            )
            .context("commit-log archiving")?,
        ),
        None => None,
    };
    let engine = Engine::start(journal, node, config).await?;
    let router = daedalus::http::app_with(
        engine.clone(),
        &HttpOptions {
            tokens: tokens.clone(),
            cors_origins: settings.cors_origins.clone(),
            cassandra_config: settings.cassandra_config.clone(),
            // Node reads are bounded by --jmx-timeout; a request gets that and some slack.
            request_timeout: settings.jmx_timeout + daedalus::http::DEFAULT_REQUEST_TIMEOUT,
        },
    )
    .map_err(anyhow::Error::msg)?;
    let client_certs = settings.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    if daedalus::http::auth::unauthenticated_exposure(local, tokens.is_some(), client_certs) {
        tracing::warn!(
            listen = %local,
            "!!! THE API IS OPEN TO THE NETWORK WITHOUT AUTHENTICATION: anyone who can reach {local} \
             can import into and change this Cassandra node. Use --auth-tokens and/or \
             --tls-client-ca, or listen on 127.0.0.1 !!!"
        );
    }
    let watcher = tls.as_ref().map(|t| t.watch());
    // Installed before the line below: from then on tests and supervisors may send SIGTERM.
    let stop = daedalus::shutdown::signal();
    tracing::info!(
        listen = %local,
        tls = tls.is_some(),
        jmx = %settings.jmx_service,
        "daedalus serving"
    );
    daedalus::http::serve_router(listener, router, tls, stop).await?;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    // An upload under way is abandoned: its segment stays in the directory for the next start.
    if let Some(archiver) = archiver {
        archiver.stop(std::time::Duration::from_secs(10)).await;
    }
    engine.shutdown(settings.shutdown_grace).await;
    tracing::info!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}

/// The node's own directories the sidecar knows without asking the node: `--backup-data-dir`
/// and the data directories of the `cassandra.yaml` of `--cassandra-config`.
fn node_dirs(settings: &daedalus::config::Settings) -> NodeDirs {
    let mut dirs = NodeDirs {
        data: settings.operations.backup_data_dirs.clone(),
        config: None,
    };
    if let Some(given) = &settings.cassandra_config {
        match daedalus::cassandra_yaml::node_dirs(given) {
            Ok((data, config)) => {
                dirs.data.extend(data);
                dirs.config = Some(config);
            }
            Err(error) => tracing::warn!(
                %error,
                "the node's directories are not known from cassandra.yaml; with --allowed-root, \
                 requests naming them (dataDirs, cassandraDirectory, cassandraConfigDirectory) \
                 must name directories inside a root"
            ),
        }
    }
    dirs
}

/// `daedalus hash-token [TOKEN]`: the token from the argument or the first line of stdin.
fn print_token_hash(args: &HashTokenArgs) -> anyhow::Result<()> {
    let token = match &args.token {
        Some(token) => token.clone(),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    anyhow::ensure!(!token.is_empty(), "empty token");
    println!("{}", hash_token(&token));
    Ok(())
}
