//! The MBeanServerConnection calls against the JDK's own JMX connector server.

use crate::common::{shared, ServerOptions, TestServer, ADVERTISED_HOST, PROBE};
use jmx::{JmxClient, JmxError, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[tokio::test]
async fn connects_dialing_the_configured_host_and_reads_attributes() {
    let server = shared();
    let client = JmxClient::connect(server.config()).await.unwrap();
    assert_eq!(
        client.advertised_host().await.as_deref(),
        Some(ADVERTISED_HOST)
    );
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    assert_eq!(
        client.get_attribute(PROBE, "Uptime").await.unwrap(),
        Value::Long(123456789012)
    );
    let attrs = client
        .get_attributes(PROBE, &["Counter", "Enabled", "Missing", "Tags"])
        .await
        .unwrap();
    let names: Vec<&str> = attrs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Counter", "Enabled", "Tags"]);
    assert_eq!(attrs[1].1, Value::Bool(true));
    assert_eq!(attrs[2].1.as_items().unwrap(), &[s("a"), s("b")]);
    client.close().await.unwrap();
}

/// The connector's port comes from the stub, not from the registry address: with the
/// connector on a port of its own, RMI serves its object only there.
#[tokio::test]
async fn connector_port_is_taken_from_the_stub() {
    let server = TestServer::start(&ServerOptions {
        separate_connector_port: true,
        ..Default::default()
    });
    let client = JmxClient::connect(server.config()).await.unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn set_attribute_then_read_it_back() {
    let server = TestServer::start(&ServerOptions::default());
    let client = JmxClient::connect(server.config()).await.unwrap();
    client
        .set_attribute(PROBE, "Counter", Value::Int(99))
        .await
        .unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Counter").await.unwrap(),
        Value::Int(99)
    );
    client
        .set_attribute(PROBE, "Name", s("renamed"))
        .await
        .unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("renamed")
    );
}

#[tokio::test]
async fn query_names_and_is_registered() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let names = client.query_names("test:*").await.unwrap();
    assert_eq!(names, ["test:type=Probe", "test:type=Probe,name=second"]);
    assert!(client.query_names("nothing:*").await.unwrap().is_empty());
    assert!(client.is_registered(PROBE).await.unwrap());
    assert!(!client.is_registered("test:type=Nope").await.unwrap());
    assert_eq!(client.get_default_domain().await.unwrap(), "DefaultDomain");
}

#[tokio::test]
async fn get_mbean_info_lists_attributes_and_operations() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let info = client.get_mbean_info(PROBE).await.unwrap();
    assert_eq!(info.class_name, "JmxTestServer$Probe");
    let counter = info
        .attributes
        .iter()
        .find(|a| a.name == "Counter")
        .unwrap();
    assert_eq!(counter.type_name, "int");
    assert!(counter.readable && counter.writable);
    let uptime = info.attributes.iter().find(|a| a.name == "Uptime").unwrap();
    assert!(uptime.readable && !uptime.writable);
    let describe = info
        .operations
        .iter()
        .find(|o| o.name == "describe")
        .unwrap();
    assert_eq!(describe.return_type, "java.lang.String");
    let types: Vec<&str> = describe
        .params
        .iter()
        .map(|p| p.type_name.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "java.lang.String",
            "int",
            "long",
            "boolean",
            "[Ljava.lang.String;",
            "java.util.List",
            "java.util.Set",
            "java.util.Map"
        ]
    );
    let sleep = info.operations.iter().find(|o| o.name == "sleep").unwrap();
    assert_eq!(sleep.return_type, "long");
}

#[tokio::test]
async fn invoke_sends_every_argument_kind_cassandra_needs() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let params = [
        s("ks"),
        Value::Int(-3),
        Value::Long(1 << 40),
        Value::Bool(true),
        Value::Array {
            class: "[Ljava.lang.String;".into(),
            items: vec![s("t1"), s("t2")],
        },
        Value::List {
            class: "java.util.ArrayList".into(),
            items: vec![s("x"), s("y")],
        },
        Value::Set {
            class: "java.util.HashSet".into(),
            items: vec![s("b"), s("a")],
        },
        Value::Map {
            class: "java.util.HashMap".into(),
            entries: vec![(s("k1"), s("v1")), (s("k2"), s("v2"))],
        },
    ];
    let sig = [
        "java.lang.String",
        "int",
        "long",
        "boolean",
        "[Ljava.lang.String;",
        "java.util.List",
        "java.util.Set",
        "java.util.Map",
    ];
    let out = client
        .invoke(PROBE, "describe", &params, &sig)
        .await
        .unwrap();
    assert_eq!(
        out,
        s("ks|-3|1099511627776|true|[t1, t2]|[x, y]|[a, b]|{k1=v1, k2=v2}")
    );
    assert_eq!(
        client.invoke(PROBE, "noop", &[], &[]).await.unwrap(),
        Value::Null
    );
    let echoed = client
        .invoke(PROBE, "echo", &[s("nul\0 é 😀")], &["java.lang.Object"])
        .await
        .unwrap();
    assert_eq!(echoed, s("nul\0 é 😀"));
}

#[tokio::test]
async fn registry_with_proxy_stubs_and_no_skeleton() {
    let server = TestServer::start(&ServerOptions {
        proxy_stubs: true,
        ..Default::default()
    });
    let client = JmxClient::connect(server.config()).await.unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn calls_after_close_fail_with_closed() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let clone = client.clone();
    client.close().await.unwrap();
    assert!(matches!(
        clone.get_attribute(PROBE, "Name").await,
        Err(JmxError::Closed)
    ));
}
