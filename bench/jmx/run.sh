#!/usr/bin/env bash
# JMX client benchmark: the native Rust client vs the JDK's own JMX client, against one JDK test
# server, all in one run:
#   floor   the median round trip of a 16-byte request and its echo over loopback TCP: what no
#           request/response client can beat on this machine;
#   cold    1000 calls of each kind after 100 warm-up calls (a JDK client that has just started);
#   warm    N calls of each kind after WARMUP warm-up calls of each kind (at least 5000, so the
#           JDK client's JMX path is JIT-compiled, as in a long-running JVM such as Icarus), then
#           8 callers sharing one client (8 tokio tasks / 8 JDK threads) for throughput; the
#           Rust client runs on a multi-threaded tokio runtime as in the sidecar, and again on a
#           single-threaded one;
#   large   calls returning a ~10 MB value (the token map of 1000 nodes x 256 vnodes), in
#           processes of their own so the other figures' peak RSS is not theirs.
# Before measuring, a throwaway Rust run warms the server, so neither client pays for its JIT.
# Prints median and p99 latencies, throughput and peak RSS, with Rust/JDK and Rust/floor ratios.
#
#   bench/jmx/run.sh [N] [WARMUP]        (defaults: 10000 5000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
WARMUP="${2:-5000}"
CONCURRENCY=8
CALLS=4000 # per caller
LARGE=5    # large-Return calls
[ "$WARMUP" -ge 5000 ] || echo "warning: WARMUP=$WARMUP < 5000: the JDK client is not warm" >&2
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }

javac -d "$WORK" crates/jmx/tests/java/ProbeMBean.java crates/jmx/tests/java/JmxTestServer.java bench/jmx/BenchClient.java
cargo build --release -q -p jmx --example bench
RUST_BIN="target/release/examples/bench"

# The server exits when its stdin closes; keep a pipe open for its lifetime.
mkfifo "$WORK/stdin"
java -cp "$WORK" -Djava.rmi.server.hostname=127.0.0.1 JmxTestServer < "$WORK/stdin" > "$WORK/server.out" 2>&1 &
SERVER_PID=$!
exec 3> "$WORK/stdin"
for _ in $(seq 1 100); do grep -q '^PORT ' "$WORK/server.out" && break; sleep 0.1; done
PORT="$(sed -n 's/^PORT //p' "$WORK/server.out")"
[ -n "$PORT" ] || { echo "server did not start" >&2; cat "$WORK/server.out" >&2; exit 1; }

run() { # name, command...
  local name="$1"; shift
  /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out"
  sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$WORK/$name.time" > "$WORK/$name.rss"
}
"$RUST_BIN" floor 20000 > "$WORK/floor.out"
"$RUST_BIN" 127.0.0.1 "$PORT" 1000 20000 "$CONCURRENCY" 1000 > /dev/null
run jdk_cold java -cp "$WORK" BenchClient 127.0.0.1 "$PORT" 1000 100
run rust_cold "$RUST_BIN" 127.0.0.1 "$PORT" 1000 100
run jdk_warm java -cp "$WORK" BenchClient 127.0.0.1 "$PORT" "$N" "$WARMUP" "$CONCURRENCY" "$CALLS"
run rust_warm "$RUST_BIN" 127.0.0.1 "$PORT" "$N" "$WARMUP" "$CONCURRENCY" "$CALLS"
# The same on a single-threaded runtime: callers multiplexed on one thread, no worker hand-offs.
BENCH_RUNTIME=current run rust_warm_1t "$RUST_BIN" 127.0.0.1 "$PORT" 1000 "$WARMUP" "$CONCURRENCY" "$CALLS"
# A large Return (~10 MB token map) in processes of their own, so its memory is measured apart.
run jdk_large java -cp "$WORK" BenchClient 127.0.0.1 "$PORT" 10 100 0 0 "$LARGE"
run rust_large "$RUST_BIN" 127.0.0.1 "$PORT" 10 100 0 0 "$LARGE"

val() { sed -n "s/^$2 //p" "$WORK/$1.out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
FLOOR="$(val floor floor_median_us)"
echo "loopback round-trip floor: median $FLOOR us, p99 $(val floor floor_p99_us) us"
for phase in cold warm; do
  echo
  if [ "$phase" = cold ]; then echo "cold: 1000 calls of each kind after 100 warm-up calls"
  else echo "warm: $N calls of each kind after $WARMUP warm-up calls of each kind"; fi
  printf '%-22s %10s %10s %9s %11s\n' metric rust jdk rust/jdk rust/floor
  for m in connect_ms invoke_median_us invoke_p99_us getattr_median_us getattr_p99_us; do
    r="$(val "rust_$phase" "$m")"; j="$(val "jdk_$phase" "$m")"; f=""
    case "$m" in *_median_us) f="$(ratio "$r" "$FLOOR")" ;; esac
    printf '%-22s %10s %10s %9s %11s\n' "$m" "$r" "$j" "$(ratio "$r" "$j")" "$f"
  done
  if [ "$phase" = warm ]; then
    r="$(val rust_warm concurrent_calls_per_s)"; j="$(val jdk_warm concurrent_calls_per_s)"
    printf '%-22s %10s %10s %9s\n' "calls_per_s_${CONCURRENCY}_callers" "$r" "$j" "$(ratio "$r" "$j")"
    r="$(val rust_warm_1t concurrent_calls_per_s)"
    printf '%-22s %10s %10s %9s\n' "  same, 1-thread rt" "$r" "$j" "$(ratio "$r" "$j")"
  fi
  r="$(cat "$WORK/rust_$phase.rss")"; j="$(cat "$WORK/jdk_$phase.rss")"
  printf '%-22s %10s %10s %9s\n' peak_rss_kb "$r" "$j" "$(ratio "$r" "$j")"
done
echo
echo "large Return: $LARGE calls of sample(tokenMap), ~10 MB each (server-bound: it builds the map per call)"
printf '%-22s %10s %10s %9s\n' metric rust jdk rust/jdk
r="$(val rust_large large_median_ms)"; j="$(val jdk_large large_median_ms)"
printf '%-22s %10s %10s %9s\n' large_median_ms "$r" "$j" "$(ratio "$r" "$j")"
r="$(cat "$WORK/rust_large.rss")"; j="$(cat "$WORK/jdk_large.rss")"
printf '%-22s %10s %10s %9s\n' peak_rss_kb "$r" "$j" "$(ratio "$r" "$j")"
echo
echo "rust allocations per call (warm): invoke $(val rust_warm invoke_allocs_per_call), getAttribute $(val rust_warm getattr_allocs_per_call)"
