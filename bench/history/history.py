"""Cost against history; driven by bench/history/run.sh (see there). Loopback only, bounded."""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

# What each retained record is: a request of each kind, failed at once (no node). One drain in
# every RARE records, so that `?type=drain` selects a few records out of many.
TEMPLATES = [
    {"type": "flush", "keyspace": "ks"},
    {"type": "cleanup", "keyspace": "ks", "tables": ["t1", "t2"]},
    {"type": "scrub", "keyspace": "ks", "tables": ["t1"]},
    {"type": "upgradesstables", "keyspace": "ks"},
]
RARE = {"type": "drain"}
RARE_EVERY = 1000
# Submits per sidecar, sent in ROUNDS rounds that alternate between the sidecars (see
# `submit_rounds`).
SUBMITS = 1000
ROUNDS = 20
# Submits per sidecar before the rounds, not counted (first connections, threads, statements).
WARMUP = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Sidecar:
    def __init__(self, binary, data_dir):
        self.port = free_port()
        dead = free_port()  # nothing listens there: every operation fails at once
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", data_dir,
             "--jmx-service", f"127.0.0.1:{dead}", "--jmx-timeout", "1s",
             "--operations-expiration", "30d", "--max-pending", "100000"],
            env={**os.environ, "DAEDALUS_LOG": "warn"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while True:
            try:
                self.request("GET", "/operations/00000000-0000-0000-0000-000000000000")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("sidecar did not start")
                time.sleep(0.002)
        self.ready_s = time.perf_counter() - self.started
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def request(self, method, path, body=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"content-type": "application/json"} if body is not None else {}
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers=headers)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, data

    def call(self, method, path, body=None):
        return self.request(method, path, body, self.conn)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def wait_finished(sidecar, count):
    deadline = time.time() + 60
    while time.time() < deadline:
        _, data = sidecar.call("GET", "/operations?state=PENDING,RUNNING")
        if json.loads(data) == [] and len(json.loads(sidecar.call("GET", "/operations")[1])) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError("operations did not finish")


def seed(binary, data_dir, retained):
    """Real FAILED rows made by the sidecar, then copied in bulk (new ids, seqs and times)."""
    sidecar = Sidecar(binary, data_dir)
    for body in TEMPLATES + [RARE]:
        status, data = sidecar.call("POST", "/operations", body)
        assert status == 201, (status, data)
        wait_finished(sidecar, 1)
    wait_finished(sidecar, len(TEMPLATES) + 1)
    sidecar.stop()
    db = sqlite3.connect(os.path.join(data_dir, "journal.sqlite3"))
    rows = db.execute("SELECT type, record FROM operations ORDER BY seq").fetchall()
    common = [json.loads(r) for t, r in rows if t != RARE["type"]]
    rare = [json.loads(r) for t, r in rows if t == RARE["type"]][0]
    assert all(r["state"] == "FAILED" for r in common + [rare]), rows
    db.execute("DELETE FROM operations")
    now = int(time.time() * 1000)
    batch = []
    for seq in range(retained):
        record = dict(rare if seq % RARE_EVERY == RARE_EVERY - 1 else common[seq % len(common)])
        record["id"] = str(uuid.uuid4())
        record["seq"] = seq
        created = now - (retained - seq) * 10
        record["creation_ms"] = created
        record["start_ms"] = created + 1
        record["completion_ms"] = created + 2
        batch.append((record["id"], seq, record["version"], record["request"]["type"],
                      record["state"], created, created + 2, json.dumps(record)))
    db.executemany("INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
    db.commit()
    db.close()


def timed(sidecar, path, times):
    out = []
    size = 0
    for _ in range(times):
        t = time.perf_counter()
        status, data = sidecar.call("GET", path)
        out.append((time.perf_counter() - t) * 1000)
        assert status == 200, (path, status)
        size = len(data)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.95)], size


def measure(binary, root, retained):
    """Everything but the submit rate; returns the figures and the sidecar, still running."""
    data_dir = os.path.join(root, f"data-{retained}")
    os.makedirs(data_dir)
    seed(binary, data_dir, retained)
    sidecar = Sidecar(binary, data_dir)
    try:
        figures = {"retained": retained, "restart_s": sidecar.ready_s, "data_dir": data_dir}
        # Restart until every record's JSON is there: the first full list right after the start.
        t = time.perf_counter()
        sidecar.call("GET", "/operations")
        figures["first_full_s"] = sidecar.ready_s + time.perf_counter() - t
        time.sleep(1)
        figures["rss_loaded_kb"] = rss_kb(sidecar.proc.pid)
        figures["full_ms"], _, figures["full_bytes"] = timed(sidecar, "/operations", 3)
        figures["rss_listed_kb"] = rss_kb(sidecar.proc.pid)
        figures["drain_ms"], figures["drain_p95"], _ = timed(sidecar, "/operations?type=drain", 100)
        figures["running_ms"], figures["running_p95"], _ = timed(
            sidecar, "/operations?state=RUNNING", 100)
    except BaseException:
        sidecar.stop()
        raise
    return figures, sidecar


