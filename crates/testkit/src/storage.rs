//! Local storage servers for tests (the backup crate's and the sidecar's): moto (S3),
//! fake-gcs-server (GCS) and Azurite (Azure), installed by `scripts/emulators` and started on a
//! free loopback port each. A server that cannot be installed or started fails the test (it
//! panics); it is stopped when dropped. It must not be used outside tests. fake-gcs-server is reached through [`GcsFront`], which accepts the
//! GCS XML API uploads object_store sends and the emulator refuses.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod gcs_front;

pub use gcs_front::GcsFront;

/// The well-known Azurite development account (public, documented by Microsoft).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running server and the store settings that reach it.
pub struct Server {
    pub name: &'static str,
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
    /// Settings for `StoreOptions::settings`.
    pub settings: BTreeMap<String, String>,
    /// The server's own URL, behind any front: requests sent here bypass the front.
    pub server_url: String,
    front: Option<GcsFront>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The directory of installed server binaries, installing them once per test run.
fn bin_dir() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/emulators");
        let output = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed: the storage servers are not installed",
            script.display()
        );
        PathBuf::from(
            String::from_utf8(output.stdout)
                .expect("bin path is UTF-8")
                .trim(),
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn start(
        name: &'static str,
        program: &str,
        args: &[String],
        settings: BTreeMap<String, String>,
        server_url: String,
    ) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin_dir().join(program))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({program}): {e}"));
        let mut server = Server {
            name,
            child,
            _dir: dir,
            log,
            settings,
            server_url,
            front: None,
        };
        let probe = match name {
            "fake-gcs-server" => format!("{}/storage/v1/b", server.server_url),
            "azurite" => format!("{}/devstoreaccount1?comp=list", server.server_url),
            _ => format!("{}/", server.server_url),
        };
        server.wait_until_answering(&probe);
        server
    }

    fn wait_until_answering(&mut self, probe: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before answering:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if probe::answers(probe) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer {probe} within 60 s:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// moto's S3 server.
    pub fn s3() -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let settings = BTreeMap::from([
            ("AWS_ENDPOINT_URL".to_string(), url.clone()),
            ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
        ]);
        let args = [
            "-H".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            port.to_string(),
        ];
        Server::start("moto", "moto_server", &args, settings, url)
    }

    /// fake-gcs-server, in memory, behind a [`GcsFront`]: the settings name the front.
    pub fn gcs() -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let front = GcsFront::start(url.clone());
        let settings = BTreeMap::from([
            ("GOOGLE_BASE_URL".to_string(), front.url.clone()),
            // object_store's GCS uploads ask for a token even with skip_signature; the
            // emulator ignores whatever bearer token it gets.
            ("GOOGLE_BEARER_TOKEN".to_string(), "emulator".to_string()),
            ("GOOGLE_CLOUD_PROJECT".to_string(), "test".to_string()),
        ]);
        let args: Vec<String> = [
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-backend",
            "memory",
            "-log-level",
            "warn",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            "-port".to_string(),
            port.to_string(),
            "-external-url".to_string(),
            front.url.clone(),
        ])
        // XML API requests are recognised by this host, which the front's forwarded requests
        // carry.
        .chain(["-public-host".to_string(), format!("127.0.0.1:{port}")])
        .collect();
        let mut server = Server::start("fake-gcs-server", "fake-gcs-server", &args, settings, url);
        server.front = Some(front);
        server
    }

    /// Azurite's blob service, in memory.
    pub fn azure() -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let settings = BTreeMap::from([
            (
                "AZURE_STORAGE_ACCOUNT_NAME".to_string(),
                "devstoreaccount1".to_string(),
            ),
            (
                "AZURE_STORAGE_ACCOUNT_KEY".to_string(),
                AZURITE_KEY.to_string(),
            ),
            (
                "AZURE_STORAGE_ENDPOINT".to_string(),
                format!("{url}/devstoreaccount1"),
            ),
        ]);
        let args: Vec<String> = [
            "--blobHost",
            "127.0.0.1",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--silent",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(["--blobPort".to_string(), port.to_string()])
        .collect();
        Server::start("azurite", "azurite-blob", &args, settings, url)
    }
}

mod probe {
    //! Any HTTP answer, whatever its status, means the server is up.
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn answers(url: &str) -> bool {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest
            .split_once('/')
            .map(|(h, p)| (h, format!("/{p}")))
            .unwrap_or((rest, "/".to_string()));
        let Ok(mut stream) = TcpStream::connect(host) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
    }
}
