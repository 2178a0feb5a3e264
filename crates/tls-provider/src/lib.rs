//! The process's one TLS crypto provider: rustls with ring, installed as rustls' process default.
//!
//! reqwest (ours and the one object_store uses inside) is built without a crypto provider of its
//! own, so that the workspace holds one crypto library and none that needs a C build, and it
//! panics when a client is built while rustls has no process default. So whatever may build an
//! HTTP client first calls [`install`]: the sidecar at start, the store opener of `backup`, the
//! REST client of `daedalus-client`, and the tests that make clients of their own. The TLS server
//! and the JMX connector take [`provider`] for their configurations, so every TLS connection of
//! the process uses the same one.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// The process default, installed by the first call (ring, unless something installed another
/// default before it: that one is kept, since there can be only one).
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            // Err only says a default is installed already; it stays, and is the one returned.
            let _ = rustls::crypto::ring::default_provider().install_default();
            CryptoProvider::get_default()
                .expect("a process default was installed just above")
                .clone()
        })
        .clone()
}

/// Installs the process default if it is not installed yet. Cheap after the first call.
pub fn install() {
    provider();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_ring_once_as_the_process_default() {
        assert!(CryptoProvider::get_default().is_none());
        install();
        let default = CryptoProvider::get_default().expect("installed");
        assert!(Arc::ptr_eq(default, &provider()));
        let ring = rustls::crypto::ring::default_provider();
        let names = |p: &CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(default), names(&ring));
    }
}
