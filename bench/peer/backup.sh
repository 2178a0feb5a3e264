#!/usr/bin/env bash
# Daedalus against Icarus, backing up the same table to the same local S3 server and restoring it,
# on the same real node, in the same run, rounds alternating which side goes first. The table is
# bench.blobs, MIB MiB of 64 KiB random blobs (bench/peer/fill), flushed by each backup's snapshot.
# Per side and round, after a warm-up backup and restore of a small table (the JVM's JIT warmed as
# a long-running Icarus would be):
#   backup   POST /operations {"type":"backup"} to COMPLETED, into a bucket of its own (nothing
#            is skipped as already there);
#   restore  TRUNCATE, then IMPORT phase by phase (INIT, DOWNLOAD, TRUNCATE, IMPORT, CLEANUP, one
#            request each, as Icarus needs), then the rows and their checksum read back by CQL;
#   upgradesstables  of bench.blobs with includeAllSStables (Cassandra rewrites the whole table),
#            the record polled every 0.5 s as a client follows it: what the sidecar's own
#            progress reporting asks of the node while an operation runs;
# each side and round against a fresh S3 server (moto holds every object in memory and slows as
# it fills);
# and for each: wall time, the sidecar's CPU seconds (utime + stime), its peak RSS during it (VmHWM,
# reset first through /proc/PID/clear_refs), the S3 requests it made (the server's request log),
# and the JMX calls the node served meanwhile (the node logs every RMI call:
# -Djava.rmi.server.logCalls=true), also per second of the operation.
#
# Icarus reaches the S3 server as Esop reaches it in scripts/cross-restore: its JVM resolves AWS's
# names to it through a hosts file of its own and trusts its throwaway CA (Esop takes no endpoint).
#
# Usage: bench/peer/backup.sh [ROUNDS] [MIB]   (default 2 rounds, 1024 MiB; needs an Icarus jar:
# see scripts/icarus fetch). Environment: PEER_ADDRESS (127.0.0.22), PEER_JMX_PORT (8399),
# PEER_S3_ADDRESS (127.0.0.25, port 443), PEER_DIR (target/bench-peer-backup).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
source bench/peer/lib.sh
rounds="${1:-2}"
mib="${2:-1024}"
addr="${PEER_ADDRESS:-127.0.0.22}"
jmx_port="${PEER_JMX_PORT:-8399}"
s3_addr="${PEER_S3_ADDRESS:-127.0.0.25}"
dir="$(mkdir -p "${PEER_DIR:-target/bench-peer-backup}" && cd "${PEER_DIR:-target/bench-peer-backup}" && pwd)"
node="$dir/node"
port=4635

cargo build -q --release -p daedalus --bin daedalus
(cd bench/peer/fill && go build -o "$dir/fill" .)
daedalus_bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/daedalus"
icarus_jar="$(scripts/icarus fetch)"
moto="$(scripts/emulators)/moto_server"

