//! JMX over SSL as Cassandra configures it: registry and connector on one port, both behind
//! `SslRMIServerSocketFactory`, stubs carrying `SslRMIClientSocketFactory` in a `UnicastRef2`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{ServerOptions, TestServer, PROBE};
use jmx::{JmxClient, JmxError, TlsConfig, Value};

const PASSWORD: &str = "changeit";

/// Generates a self-signed key pair (certificate for `localhost` only) with keytool and exports
/// the certificate as PEM. Returns (keystore, pem).
fn keystore(dir: &Path, alias: &str) -> (PathBuf, PathBuf) {
    let ks = dir.join(format!("{alias}.p12"));
    let pem = dir.join(format!("{alias}.pem"));
    let run = |args: &[&str]| {
        let out = Command::new("keytool")
            .args(args)
            .output()
            .expect("keytool (JDK) must be installed");
        assert!(
            out.status.success(),
            "keytool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ks_s = ks.to_str().unwrap();
    run(&[
        "-genkeypair",
        "-alias",
        alias,
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=dns:localhost",
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        ks_s,
        "-storepass",
        PASSWORD,
        "-keypass",
        PASSWORD,
    ]);
    run(&[
        "-exportcert",
        "-rfc",
        "-alias",
        alias,
        "-keystore",
        ks_s,
        "-storepass",
        PASSWORD,
        "-file",
        pem.to_str().unwrap(),
    ]);
    (ks, pem)
}

#[tokio::test]
async fn jmx_over_ssl() {
    let dir = tempfile::tempdir().unwrap();
    let ((ks, pem), (_, other_pem)) = std::thread::scope(|scope| {
        let other = scope.spawn(|| keystore(dir.path(), "other"));
        (keystore(dir.path(), "server"), other.join().unwrap())
    });
    let server = TestServer::start(&ServerOptions {
        ssl: Some((ks, PASSWORD.into())),
        ..Default::default()
    });

    // Trusted certificate; like the JDK client, the name is not checked by default.
    let mut cfg = server.config();
    cfg.tls = Some(TlsConfig::new(&pem));
    let client = JmxClient::connect(cfg.clone()).await.unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        Value::String("probe-1".into())
    );
    let v = Value::Long(42);
    assert_eq!(
        client
            .invoke(
                PROBE,
                "echo",
                std::slice::from_ref(&v),
                &["java.lang.Object"]
            )
            .await
            .unwrap(),
        v
    );
    client.close().await.unwrap();

    // With host-name verification, a certificate for "localhost" does not match 127.0.0.1.
    let mut strict = cfg.clone();
    strict.tls.as_mut().unwrap().verify_hostname = true;
    assert!(matches!(
        JmxClient::connect(strict).await,
        Err(JmxError::Tls(_))
    ));

    // A certificate we do not trust.
    let mut untrusted = cfg.clone();
    untrusted.tls = Some(TlsConfig::new(&other_pem));
    assert!(matches!(
        JmxClient::connect(untrusted).await,
        Err(JmxError::Tls(_))
    ));

    // Plain JRMP against an SSL registry fails instead of hanging.
    let mut plain = server.config();
    plain.connect_timeout = std::time::Duration::from_secs(3);
    assert!(JmxClient::connect(plain).await.is_err());
}

#[tokio::test]
async fn unreadable_trust_file_is_a_tls_error() {
    let mut cfg = jmx::JmxConfig::new("127.0.0.1", 1);
    cfg.tls = Some(TlsConfig::new("/nonexistent/ca.pem"));
    assert!(matches!(
        JmxClient::connect(cfg).await,
        Err(JmxError::Tls(_))
    ));
}
