# Shared by the side-by-side benchmarks (bench/peer/*.sh), sourced: stopping a sidecar (the one a
# script runs at a time is in $pid), submitting an operation, and waiting for its end. Defines
# functions only.

# stop_process PID: SIGTERM, SIGKILL after 20 s; returns once it is gone.
stop_process() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# stop_side: stops the sidecar whose pid is in $pid, if any, and clears it.
stop_side() {
  [[ -n "${pid:-}" ]] || return 0
  stop_process "$pid"
  pid=""
}

# submit_op BASE_URL BODY: POSTs BODY to /operations and prints the new operation's id; exits the
# run when it is refused.
submit_op() {
  local record
  record="$(curl -sf -X POST -H 'content-type: application/json' -d "$2" "$1/operations")" ||
    { echo "bench/peer: refused by $1: $2" >&2; exit 1; }
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$record"
}

# wait_completed BASE_URL ID [SECONDS]: polls every SECONDS (0.2) until the operation is
# COMPLETED, as a client following it would; exits the run when it ends FAILED or CANCELLED.
wait_completed() {
  local record state every="${3:-0.2}"
  while :; do
    record="$(curl -sf "$1/operations/$2")"
    state="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' <<<"$record")"
    case "$state" in
      COMPLETED) return 0 ;;
      FAILED | CANCELLED) echo "bench/peer: $state: $record" >&2; exit 1 ;;
    esac
    sleep "$every"
  done
}
