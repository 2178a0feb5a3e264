//! Latency benchmark against the test server (see bench/jmx/run.sh): connect time, then
//! `invoke` of a no-op and `getAttribute`, N times each, printing median and p99.
//!
//! `cargo run --release -p jmx --example bench -- HOST PORT [N] [WARMUP]`

use std::time::{Duration, Instant};

use jmx::{JmxClient, JmxConfig};

const PROBE: &str = "test:type=Probe";

fn stats(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = samples[samples.len() / 2];
    let p99 = samples[(samples.len() as f64 * 0.99).ceil() as usize - 1];
    println!("{what}_median_us {:.1}", us(median));
    println!("{what}_p99_us {:.1}", us(p99));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let host = args.get(1).map_or("127.0.0.1", String::as_str);
    let port: u16 = args
        .get(2)
        .ok_or("usage: bench HOST PORT [N] [WARMUP]")?
        .parse()?;
    let n: usize = args.get(3).map_or(Ok(1000), |s| s.parse())?;
    let warmup: usize = args.get(4).map_or(Ok(100), |s| s.parse())?;

    let t0 = Instant::now();
    let client = JmxClient::connect(JmxConfig::new(host, port)).await?;
    client.get_attribute(PROBE, "Name").await?;
    let connect = t0.elapsed();
    for _ in 0..warmup {
        client.invoke(PROBE, "noop", &[], &[]).await?;
        client.get_attribute(PROBE, "Name").await?;
    }
    let mut invoke = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.invoke(PROBE, "noop", &[], &[]).await?;
        invoke.push(t.elapsed());
    }
    let mut get = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.get_attribute(PROBE, "Name").await?;
        get.push(t.elapsed());
    }
    println!("connect_ms {:.1}", connect.as_secs_f64() * 1e3);
    stats("invoke", &mut invoke);
    stats("getattr", &mut get);
    client.close().await?;
    Ok(())
}
