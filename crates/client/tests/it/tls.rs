//! `https` URLs: the server's certificate is trusted through `--cacert` (a test CA in
//! `tests/fixtures/tls/`, made by `gen.sh` there) and rejected as a typed TLS error without it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use daedalus_client::cli::{exit, run_with, Cli, Output, ProgressMode};
use daedalus_client::{Client, ClientConfig, ClientError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A one-route HTTPS server: every request gets `{"nodeState":"NORMAL"}`.
async fn https_server() -> String {
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(tls_provider::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"nodeState":"NORMAL"}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn the_ca_given_with_cacert_is_trusted() {
    let url = https_server().await;
    let client = Client::new(ClientConfig {
        url,
        cacert: Some(fixture("ca.pem")),
        timeout: Duration::from_secs(10),
        ..Default::default()
    })
    .unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.node_state.as_deref(), Some("NORMAL"));
}

#[tokio::test]
async fn an_unknown_ca_is_a_tls_error() {
    let url = https_server().await;
    let client = Client::new(ClientConfig {
        url,
        timeout: Duration::from_secs(10),
        ..Default::default()
    })
    .unwrap();
    let err = client.status().await.unwrap_err();
    match &err {
        ClientError::Tls { reason, .. } => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_unreachable());
}

#[tokio::test]
async fn a_file_without_certificates_is_rejected_up_front() {
    let err = Client::new(ClientConfig {
        cacert: Some(fixture("gen.sh")),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, ClientError::Cacert { .. }), "{err:?}");
}

async fn cli(args: &[&str]) -> (u8, String, String) {
    let cli = Cli::try_parse_from(std::iter::once("daedalus").chain(args.iter().copied())).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(
        cli.global,
        cli.command,
        Output {
            out: &mut out,
            err: &mut err,
            progress: ProgressMode::Hidden,
        },
    )
    .await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[tokio::test]
async fn the_cacert_flag_reaches_the_client() {
    let url = https_server().await;
    let ca = fixture("ca.pem");
    let (code, out, err) = cli(&["--url", &url, "--cacert", ca.to_str().unwrap(), "status"]).await;
    assert_eq!(code, exit::OK, "{err}");
    assert!(out.contains("NORMAL"), "{out}");

    let (code, _, err) = cli(&["--url", &url, "status"]).await;
    assert_eq!(code, exit::UNREACHABLE);
    assert!(err.contains("TLS error"), "{err}");
}
