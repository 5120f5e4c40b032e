#!/usr/bin/env python3
"""The chaos suite: N queued jobs drained by worker processes that are SIGKILLed at random
moments while work is queued (and, on PostgreSQL, the server restarted mid-drain); then the
verdict from what the store says and what each process logged at each job start.

    python3 tests/chaos/chaos.py --store sqlite --jobs 10000 --workers 2 --kills 3
    python3 tests/chaos/chaos.py --store postgres --jobs 10000 --workers 2 --kills 3 --pg-restarts 1 --pg-terminations 1

Verdict (the run fails unless all hold):
  lost = 0          every job ends Completed;
  unexplained = 0   a job started more than once only because each earlier start ran in a
                    process that was killed afterwards (a start is logged before the job's
                    work, so a start the process did not survive is on disk);
  stuck = 0         nothing is left Queued or running when the drain ends.
Needs the worker built: cargo build -p asyncapex --example chaos_worker --features postgres
"""
import argparse
import collections
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--pg-restarts", type=int, default=0)
    ap.add_argument("--pg-terminations", type=int, default=0,
                    help="times to terminate every backend of the database mid-drain")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--worker", default=str(ROOT / "target/debug/examples/chaos_worker"))
    ap.add_argument("--postgres-url", default=os.environ.get(
        "ASYNCAPEX_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = pathlib.Path(tempfile.mkdtemp(prefix="asyncapex-chaos-"))
    if args.store == "sqlite":
        database = str(work / "chaos.db")
    else:
        database = args.postgres_url
        subprocess.run(["psql", database, "-qc", "drop schema if exists asyncapex_chaos cascade"],
                       check=True, capture_output=True)

    def run(*cmd):
        return subprocess.run([args.worker, *cmd], check=True, capture_output=True, text=True).stdout

    def status():
        return json.loads(run("status", database).strip().splitlines()[-1])

    started = time.monotonic()
    run("prefill", database, str(args.jobs))
    generation = 0
    procs = {}  # slot -> (Popen, log path)
    killed_logs = {}  # log -> when its process was killed (ns)

    def spawn(slot):
        nonlocal generation
        generation += 1
        log = work / f"starts-{slot}-{generation}.log"
        p = subprocess.Popen([args.worker, "work", database, str(log)],
                             stdout=subprocess.DEVNULL, stderr=open(work / f"worker-{generation}.err", "w"),
                             start_new_session=True)
        procs[slot] = (p, log)

    for slot in range(args.workers):
        spawn(slot)
    kills_left, restarts_left, terminations_left = args.kills, args.pg_restarts, args.pg_terminations
    events = []
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.3, 0.9))
        counts = status()
        waiting = counts.get("Queued", 0) + counts.get("Processing", 0) + counts.get("Preparing", 0)
        if waiting == 0:
            break
        # Faults are spread over the drain: a restart is due when its share of the faults is.
        restart_now = restarts_left and (not kills_left or rng.random() < restarts_left / (kills_left + restarts_left))
        if terminations_left and counts.get("Queued", 0) > 0 and rng.random() < 0.3:
            subprocess.run(["psql", database, "-qAtc",
                            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                            "where datname = current_database() and pid <> pg_backend_pid()"],
                           check=True, capture_output=True)
            terminations_left -= 1
            events.append(f"terminated every backend with {counts.get('Queued', 0)} queued")
            continue
        if kills_left and not restart_now and counts.get("Queued", 0) > 0:
            slot = rng.randrange(args.workers)
            p, log = procs[slot]
            os.killpg(p.pid, signal.SIGKILL)
            killed_logs[log] = time.time_ns()
            p.wait()
            kills_left -= 1
            events.append(f"SIGKILL worker {slot} (pid {p.pid}) with {counts.get('Queued', 0)} queued")
            spawn(slot)
        elif restart_now and counts.get("Queued", 0) > 0:
            version = sorted(os.listdir("/etc/postgresql"))[-1]
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
            restarts_left -= 1
            events.append(f"PostgreSQL {version} restarted with {counts.get('Queued', 0)} queued")
    drain_s = time.monotonic() - started
    for p, _ in procs.values():
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    counts = status()
    starts = collections.defaultdict(list)  # job -> [(ns, log), ...]
    for log in work.glob("starts-*.log"):
        for line in log.read_text().splitlines():
            i, at = line.split()
            starts[int(i)].append((int(at), log))
    # Workers run side by side: a job's starts are ordered by when they happened.
    timed = {i: sorted(v) for i, v in starts.items()}
    starts = {i: [log for _, log in v] for i, v in timed.items()}
    # Rescue time: from the kill of the process that ran a job to the job's next start.
    rescue_ms = sorted(
        (v[k + 1][0] - killed_logs[v[k][1]]) / 1e6
        for v in timed.values() for k in range(len(v) - 1) if v[k][1] in killed_logs)
    lost = args.jobs - counts.get("Completed", 0)
    stuck = sum(v for k, v in counts.items() if k != "Completed" and k not in ("Failed", "Aborted"))
    repeated = {i: logs for i, logs in starts.items() if len(logs) > 1}
    unexplained = {i: logs for i, logs in repeated.items() if any(l not in killed_logs for l in logs[:-1])}
    never_started = args.jobs - len(starts)
    verdict = {
        "store": args.store, "jobs": args.jobs, "workers": args.workers, "seed": seed,
        "kills": args.kills - kills_left, "pg_restarts": args.pg_restarts - restarts_left,
        "pg_terminations": args.pg_terminations - terminations_left,
        "seconds": round(drain_s, 1), "final": counts, "lost": lost, "stuck": stuck,
        "never_started": never_started, "repeated_starts": len(repeated),
        "unexplained_repeats": len(unexplained),
        "rescue_ms_median": round(rescue_ms[len(rescue_ms) // 2]) if rescue_ms else None,
        "rescue_ms_max": round(rescue_ms[-1]) if rescue_ms else None,
    }
    for e in events:
        print("chaos:", e)
    print(json.dumps(verdict))
    ok = (lost == 0 and stuck == 0 and never_started == 0 and not unexplained
          and kills_left == 0 and restarts_left == 0 and terminations_left == 0)
    if not ok:
        for i, logs in list(unexplained.items())[:5]:
            print(f"unexplained: job {i} started in {[l.name for l in logs]}", file=sys.stderr)
        print(f"chaos: FAILED (logs in {work})", file=sys.stderr)
        sys.exit(1)
    print(f"chaos: ok — 0 lost, {len(repeated)} repeated starts, all explained by kills")


if __name__ == "__main__":
    main()
