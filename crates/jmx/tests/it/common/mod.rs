//! Test harness: compiles the JDK test server once per test binary and runs it as a child process
//! on a loopback port. The server exits when its stdin closes, so nothing outlives the tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use jmx::{Credentials, JmxConfig};

/// Host name the server advertises in its stubs; it does not resolve, so every test also proves
/// that the client dials the configured host instead.
pub const ADVERTISED_HOST: &str = "advertised-name.invalid";
pub const PROBE: &str = "test:type=Probe";

fn classes_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("jmx-test-server-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java");
        let status = Command::new("javac")
            .arg("-d")
            .arg(&dir)
            .arg(src.join("ProbeMBean.java"))
            .arg(src.join("JmxTestServer.java"))
            .status()
            .expect("javac (JDK 17) must be installed");
        assert!(status.success(), "javac failed");
        dir
    })
}

#[derive(Default, Clone)]
pub struct ServerOptions {
    pub port: Option<u16>,
    pub auth: Option<(String, String)>,
    /// Keystore path and password: registry and connector over SSL.
    pub ssl: Option<(PathBuf, String)>,
    pub idle_timeout_ms: Option<u64>,
    pub lease_ms: Option<u64>,
    pub proxy_stubs: bool,
    /// `sun.rmi.transport.tcp.readTimeout`: the server closes connections idle this long.
    pub socket_idle_ms: Option<u64>,
    /// The connector listens on a port of its own instead of sharing the registry's.
    pub separate_connector_port: bool,
}

pub struct TestServer {
    child: Child,
    pub port: u16,
}

impl TestServer {
    pub fn start(opts: &ServerOptions) -> TestServer {
        let mut cmd = Command::new("java");
        cmd.arg("-XX:TieredStopAtLevel=1")
            .arg("-XX:+UseSerialGC")
            .arg("-Xshare:auto")
            // Lets Probe.pendingDgcAcks read the server's table of unacknowledged returns.
            .arg("--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED")
            .arg("-cp")
            .arg(classes_dir())
            .arg(format!("-Djava.rmi.server.hostname={ADVERTISED_HOST}"))
            .arg(format!("-Dtest.port={}", opts.port.unwrap_or(0)));
        if let Some((user, password)) = &opts.auth {
            cmd.arg(format!("-Dtest.auth={user}:{password}"));
        }
        if let Some((keystore, password)) = &opts.ssl {
            cmd.arg("-Dtest.ssl=true")
                .arg(format!("-Djavax.net.ssl.keyStore={}", keystore.display()))
                .arg(format!("-Djavax.net.ssl.keyStorePassword={password}"));
        }
        if let Some(ms) = opts.idle_timeout_ms {
            cmd.arg(format!("-Dtest.idleMs={ms}"));
        }
        if let Some(ms) = opts.lease_ms {
            cmd.arg(format!("-Djava.rmi.dgc.leaseValue={ms}"));
        }
        if let Some(ms) = opts.socket_idle_ms {
            cmd.arg(format!("-Dsun.rmi.transport.tcp.readTimeout={ms}"));
        }
        if opts.separate_connector_port {
            cmd.arg("-Dtest.rmiPort=true");
        }
        if opts.proxy_stubs {
            cmd.arg("-Djava.rmi.server.ignoreStubClasses=true");
        }
        cmd.arg("JmxTestServer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("java must be installed");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(p) = line.strip_prefix("PORT ") {
                        break p.trim().parse().unwrap();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("test server exited before printing its port");
                }
            }
        };
        TestServer { child, port }
    }

    pub fn config(&self) -> JmxConfig {
        let mut cfg = JmxConfig::new("127.0.0.1", self.port);
        cfg.connect_timeout = Duration::from_secs(10);
        cfg.call_timeout = Duration::from_secs(20);
        cfg
    }

    pub fn config_with(&self, user: &str, password: &str) -> JmxConfig {
        let mut cfg = self.config();
        cfg.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        cfg
    }

    /// Kills the JVM and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One plain server shared by the read-only tests of a binary.
pub fn shared() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start(&ServerOptions::default()))
}

/// A free loopback port (for tests that restart a server on the same port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
