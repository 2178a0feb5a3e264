#!/usr/bin/env bash
# The recovery point lag of continuous commit-log archiving under a steady write load, on a real
# node: Cassandra links each closed segment into the archive directory, the sidecar uploads it to
# a file:// bucket and removes the link. A writer inserts rows at a fixed rate for SECONDS; every
# half second the sampler records
#   - the upload lag: daedalus_commitlog_archive_lag_seconds, the age of the oldest segment
#     Cassandra closed and the sidecar has not uploaded yet;
#   - the recovery point lag: now minus the last write of the newest uploaded segment, i.e. how
#     far back the latest moment a restore could reach is. With a steady load it is bounded by the
#     time a segment takes to fill plus the upload lag.
# Prints both (median, 95th percentile, max), the segments and bytes uploaded, and the write rate.
#
# Usage: bench/pitr/run.sh [SECONDS] [ROWS_PER_SECOND] [SEGMENT_MIB]   (defaults 60, 400, 8)
# Environment: PITR_ADDRESS (127.0.0.23), PITR_JMX_PORT (8499), PITR_DIR (target/bench-pitr).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
seconds="${1:-60}"
rate="${2:-400}"
segment="${3:-8}"
addr="${PITR_ADDRESS:-127.0.0.23}"
jmx_port="${PITR_JMX_PORT:-8499}"
dir="$(mkdir -p "${PITR_DIR:-target/bench-pitr}" && cd "${PITR_DIR:-target/bench-pitr}" && pwd)"
node="$dir/node"
archive="$node/commitlog_archive"
store="$dir/store"
location="file://$store/bucket/bench/dc1/node1"

cargo build -q -p daedalus --bin daedalus
daedalus="${CARGO_TARGET_DIR:-$ROOT/target}/debug/daedalus"
if [[ ! -x "$dir/venv/bin/python" ]]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q cassandra-driver
fi

sidecar=""
cleanup() {
  [[ -n "$sidecar" ]] && kill "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null || true
  scripts/cassandra stop "$node" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM

scripts/cassandra kill "$node" >/dev/null 2>&1 || true
rm -rf "$node" "$store"
mkdir -p "$node/conf" "$archive" "$store/bucket"
echo "archive_command=/bin/ln %path $archive/%name" >"$node/conf/commitlog_archiving.properties"
scripts/cassandra start "$node" --address "$addr" --jmx-port "$jmx_port" \
  --yaml "commitlog_segment_size=${segment}MiB" >/dev/null
"$daedalus" --jmx-service "$addr:$jmx_port" --listen "$addr:4635" --data-dir "$dir/sidecar" \
  --commitlog-archive "$archive" --commitlog-archive-location "$location" >"$dir/sidecar.log" 2>&1 &
sidecar=$!
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://$addr:4635/health" && break; sleep 0.05; done

echo "bench/pitr: ${seconds}s at ${rate} rows/s of 2 KiB, ${segment} MiB segments, Cassandra $(scripts/cassandra nodetool "$node" version 2>/dev/null | awk '{print $2}')" >&2
"$dir/venv/bin/python" - "$addr" "$seconds" "$rate" "http://$addr:4635/metrics" \
  "$store/bucket/bench/dc1/node1/commitlog" <<'PY'
import os, sys, threading, time, statistics
from cassandra.cluster import Cluster

addr, seconds, rate, metrics_url, stored = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
session = Cluster([addr]).connect()
session.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
session.execute("CREATE TABLE IF NOT EXISTS bench.t (id bigint PRIMARY KEY, v text)")
insert = session.prepare("INSERT INTO bench.t (id, v) VALUES (?, ?)")
pad = "x" * 2048
upload_lag, recovery_lag = [], []
done = threading.Event()

def metric(name):
    import urllib.request
    for line in urllib.request.urlopen(metrics_url).read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise SystemExit(f"no {name} in /metrics")

def newest_stored():
    newest = 0
    for name in os.listdir(stored) if os.path.isdir(stored) else []:
        try:
            newest = max(newest, int(name.rsplit(".", 1)[1]))
        except (IndexError, ValueError):
            pass
    return newest / 1000.0

def sample():
    while not done.is_set():
        upload_lag.append(metric("daedalus_commitlog_archive_lag_seconds"))
        newest = newest_stored()
        if newest:
            recovery_lag.append(time.time() - newest)
        time.sleep(0.5)

sampler = threading.Thread(target=sample)
start = time.time()
written = 0
sampler.start()
while time.time() - start < seconds:
    due = int((time.time() - start) * rate)
    while written < due:
        session.execute_async(insert, (written, pad))
        written += 1
    time.sleep(0.01)
elapsed = time.time() - start
done.set()
sampler.join()

def show(name, values):
    values = sorted(values)
    if not values:
        print(f"{name}: no samples")
        return
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    print(f"{name}: median {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s ({len(values)} samples)")

print(f"writes: {written} rows in {elapsed:.1f} s = {written / elapsed:.0f} rows/s, {written * 2048 / elapsed / 1048576:.2f} MiB/s of values")
show("upload lag (closed segment not yet uploaded)", upload_lag)
show("recovery point lag (now - last write of the newest uploaded segment)", recovery_lag)
print(f"segments uploaded: {metric('daedalus_commitlog_archived_segments_total'):.0f}, bytes: {metric('daedalus_commitlog_archived_bytes_total'):.0f}, failures: {metric('daedalus_commitlog_archive_failures_total'):.0f}")
PY
