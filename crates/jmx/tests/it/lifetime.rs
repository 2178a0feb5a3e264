//! DGC lease renewal and the JMX idle-timeout keep-alive, against a server with a 2 s lease and a
//! 1.5 s connector idle timeout.

use std::time::Duration;

use crate::common::{ServerOptions, TestServer, PROBE};
use jmx::{JmxClient, Value};

fn short_lived() -> ServerOptions {
    ServerOptions {
        lease_ms: Some(2000),
        idle_timeout_ms: Some(1500),
        ..Default::default()
    }
}

#[tokio::test]
async fn session_outlives_leases_and_idle_timeout() {
    let server = TestServer::start(&short_lived());
    let mut cfg = server.config();
    cfg.keepalive_interval = Duration::from_millis(500);
    let client = JmxClient::connect(cfg).await.unwrap();
    let name = Value::String("probe-1".into());
    assert_eq!(client.get_attribute(PROBE, "Name").await.unwrap(), name);
    // Idle longer than the idle timeout and than one lease.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(client.get_attribute(PROBE, "Name").await.unwrap(), name);
    // Busy for two more lease periods.
    for _ in 0..14 {
        client.invoke(PROBE, "noop", &[], &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(client.get_attribute(PROBE, "Name").await.unwrap(), name);
    // Same RMIConnection throughout: no transparent reconnection was needed.
    assert_eq!(client.sessions_established(), 1);
    client.close().await.unwrap();
}

/// Control: without keep-alives the server does drop the idle connection (so the test above
/// proves something), and the client recovers by reconnecting.
#[tokio::test]
async fn without_keepalive_the_server_drops_the_session_and_the_client_reconnects() {
    let server = TestServer::start(&short_lived());
    let mut cfg = server.config();
    cfg.keepalive_interval = Duration::from_secs(3600);
    let client = JmxClient::connect(cfg).await.unwrap();
    client.invoke(PROBE, "noop", &[], &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4000)).await;
    client.invoke(PROBE, "noop", &[], &[]).await.unwrap();
    assert_eq!(client.sessions_established(), 2);
}

/// The lease alone (no idle timeout in play, no keep-alive): only the renewal of the DGC lease
/// keeps the RMIConnection exported past 2 s.
#[tokio::test]
async fn lease_renewal_keeps_an_idle_session() {
    let server = TestServer::start(&ServerOptions {
        lease_ms: Some(2000),
        ..Default::default()
    });
    let mut cfg = server.config();
    cfg.keepalive_interval = Duration::from_secs(3600);
    let client = JmxClient::connect(cfg).await.unwrap();
    client.invoke(PROBE, "noop", &[], &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(6500)).await;
    client.invoke(PROBE, "noop", &[], &[]).await.unwrap();
    assert_eq!(client.sessions_established(), 1);
}

/// Returns that carry remote references (the registry's RMIServer stub, newClient's
/// RMIConnection stub) are acknowledged with DgcAck: otherwise the server keeps them pinned in
/// its acknowledgement table for `sun.rmi.dgc.ackTimeout` (5 minutes).
#[tokio::test]
async fn returns_with_remote_references_are_acknowledged() {
    let server = TestServer::start(&ServerOptions::default());
    let client = JmxClient::connect(server.config()).await.unwrap();
    // The server reads each DgcAck when it next reads that connection: poll until it has.
    let mut pending = Value::Null;
    for _ in 0..200 {
        pending = client
            .invoke(PROBE, "pendingDgcAcks", &[], &[])
            .await
            .unwrap();
        if pending == Value::Int(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending, Value::Int(0));
}
