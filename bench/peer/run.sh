#!/usr/bin/env bash
# Daedalus against Icarus, side by side: the same real node, the same run, rounds alternating
# which side goes first. Per side and round: start to ready (spawn to the first 200 on GET
# /version), idle RSS, RSS once 1 000 operations are retained, then GET /operations/{id} and POST
# /operations latency and throughput (wrk for GET; bench/peer/posts, 1 000 sequential submits on one
# connection, for POST), each side warmed first as a long-running process
# would be (the JVM's JIT included). Prints every figure and, at the end, medians and ratios.
#
# Usage: bench/peer/run.sh [ROUNDS]   (default 3; needs an Icarus jar: see scripts/icarus fetch)
# Environment: PEER_ADDRESS (127.0.0.22), PEER_JMX_PORT (8399), PEER_DIR (target/bench-peer),
# WARM_SECONDS (GET warm-up per side, default 15), GET_SECONDS (measured, default 10).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
source bench/peer/lib.sh
rounds="${1:-3}"
addr="${PEER_ADDRESS:-127.0.0.22}"
jmx_port="${PEER_JMX_PORT:-8399}"
dir="$(mkdir -p "${PEER_DIR:-target/bench-peer}" && cd "${PEER_DIR:-target/bench-peer}" && pwd)"
warm="${WARM_SECONDS:-15}"
measure="${GET_SECONDS:-10}"
node="$dir/node"
port=4634

command -v wrk >/dev/null || { echo "bench/peer: wrk is needed (Debian package wrk)" >&2; exit 1; }
cargo build -q --release -p daedalus --bin daedalus
(cd bench/peer/posts && go build -o "$dir/posts" .)
daedalus_bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/daedalus"
icarus_jar="$(scripts/icarus fetch)"

pid=""
trap 'stop_side; scripts/cassandra stop "$node" >/dev/null 2>&1 || true' EXIT
trap 'exit 1' INT TERM

rm -rf "$node"
scripts/cassandra start "$node" --address "$addr" --jmx-port "$jmx_port" >/dev/null

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
now_ns() { date +%s%N; }

# start_side SIDE: spawns the sidecar; sets pid and start_ms (milliseconds from spawn to ready).
# Not run in a command substitution: pid must reach the caller.
start_side() {
  local side="$1" t0
  rm -rf "$dir/$side-data"
  t0="$(now_ns)"
  if [[ "$side" == icarus ]]; then
    # As Icarus's own bin/icarus starts it: java -jar, no JVM options.
    java -jar "$icarus_jar" icarus --jmx-service "$addr:$jmx_port" --listen "$addr:$port" \
      >"$dir/icarus.log" 2>&1 &
  else
    DAEDALUS_LOG=warn "$daedalus_bin" --jmx-service "$addr:$jmx_port" --listen "$addr:$port" \
      --data-dir "$dir/$side-data" >"$dir/daedalus.log" 2>&1 &
  fi
  pid=$!
  until curl -sf -o /dev/null "http://$addr:$port/version"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench/peer: $side exited during start" >&2; exit 1; }
    sleep 0.002
  done
  start_ms=$(( ($(now_ns) - t0) / 1000000 ))
}

# posts N OFFSET: N sequential submits through one connection (bench/peer/posts).
posts() { "$dir/posts" -url "http://$addr:$port" -n "$1" -offset "$2"; }

# settle: waits (at most 120 s) until no operation is PENDING or RUNNING.
settle() {
  local deadline=$(( $(date +%s) + 120 )) busy
  while (( $(date +%s) < deadline )); do
    busy="$(curl -s "http://$addr:$port/operations?state=RUNNING" "http://$addr:$port/operations?state=PENDING" | grep -c '"id"' || true)"
    [[ "$busy" == 0 ]] && return 0
    sleep 1
  done
  echo "bench/peer: operations still unfinished after 120 s" >&2
}

# wrk_field REPORT: "rps p50_ms p99_ms" from wrk --latency output.
wrk_field() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec:/ { rps = $2 }
    / requests in / { n = $1 }
    END { printf "%s %.3f %.3f %s\n", rps, p50, p99, n }' "$1"
}

results="$dir/results.tsv"
printf 'round\tside\tstart_ms\tidle_rss_kb\trss_1000_kb\tget_rps\tget_p50_ms\tget_p99_ms\tpost_rps\tpost_p50_ms\tpost_p99_ms\twarm_get_requests\n' >"$results"
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then order="icarus daedalus"; else order="daedalus icarus"; fi
  for side in $order; do
    start_side "$side"
    sleep 3
    idle="$(rss_kb "$pid")"
    # 1 000 submits (these also warm the submit path), then the RSS with them retained.
    posts 1000 0 >"$dir/warm-post.txt"
    settle
    rss1000="$(rss_kb "$pid")"
    # (awk reads the whole list: a reader that quits early would fail the pipe under pipefail)
    id="$(curl -s "http://$addr:$port/operations?type=cleanup" |
      awk 'match($0, /"id" *: *"[^"]*"/) && !s { s = substr($0, RSTART, RLENGTH) } END { print s }' |
      sed 's/.*"\([^"]*\)"$/\1/')"
    # JIT warm-up of the read path, then the measured reads.
    wrk -t2 -c8 -d"${warm}s" "http://$addr:$port/operations/$id" >"$dir/warm-get.txt"
    warm_n="$(awk '/ requests in / {print $1}' "$dir/warm-get.txt")"
    wrk -t2 -c8 -d"${measure}s" --latency "http://$addr:$port/operations/$id" >"$dir/get.txt"
    read -r get_rps get_p50 get_p99 _ < <(wrk_field "$dir/get.txt")
    posts 1000 1000 >"$dir/post.txt"
    read -r post_rps post_p50 post_p99 < <(awk '{ print $6, $9, $12 }' "$dir/post.txt")
    settle
    stop_side
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$side" "$start_ms" "$idle" "$rss1000" \
      "$get_rps" "$get_p50" "$get_p99" "$post_rps" "$post_p50" "$post_p99" "$warm_n" | tee -a "$results"
  done
done

# Medians per side and Daedalus/Icarus ratios.
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cols = ["start_ms", "idle_rss_kb", "rss_1000_kb", "get_rps", "get_p50_ms", "get_p99_ms", "post_rps", "post_p50_ms", "post_p99_ms"]
med = {s: {c: statistics.median(float(r[c]) for r in rows if r["side"] == s) for c in cols} for s in ("icarus", "daedalus")}
print("\n| figure (median of %d rounds) | Icarus | Daedalus | Daedalus / Icarus |" % (len(rows) // 2))
print("|---|---|---|---|")
for c in cols:
    i, d = med["icarus"][c], med["daedalus"][c]
    print("| %s | %.2f | %.2f | %.3f |" % (c, i, d, d / i if i else float("nan")))
PY
