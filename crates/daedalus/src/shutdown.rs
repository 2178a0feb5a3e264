//! Process signals that end the sidecar (SIGTERM and SIGINT, Ctrl-C), and SIGHUP when it has
//! nothing to reload.
//!
//! Owns waiting for them. What happens next (stop accepting, give RUNNING operations the grace
//! period, journal the rest as PENDING) is `http::serve_router` and `Engine::shutdown`; this module
//! must not touch operations.

/// Resolves at the first SIGTERM or SIGINT.
pub async fn signal() {
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
    tracing::info!("shutting down: no new connections; running operations get the grace period");
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
