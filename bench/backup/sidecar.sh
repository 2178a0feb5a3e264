#!/usr/bin/env bash
# The whole `backup` operation through the release sidecar against the Java test node, to a
# file:// store, against `cp -r` + `sha256sum` of the same files, in the same run:
#   - generated SSTable-shaped data (4 tables, components of 1–200 MiB, ≈1.05 GiB of random bytes)
#     is written into the test node's table directories, so its snapshot hard-links it;
#   - ours: POST /operations {"type":"backup", file://…} and poll until COMPLETED (snapshot over
#     JMX, read + SHA-256 + write of every file, manifest, snapshot cleared); a fresh sidecar and
#     an empty bucket every round, so nothing is skipped as already present;
#   - baseline: cp -r of the table directories + sha256sum of every file;
#   - the sidecar's peak RSS (VmHWM of /proc/<pid>/status) and CPU time (utime + stime) per backup.
# Ratio = baseline time / our time (above 1 = faster). Each round runs both sides, alternating,
# after `sync`, with the files in the page cache; medians and the spread (min–max) are printed.
# Usage: bench/backup/sidecar.sh [ROUNDS]   (default 3; BENCH_DIR=dir keeps the data between runs;
# DAEDALUS_BIN=path uses that sidecar binary instead of building the release one)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
rounds="${1:-3}"
target="${CARGO_TARGET_DIR:-$root/target}"
if [[ -n "${DAEDALUS_BIN:-}" ]]; then
  bin="$DAEDALUS_BIN"
else
  cargo build --release -p daedalus >&2
  bin="$target/release/daedalus"
fi
testnode/build >&2

if [[ -n "${BENCH_DIR:-}" ]]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"
fi
node_pid=""; sidecar_pid=""
cleanup() {
  [[ -n "$sidecar_pid" ]] && kill "$sidecar_pid" 2>/dev/null || true
  [[ -n "$node_pid" ]] && kill "$node_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ -z "${BENCH_DIR:-}" ]] && rm -rf "$work"
  true
}
trap cleanup EXIT
data="$work/node"
tables=(users events sessions metrics)
printf 'bench.%s\n' "${tables[@]}" >"$work/schema"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_node() {
  coproc NODE { exec testnode/run --port 0 --cassandra-version 4.1 --schema "$work/schema" \
    --data-dir "$data" --lease-millis 600000 2>>"$work/node.log"; }
  node_pid=$NODE_PID
  local line
  read -r line <&"${NODE[0]}"
  node_port="$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$line")"
  [[ -n "$node_port" ]] || { echo "test node did not start: $line" >&2; exit 1; }
}
stop_node() { kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=""; }

# ---- data: the node creates its table directories, then the SSTables are written into them ----
if [[ ! -f "$work/data.complete" ]]; then
  rm -rf "$data"; mkdir -p "$data"
  start_node; stop_node
  echo "generating data in $data" >&2
  gen=0
  for spec in users:200,90,30 events:160,80,20 sessions:120,64,10 metrics:100,50,40; do
    table="${spec%%:*}"
    dir="$(echo "$data"/bench/"$table"-*)"
    [[ -d "$dir" ]] || { echo "no table directory for bench.$table under $data" >&2; exit 1; }
    IFS=, read -ra sizes <<<"${spec#*:}"
    for mib in "${sizes[@]}"; do
      gen=$((gen + 1))
      prefix="$dir/nb-$gen-big"
      head -c $((mib * 1048576)) /dev/urandom >"$prefix-Data.db"
      head -c $(((mib / 16 + 1) * 1048576)) /dev/urandom >"$prefix-Index.db"
      for component in Filter.db Summary.db Statistics.db CompressionInfo.db; do
        head -c 1048576 /dev/urandom >"$prefix-$component"
      done
      printf '%s\n' Data.db Index.db Filter.db Summary.db Statistics.db CompressionInfo.db TOC.txt \
        >"$prefix-TOC.txt"
    done
  done
  touch "$work/data.complete"
