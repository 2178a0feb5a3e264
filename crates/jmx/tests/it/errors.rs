//! Exceptions thrown by the server and authentication failures, as typed errors.

use crate::common::{shared, ServerOptions, TestServer, PROBE};
use jmx::{JmxClient, JmxError, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

async fn fail(client: &JmxClient, kind: &str) -> JmxError {
    client
        .invoke(PROBE, "fail", &[s(kind)], &["java.lang.String"])
        .await
        .unwrap_err()
}

fn java(e: JmxError) -> Box<jmx::JavaThrowable> {
    match e {
        JmxError::Java(t) => t,
        other => panic!("expected a Java exception, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_exception_is_unwrapped_with_its_stack() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let t = java(fail(&client, "runtime").await);
    assert_eq!(t.class, "java.lang.IllegalArgumentException");
    assert_eq!(t.message.as_deref(), Some("bad argument: runtime"));
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.RuntimeMBeanException")
    );
    let top = &t.stack_trace[0];
    assert_eq!(top.class_name, "JmxTestServer$Probe");
    assert_eq!(top.method_name, "fail");
    assert_eq!(top.file_name.as_deref(), Some("JmxTestServer.java"));
    assert!(top.line_number > 0);
    assert!(t.cause.is_none());
}

#[tokio::test]
async fn checked_exception_keeps_its_cause_chain() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let t = java(fail(&client, "checked").await);
    assert_eq!(t.class, "java.io.IOException");
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.MBeanException")
    );
    let cause = t.cause.as_deref().unwrap();
    assert_eq!(cause.class, "java.lang.IllegalStateException");
    assert_eq!(cause.message.as_deref(), Some("root cause"));
    assert!(!cause.stack_trace.is_empty());

    let t = java(fail(&client, "nested").await);
    let classes: Vec<&str> = t.chain().map(|c| c.class.as_str()).collect();
    assert_eq!(
        classes,
        [
            "java.lang.IllegalStateException",
            "java.lang.RuntimeException",
            "java.lang.ArithmeticException"
        ]
    );
    assert_eq!(
        t.chain().last().unwrap().message.as_deref(),
        Some("level 3")
    );
}

#[tokio::test]
async fn suppressed_errors_and_reflection_failures() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let t = java(fail(&client, "suppressed").await);
    assert_eq!(t.suppressed.len(), 1);
    assert_eq!(
        t.suppressed[0].class,
        "java.lang.UnsupportedOperationException"
    );
    assert_eq!(t.suppressed[0].message.as_deref(), Some("suppressed one"));

    // A JMRuntimeException thrown by the MBean reaches the client as is, and is unwrapped too.
    let t = java(fail(&client, "operations").await);
    assert_eq!(t.class, "java.lang.IllegalArgumentException");
    assert_eq!(t.message.as_deref(), Some("bad operation argument"));
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.RuntimeOperationsException")
    );

    let t = java(fail(&client, "error").await);
    assert_eq!(t.class, "java.lang.AssertionError");
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.RuntimeErrorException")
    );

    let e = client
        .invoke(PROBE, "noSuchOperation", &[], &[])
        .await
        .unwrap_err();
    let t = java(e);
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.ReflectionException")
    );
    assert_eq!(t.class, "java.lang.NoSuchMethodException");

    let e = client
        .get_attribute(PROBE, "NoSuchAttribute")
        .await
        .unwrap_err();
    assert_eq!(java(e).class, "javax.management.AttributeNotFoundException");
}

#[tokio::test]
async fn throwable_serializes_to_json() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let t = java(fail(&client, "checked").await);
    let json = serde_json::to_value(&*t).unwrap();
    assert_eq!(json["class"], "java.io.IOException");
    assert_eq!(json["message"], "checked failure");
    assert_eq!(json["cause"]["class"], "java.lang.IllegalStateException");
    assert_eq!(json["stackTrace"][0]["methodName"], "fail");
    assert!(json["suppressed"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn missing_mbean_is_instance_not_found() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    match client.get_attribute("test:type=Missing", "Name").await {
        Err(JmxError::InstanceNotFound(t)) => {
            assert_eq!(t.message.as_deref(), Some("test:type=Missing"))
        }
        other => panic!("expected InstanceNotFound, got {other:?}"),
    }
    assert!(matches!(
        client.invoke("test:type=Missing", "noop", &[], &[]).await,
        Err(JmxError::InstanceNotFound(_))
    ));
    // The connection stays usable after application exceptions.
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );
}

#[tokio::test]
async fn credentials_are_checked() {
    let server = TestServer::start(&ServerOptions {
        auth: Some(("admin".into(), "s3cret".into())),
        ..Default::default()
    });
    let client = JmxClient::connect(server.config_with("admin", "s3cret"))
        .await
        .unwrap();
    assert_eq!(
        client.get_attribute(PROBE, "Name").await.unwrap(),
        s("probe-1")
    );

    match JmxClient::connect(server.config_with("admin", "wrong")).await {
        Err(JmxError::Authentication(msg)) => assert_eq!(msg, "Invalid credentials"),
        other => panic!(
            "expected an authentication error, got {:?}",
            other.map(|_| ())
        ),
    }
    match JmxClient::connect(server.config()).await {
        Err(JmxError::Authentication(msg)) => assert_eq!(msg, "Credentials required"),
        other => panic!(
            "expected an authentication error, got {:?}",
            other.map(|_| ())
        ),
    }
}
