#!/usr/bin/env bash
# What the local S3 server (moto) spends its time on while one client uploads a directory: moto
# runs under py-spy (sampling at 250 Hz, every thread), then the samples are grouped by what the
# leaf frame does and the request log is counted by kind. Used to find what to change in our
# uploads; the comparison of wall times is bench/backup/s3.sh's job.
# Needs moto_server from scripts/emulators; py-spy and the AWS CLI are installed from PyPI into
# target/emulators/ on first use (or found on PATH).
# Usage: bench/backup/moto-profile.sh aws|ours <source dir> <work dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
client="$1" src="$2" work="$3"
target="${CARGO_TARGET_DIR:-$root/target}"
moto="${BENCH_MOTO_SERVER:-$(find "$target/emulators" -path '*/bin/moto_server' -print -quit 2>/dev/null || true)}"
[[ -x "$moto" ]] || { echo "no moto_server under $target/emulators: run scripts/emulators first" >&2; exit 1; }
tool() { # tool <command> <PyPI package>: from PATH, else from a venv under target/emulators
  local found venv="$target/emulators/$2-venv"
  found="$(command -v "$1" || true)"
  if [[ -z "$found" ]]; then
    [[ -x "$venv/bin/$1" ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "$2"; }
    found="$venv/bin/$1"
  fi
  echo "$found"
}
spy="$(tool py-spy py-spy)" aws="$(tool aws awscli)"
bin="$target/release/examples/transfer_bench"
[[ $client == aws || -x "$bin" ]] || cargo build --release -p backup --example transfer_bench >&2
mkdir -p "$work"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$spy" record -r 250 -f raw -o "$work/moto-$client.samples" -- "$moto" -H 127.0.0.1 -p "$port" >"$work/moto-$client.log" 2>&1 &
spy_pid=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
"$aws" s3 mb s3://bench >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $client == aws ]]; then
  /usr/bin/time -f '%e s wall, %U s user, %S s system' "$aws" s3 cp --recursive --quiet "$src" s3://bench/x/
else
  /usr/bin/time -f '%e s wall, %U s user, %S s system' "$bin" upload "$src" s3://bench/x "$work/list-profile" >/dev/null
fi
kill -INT "$spy_pid"; wait "$spy_pid" || true

echo "requests (moto's log):"
grep -o '"[A-Z]* /[^ ]*' "$work/moto-$client.log" | awk '{
  kind = "other"
  if ($2 ~ /partNumber=/) kind = "upload part"
  else if ($2 ~ /[?&]uploads/) kind = "create multipart"
  else if ($2 ~ /uploadId=/) kind = "complete/abort multipart"
  else if ($2 ~ /list-type=/) kind = "list"
  else if ($1 == "\"HEAD") kind = "head object"
  else if ($1 == "\"PUT") kind = "put object"
  print kind }' | sort | uniq -c
echo "moto's busy samples by what the leaf frame does:"
awk '{ c = $NF; $NF = ""; n = split($0, f, ";"); leaf = f[n]; sub(/ \(.*/, "", leaf); gsub(/^ +| +$/, "", leaf)
  if (leaf ~ /select|Condition.wait|socket.accept|Event.wait|sleep/ || leaf == "") next
  g = "other (request dispatch, parsing, responses)"
  if (leaf == "FakeMultipart.complete") g = "joining parts at completion"
  else if (leaf ~ /MultipartChecksumBuilder|compute_checksum|_hash/) g = "object checksums"
  else if (leaf == "FakeKey.etag") g = "MD5 for ETags"
  else if (leaf ~ /SocketIO.readinto|LimitedStream/) g = "reading request bodies"
  else if (leaf ~ /Spooled|TemporaryFile|FakeKey.value/) g = "temporary files"
  busy += c; s[g] += c }
  END { for (k in s) printf "  %5.1f%%  %s\n", 100 * s[k] / busy, k; printf "  %d samples (%.1f s of thread time)\n", busy, busy / 250 }' "$work/moto-$client.samples" | sort -rn