fi
start_node
files=("$data"/bench/*/nb-*)
bytes="$(stat -c %s "${files[@]}" | awk '{s += $1} END {print s}')"
cat "${files[@]}" >/dev/null   # into the page cache

now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A wall
ours_cpu="" ours_rss=""

backup_once() {
  local round="$1" port out id state
  rm -rf "$work/bucket" "$work/sidecar-data"
  port="$(free_port)"
  DAEDALUS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/sidecar-data" \
    --jmx-service "127.0.0.1:$node_port" 2>>"$work/sidecar.log" &
  sidecar_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/operations"; do sleep 0.01; done
  local cpu0 t0 t1
  cpu0="$(cpu_ticks "$sidecar_pid")"
  sync
  t0="$(now)"
  out="$(curl -sf -X POST -H 'content-type: application/json' \
    -d "{\"type\":\"backup\",\"storageLocation\":\"file://$work/bucket/cluster/dc1/node1\",\"entities\":\"bench\",\"snapshotTag\":\"bench$round\",\"createMissingBucket\":true}" \
    "http://127.0.0.1:$port/operations")"
  id="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")"
  while :; do
    state="$(curl -sf "http://127.0.0.1:$port/operations/$id" \
      | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["state"], r.get("failureCause") or "")')"
    case "$state" in
      COMPLETED*) break ;;
      FAILED*|CANCELLED*) echo "backup ended $state" >&2; exit 1 ;;
    esac
    sleep 0.02
  done
  t1="$(now)"
  wall[ours]+="$(echo "$t1 - $t0" | bc -l) "
  ours_cpu+="$(echo "scale=2; ($(cpu_ticks "$sidecar_pid") - $cpu0) / $(getconf CLK_TCK)" | bc -l) "
  ours_rss+="$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$sidecar_pid/status") "
  kill "$sidecar_pid"; wait "$sidecar_pid" 2>/dev/null || true; sidecar_pid=""
  local uploaded
  uploaded="$(find "$work/bucket" -path '*/data/*' -type f -printf '%s\n' | awk '{s += $1} END {print s}')"
  [[ "$uploaded" == "$bytes" ]] || { echo "uploaded $uploaded bytes, expected $bytes" >&2; exit 1; }
}

baseline_once() {
  rm -rf "$work/cp-copy"
  sync
  local t0 t1
  t0="$(now)"
  cp -r "$data/bench" "$work/cp-copy"
  sha256sum "${files[@]}" >/dev/null
  t1="$(now)"
  wall[base]+="$(echo "$t1 - $t0" | bc -l) "
  rm -rf "$work/cp-copy"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  baseline_once
  backup_once "$round"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$rounds" "$bytes" "${#files[@]}" "$load_before" "$load_after" \
  "${wall[ours]}" "${wall[base]}" "$ours_cpu" "$ours_rss" <<'PY'
import sys, statistics
rounds, size, nfiles, lb, la = sys.argv[1:6]
ours, base, cpu, rss = ([float(x) for x in a.split()] for a in sys.argv[6:10])
mib = int(size) / 1048576
ratios = [b / o for o, b in zip(ours, base)]
print(f"\nbackup through the sidecar, {nfiles} files, {mib:.0f} MiB, {rounds} rounds, load {lb} → {la}\n")
print("| figure | median | spread (min–max) |")
print("|---|---|---|")
print(f"| backup to file:// (POST → COMPLETED) | {statistics.median(ours):.2f} s ({mib / statistics.median(ours):.0f} MiB/s) | {min(ours):.2f}–{max(ours):.2f} s |")
print(f"| cp -r + sha256sum | {statistics.median(base):.2f} s | {min(base):.2f}–{max(base):.2f} s |")
print(f"| ratio baseline / ours, per round | **{statistics.median(ratios):.2f}×** | {min(ratios):.2f}–{max(ratios):.2f}× |")
print(f"| sidecar CPU (user + system) per backup | {statistics.median(cpu):.2f} s | {min(cpu):.2f}–{max(cpu):.2f} s |")
print(f"| sidecar peak RSS (VmHWM) | {max(rss):.1f} MiB (max) | {min(rss):.1f}–{max(rss):.1f} MiB; target ≤ 64 MB |")
PY
