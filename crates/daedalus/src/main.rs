//! The `daedalus` binary: parse settings, open the journal, start the engine, serve HTTP until
//! Ctrl-C or SIGTERM; or run one operator command (`daedalus op|status|topology|version`) against
//! a running sidecar. Everything else lives in the library.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use daedalus::config::{Cli, Mode};
use daedalus::engine::{Engine, EngineConfig};
use daedalus::journal::Journal;
use daedalus::node_jmx::JmxConnector;
use daedalus::operations::ValidationPolicy;
use tracing_subscriber::EnvFilter;

/// How long running operations may take to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    // The operator commands (`op`, `status`, `topology`, `version`) run against a sidecar and exit.
    let settings = match Cli::parse().mode() {
        Mode::Client(global, command) => {
            return Ok(daedalus_client::cli::run(global, command).await)
        }
        Mode::Serve(args) => args.resolve()?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("DAEDALUS_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let connector = Arc::new(
        JmxConnector::new(
            &settings.jmx_service,
            settings.credentials.clone(),
            settings.jmx_timeout,
        )
        .map_err(anyhow::Error::msg)
        .context("--jmx-service")?
        .with_cassandra_config(settings.cassandra_config.clone()),
    );
    let journal = Journal::open(&settings.data_dir)?;
    tracing::info!(journal = %journal.path().display(), "journal open");
    let config = EngineConfig {
        workers: settings.workers,
        expiration: settings.operations_expiration,
        policy: ValidationPolicy {
            import_roots: settings.import_roots.clone(),
        },
        operations: settings.operations.clone(),
    };
    let engine = Engine::start(journal, connector, config).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(listen = %listener.local_addr()?, jmx = %settings.jmx_service, "daedalus serving");
    daedalus::http::serve(listener, engine.clone(), shutdown_signal()).await?;
    engine.shutdown(SHUTDOWN_GRACE).await;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
