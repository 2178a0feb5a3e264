#!/usr/bin/env bash
# The HTTP edge against bare hyper: `GET /operations/{id}` on the release sidecar (every layer it
# serves with: request counting, timeout, body limit, request log, the record lookup) against a
# bare hyper server returning the same bytes (bench/edge/bare.rs), with wrk (1 thread,
# 8 connections), alternating both sides ROUNDS times in the same run; prints req/s and ratios.
# Usage: bench/edge/run.sh [SECONDS] [ROUNDS]   (default 10 s, 2 rounds; needs wrk)
# DAEDALUS_BIN measures another sidecar build with the same method; DAEDALUS_BASELINE_BIN runs a
# second build (e.g. the one before a change) beside it in the same rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
rounds="${2:-2}"
(( secs <= 120 && rounds <= 30 )) || { echo "bounded: SECONDS ≤ 120, ROUNDS ≤ 30" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
target="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p daedalus --bin daedalus --example edge_bare >&2
bin="${DAEDALUS_BIN:-$target/release/daedalus}"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
side="$(port_of)"; dead="$(port_of)"; bare="$(port_of)"

# A sidecar (and, with DAEDALUS_BASELINE_BIN, a second build beside it); `failed_record` gives
# each one FAILED record and prints its id.
launch() {
  DAEDALUS_LOG=warn "$1" serve --listen "127.0.0.1:$2" --data-dir "$3" \
    --jmx-service "127.0.0.1:$dead" --jmx-timeout 1s >/dev/null 2>"$3.log" &
  pids+=($!)
}
failed_record() {
  local port="$1" id
  until curl -sf -o /dev/null "http://127.0.0.1:$port/operations"; do sleep 0.01; done
  id="$(curl -sf -X POST -H 'content-type: application/json' -d '{"type":"flush","keyspace":"ks"}' \
    "http://127.0.0.1:$port/operations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  until curl -sf "http://127.0.0.1:$port/operations/$id" | grep -q '"state":"FAILED"'; do sleep 0.05; done
  echo "$id"
}
launch "$bin" "$side" "$work/data"
id="$(failed_record "$side")"
curl -sf -o "$work/body" "http://127.0.0.1:$side/operations/$id"
if [ -n "${DAEDALUS_BASELINE_BIN:-}" ]; then
  other="$(port_of)"
  launch "$DAEDALUS_BASELINE_BIN" "$other" "$work/baseline"
  other_id="$(failed_record "$other")"
fi

"$target/release/examples/edge_bare" "127.0.0.1:$bare" "$work/body" >/dev/null &
pids+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$bare/"; do sleep 0.01; done
cmp -s "$work/body" <(curl -sf "http://127.0.0.1:$bare/") || { echo "bodies differ" >&2; exit 1; }

rate() { wrk -t1 -c8 -d"${secs}s" "$1" | awk '/^Requests\/sec/ {print $2}'; }
echo "body: $(wc -c <"$work/body") bytes; wrk -t1 -c8 -d${secs}s; each round runs every side in turn"
echo
if [ -n "${DAEDALUS_BASELINE_BIN:-}" ]; then
  echo "| round | sidecar req/s | baseline build req/s | bare hyper req/s | sidecar / bare | baseline / bare |"
  echo "|---|---|---|---|---|---|"
else
  echo "| round | sidecar GET /operations/{id} req/s | bare hyper req/s | ratio |"
  echo "|---|---|---|---|"
fi
: >"$work/ratios"
for round in $(seq "$rounds"); do
  s="$(rate "http://127.0.0.1:$side/operations/$id")"
  o=0
  if [ -n "${DAEDALUS_BASELINE_BIN:-}" ]; then o="$(rate "http://127.0.0.1:$other/operations/$other_id")"; fi
  b="$(rate "http://127.0.0.1:$bare/operations/$id")"
  python3 - "$round" "$s" "$o" "$b" "$work/ratios" <<'PY'
import sys
r, s, o, b, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
open(out, "a").write(f"{s / b} {o / b}\n")
if o:
    print(f"| {r} | {s:.0f} | {o:.0f} | {b:.0f} | {s / b:.2f}x | {o / b:.2f}x |")
else:
    print(f"| {r} | {s:.0f} | {b:.0f} | {s / b:.2f}x |")
PY
done
python3 - "$work/ratios" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
s = sorted(r[0] for r in rows)
print(f"\nsidecar / bare hyper: median {statistics.median(s):.2f}x, spread {s[0]:.2f}–{s[-1]:.2f}x over {len(s)} rounds")
o = sorted(r[1] for r in rows)
if o[-1] > 0:
    print(f"baseline build / bare hyper: median {statistics.median(o):.2f}x, spread {o[0]:.2f}–{o[-1]:.2f}x")
PY
