#!/usr/bin/env bash
# S3 part of bench/backup/run.sh: our upload vs `aws s3 cp --recursive` of the same files to the
# same local S3 server (moto), and our verified download vs `aws s3 cp --recursive` (+ sha256sum)
# of the same objects back, same run, medians of ROUNDS, each round to a fresh prefix (so
# neither side skips anything) removed afterwards.
# Needs moto_server from scripts/emulators (found under target/emulators/, or given as
# BENCH_MOTO_SERVER) and the AWS CLI (`aws` on PATH, else installed from PyPI into
# target/emulators/awscli-venv on first use).
# Usage (from run.sh): bench/backup/s3.sh <transfer_bench> <source dir> <work dir> <rounds> <bytes>
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
bin="$1" src="$2" work="$3" rounds="$4" bytes="$5"
target="${CARGO_TARGET_DIR:-$root/target}"

moto="${BENCH_MOTO_SERVER:-$(find "$target/emulators" -path '*/bin/moto_server' -print -quit 2>/dev/null || true)}"
if [[ -z "$moto" || ! -x "$moto" ]]; then
  echo
  echo "S3 comparison skipped: no moto_server under $target/emulators; run scripts/emulators (or the tests) first."
  exit 0
fi
aws="$(command -v aws || true)"
if [[ -z "$aws" ]]; then
  venv="$target/emulators/awscli-venv"
  if [[ ! -x "$venv/bin/aws" ]]; then
    echo "installing the AWS CLI into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
  fi
  aws="$venv/bin/aws"
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$moto" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
"$aws" s3 mb s3://bench >/dev/null

now() { date +%s.%N; }
timed() { local start end; start="$(now)"; "$@" >/dev/null; end="$(now)"; echo "$end - $start" | bc -l; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# Over plain HTTP both clients sign each payload's SHA-256; AWS_UNSIGNED_PAYLOAD=true is what an
# HTTPS endpoint can use (TLS carries integrity), shown as a second line.
# CPU seconds (user + system) of each client too: on a shared machine they vary far less than
# wall time, and the server competes with the client for the same cores.
cpu() { awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$1"; }
ours="" unsigned="" theirs="" rss="" ours_cpu="" theirs_cpu="" dl_ours="" dl_aws="" dl_aws_hash=""
for round in $(seq "$rounds"); do
  theirs+="$(timed /usr/bin/time -v -o "$work/time-aws" "$aws" s3 cp --recursive --quiet "$src" "s3://bench/aws-$round/") "
  theirs_cpu+="$(cpu "$work/time-aws") "
  "$aws" s3 rm --recursive --quiet "s3://bench/aws-$round/"
  ours+="$(timed /usr/bin/time -v -o "$work/time-s3" "$bin" upload "$src" "s3://bench/ours-$round" "$work/list-s3") "
  ours_cpu+="$(cpu "$work/time-s3") "
  rss+="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$work/time-s3") "
  # Download (restore's DOWNLOAD path) of the objects just uploaded: ours verifies every SHA-256
  # as it writes; the AWS CLI side is timed alone and with sha256sum of what it wrote.
  rm -rf "$work/dl-ours" "$work/dl-aws"
  dl_ours+="$(timed "$bin" download "s3://bench/ours-$round" "$work/list-s3" "$work/dl-ours") "
  rm -rf "$work/dl-ours"
  start="$(now)"
  "$aws" s3 cp --recursive --quiet "s3://bench/ours-$round/" "$work/dl-aws"
  mid="$(now)"
  find "$work/dl-aws" -type f -print0 | xargs -0 sha256sum >/dev/null
  end="$(now)"
  dl_aws+="$(echo "$mid - $start" | bc -l) "
  dl_aws_hash+="$(echo "$end - $start" | bc -l) "
  rm -rf "$work/dl-aws"
  "$aws" s3 rm --recursive --quiet "s3://bench/ours-$round/"
  unsigned+="$(AWS_UNSIGNED_PAYLOAD=true timed "$bin" upload "$src" "s3://bench/unsigned-$round" "$work/list-s3") "
  "$aws" s3 rm --recursive --quiet "s3://bench/unsigned-$round/"
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
m_theirs="$(med "$theirs")"
for variant in signed unsigned; do
  if [[ $variant == signed ]]; then m="$(med "$ours")"; else m="$(med "$unsigned")"; fi
  echo "| upload to S3 (moto, payload $variant) vs aws s3 cp --recursive | $m s ($(echo "scale=0; $bytes / 1048576 / $m" | bc -l) MiB/s) | $m_theirs s | **$(echo "scale=2; $m_theirs / $m" | bc -l)×** |"
done
# Every round's ratio too, not only the medians': the target holds in every run or it does not.
per_round() { paste -d' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2}'; }
echo "| upload to S3 per round, aws / ours: signed $(per_round "$theirs" "$ours"); unsigned $(per_round "$theirs" "$unsigned") | | | |"
echo "| client CPU (user + system), upload to S3 (payload signed) | $(med "$ours_cpu") s | $(med "$theirs_cpu") s | **$(echo "scale=2; $(med "$theirs_cpu") / $(med "$ours_cpu")" | bc -l)×** |"
m_dl="$(med "$dl_ours")"
echo "| download + SHA-256 verify from S3 (moto) vs aws s3 cp --recursive + sha256sum | $m_dl s | $(med "$dl_aws_hash") s | **$(echo "scale=2; $(med "$dl_aws_hash") / $m_dl" | bc -l)×** |"
echo "| download + SHA-256 verify from S3 (moto) vs aws s3 cp --recursive alone (no hashing) | $m_dl s | $(med "$dl_aws") s | **$(echo "scale=2; $(med "$dl_aws") / $m_dl" | bc -l)×** |"
echo "| peak RSS, uploading to S3 | $(tr ' ' '\n' <<<"$rss" | grep . | sort -g | tail -1) MiB (max of rounds) | | target ≤ 64 MB |"
