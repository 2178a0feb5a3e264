#!/usr/bin/env bash
# Sidecar figures: time from process start to the first 200 on GET /operations, idle RSS, and
# POST /operations + GET /operations/{id} latency (N sequential pairs, curl's own timing).
# Usage: bench/sidecar/run.sh [N]   (builds the release binary first; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-200}"
cargo build --release --locked -p daedalus >&2 2>/dev/null || cargo build --release -p daedalus >&2
bin="target/release/daedalus"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp tests/data/fixtures/sstables/sstable-transformer-input-four/spark_test/test3/* "$work/src/"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
dead="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

start_ns="$(date +%s%N)"
DAEDALUS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --jmx-service "127.0.0.1:$dead" --jmx-timeout 1s 2>"$work/log" &
pid=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/operations"; do sleep 0.002; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

sleep 2
idle_rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"

body="{\"type\":\"import\",\"keyspace\":\"spark_test\",\"table\":\"test3\",\"sourceDir\":\"$work/src\"}"
: >"$work/post" ; : >"$work/get"
for _ in $(seq "$n"); do
  out="$(curl -s -w '\n%{time_total}' -X POST -H 'content-type: application/json' \
    -d "$body" "http://127.0.0.1:$port/operations")"
  tail -n1 <<<"$out" >>"$work/post"
  id="$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])' <<<"$out")"
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/operations/$id" >>"$work/get"
done
busy_rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"

python3 - "$work/post" "$work/get" "$n" "$ready_ms" "$idle_rss_kb" "$busy_rss_kb" <<'PY'
import sys, statistics
post = sorted(float(x) * 1000 for x in open(sys.argv[1]).read().split())
get = sorted(float(x) * 1000 for x in open(sys.argv[2]).read().split())
n, ready, idle, busy = sys.argv[3:7]
pct = lambda xs, p: xs[min(len(xs) - 1, int(len(xs) * p))]
print("| figure | value |")
print("|---|---|")
print(f"| start → first 200 on GET /operations | {ready} ms |")
print(f"| idle RSS (2 s after start, empty journal) | {int(idle) / 1024:.1f} MiB |")
print(f"| RSS after {n} operations | {int(busy) / 1024:.1f} MiB |")
for name, xs in (("POST /operations (journal fsync before 201)", post), ("GET /operations/{id}", get)):
    print(f"| {name}: median / p95 / max | {statistics.median(xs):.2f} / {pct(xs, 0.95):.2f} / {xs[-1]:.2f} ms |")
PY
