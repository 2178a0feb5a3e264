//! TLS for JMX over SSL (`SslRMIClientSocketFactory` endpoints), with rustls and the process's one
//! crypto provider (`tls_provider`).
//!
//! Owns [`TlsConfig`] and building a `tokio_rustls::TlsConnector` from a CA/trust PEM file. Like
//! the JDK's `SslRMIClientSocketFactory`, host-name verification is off by default (the chain must
//! still lead to a trusted certificate). It must not know about JRMP.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::JmxError;

/// How to speak TLS to an SSL-enabled JMX endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file with the CA (or self-signed server) certificates to trust.
    pub ca_file: PathBuf,
    /// Check that the certificate names the host we dial. Off by default, as in the JDK client.
    pub verify_hostname: bool,
    /// The RMI registry also speaks TLS (`com.sun.management.jmxremote.registry.ssl=true`).
    /// The connector's own endpoint uses TLS whenever its stub says so, whatever this is.
    pub registry_tls: bool,
}

impl TlsConfig {
    /// Trust the certificates in `ca_file`; registry over TLS; no host-name check.
    pub fn new(ca_file: impl Into<PathBuf>) -> TlsConfig {
        TlsConfig {
            ca_file: ca_file.into(),
            verify_hostname: false,
            registry_tls: true,
        }
    }
}

/// Builds the connector used for every TLS connection of one client.
pub(crate) fn connector(cfg: &TlsConfig) -> Result<tokio_rustls::TlsConnector, JmxError> {
    let pem = std::fs::read(&cfg.ca_file)
        .map_err(|e| JmxError::Tls(format!("cannot read {}: {e}", cfg.ca_file.display())))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert =
            cert.map_err(|e| JmxError::Tls(format!("bad PEM in {}: {e}", cfg.ca_file.display())))?;
        roots.add(cert).map_err(|e| {
            JmxError::Tls(format!("bad certificate in {}: {e}", cfg.ca_file.display()))
        })?;
    }
    if roots.is_empty() {
        return Err(JmxError::Tls(format!(
            "no certificates in {}",
            cfg.ca_file.display()
        )));
    }
    let provider = tls_provider::provider();
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| JmxError::Tls(e.to_string()))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JmxError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier {
            inner: verifier,
            verify_hostname: cfg.verify_hostname,
        }))
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The name sent in SNI and (optionally) checked against the certificate.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, JmxError> {
    ServerName::try_from(host.to_string())
        .map_err(|e| JmxError::Tls(format!("bad host name {host:?}: {e}")))
}

/// WebPKI verification that may tolerate a certificate issued for another name.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    verify_hostname: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.verify_hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
