//! Load test of the sidecar, loopback only and bounded in count and time: the release `daedalus`
//! binary against the Java test node whose `importNewSSTables` is held by the fault MBean, so the
//! queue fills to `--max-pending`; while it is full, GETs are fired for N seconds.
//!
//! Reports: start → first 200 on `GET /operations`, idle RSS, POST and GET latency while filling,
//! the 503 at the bound, GET req/s and p50/p99 latency under a full queue (by id and the full
//! list), and the sidecar's peak RSS (`VmHWM`).
//!
//! Run through `bench/load/run.sh` (builds the release binary, then this as an example).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

struct Args {
    seconds: u64,
    max_pending: usize,
    concurrency: usize,
    bin: PathBuf,
    shared: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        max_pending: 1000,
        concurrency: 8,
        bin: PathBuf::from("target/release/daedalus"),
        shared: std::env::var_os("DAEDALUS_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("tests/data")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--max-pending" => a.max_pending = value.parse().expect("--max-pending N"),
            "--concurrency" => a.concurrency = value.parse().expect("--concurrency N"),
            "--bin" => a.bin = PathBuf::from(value),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(a.seconds <= 300, "bounded: at most 300 s");
    assert!(
        a.max_pending <= 100_000,
        "bounded: at most 100000 operations"
    );
    a
}

/// One keep-alive HTTP/1.1 connection (Content-Length bodies only, which is what the sidecar sends).
struct Conn {
    stream: BufReader<TcpStream>,
    addr: String,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(stream),
            addr: addr.to_string(),
        })
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}

fn proc_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn hold_imports(port: u16) {
    let client = jmx::JmxClient::connect(jmx::JmxConfig::new("127.0.0.1", port))
        .await
        .expect("JMX to the test node");
    client
        .invoke(
            "daedalus.testnode:type=Faults",
            "delay",
            &[
                jmx::Value::String("importNewSSTables".into()),
                jmx::Value::Long(3_600_000),
            ],
            &["java.lang.String", "long"],
        )
        .await
        .expect("delay fault");
    let _ = client.close().await;
}