pid=""
s3_pid=""
cleanup() {
  stop_side
  [[ -z "$s3_pid" ]] || stop_process "$s3_pid"
  scripts/cassandra stop "$node" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The S3 server under AWS's names, over TLS, and what each side needs to reach it.
s3="$dir/s3"
rm -rf "$s3" "$dir"/restore-* && mkdir -p "$s3"
buckets="bench-warm-icarus bench-warm-daedalus"
for round in $(seq 1 "$rounds"); do buckets+=" bench-icarus-$round bench-daedalus-$round"; done
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$s3/ca.key" -out "$s3/ca.crt" -days 2 \
  -subj "/CN=bench throwaway CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$s3/server.key" -out "$s3/server.csr" -subj "/CN=s3.amazonaws.com" 2>/dev/null
printf 'subjectAltName=DNS:s3.amazonaws.com,DNS:*.s3.amazonaws.com,IP:%s\nextendedKeyUsage=serverAuth\n' "$s3_addr" >"$s3/server.ext"
openssl x509 -req -in "$s3/server.csr" -CA "$s3/ca.crt" -CAkey "$s3/ca.key" -CAcreateserial \
  -out "$s3/server.crt" -days 2 -extfile "$s3/server.ext" 2>/dev/null
keytool -importcert -noprompt -alias bench-ca -file "$s3/ca.crt" -keystore "$s3/trust.p12" \
  -storetype PKCS12 -storepass changeit >/dev/null
{
  echo "127.0.0.1 localhost $(hostname)"
  echo "$s3_addr s3.amazonaws.com$(for b in $buckets; do printf ' %s.s3.amazonaws.com' "$b"; done)"
} >"$s3/hosts"
# start_s3: a fresh server (moto keeps every object in memory, and a server holding the gigabytes
# of earlier rounds answers slower: each side and round gets an empty one).
start_s3() {
  [[ -z "$s3_pid" ]] || stop_process "$s3_pid"
  "$moto" -H "$s3_addr" -p 443 -c "$s3/server.crt" -k "$s3/server.key" >>"$s3/requests.log" 2>&1 &
  s3_pid=$!
  for _ in $(seq 1 200); do curl -sf -o /dev/null --cacert "$s3/ca.crt" "https://$s3_addr/" && return 0; sleep 0.1; done
  echo "bench/peer/backup: the S3 server did not start on $s3_addr:443" >&2; exit 1
}
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
icarus_jvm="-Djdk.net.hosts.file=$s3/hosts -Djavax.net.ssl.trustStore=$s3/trust.p12 -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12"

# The node, logging every JMX call it serves.
rm -rf "$node"
CASSANDRA_JVM_EXTRA="-Djava.rmi.server.logCalls=true" \
  scripts/cassandra start "$node" --address "$addr" --jmx-port "$jmx_port" >/dev/null
jmx_log="$node/logs/stdout.log"
"$dir/fill" -cql "$addr:9042" -warm
"$dir/fill" -cql "$addr:9042" -mib "$mib" >&2
want="$("$dir/fill" -cql "$addr:9042" -count)"
echo "bench/peer/backup: bench.blobs holds $want" >&2

start_side() {
  local side="$1"
  rm -rf "$dir/$side-data"
  if [[ "$side" == icarus ]]; then
    # shellcheck disable=SC2086 # the options are words
    java $icarus_jvm -jar "$icarus_jar" icarus --jmx-service "$addr:$jmx_port" --listen "$addr:$port" \
      >"$dir/icarus.log" 2>&1 &
  else
    AWS_ENDPOINT_URL="https://$s3_addr" SSL_CERT_FILE="$s3/ca.crt" DAEDALUS_LOG=warn \
      "$daedalus_bin" --jmx-service "$addr:$jmx_port" --listen "$addr:$port" \
      --data-dir "$dir/$side-data" >"$dir/daedalus.log" 2>&1 &
  fi
  pid=$!
  until curl -sf -o /dev/null "http://$addr:$port/version"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench/peer/backup: $side exited during start" >&2; exit 1; }
    sleep 0.05
  done
}

# run BODY: submits one operation and follows it (every 0.5 s) to COMPLETED; fails the run
# otherwise.
run() { wait_completed "http://$addr:$port" "$(submit_op "http://$addr:$port" "$1")" 0.5; }

backup_body() { # LOCATION TAG ENTITIES
  printf '{"type":"backup","storageLocation":"%s","snapshotTag":"%s","entities":"%s","createMissingBucket":true,"cassandraDirectory":"%s","dataDirs":["%s/data"]}' \
    "$1" "$2" "$3" "$node" "$node"
}
restore_all() { # LOCATION TAG TABLE SOURCE
  local phase
  for phase in INIT DOWNLOAD TRUNCATE IMPORT CLEANUP; do
    run "$(printf '{"type":"restore","storageLocation":"%s","snapshotTag":"%s","entities":"%s","restorationStrategyType":"IMPORT","restorationPhase":"%s","cassandraDirectory":"%s","dataDirs":["%s/data"],"import":{"type":"import","sourceDir":"%s"}}' \
      "$1" "$2" "$3" "$phase" "$node" "$node" "$4")"
  done
}

cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }
requests() { grep -cE '"(GET|PUT|POST|HEAD|DELETE) ' "$s3/requests.log" || true; }
jmx_calls() { grep -c 'RMIConnection\.' "$jmx_log" || true; }
now() { date +%s.%N; }

# measure WHAT COMMAND...: runs COMMAND and prints "seconds cpu peak_rss_kb s3_requests jmx_calls".
measure() {
  shift
  local t0 c0 r0 j0
  echo 5 >"/proc/$pid/clear_refs"
  t0="$(now)" c0="$(cpu_s)" r0="$(requests)" j0="$(jmx_calls)"
  "$@"
  python3 -c 'import sys; a = sys.argv[1:]; print("%.2f %.2f %s %d %d" % (float(a[0]) - float(a[1]), float(a[2]) - float(a[3]), a[4], int(a[5]) - int(a[6]), int(a[7]) - int(a[8])))' \
    "$(now)" "$t0" "$(cpu_s)" "$c0" "$(hwm_kb)" "$(requests)" "$r0" "$(jmx_calls)" "$j0"
}

results="$dir/results.tsv"
printf 'round\tside\twhat\tseconds\tcpu_s\tpeak_rss_kb\ts3_requests\tjmx_calls\n' >"$results"
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then order="icarus daedalus"; else order="daedalus icarus"; fi
  for side in $order; do
    start_s3
    start_side "$side"
    warm="s3://bench-warm-$side/bench/dc1/node1"
    run "$(backup_body "$warm" "warm$round" benchwarm)"
    restore_all "$warm" "warm$round" benchwarm.t "$dir/restore-$side-warm"
    location="s3://bench-$side-$round/bench/dc1/node1"
    calls=""
    read -r secs cpu hwm reqs calls < <(measure backup run "$(backup_body "$location" "b$round" bench)") || true
    [[ -n "${calls:-}" ]] || { echo "bench/peer/backup: $side's backup did not complete" >&2; exit 1; }
    printf '%s\t%s\tbackup\t%s\t%s\t%s\t%s\t%s\n' "$round" "$side" "$secs" "$cpu" "$hwm" "$reqs" "$calls" | tee -a "$results"
    "$dir/fill" -cql "$addr:9042" -truncate
    calls=""
    read -r secs cpu hwm reqs calls < <(measure restore restore_all "$location" "b$round" bench.blobs "$dir/restore-$side-$round") || true
    [[ -n "$calls" ]] || { echo "bench/peer/backup: $side's restore did not complete" >&2; exit 1; }
    printf '%s\t%s\trestore\t%s\t%s\t%s\t%s\t%s\n' "$round" "$side" "$secs" "$cpu" "$hwm" "$reqs" "$calls" | tee -a "$results"
    got="$("$dir/fill" -cql "$addr:9042" -count)"
    [[ "$got" == "$want" ]] || { echo "bench/peer/backup: $side's restore gave $got, not $want" >&2; exit 1; }
    calls=""
    read -r secs cpu hwm reqs calls < <(measure upgrade run '{"type":"upgradesstables","keyspace":"bench","tables":["blobs"],"includeAllSStables":true,"jobs":1}') || true
    [[ -n "$calls" ]] || { echo "bench/peer/backup: $side's upgradesstables did not complete" >&2; exit 1; }
    printf '%s\t%s\tupgradesstables\t%s\t%s\t%s\t%s\t%s\n' "$round" "$side" "$secs" "$cpu" "$hwm" "$reqs" "$calls" | tee -a "$results"
    rm -rf "$dir/restore-$side-$round"
    stop_side
  done
done

python3 - "$results" "$mib" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cols = ["seconds", "cpu_s", "peak_rss_kb", "s3_requests", "jmx_calls"]
print("\n%s MiB table, median of %d rounds\n" % (sys.argv[2], len(rows) // 6))
print("| figure | Icarus | Daedalus | Daedalus / Icarus |")
print("|---|---|---|---|")
for what in ("backup", "restore", "upgradesstables"):
    for c in cols + ["jmx_calls_per_s"]:
        def value(side):
            xs = [r for r in rows if r["side"] == side and r["what"] == what]
            if c == "jmx_calls_per_s":
                return statistics.median(float(r["jmx_calls"]) / float(r["seconds"]) for r in xs)
            return statistics.median(float(r[c]) for r in xs)
        i, d = value("icarus"), value("daedalus")
        print("| %s %s | %.2f | %.2f | %s |" % (what, c, i, d, "%.3f" % (d / i) if i else "—"))
PY
