//! Process signals that end the sidecar (SIGTERM and SIGINT, Ctrl-C), and SIGHUP when it has
//! nothing to reload.
//!
//! Owns waiting for them. What happens next (stop accepting, give RUNNING operations the grace
//! period, journal the rest as PENDING) is `http::serve_router` and `Engine::shutdown`; this module
//! must not touch operations.

/// Resolves at the first SIGTERM or SIGINT. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives between the two (right after the
/// "daedalus serving" line, before the server polls its shutdown future) would otherwise take
/// the default action and kill the process without a graceful shutdown.
pub fn signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |installed: std::io::Result<tokio::signal::unix::Signal>| async move {
                match installed {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(interrupt) => {}, _ = wait(terminate) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!(
            "shutting down: no new connections; running operations get the grace period"
        );
    }
}

/// Without TLS there is nothing to reload, but an operator's habitual `kill -HUP` must not end the
/// process (the default action of SIGHUP): log and carry on.
pub fn ignore_hangup() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP ignored: no TLS certificate to reload");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
    }
}
