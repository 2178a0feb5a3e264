#!/usr/bin/env bash
# Every side-by-side figure of Daedalus against Icarus in one run, on this machine, one after the
# other so that nothing else runs beside either side:
#   bench/peer/run.sh     start to ready, idle RSS, RSS with 1 000 operations retained, GET
#                         /operations/{id} and POST /operations latency and throughput;
#   bench/peer/backup.sh  a 1 GiB table backed up to the local S3 server and restored (wall, CPU,
#                         peak RSS, S3 requests), and the JMX calls each side's progress reporting
#                         makes while Cassandra rewrites the table;
#   bench/peer/global.sh  one cluster-wide backup over the three-node real ring, and what
#                         coordinating it costs beyond the nodes' own work;
# then one table: medians, Daedalus / Icarus, and each target the comparison is held to.
#
# Usage: bench/peer/all.sh [ROUNDS]   (rounds of each part, default 2; needs an Icarus jar: see
# scripts/icarus fetch). Environment: PEER_RUN_DIR (target/bench-peer-all); MIB (backup table,
# default 1024), GLOBAL_MIB (ring table, default 384).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-2}"
run_dir="$(mkdir -p "${PEER_RUN_DIR:-target/bench-peer-all}" && cd "${PEER_RUN_DIR:-target/bench-peer-all}" && pwd)"

echo "bench/peer/all: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
  "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), Icarus $(basename "$(scripts/icarus fetch)")" | tee "$run_dir/summary.txt"
started=$SECONDS
PEER_DIR="$run_dir/requests" bench/peer/run.sh "$rounds"
PEER_DIR="$run_dir/backup" bench/peer/backup.sh "$rounds" "${MIB:-1024}"
PEER_DIR="$run_dir/global" bench/peer/global.sh "$rounds" "${GLOBAL_MIB:-384}"

python3 - "$run_dir" "$((SECONDS - started))" <<'PY' | tee -a "$run_dir/summary.txt"
import csv, statistics, sys
run_dir, seconds = sys.argv[1], int(sys.argv[2])
def rows(part):
    return list(csv.DictReader(open("%s/%s/results.tsv" % (run_dir, part)), delimiter="\t"))
requests, backup, ring = rows("requests"), rows("backup"), rows("global")

def median(table, side, col, what=None):
    xs = [r for r in table if r["side"] == side and (what is None or r["what"] == what)]
    if col == "jmx_per_s":
        return statistics.median(float(r["jmx_calls"]) / float(r["seconds"]) for r in xs)
    return statistics.median(float(r[col]) for r in xs)

# (figure, table, column, what, target as a largest ratio or None)
figures = [
    ("start to ready, ms", requests, "start_ms", None, 0.05),
    ("idle RSS, KiB", requests, "idle_rss_kb", None, 0.05),
    ("RSS with 1 000 operations retained, KiB", requests, "rss_1000_kb", None, None),
    ("GET /operations/{id} p50, ms", requests, "get_p50_ms", None, 0.5),
    ("GET /operations/{id} p99, ms", requests, "get_p99_ms", None, None),
    ("GET /operations/{id}, req/s", requests, "get_rps", None, None),
    ("POST /operations p50, ms", requests, "post_p50_ms", None, 0.5),
    ("POST /operations p99, ms", requests, "post_p99_ms", None, None),
    ("POST /operations, req/s", requests, "post_rps", None, None),
    ("backup wall, s", backup, "seconds", "backup", 0.7),
    ("backup CPU, s", backup, "cpu_s", "backup", 0.5),
    ("backup peak RSS, KiB", backup, "peak_rss_kb", "backup", None),
    ("backup S3 requests", backup, "s3_requests", "backup", None),
    ("restore wall, s", backup, "seconds", "restore", None),
    ("restore CPU, s", backup, "cpu_s", "restore", None),
    ("restore peak RSS, KiB", backup, "peak_rss_kb", "restore", None),
    ("restore S3 requests", backup, "s3_requests", "restore", None),
    ("JMX calls during a table rewrite, per s", backup, "jmx_per_s", "upgradesstables", None),
    ("global backup over 3 nodes, s", ring, "global_s", None, None),
    ("the same 3 backups sent by hand, s", ring, "local_s", None, None),
    ("coordination overhead (global - by hand), s", ring, "overhead_s", None, None),
]
print("\nAll figures, medians of %d rounds each, %d s in all\n" % (len(requests) // 2, seconds))
print("| figure | Icarus | Daedalus | Daedalus / Icarus | target |")
print("|---|---|---|---|---|")
for name, table, col, what, target in figures:
    i, d = median(table, "icarus", col, what), median(table, "daedalus", col, what)
    ratio = d / i if i > 0 else None
    if target is None:
        verdict = "—"
    else:
        verdict = "≤ %g: %s" % (target, "met" if ratio is not None and ratio <= target else "missed")
    print("| %s | %.2f | %.2f | %s | %s |" % (name, i, d, "%.3f" % ratio if ratio is not None else "—", verdict))
PY
