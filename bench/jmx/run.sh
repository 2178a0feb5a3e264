#!/usr/bin/env bash
# JMX client benchmark: the native Rust client vs the JDK's own JMX client, against one JDK test
# server. Prints connect time, median/p99 latency of 1000 invoke(noop) and 1000 getAttribute, the
# peak RSS of each client process, and the Rust/JDK ratios.
#
#   bench/jmx/run.sh [N] [WARMUP]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000}"
WARMUP="${2:-100}"
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
run jdk java -cp "$WORK" BenchClient 127.0.0.1 "$PORT" "$N" "$WARMUP"
run rust "$RUST_BIN" 127.0.0.1 "$PORT" "$N" "$WARMUP"

val() { sed -n "s/^$2 //p" "$WORK/$1.out"; }
printf '%-18s %12s %12s %10s\n' metric rust jdk rust/jdk
for m in connect_ms invoke_median_us invoke_p99_us getattr_median_us getattr_p99_us; do
  r="$(val rust "$m")"; j="$(val jdk "$m")"
  printf '%-18s %12s %12s %10s\n' "$m" "$r" "$j" "$(awk -v r="$r" -v j="$j" 'BEGIN{printf "%.3f", r/j}')"
done
r="$(cat "$WORK/rust.rss")"; j="$(cat "$WORK/jdk.rss")"
printf '%-18s %12s %12s %10s\n' peak_rss_kb "$r" "$j" "$(awk -v r="$r" -v j="$j" 'BEGIN{printf "%.3f", r/j}')"
