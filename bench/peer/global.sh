#!/usr/bin/env bash
# Daedalus against Icarus, backing up a three-node real cluster (127.0.0.2-4, scripts/cassandra
# cluster) with one cluster-wide request, a sidecar beside each node, rounds alternating which
# side goes first. Per side and round:
#   global  POST {"type":"backup","globalRequest":true} to the first node's sidecar, to COMPLETED
#           (the coordinator asks every node's sidecar and waits for them);
#   local   the same backup sent by this script to the three sidecars at once, each without
#           globalRequest, until all three are COMPLETED;
# and the coordination overhead, global − local: what coordinating costs beyond the nodes' own
# work. The table is bench.blobs (bench/peer/fill, MIB MiB over the ring, one replica); storage is
# file:// under the run's directory, a bucket per backup.
#
# Icarus is told the data directories in the request (`dataDirs`; it has no other way), and a
# cluster-wide request carries one list for every node, as hosts that each keep their data at
# /var/lib/cassandra/data would. The three nodes here share one machine, so each Icarus runs in a
# mount namespace of its own where one path, $dir/data, is its node's data directory (a bind
# mount; needs root, as the rest of the suite). Daedalus asks each node where its data is.
#
# Usage: bench/peer/global.sh [ROUNDS] [MIB]   (default 2 rounds, 384 MiB; needs an Icarus jar: see
# scripts/icarus fetch). Environment: PEER_DIR (target/bench-peer-global).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
source bench/peer/lib.sh
rounds="${1:-2}"
mib="${2:-384}"
dir="$(mkdir -p "${PEER_DIR:-target/bench-peer-global}" && cd "${PEER_DIR:-target/bench-peer-global}" && pwd)"
port=4636

cargo build -q --release -p daedalus --bin daedalus
(cd bench/peer/fill && go build -o "$dir/fill" .)
daedalus_bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/daedalus"
icarus_jar="$(scripts/icarus fetch)"

pids=()
stop_sides() {
  for p in "${pids[@]}"; do stop_process "$p"; done
  pids=()
}
trap 'stop_sides; scripts/cassandra cluster stop "$dir/ring" >/dev/null 2>&1 || true' EXIT
trap 'exit 1' INT TERM

rm -rf "$dir/ring" "$dir/store"
mapfile -t ring < <(scripts/cassandra cluster start "$dir/ring" --nodes 3)
addrs=() jmx=() dirs=()
for line in "${ring[@]}"; do
  read -r a j _ d <<<"$line"
  addrs+=("$a") jmx+=("$j") dirs+=("$d")
done
node_dir() { echo "${dirs[$1]}"; }
mkdir -p "$dir/data"
"$dir/fill" -cql "${addrs[0]}:9042" -mib "$mib" >&2

start_sides() {
  local side="$1" i
  for i in 0 1 2; do
    if [[ "$side" == icarus ]]; then
      unshare --mount --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
        "$(node_dir "$i")/data" "$dir/data" \
        java -jar "$icarus_jar" icarus --jmx-service "${addrs[$i]}:${jmx[$i]}" --listen "${addrs[$i]}:$port" \
        >"$dir/icarus-$i.log" 2>&1 &
    else
      rm -rf "$dir/daedalus-data-$i"
      DAEDALUS_LOG=warn "$daedalus_bin" --jmx-service "${addrs[$i]}:${jmx[$i]}" --listen "${addrs[$i]}:$port" \
        --data-dir "$dir/daedalus-data-$i" --allowed-root "$dir/store" >"$dir/daedalus-$i.log" 2>&1 &
    fi
    pids+=($!)
  done
  for i in 0 1 2; do
    until curl -sf -o /dev/null "http://${addrs[$i]}:$port/version"; do sleep 0.05; done
  done
}

submit() { submit_op "http://$1:$port" "$2"; }
wait_done() { wait_completed "http://$1:$port" "$2"; }
body() { # BUCKET TAG GLOBAL
  local extra=""
  [[ "$side" == icarus ]] && extra=",\"dataDirs\":[\"$dir/data\"]"
  printf '{"type":"backup","storageLocation":"file://%s/store/%s/bench/dc1/node","snapshotTag":"%s","entities":"bench","createMissingBucket":true,"globalRequest":%s%s}' \
    "$dir" "$1" "$2" "$3" "$extra"
}
now() { date +%s.%N; }

results="$dir/results.tsv"
printf 'round\tside\tglobal_s\tlocal_s\toverhead_s\n' >"$results"
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then order="icarus daedalus"; else order="daedalus icarus"; fi
  for side in $order; do
    start_sides "$side"
    # Warm-up: one cluster-wide backup, not measured.
    wait_done "${addrs[0]}" "$(submit "${addrs[0]}" "$(body "warm-$side-$round" "w$round" true)")"
    t0="$(now)"
    wait_done "${addrs[0]}" "$(submit "${addrs[0]}" "$(body "global-$side-$round" "g$round" true)")"
    t1="$(now)"
    ids=()
    for i in 0 1 2; do ids+=("$(submit "${addrs[$i]}" "$(body "local-$side-$round" "l$round" false)")"); done
    for i in 0 1 2; do wait_done "${addrs[$i]}" "${ids[$i]}"; done
    t2="$(now)"
    python3 -c 'import sys; r, s, a, b, c = sys.argv[1:]; g = float(b) - float(a); l = float(c) - float(b); print("%s\t%s\t%.2f\t%.2f\t%.2f" % (r, s, g, l, g - l))' \
      "$round" "$side" "$t0" "$t1" "$t2" | tee -a "$results"
    stop_sides
  done
done

python3 - "$results" "$mib" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("\n%s MiB over three nodes, median of %d rounds\n" % (sys.argv[2], len(rows) // 2))
print("| figure | Icarus | Daedalus | Daedalus / Icarus |")
print("|---|---|---|---|")
for c in ("global_s", "local_s", "overhead_s"):
    i, d = (statistics.median(float(r[c]) for r in rows if r["side"] == s) for s in ("icarus", "daedalus"))
    print("| %s | %.2f | %.2f | %s |" % (c, i, d, "%.3f" % (d / i) if i else "—"))
PY
