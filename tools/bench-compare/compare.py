#!/usr/bin/env python3
"""Runs the whole speed comparison of BENCHMARKS.md in one go and appends raw JSON lines.

Called by `tools/bench-compare/run.sh`, which builds the binaries first (never benchmark while a
build runs). Everything here only runs programs and reads their output:

- the physical-ceiling probes of `../shared/limits` (built into WORK/limits): SQLite
  claim+complete (A3), PostgreSQL SKIP LOCKED cycle (B3), one row per commit on both (A1, B1),
  and the wake-up round trips (SQLite datagram, PostgreSQL INSERT+NOTIFY -> LISTEN -> SELECT);
- asyncapex's W1/W2/W3 on both stores through the peer harness's own driver (WORK/peerbench),
  so asyncapex and every peer are timed by the same code;
- the peers whose dependencies are installed in WORK/peerbench (BullMQ, graphile-worker, ...);
- W2 against queue depth (20 k, 200 k, 2 M queued), W2 with 1/2/3 worker processes on one
  PostgreSQL database and 1/2 on one SQLite file, the worker's RSS idle and draining 1 M jobs,
  and stateful against non-stateful batch items/s.

Every section repeats its measurements REPS times, interleaving the systems within a
repetition (ceiling probe, then asyncapex, then the peers, then the next repetition), because
absolute figures swing by +-30 % between minutes on this shared machine: the ratios that the
report (`report.py`) prints are taken within one repetition.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

# The peers the harness knows and what their installed dependencies look like.
PEER_READY = {
    "bullmq": "peers/bullmq/node_modules",
    "graphile": "peers/graphile/node_modules",
    "pg-boss": "peers/pg-boss/node_modules",
    "huey": ".venv/bin/huey_consumer",
    "procrastinate": ".venv/bin/procrastinate",
    "rq": ".venv/bin/rq",
    "celery": ".venv/bin/celery",
    "apalis-sqlite": "apalis/target/release/apalis-peerbench",
    "apalis-pg": "apalis/target/release/apalis-peerbench",
}
REDIS_PEERS = {"bullmq", "rq", "celery"}

# Limits probes: (key, arguments, the RESULT names kept).
SQLITE_PROBES = [
    ("a3", ["a3", "normal"], ["A3 sqlite claim+complete"]),
    ("a1", ["a1", "normal"], ["A1 sqlite insert autocommit"]),
    ("wake", ["wake", "dgram"], ["W3 sqlite wake dgram p50", "W3 sqlite wake dgram p99"]),
]
PG_PROBES = [
    ("b3", ["b3"], ["B3 pg claim+complete"]),
    ("b1", ["b1"], ["B1 pg insert autocommit"]),
    (
        "b4",
        ["b4-insert"],
        [
            "B4-insert pg INSERT+pg_notify -> LISTEN -> SELECT row p50",
            "B4-insert pg INSERT+pg_notify -> LISTEN -> SELECT row p99",
        ],
    ),
]
RESULT = re.compile(
    r"^RESULT \| (?P<probe>[^|]+?) \| (?P<settings>[^|]*?) \| (?P<unit>[^|]+?) \| "
    r"median (?P<median>[-0-9.]+) \| min [-0-9.]+ \| max [-0-9.]+ \| reps \[(?P<reps>[^]]*)\]"
)


class Run:
    """One comparison run: where things are, and the JSON-lines file it appends to."""

    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.peerbench = os.path.join(self.work, "peerbench")
        self.limits_bin = os.path.join(self.work, "limits", "target", "release", "limits")
        self.bin = os.path.abspath(args.bin)
        self.run_id = args.run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.out = open(args.out, "a", encoding="utf-8")
        sys.path.insert(0, os.path.join(self.peerbench, "harness"))
        import driver  # the harness's own timing code (peerbench/harness/driver.py)

        self.driver = driver
        self.peers_conf = driver.load_peers()

    def record(self, kind, **fields):
        rec = {
            "run_id": self.run_id,
            "kind": kind,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **fields,
        }
        line = json.dumps(rec)
        self.out.write(line + "\n")
        self.out.flush()
        print(line, flush=True)

    def note(self, text):
        print(f"[compare] {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ limits probes

    def limits(self, rep, probes):
        env = dict(os.environ)
        env.setdefault("LIMITS_PG", self.args.limits_pg)
        for key, argv, wanted in probes:
            self.note(f"limits {' '.join(argv)} (rep {rep})")
            proc = subprocess.run(
                [self.limits_bin, *argv],
                cwd=self.work,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"limits {argv} failed: {proc.stderr.strip()[-2000:]}")
            for line in proc.stdout.splitlines():
                m = RESULT.match(line)
                if m and m["probe"] in wanted:
                    reps = [float(x) for x in m["reps"].split(",") if x.strip()]
                    self.record(
                        "limits",
                        probe=key,
                        name=m["probe"],
                        settings=m["settings"],
                        unit=m["unit"],
                        rep=rep,
                        median=float(m["median"]),
                        reps=reps,
                    )

    # ------------------------------------------------------------------ harness workloads

    def harness(self, peer, workload, rep, n=None, section="side-by-side"):
        """One workload of the peer harness, timed by its own driver.py functions."""
        d = self.driver
        cfg = self.peers_conf[peer]
        n = n or int(cfg.get("n." + workload, 200 if workload == "w3" else 20000))
        os.makedirs(os.path.join(self.peerbench, "results", "tmp"), exist_ok=True)
        wlog = os.path.join(self.peerbench, "results", "logs", f"{peer}-{workload}-worker.log")
        os.makedirs(os.path.dirname(wlog), exist_ok=True)
        self.note(f"{peer} {workload} n={n} (rep {rep})")
        ad = d.Adapter(cfg["adapter"])
        try:
            if workload in ("w1", "w1bulk"):
                res = d.w1(ad, n, workload == "w1bulk")
            elif workload == "w2":
                res = d.w2(ad, n, cfg["worker"], wlog, self.args.timeout)
            else:
                res = d.w3(ad, n, cfg["worker"], wlog)
        finally:
            ad.close()
        if res is None:
            res = {"unsupported": True}
        if "n" in res:  # W3 reports how many jobs it measured (the warm-up excluded)
            res["measured"] = res.pop("n")
        self.record("harness", section=section, system=peer, workload=workload, n=n, rep=rep, **res)

    def w2_processes(self, system, processes, n, rep, section):
        """W2 with several worker processes on one store, timed like the harness's W2.

        Also reads each worker's resident memory (`VmRSS`, `VmHWM`) from `/proc` just before it
        is stopped: the peak a worker reached while draining.
        """
        d = self.driver
        cfg = self.peers_conf[system]
        wlog = os.path.join(self.peerbench, "results", "logs", f"{system}-w2x{processes}.log")
        os.makedirs(os.path.dirname(wlog), exist_ok=True)
        self.note(f"{system} w2 n={n} with {processes} worker process(es) (rep {rep})")
        ad = d.Adapter(cfg["adapter"])
        workers = []
        try:
            ad.call("reset")
            ad.call(f"prefill {n}")
            queued = int(ad.call("count_queued"))
            if queued != n:
                raise RuntimeError(f"expected {n} queued, store shows {queued}")
            t0 = time.monotonic()
            workers = [d.start_worker(cfg["worker"], log_path=wlog) for _ in range(processes)]
            first = None
            while True:
                done = int(ad.call("count_done"))
                now = time.monotonic()
                if done > 0 and first is None:
                    first = now - t0
                if done >= n:
                    break
                if now - t0 > self.args.timeout:
                    raise RuntimeError(f"drain timeout: {done}/{n}")
                for w in workers:
                    if w.poll() is not None:
                        raise RuntimeError(f"worker exited rc={w.returncode}, {done}/{n} done")
                time.sleep(0.05)
            secs = time.monotonic() - t0
            memory = [proc_memory(w.pid) for w in workers]
        finally:
            for w in workers:
                d.stop_group(w)
            ad.close()
        self.record(
            "processes",
            section=section,
            system=system,
            processes=processes,
            n=n,
            rep=rep,
            seconds=secs,
            jobs_per_s=n / secs,
            first_done_s=first,
            jobs_per_s_after_first=(n - 1) / max(secs - (first or 0), 1e-9),
            worker_memory_kib=memory,
        )

    def idle_rss(self, system, rep):
        """A worker started on an empty store, left idle for a few seconds: its RSS."""
        d = self.driver
        cfg = self.peers_conf[system]
        ad = d.Adapter(cfg["adapter"])
        try:
            ad.call("reset")
            w = d.start_worker(cfg["worker"])
            try:
                time.sleep(self.args.idle_seconds)
                memory = proc_memory(w.pid)
            finally:
                d.stop_group(w)
        finally:
            ad.close()
        self.record("idle_rss", system=system, rep=rep, seconds=self.args.idle_seconds, **memory)

    # ------------------------------------------------------------------ batch

    def batch(self, rep, stateful):
        argv = [self.bin, "bench", "batch", "--items", str(self.args.batch_items), "--scope", "200"]
        if stateful:
            argv.append("--stateful")
        self.note(f"bench batch stateful={stateful} (rep {rep})")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=True)
        line = next(x for x in proc.stdout.splitlines() if x.startswith("{"))
        figures = json.loads(line)
        figures.pop("stateful", None)
        self.record("batch", rep=rep, stateful=stateful, **figures)


def proc_memory(pid):
    """`VmRSS` and `VmHWM` (KiB) of a process, from `/proc/<pid>/status` (Linux)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key.lower() + "_kib"] = int(value.split()[0])
    except OSError:
        pass
    return out


