#!/usr/bin/env bash
# Load test: the release sidecar against the test node with imports held, queue filled to
# --max-pending, then GETs for N seconds. Loopback only; bounded (≤ 300 s, ≤ 100000 operations).
# Usage: bench/load/run.sh [--seconds N] [--max-pending N] [--concurrency N]
# Prints a Markdown table. DAEDALUS_SHARED points at the shared fixtures (default tests/data).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p daedalus --bin daedalus --example load >&2
testnode/build >/dev/null 2>&1 || true
exec "$target/release/examples/load" --bin "$target/release/daedalus" "$@"
