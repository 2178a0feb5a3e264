#!/usr/bin/env bash
# Idle memory of the release sidecar beside the previous build's, in the same run: each round
# starts every build in turn against the Java test node (testnode/, Cassandra 4.1 surface), waits
# for its first 200 on GET /operations (which dials the node), then reads /proc/PID/status half a
# second later: VmRSS, and its parts RssAnon (what the process allocated: heap, stacks, tables)
# and RssFile (pages of the executable and shared libraries mapped in; clean, shared with the
# page cache). Prints every round, then medians and the ratio to the previous build.
#
# Usage: bench/sidecar/idle.sh [ROUNDS]   (default 6)
# DAEDALUS_BASELINE_BIN: the previous build to compare with (e.g. built from the commit before a
# change into another target directory); without it only this build is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-6}"
target="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build -q --release --locked -p daedalus --bin daedalus
testnode/build >/dev/null
bins=("$target/release/daedalus")
names=(this)
if [ -n "${DAEDALUS_BASELINE_BIN:-}" ]; then bins+=("$DAEDALUS_BASELINE_BIN"); names+=(previous); fi
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

jmx="$(port_of)"
testnode/run --host 127.0.0.1 --port "$jmx" --data-dir "$work/node" >"$work/node.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do grep -q "testnode ready" "$work/node.out" && break; sleep 0.2; done
grep -q "testnode ready" "$work/node.out" || { cat "$work/node.out" >&2; echo "idle: the test node did not start" >&2; exit 1; }

printf 'round\tbuild\tvmrss_kb\trss_anon_kb\trss_file_kb\n' >"$work/results.tsv"
for round in $(seq 1 "$rounds"); do
  for i in "${!bins[@]}"; do
    # Alternate which build goes first.
    (( round % 2 )) || i=$(( ${#bins[@]} - 1 - i ))
    port="$(port_of)"
    rm -rf "$work/data"
    DAEDALUS_LOG=warn "${bins[$i]}" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
      --jmx-service "127.0.0.1:$jmx" 2>"$work/sidecar.log" &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/operations"; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/sidecar.log" >&2; exit 1; }
      sleep 0.005
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/status" # the node dialled, as an idle sidecar has it
    sleep 0.5
    printf '%s\t%s\t%s\n' "$round" "${names[$i]}" \
      "$(awk '/^VmRSS|^RssAnon|^RssFile/ {printf "%s%s", sep, $2; sep="\t"}' "/proc/$pid/status")" |
      tee -a "$work/results.tsv"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
python3 - "$work/results.tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
builds = [b for b in ("this", "previous") if any(r["build"] == b for r in rows)]
print("\n| median of %d rounds | %s |%s" % (len(rows) // len(builds), " | ".join(builds), " this / previous |" if len(builds) == 2 else ""))
print("|---|" + "---|" * (len(builds) + (len(builds) == 2)))
for col in ("vmrss_kb", "rss_anon_kb", "rss_file_kb"):
    med = [statistics.median(int(r[col]) for r in rows if r["build"] == b) for b in builds]
    ratio = " %.3f |" % (med[0] / med[1]) if len(med) == 2 else ""
    print("| %s | %s |%s" % (col, " | ".join("%d" % m for m in med), ratio))
PY
# How much of the linker's start-up function order (scripts/startup-order) this build still has: a
# list gone stale after a dependency or toolchain upgrade shows here first, as memory.
scripts/startup-order --check
