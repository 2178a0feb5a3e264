//! The JMX client against a real node that asks for a password (a `jmxremote.password` file) and
//! speaks TLS (registry and RMI server): the right credentials and CA work, a wrong password is
//! told apart from a node that is down, and plain TCP is refused.

use std::path::PathBuf;

use serde_json::json;

use crate::harness::{keyspace, work_root, Cql, NodeOptions, RealNode, Sidecar};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_tls_protected_jmx() {
    let conf = work_root().join("secure-jmx-files");
    let _ = std::fs::remove_dir_all(&conf);
    std::fs::create_dir_all(&conf).unwrap();
    let passwords = conf.join("jmxremote.password");
    let access = conf.join("jmxremote.access");
    std::fs::write(&passwords, "operator s3cret-Pa55\n").unwrap();
    std::fs::write(&access, "operator readwrite\n").unwrap();
    let keystore = conf.join("jmx.p12");
    let made = std::process::Command::new(crate::harness::repo_root().join("scripts/cassandra"))
        .args([
            "tls-keystore",
            &keystore.display().to_string(),
            "changeit",
            "127.0.0.11",
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let ca = PathBuf::from(format!("{}.pem", keystore.display()));

    let node = RealNode::start_fresh(
        "secure-jmx",
        &NodeOptions {
            address: "127.0.0.11".into(),
            jmx_port: 7699,
            extra: vec![
                "--jmx-auth".into(),
                format!("{}:{}", passwords.display(), access.display()),
                "--jmx-tls".into(),
                format!("{}:changeit", keystore.display()),
            ],
            ..NodeOptions::default()
        },
    );
    let ca_flag = ca.display().to_string();

    let sidecar = |password: &'static str, tls: bool| {
        let mut flags = vec!["--jmx-user", "operator", "--jmx-password", password];
        if tls {
            flags.extend(["--jmx-ssl-ca", ca_flag.as_str()]);
        } else {
            flags.extend(["--jmx-timeout", "5s"]);
        }
        let node = &node;
        async move { Sidecar::start(node, "127.0.0.1:0", &flags).await }
    };
    let good = sidecar("s3cret-Pa55", true).await;
    let status = good.get("/status").await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["nodeState"], "NORMAL");
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("secure");
    cql.create_table(&ks, "t").await;
    cql.insert(&ks, "t", 0..5).await;
    good.run_ok(&json!({"type": "flush", "keyspace": ks})).await;

    let wrong = sidecar("wrong", true).await;
    let refused = wrong.get("/status").await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.body["error"], "node_auth", "{:?}", refused.body);

    let plain = sidecar("s3cret-Pa55", false).await;
    let refused = plain.get("/status").await;
    assert_eq!(
        refused.status, 503,
        "plain TCP to a TLS node: {:?}",
        refused.body
    );
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--jmx-ssl-ca"),
        "the cause says what to set: {:?}",
        refused.body
    );
    node.kill();
}