def peer_ready(peerbench, peer):
    path = PEER_READY.get(peer)
    if path is None or not os.path.exists(os.path.join(peerbench, path)):
        return False
    if peer in REDIS_PEERS:
        ping = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True, text=True
        )
        return ping.stdout.strip() == "PONG"
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="scratch folder holding limits/ and peerbench/")
    ap.add_argument("--bin", required=True, help="asyncapex release binary (features bench)")
    ap.add_argument("--out", required=True, help="JSON-lines file to append to")
    ap.add_argument("--run-id", default="")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each section")
    ap.add_argument("--w3-reps", type=int, default=5, help="repetitions of W3 (>= 5: its spread)")
    ap.add_argument("--peers", default="bullmq graphile pg-boss huey apalis-sqlite apalis-pg",
                    help="peers to run when their dependencies are installed in WORK/peerbench")
    ap.add_argument("--depths", default="20000,200000,2000000", help="W2 queue depths")
    ap.add_argument("--depth-reps", type=int, default=1,
                    help="repetitions of the deepest W2 (the others use --reps)")
    ap.add_argument("--scale-n", type=int, default=100000, help="jobs in the multi-process W2")
    ap.add_argument("--rss-n", type=int, default=1000000, help="jobs drained for the RSS figure")
    ap.add_argument("--rss-reps", type=int, default=1, help="repetitions of the memory section")
    ap.add_argument("--idle-seconds", type=float, default=5.0)
    ap.add_argument("--batch-items", type=int, default=1000000)
    ap.add_argument("--timeout", type=float, default=900.0, help="drain timeout per run (s)")
    ap.add_argument("--sections", default="side,w3,depth,scale,rss,batch",
                    help="comma-separated subset of side,w3,depth,scale,rss,batch,ab (ab: "
                         "asyncapex before/after a change, with --before-bin)")
    ap.add_argument("--before-bin", default="",
                    help="section ab: an earlier asyncapex binary, alternated with --bin")
    ap.add_argument("--limits-pg", default="host=127.0.0.1 port=5432 user=bench password=bench dbname=limits")
    args = ap.parse_args()
    run = Run(args)
    sections = set(args.sections.split(","))
    peers = [p for p in args.peers.split() if peer_ready(run.peerbench, p)]
    skipped = [p for p in args.peers.split() if p not in peers]
    run.record(
        "meta",
        commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip(),
        reps=args.reps,
        w3_reps=args.w3_reps,
        peers=peers,
        peers_not_set_up=skipped,
        argv=sys.argv[1:],
        nproc=os.cpu_count(),
    )
    stores = ["asyncapex-sqlite", "asyncapex-pg"]

    if "side" in sections:
        for rep in range(1, args.reps + 1):
            run.limits(rep, SQLITE_PROBES)
            for w in ("w1", "w1bulk", "w2"):
                run.harness("asyncapex-sqlite", w, rep)
            run.harness("asyncapex-sqlite", "w2", rep, n=200000)
            run.limits(rep, PG_PROBES)
            for w in ("w1", "w1bulk", "w2"):
                run.harness("asyncapex-pg", w, rep)
            run.harness("asyncapex-pg", "w2", rep, n=200000)
            for peer in peers:
                for w in ("w1", "w2", "w3"):
                    run.harness(peer, w, rep)
                if peer == "bullmq":
                    run.harness(peer, "w2", rep, n=200000)

    if "w3" in sections:
        for rep in range(1, args.w3_reps + 1):
            for store in stores:
                run.harness(store, "w3", rep, section="w3")

    if "depth" in sections:
        depths = [int(x) for x in args.depths.split(",")]
        deepest = max(depths)
        for rep in range(1, args.reps + 1):
            for depth in depths:
                if depth == deepest and rep > args.depth_reps:
                    continue
                for store in stores:
                    run.harness(store, "w2", rep, n=depth, section="depth")

    if "scale" in sections:
        for rep in range(1, args.reps + 1):
            for k in (1, 2, 3):
                run.w2_processes("asyncapex-pg", k, args.scale_n, rep, "scale")
            for k in (1, 2):
                run.w2_processes("asyncapex-sqlite", k, args.scale_n, rep, "scale")

    if "rss" in sections:
        for rep in range(1, args.rss_reps + 1):
            for store in stores:
                run.idle_rss(store, rep)
                run.w2_processes(store, 1, args.rss_n, rep, "rss")

    if "ab" in sections:
        if not args.before_bin:
            sys.exit("section ab needs --before-bin")
        binaries = [("before", os.path.abspath(args.before_bin)), ("after", run.bin)]
        for rep in range(1, args.reps + 1):
            # Alternate which binary goes first, so a drift of the machine favours neither.
            order = binaries if rep % 2 else binaries[::-1]
            for store in stores:
                for workload, n in (("w1", 20000), ("w2", 200000), ("w3", None)):
                    for which, binary in order:
                        os.environ["ASYNCAPEX_BIN"] = binary
                        run.harness(store, workload, rep, n=n, section=f"ab-{which}")
        os.environ["ASYNCAPEX_BIN"] = run.bin

    if "batch" in sections:
        for rep in range(1, args.reps + 1):
            run.batch(rep, stateful=False)
            run.batch(rep, stateful=True)


if __name__ == "__main__":
    main()
