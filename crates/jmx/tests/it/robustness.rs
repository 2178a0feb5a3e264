//! Timeouts, servers that stall or die mid-call, concurrency, reconnection after a restart.

use std::time::Duration;

use crate::common::{free_port, shared, ServerOptions, TestServer, PROBE};
use jmx::{JmxClient, JmxConfig, JmxError, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[tokio::test]
async fn slow_call_times_out_and_the_next_call_works() {
    let mut cfg = shared().config();
    cfg.call_timeout = Duration::from_millis(500);
    let client = JmxClient::connect(cfg).await.unwrap();
    let err = client
        .invoke(PROBE, "sleep", &[Value::Long(5000)], &["long"])
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(err, JmxError::Timeout { during: "call", .. }));
    // The stalled connection was dropped; a fresh one serves the next call.
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    assert_eq!(client.sessions_established(), 1);
}

/// A fake peer: accepts, optionally answers the JRMP handshake, then misbehaves.
async fn fake_server(answer_handshake: bool, after_call: &'static [u8], close: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            if answer_handshake {
                let mut magic = [0u8; 7];
                if sock.read_exact(&mut magic).await.is_err() {
                    continue;
                }
                let mut reply = vec![0x4E, 0, 9];
                reply.extend_from_slice(b"127.0.0.1");
                reply.extend_from_slice(&1234i32.to_be_bytes());
                let _ = sock.write_all(&reply).await;
                let mut call = [0u8; 64];
                let _ = sock.read(&mut call).await;
                let _ = sock.write_all(after_call).await;
            }
            if !close {
                held.push(sock);
            }
        }
    });
    port
}

fn fast(port: u16) -> JmxConfig {
    let mut cfg = JmxConfig::new("127.0.0.1", port);
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.call_timeout = Duration::from_millis(500);
    cfg
}

#[tokio::test]
async fn silent_server_gives_a_connect_timeout() {
    let port = fake_server(false, b"", false).await;
    let err = JmxClient::connect(fast(port)).await.err().unwrap();
    assert!(
        matches!(
            err,
            JmxError::Timeout {
                during: "connect",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_stalling_mid_return_gives_a_timeout() {
    // A Return that starts (0x51, stream header, half a block) and never ends.
    let port = fake_server(
        true,
        &[0x51, 0xAC, 0xED, 0x00, 0x05, 0x77, 0x0F, 0x01],
        false,
    )
    .await;
    let err = JmxClient::connect(fast(port)).await.err().unwrap();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn server_closing_mid_return_gives_an_io_error() {
    let port = fake_server(
        true,
        &[0x51, 0xAC, 0xED, 0x00, 0x05, 0x77, 0x0F, 0x01],
        true,
    )
    .await;
    let err = JmxClient::connect(fast(port)).await.err().unwrap();
    assert!(matches!(err, JmxError::Io(_)), "{err:?}");
}

#[tokio::test]
async fn garbage_return_is_a_serialization_error() {
    let port = fake_server(
        true,
        &[
            0x51, 0xAC, 0xED, 0x00, 0x05, 0x77, 0x0F, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0x99,
        ],
        false,
    )
    .await;
    let err = JmxClient::connect(fast(port)).await.err().unwrap();
    assert!(matches!(err, JmxError::Serialization(_)), "{err:?}");
}

#[tokio::test]
async fn jvm_halting_mid_call_is_an_error_not_a_hang() {
    let server = TestServer::start(&ServerOptions::default());
    let client = JmxClient::connect(server.config()).await.unwrap();
    let err = client.invoke(PROBE, "halt", &[], &[]).await.unwrap_err();
    assert!(matches!(err, JmxError::Io(_)), "{err:?}");
    assert!(err.is_unreachable());
    let err = client.get_attribute(PROBE, "Name").await.unwrap_err();
    assert!(matches!(err, JmxError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn concurrent_calls_from_many_tasks() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..16i64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25i64 {
                let v = Value::Long(t * 1000 + i);
                let back = client
                    .invoke(
                        PROBE,
                        "echo",
                        std::slice::from_ref(&v),
                        &["java.lang.Object"],
                    )
                    .await
                    .unwrap();
                assert_eq!(back, v);
                assert_eq!(
                    client.get_attribute(PROBE, "Name").await.unwrap(),
                    s("probe-1")
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(client.sessions_established(), 1);
}

#[tokio::test]
async fn server_restart_on_the_same_port_is_survived() {
    let port = free_port();
    let opts = ServerOptions {
        port: Some(port),
        ..Default::default()
    };
    let mut server = TestServer::start(&opts);
    let client = JmxClient::connect(server.config()).await.unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    assert_eq!(client.sessions_established(), 1);

    server.kill();
    let err = client.get_attribute(PROBE, "Name").await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");

    let _server = TestServer::start(&opts);
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    assert_eq!(client.sessions_established(), 2);
    client.close().await.unwrap();
}

#[tokio::test]
async fn connections_the_server_dropped_are_replaced() {
    let server = TestServer::start(&ServerOptions {
        socket_idle_ms: Some(300),
        ..Default::default()
    });
    let client = JmxClient::connect(server.config()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            client.get_attribute(PROBE, "Name").await.unwrap(),
            s("probe-1")
        );
        // Longer than the server's socket read timeout: it closes our pooled connections.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    assert_eq!(client.sessions_established(), 1);
}

#[tokio::test]
async fn oversized_return_is_rejected_and_the_client_stays_usable() {
    let mut cfg = shared().config();
    cfg.limits.max_total_bytes = 16 * 1024;
    let client = JmxClient::connect(cfg).await.unwrap();
    let err = client
        .invoke(PROBE, "sample", &[s("longstring")], &["java.lang.String"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, JmxError::Protocol(_) | JmxError::Serialization(_)),
        "{err:?}"
    );
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
}