/// GETs from `concurrency` keep-alive connections for `seconds`; latencies in ms.
async fn hammer(
    addr: &str,
    paths: Arc<Vec<String>>,
    concurrency: usize,
    seconds: u64,
) -> (Vec<f64>, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (addr, paths, stop) = (addr.to_string(), paths.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.expect("connect");
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[i % paths.len()];
                i += concurrency;
                let t = Instant::now();
                match conn.call("GET", path, "").await {
                    Ok((200, _)) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    _ => {
                        errors += 1;
                        conn = Conn::open(&addr).await.expect("reconnect");
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.unwrap();
        all.extend(lat);
        errors += e;
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (all, errors)
}

#[tokio::main]
async fn main() {
    let a = args();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let fixture = a
        .shared
        .join("fixtures/sstables/sstable-transformer-input-four/spark_test/test3");
    for e in std::fs::read_dir(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display())) {
        let e = e.unwrap();
        std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
    }

    // The test node, its imports held for an hour.
    let mut node = Command::new(Path::new("testnode/run"))
        .args(["--port", "0", "--cassandra-version", "4.1", "--watch-stdin"])
        .arg("--data-dir")
        .arg(work.path().join("node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("testnode/run (run from the repository root; Java 17)");
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let ready = lines
        .next_line()
        .await
        .unwrap()
        .expect("test node ready line");
    let node_port: u16 = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port=")?.parse().ok())
        .expect("port= in the ready line");
    hold_imports(node_port).await;

    // The sidecar.
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let mut sidecar = Command::new(&a.bin)
        .args([
            "serve",
            "--listen",
            &addr,
            "--workers",
            "1",
            "--jmx-timeout",
            "2h",
        ])
        .args(["--max-pending", &a.max_pending.to_string()])
        .args(["--jmx-service", &format!("127.0.0.1:{node_port}")])
        .arg("--data-dir")
        .arg(work.path().join("data"))
        .env("DAEDALUS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the release daedalus binary");
    let pid = sidecar.id().unwrap();
    let ready_ms = loop {
        if let Ok(mut c) = Conn::open(&addr).await {
            if let Ok((200, _)) = c.call("GET", "/operations", "").await {
                break started.elapsed().as_secs_f64() * 1000.0;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = proc_kb(pid, "VmRSS:");

    // Fill: one RUNNING (held in the node) + max_pending PENDING. POST then GET of each, timed.
    let body = serde_json::json!({"type":"import","keyspace":"spark_test","table":"test3","sourceDir": src}).to_string();
    let mut conn = Conn::open(&addr).await.unwrap();
    let (mut post_ms, mut get_ms, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..=a.max_pending {
        let t = Instant::now();
        let (status, text) = conn.call("POST", "/operations", &body).await.unwrap();
        post_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 201, "{text}");
        let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let t = Instant::now();
        let (status, _) = conn
            .call("GET", &format!("/operations/{id}"), "")
            .await
            .unwrap();
        get_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        ids.push(id);
        if ids.len() == 1 {
            // Let the first one start so that exactly max_pending wait.
            loop {
                let (_, m) = conn.call("GET", "/metrics", "").await.unwrap();
                if m.contains("daedalus_operations_running 1") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let (status, _) = conn.call("POST", "/operations", &body).await.unwrap();
    assert_eq!(status, 503, "the queue is full at the bound");
    let full_rss = proc_kb(pid, "VmRSS:");
    // More refused POSTs: memory must stay flat.
    for _ in 0..1000 {
        let (status, _) = conn.call("POST", "/operations", &body).await.unwrap();
        assert_eq!(status, 503);
    }
    let after_refusals_rss = proc_kb(pid, "VmRSS:");

    let by_id: Arc<Vec<String>> =
        Arc::new(ids.iter().map(|id| format!("/operations/{id}")).collect());
    let (lat_id, err_id) = hammer(&addr, by_id, a.concurrency, a.seconds).await;
    let list_secs = a.seconds.div_ceil(2);
    let (lat_list, err_list) = hammer(
        &addr,
        Arc::new(vec!["/operations".to_string()]),
        a.concurrency,
        list_secs,
    )
    .await;
    let (_, m) = conn.call("GET", "/metrics", "").await.unwrap();
    assert!(
        m.contains(&format!("daedalus_queue_depth {}", a.max_pending)),
        "still full"
    );
    let peak = proc_kb(pid, "VmHWM:");

    post_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    get_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mib = |kb: u64| kb as f64 / 1024.0;
    println!("| figure | value |");
    println!("|---|---|");
    println!("| start → first 200 on GET /operations | {ready_ms:.0} ms |");
    println!(
        "| idle RSS (2 s after start, empty journal) | {:.1} MiB |",
        mib(idle_rss)
    );
    println!(
        "| POST /operations while filling ({} requests): p50 / p99 | {:.2} / {:.2} ms |",
        post_ms.len(),
        pct(&post_ms, 0.5),
        pct(&post_ms, 0.99)
    );
    println!(
        "| GET /operations/{{id}} right after each POST: p50 / p99 | {:.2} / {:.2} ms |",
        pct(&get_ms, 0.5),
        pct(&get_ms, 0.99)
    );
    println!(
        "| RSS with the queue full ({} PENDING + 1 RUNNING) | {:.1} MiB |",
        a.max_pending,
        mib(full_rss)
    );
    println!(
        "| RSS after 1000 more POSTs refused with 503 | {:.1} MiB |",
        mib(after_refusals_rss)
    );
    println!(
        "| GET /operations/{{id}}, queue full, {} conns × {} s: req/s, p50 / p99 | {:.0} req/s, {:.2} / {:.2} ms ({} errors) |",
        a.concurrency,
        a.seconds,
        lat_id.len() as f64 / a.seconds as f64,
        pct(&lat_id, 0.5),
        pct(&lat_id, 0.99),
        err_id
    );
    println!(
        "| GET /operations (all {} records), {} conns × {} s: req/s, p50 / p99 | {:.0} req/s, {:.2} / {:.2} ms ({} errors) |",
        a.max_pending + 1,
        a.concurrency,
        list_secs,
        lat_list.len() as f64 / list_secs as f64,
        pct(&lat_list, 0.5),
        pct(&lat_list, 0.99),
        err_list
    );
    println!(
        "| sidecar peak RSS (VmHWM) over the whole run | {:.1} MiB |",
        mib(peak)
    );

    let _ = sidecar.kill().await;
    let _ = node.kill().await;
}
