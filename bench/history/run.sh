#!/usr/bin/env bash
# Cost against history: the release sidecar with N retained operations (each FAILED at once
# against a dead --jmx-service), at 1 000 and at 100 000 retained, in the same run.
# Measures: restart (journal reload: exec → first HTTP answer; and until the first full list is
# answered, which needs every record's JSON), RSS per retained record (after a full list, so the
# record JSON the API keeps is counted), a selective filtered list, the full
# list, and the submit rate with that history (the ratio 100k : 1k is printed). Every sidecar
# stays up until the submit rates are measured, in the same rounds alternating between them.
# The journal lives on tmpfs (/dev/shm) so that fsync latency does not hide the CPU cost.
# Usage: bench/history/run.sh [RETAINED...]   (default: 1000 100000; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p daedalus --bin daedalus >&2
# DAEDALUS_BIN measures another build (e.g. the one before a change) with the same method.
exec python3 bench/history/history.py --bin "${DAEDALUS_BIN:-$target/release/daedalus}" "$@"