def submit_rounds(sidecars, figures):
    """The submit rate of every sidecar, measured in the same rounds: each round sends
    SUBMITS / ROUNDS sequential submits to each sidecar in turn (the order alternating between
    rounds), so that a change of load on the machine during the run falls on every sidecar
    alike rather than on whichever was measured at that moment."""
    per_round = SUBMITS // ROUNDS
    seconds = [[] for _ in sidecars]
    sent = [0 for _ in sidecars]
    for i, sidecar in enumerate(sidecars):
        for _ in range(WARMUP):
            status, data = sidecar.call("POST", "/operations", {"type": "flush", "keyspace": f"w{sent[i]}"})
            assert status == 201, (status, data)
            sent[i] += 1
    for r in range(ROUNDS):
        order = list(range(len(sidecars)))
        if r % 2:
            order.reverse()
        for i in order:
            t = time.perf_counter()
            for _ in range(per_round):
                body = {"type": "flush", "keyspace": f"k{sent[i]}"}
                status, data = sidecars[i].call("POST", "/operations", body)
                assert status == 201, (status, data)
                sent[i] += 1
            seconds[i].append(time.perf_counter() - t)
    for f, s, sidecar in zip(figures, seconds, sidecars):
        f["submit_per_s"] = per_round * ROUNDS / sum(s)
        f["submit_round_s"] = s
        f["rss_end_kb"] = rss_kb(sidecar.proc.pid)


def finish(binary, sidecar, figures):
    sidecar.stop()
    t = time.perf_counter()
    again = Sidecar(binary, figures["data_dir"])
    figures["restart2_s"] = time.perf_counter() - t
    again.stop()
    shutil.rmtree(figures["data_dir"])


def baseline_rss(binary, root):
    data_dir = os.path.join(root, "data-empty")
    sidecar = Sidecar(binary, data_dir)
    time.sleep(1)
    sidecar.call("GET", "/operations")
    kb = rss_kb(sidecar.proc.pid)
    sidecar.stop()
    return kb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("retained", nargs="*", type=int, default=[1000, 100000])
    args = parser.parse_args()
    assert all(0 < n <= 200_000 for n in args.retained), "bounded: 1..200000 retained"
    root = tempfile.mkdtemp(prefix="daedalus-history-", dir="/dev/shm")
    sidecars = []
    try:
        empty_kb = baseline_rss(args.bin, root)
        results = []
        for n in args.retained:
            figures, sidecar = measure(args.bin, root, n)
            results.append(figures)
            sidecars.append(sidecar)
        submit_rounds(sidecars, results)
        for sidecar, figures in zip(sidecars, results):
            finish(args.bin, sidecar, figures)
    finally:
        # Those not finished (stopping one that was is a no-op).
        for sidecar in sidecars:
            sidecar.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"empty journal RSS after a list: {empty_kb / 1024:.1f} MiB")
    print()
    print("| retained | restart (reload) | restart + first full list | RSS loaded / after full list | bytes per record | "
          "`?type=drain` median / p95 | `?state=RUNNING` median / p95 | full list | submits/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for f in results:
        per = (f["rss_listed_kb"] - empty_kb) * 1024 / f["retained"]
        print(f"| {f['retained']} | {f['restart_s'] * 1000:.0f} ms, again {f['restart2_s'] * 1000:.0f} ms "
              f"| {f['first_full_s'] * 1000:.0f} ms "
              f"| {f['rss_loaded_kb'] / 1024:.1f} / {f['rss_listed_kb'] / 1024:.1f} MiB "
              f"| {per:.0f} B "
              f"| {f['drain_ms']:.2f} / {f['drain_p95']:.2f} ms "
              f"| {f['running_ms']:.2f} / {f['running_p95']:.2f} ms "
              f"| {f['full_ms']:.0f} ms, {f['full_bytes'] / 1e6:.1f} MB "
              f"| {f['submit_per_s']:.0f} |")
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        print()
        per_round = sorted(l / h for h, l in zip(hi["submit_round_s"], lo["submit_round_s"]))
        print(f"submit rate at {hi['retained']} retained / at {lo['retained']}: "
              f"{hi['submit_per_s'] / lo['submit_per_s']:.2f}x "
              f"(same {ROUNDS} alternating rounds of {SUBMITS // ROUNDS}; per round: median "
              f"{statistics.median(per_round):.2f}x, {per_round[0]:.2f}x to {per_round[-1]:.2f}x)")
        marginal = (hi["rss_listed_kb"] - lo["rss_listed_kb"]) * 1024 / (hi["retained"] - lo["retained"])
        print(f"RSS per record between {lo['retained']} and {hi['retained']} retained "
              f"(after a full list): {marginal:.0f} B")


if __name__ == "__main__":
    sys.exit(main())
