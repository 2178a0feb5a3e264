#!/usr/bin/env bash
# Backup transfer figures, each against a baseline in the same run, on generated SSTable-shaped
# data (4 tables, 12 generations, components of 1–200 MiB, ≈1.05 GiB of random bytes):
#   upload to a file:// store (read + SHA-256 + write)  vs  cp -r + sha256sum of the same files
#   SHA-256 of every file (backup::transfer::hash_file) vs  sha256sum
#   download + verify from the file:// store            vs  cp -r (and cp -r + sha256sum)
#   peak RSS of the uploading process (/usr/bin/time -v)
# and, when scripts/emulators exists (the local S3 server) or BENCH_MOTO_SERVER names a moto_server,
# upload to S3 vs `aws s3 cp --recursive` (bench/backup/s3.sh).
# Ratios are baseline time / our time: above 1 means faster than the baseline. Every step runs
# ROUNDS times, alternating with its baseline, and the medians are compared. Files are in the page
# cache (the machine has far more RAM than the data); `sync` runs before each timed step.
# Usage: bench/backup/run.sh [ROUNDS]   (default 3; BENCH_DIR=dir keeps data there between runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
rounds="${1:-3}"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p backup --example transfer_bench >&2
bin="$target/release/examples/transfer_bench"

if [[ -n "${BENCH_DIR:-}" ]]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
src="$work/source"

# ---- data: <ks>/<table>-<id>/nb-<gen>-big-<component>, Data.db 10–200 MiB --------------------
if [[ ! -f "$work/source.complete" ]]; then
  rm -rf "$src"
  echo "generating data in $src" >&2
  gen=0
  for spec in users:200,90,30 events:160,80,20 sessions:120,64,10 metrics:100,50,40; do
    table="${spec%%:*}"
    dir="$src/ks1/$table-$(printf '%s' "$table" | sha256sum | cut -c1-32)"
    mkdir -p "$dir"
    IFS=, read -ra sizes <<<"${spec#*:}"
    for mib in "${sizes[@]}"; do
      gen=$((gen + 1))
      prefix="$dir/nb-$gen-big"
      head -c $((mib * 1048576)) /dev/urandom >"$prefix-Data.db"
      head -c $(((mib / 16 + 1) * 1048576)) /dev/urandom >"$prefix-Index.db"
      for component in Filter.db Summary.db Statistics.db CompressionInfo.db; do
        head -c 1048576 /dev/urandom >"$prefix-$component"
      done
    done
  done
  touch "$work/source.complete"
fi
bytes="$(find "$src" -type f -name '*.db' -printf '%s\n' | awk '{s += $1} END {print s}')"
files="$(find "$src" -type f -name '*.db' | wc -l)"
cat "$src"/ks1/*/* >/dev/null   # into the page cache

# Runs a command (through bash, after sync) under /usr/bin/time and records, under NAME, its wall
# time, its CPU time (user + system, children included) and its peak RSS in MiB.
declare -A wall cpu rss
measure() {
  local name="$1"; shift
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" bash -c "$*" >/dev/null
  read -r w u s m <"$work/time"
  wall[$name]+="$w "
  cpu[$name]+="$(echo "$u + $s" | bc -l) "
  rss[$name]+="$(echo "scale=1; $m / 1024" | bc -l) "
}
sha_all() { echo "find '$1' -type f -name '*.db' -print0 | xargs -0 sha256sum >/dev/null"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

for _ in $(seq "$rounds"); do
  rm -rf "$work/cp-copy" "$work/bucket" "$work/restore" "$work/cp-restore"
  measure cp_sha "cp -r '$src' '$work/cp-copy' && $(sha_all "$src")"
  measure upload "'$bin' upload '$src' '$work/bucket' '$work/list'"
  measure sha256sum "$(sha_all "$src")"
  measure hash "'$bin' hash '$src'"
  measure cp_restore "cp -r '$work/bucket' '$work/cp-restore'"
  rm -rf "$work/cp-restore"
  measure cp_sha_restore "cp -r '$work/bucket' '$work/cp-restore' && $(sha_all "$work/bucket")"
  measure download "'$bin' download '$work/bucket' '$work/list' '$work/restore'"
  diff -r "$src" "$work/restore" >/dev/null || { echo "the download differs from the source" >&2; exit 1; }
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
w() { med "${wall[$1]}"; }
c() { med "${cpu[$1]}"; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
mib=$(echo "scale=0; $bytes / 1048576" | bc)
rate() { echo "scale=0; $bytes / 1048576 / $(w "$1")" | bc -l; }
max_rss() { tr ' ' '\n' <<<"${rss[$1]}" | grep . | sort -g | tail -1; }
row() { # label ours baseline
  echo "| $1 | $(w "$2") s ($(rate "$2") MiB/s) | $(w "$3") s | **$(ratio "$(w "$3")" "$(w "$2")")×** | $(c "$2") s vs $(c "$3") s: **$(ratio "$(c "$3")" "$(c "$2")")×** |"
}

echo
echo "Backup transfer, $files files, $mib MiB, $rounds rounds (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| step | ours (wall) | baseline (wall) | wall ratio (baseline / ours) | CPU user + system, ours vs baseline |"
echo "|---|---|---|---|---|"
row "upload to file:// (read + SHA-256 + write) vs cp -r + sha256sum" upload cp_sha
row "SHA-256 of every file vs sha256sum" hash sha256sum
row "download + verify from file:// vs cp -r + sha256sum" download cp_sha_restore
row "download + verify from file:// vs plain cp -r" download cp_restore
echo "| peak RSS, uploading process | $(max_rss upload) MiB (max of rounds) | | target ≤ 64 MB | |"
echo "| peak RSS, downloading process | $(max_rss download) MiB (max of rounds) | | target ≤ 64 MB | |"

# ---- S3: needs the local S3 server that scripts/emulators installs -----------------------------
if [[ -x scripts/emulators || -n "${BENCH_MOTO_SERVER:-}" ]]; then
  bench/backup/s3.sh "$bin" "$src" "$work" "$rounds" "$bytes"
else
  echo
  echo "S3 comparison skipped: scripts/emulators (the local S3 server) is not in this checkout."
fi
