//! JMX over TLS end to end: the sidecar, given `--jmx-ssl-ca`, imports into and reads from a test
//! node whose registry and connector speak TLS only (as Cassandra with
//! `com.sun.management.jmxremote.ssl=true`); without the CA it cannot reach the node at all.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::testnode::TestNode;
use crate::common::*;

/// A PKCS12 keystore for the node and its certificate as PEM for the sidecar, made with the
/// JDK's keytool.
fn keystore(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let store = dir.join("node.p12");
    let pem = dir.join("node.pem");
    let keytool = |args: &[&str]| {
        let status = Command::new("keytool")
            .args(args)
            .status()
            .expect("keytool (JDK) on PATH");
        assert!(status.success(), "keytool {args:?}");
    };
    let store_s = store.to_str().unwrap();
    keytool(&[
        "-genkeypair",
        "-alias",
        "node",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=ip:127.0.0.1,dns:localhost",
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        store_s,
        "-storepass",
        "changeit",
        "-noprompt",
    ]);
    keytool(&[
        "-exportcert",
        "-rfc",
        "-alias",
        "node",
        "-keystore",
        store_s,
        "-storepass",
        "changeit",
        "-file",
        pem.to_str().unwrap(),
    ]);
    (store, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_and_reads_over_jmx_tls_only_with_the_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, pem) = keystore(tmp.path());
    let flags = [
        "--ssl".to_string(),
        "--keystore".to_string(),
        store.display().to_string(),
        "--keystore-password".to_string(),
        "changeit".to_string(),
    ];
    let node = TestNode::start_with("4.1", tmp.path(), &flags).await;

    let with_ca = node.handle(Duration::from_secs(20), Some(pem));
    let server = TestServer::start(with_ca, config(2), &tmp.path().join("data")).await;
    let status = server.get("/status").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["nodeState"], "NORMAL");
    let dir = copy_fixture(NB_SETS, tmp.path());
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");

    let plain = node.handle(Duration::from_secs(5), None);
    let server = TestServer::start(plain, config(2), &tmp.path().join("data2")).await;
    let record = server.run(&import_body(&dir)).await;
    assert_eq!(
        record["state"], "FAILED",
        "plain JRMP must not reach a TLS node: {record}"
    );
}
