//! Latency and throughput benchmark against the test server (see bench/jmx/run.sh): connect time,
//! then `invoke` of a no-op and `getAttribute`, N times each after WARMUP calls of each kind,
//! printing median and p99; then, with CONCURRENCY > 0, CONCURRENCY tasks sharing the one client
//! make CALLS calls each (alternating both kinds) and the throughput is printed; then, with
//! LARGE > 0, the median of LARGE calls returning a large value (a ~10 MB token map).
//!
//! `cargo run --release -p jmx --example bench -- HOST PORT [N] [WARMUP] [CONCURRENCY] [CALLS] [LARGE]`
//!
//! It runs on a multi-threaded tokio runtime, as the sidecar does (`BENCH_RUNTIME=current`: a
//! single-threaded one), and also prints the allocations per call of the timed loops.
//!
//! `bench floor [N]` instead measures the loopback round-trip floor: the median time for a 16-byte
//! request and its 16-byte echo over one TCP connection (blocking sockets, an echo thread), which
//! no client of a request/response protocol can beat on this machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jmx::{JmxClient, JmxConfig};

const PROBE: &str = "test:type=Probe";

/// The system allocator, counting allocations (a deterministic figure, unlike time, on a
/// noisy machine).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// A counting allocator must implement the unsafe GlobalAlloc trait; it only forwards to System.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn stats(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = samples[samples.len() / 2];
    let p99 = samples[(samples.len() as f64 * 0.99).ceil() as usize - 1];
    println!("{what}_median_us {:.1}", us(median));
    println!("{what}_p99_us {:.1}", us(p99));
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {i} ({s:?}) is not a number")),
    }
}

/// Round trips of 16 bytes over loopback TCP with blocking sockets and Nagle off on both ends.
fn floor(n: usize) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 16];
        loop {
            if s.read_exact(&mut buf).is_err() {
                return Ok(());
            }
            s.write_all(&buf)?;
        }
    });
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = [7u8; 16];
    let mut round_trip = || -> std::io::Result<Duration> {
        let t = Instant::now();
        s.write_all(&buf)?;
        s.read_exact(&mut buf)?;
        Ok(t.elapsed())
    };
    for _ in 0..n.min(5000) {
        round_trip()?;
    }
    let mut samples = (0..n)
        .map(|_| round_trip())
        .collect::<Result<Vec<_>, _>>()?;
    stats("floor", &mut samples);
    Ok(())
}

/// CONCURRENCY tasks, each making CALLS calls on a clone of one client; returns calls/s.
async fn throughput(
    client: &JmxClient,
    concurrency: usize,
    calls: usize,
) -> Result<f64, jmx::JmxError> {
    let t = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..calls {
                    if i % 2 == 0 {
                        client.invoke(PROBE, "noop", &[], &[]).await?;
                    } else {
                        client.get_attribute(PROBE, "Name").await?;
                    }
                }
                Ok::<_, jmx::JmxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("benchmark task panicked")?;
    }
    Ok((concurrency * calls) as f64 / t.elapsed().as_secs_f64())
}

async fn jmx_bench(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let host = args.get(1).map_or("127.0.0.1", String::as_str);
    let port: u16 = args
        .get(2)
        .ok_or(
            "usage: bench HOST PORT [N] [WARMUP] [CONCURRENCY] [CALLS] [LARGE] | bench floor [N]",
        )?
        .parse()?;
    let n: usize = arg(args, 3, 1000)?;
    let warmup: usize = arg(args, 4, 100)?;
    let concurrency: usize = arg(args, 5, 0)?;
    let calls: usize = arg(args, 6, 2000)?;
    let large: usize = arg(args, 7, 0)?;

    let t0 = Instant::now();
    let client = JmxClient::connect(JmxConfig::new(host, port)).await?;
    client.get_attribute(PROBE, "Name").await?;
    let connect = t0.elapsed();
    for _ in 0..warmup {
        client.invoke(PROBE, "noop", &[], &[]).await?;
        client.get_attribute(PROBE, "Name").await?;
    }
    let mut invoke = Vec::with_capacity(n);
    let a0 = allocations();
    for _ in 0..n {
        let t = Instant::now();
        client.invoke(PROBE, "noop", &[], &[]).await?;
        invoke.push(t.elapsed());
    }
    let invoke_allocs = (allocations() - a0) as f64 / n as f64;
    let mut get = Vec::with_capacity(n);
    let a0 = allocations();
    for _ in 0..n {
        let t = Instant::now();
        client.get_attribute(PROBE, "Name").await?;
        get.push(t.elapsed());
    }
    let get_allocs = (allocations() - a0) as f64 / n as f64;
    println!("connect_ms {:.1}", connect.as_secs_f64() * 1e3);
    stats("invoke", &mut invoke);
    stats("getattr", &mut get);
    println!("invoke_allocs_per_call {invoke_allocs:.1}");
    println!("getattr_allocs_per_call {get_allocs:.1}");
    if concurrency > 0 {
        // A first round opens the connections and warms the concurrent path, as for the JDK.
        throughput(&client, concurrency, calls / 4 + 1).await?;
        let rate = throughput(&client, concurrency, calls).await?;
        println!("concurrent_calls_per_s {rate:.0}");
    }
    if large > 0 {
        // A large Return (~10 MB: the token map of 1000 nodes x 256 vnodes), as a real
        // cluster's read endpoints fetch.
        let kind = [jmx::Value::String("tokenMap".into())];
        let token_map = || client.invoke(PROBE, "sample", &kind, &["java.lang.String"]);
        token_map().await?;
        let mut samples = Vec::with_capacity(large);
        for _ in 0..large {
            let t = Instant::now();
            token_map().await?;
            samples.push(t.elapsed());
        }
        samples.sort();
        let median = samples[samples.len() / 2];
        println!("large_median_ms {:.1}", median.as_secs_f64() * 1e3);
    }
    client.close().await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("floor") {
        floor(arg(&args, 2, 20_000)?)?;
        return Ok(());
    }
    // The sidecar's runtime is multi-threaded; BENCH_RUNTIME=current measures on one thread.
    let mut runtime = match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = runtime.enable_all().build()?;
    // Run on a worker, as the sidecar's handlers do, not on the blocked main thread.
    let handle = runtime.spawn(async move { jmx_bench(&args).await.map_err(|e| e.to_string()) });
    runtime.block_on(handle)??;
    Ok(())
}
