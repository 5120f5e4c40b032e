#!/usr/bin/env python3
"""Renders one run of `compare.py` as the generated section of BENCHMARKS.md and a PNG chart.

    report.py RESULTS.jsonl RUN_ID --md BENCHMARKS.md --png docs/bench/compare.png

The section between `<!-- compare:begin -->` and `<!-- compare:end -->` in the Markdown file is
replaced (added at the top if the markers are missing); nothing else in the file changes.
Ratios are computed per repetition (asyncapex and its ceiling probe measured in the same
minutes), then summarised as median [min-max] over the repetitions.
"""

import argparse
import json
import os
import statistics

BEGIN = "<!-- compare:begin -->"
END = "<!-- compare:end -->"
MIB = 1024.0


def load(path, run_id):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                rows.append(rec)
    if run_id in ("", "latest"):
        metas = [r for r in rows if r["kind"] == "meta"]
        if not metas:
            raise SystemExit("no run in the file")
        run_id = metas[-1]["run_id"]
    return run_id, [r for r in rows if r["run_id"] == run_id]


def spread(values, fmt="{:,.0f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def pct(values):
    return spread([100.0 * v for v in values], "{:.0f} %")


class Report:
    def __init__(self, rows):
        self.rows = rows
        self.meta = next(r for r in rows if r["kind"] == "meta")

    def reps(self):
        return sorted({r["rep"] for r in self.rows if r.get("kind") == "harness"})

    def limit(self, name, rep=None):
        """The probe's median per repetition (each probe call runs 3 repetitions itself)."""
        return {
            r["rep"]: r["median"]
            for r in self.rows
            if r["kind"] == "limits" and r["name"] == name and (rep is None or r["rep"] == rep)
        }

    def harness(self, system, workload, n=None, section="side-by-side", field="jobs_per_s"):
        out = {}
        for r in self.rows:
            if (
                r["kind"] == "harness"
                and r["section"] == section
                and r["system"] == system
                and r["workload"] == workload
                and (n is None or r["n"] == n)
                and not r.get("unsupported")
            ):
                value = r.get(field)
                # The harness sees the first completion at its 50 ms polling: a drain that
                # ended within five polls of it has no meaningful rate after it.
                if field == "jobs_per_s_after_first" and r["seconds"] - (r.get("first_done_s") or 0) < 0.25:
                    value = None
                out[r["rep"]] = value
        return out

    def w3(self, system, field):
        """asyncapex's W3 section (runs of 20261207 recorded it under side-by-side)."""
        found = {}
        for section in ("side-by-side", "w3"):
            for k, v in self.harness(system, "w3", section=section, field=field).items():
                found[(section, k)] = v
        return found

    def processes(self, system, k, section):
        return [r for r in self.rows if r["kind"] == "processes" and r["system"] == system
                and r["processes"] == k and r["section"] == section]

    @staticmethod
    def ratio(num, den):
        return [num[k] / den[k] for k in sorted(num) if num[k] and den.get(k)]


def side_table(rep):
    systems = ["asyncapex-sqlite", "asyncapex-pg"] + rep.meta["peers"]
    lines = [
        "| system | W1 one call per job (jobs/s) | W1 bulk (jobs/s) | W2 drain, 20,000 (jobs/s) | "
        "W2 drain, 200,000: after the first completion (jobs/s) | W3 p50 (ms) | W3 p99 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in systems:
        w3p50 = rep.w3(s, "p50_ms")
        w3p99 = rep.w3(s, "p99_ms")
        lines.append(
            f"| {s} | {spread(rep.harness(s, 'w1', 20000).values())} "
            f"| {spread(rep.harness(s, 'w1bulk', 20000).values())} "
            f"| {spread(rep.harness(s, 'w2', 20000).values())} "
            f"| {spread(rep.harness(s, 'w2', 200000, field='jobs_per_s_after_first').values())} "
            f"| {spread(w3p50.values(), '{:.2f}')} | {spread(w3p99.values(), '{:.2f}')} |"
        )
    return "\n".join(lines)


def ceiling_table(rep):
    probes = [
        ("A3 sqlite claim+complete", "SQLite claim 500 + complete 500 (`a3 normal`)", "rows/s", "{:,.0f}"),
        ("A1 sqlite insert autocommit", "SQLite one row per commit, WAL NORMAL (`a1 normal`)", "rows/s", "{:,.0f}"),
        ("W3 sqlite wake dgram p50", "SQLite insert → datagram → read, p50 (`wake dgram`)", "µs", "{:,.0f}"),
        ("W3 sqlite wake dgram p99", "〃 p99", "µs", "{:,.0f}"),
        ("B3 pg claim+complete", "PostgreSQL SKIP LOCKED claim 500 + complete 500, one connection (`b3`)", "rows/s", "{:,.0f}"),
        ("B1 pg insert autocommit", "PostgreSQL one row per commit (`b1`)", "rows/s", "{:,.0f}"),
        ("B4-insert pg INSERT+pg_notify -> LISTEN -> SELECT row p50",
         "PostgreSQL INSERT+NOTIFY → LISTEN → read, p50 (`b4-insert`)", "µs", "{:,.0f}"),
        ("B4-insert pg INSERT+pg_notify -> LISTEN -> SELECT row p99", "〃 p99", "µs", "{:,.0f}"),
    ]
    lines = ["| ceiling probe (`../shared/limits`) | unit | median [min–max] of the repetitions' medians |",
             "|---|---|---|"]
    for name, label, unit, fmt in probes:
        lines.append(f"| {label} | {unit} | {spread(rep.limit(name).values(), fmt)} |")
    return "\n".join(lines)


def target_rows(rep):
    """(target, reached, met) for every target of issue 19."""
    t = []
    a3 = rep.limit("A3 sqlite claim+complete")
    b3 = rep.limit("B3 pg claim+complete")
    a1 = rep.limit("A1 sqlite insert autocommit")
    b1 = rep.limit("B1 pg insert autocommit")
    for store, ceil, cname, goal in (("asyncapex-sqlite", a3, "A3", 0.50), ("asyncapex-pg", b3, "B3", 0.85)):
        steady = rep.ratio(rep.harness(store, "w2", 200000, field="jobs_per_s_after_first"), ceil)
        whole = rep.ratio(rep.harness(store, "w2", 20000), ceil)
        t.append((
            f"{store} W2 ≥ {goal:.0%} of {cname}",
            f"200,000 queued, after the first completion: {pct(steady)}; 20,000 from worker spawn: {pct(whole)}",
            bool(steady) and statistics.median(steady) >= goal,
        ))
    for store, ceil, cname in (("asyncapex-sqlite", a1, "A1"), ("asyncapex-pg", b1, "B1")):
        r = rep.ratio(rep.harness(store, "w1", 20000), ceil)
        t.append((f"{store} W1 ≥ 60 % of {cname}", pct(r), bool(r) and statistics.median(r) >= 0.60))
    for store, probe in (("asyncapex-sqlite", "W3 sqlite wake dgram p50"),
                         ("asyncapex-pg", "B4-insert pg INSERT+pg_notify -> LISTEN -> SELECT row p50")):
        p50 = list(rep.w3(store, "p50_ms").values())
        p99 = list(rep.w3(store, "p99_ms").values())
        t.append((
            f"{store} W3 p50 ≤ 1 ms and p99 ≤ 3 ms in every repetition",
            f"p50 {', '.join(f'{x:.2f}' for x in p50)} ms; p99 {', '.join(f'{x:.2f}' for x in p99)} ms",
            bool(p50) and max(p50) <= 1.0 and max(p99) <= 3.0,
        ))
        wake = list(rep.limit(probe).values())
        if p50 and wake:
            factor = statistics.median(p50) * 1000.0 / statistics.median(wake)
            t.append((
                f"{store} W3 p50 within 5× the wake-up probe",
                f"{statistics.median(p50) * 1000:.0f} µs vs {statistics.median(wake):.0f} µs: {factor:.1f}×",
                factor <= 5.0,
            ))
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        for field, label in (("jobs_per_s_after_first", "after the first completion"), ("jobs_per_s", "whole drain")):
            base = [v for v in rep.harness(store, "w2", 20000, section="depth", field=field).values() if v]
            for depth in (200000, 2000000):
                d = [v for v in rep.harness(store, "w2", depth, section="depth", field=field).values() if v]
                if d and base:
                    r = statistics.median(d) / statistics.median(base)
                    t.append((f"{store} W2 at {depth:,} ≥ 95 % of W2 at 20,000 ({label}, medians)",
                              f"{r:.0%} ({statistics.median(d):,.0f} vs {statistics.median(base):,.0f} jobs/s)",
                              r >= 0.95))
    bull = rep.harness("bullmq", "w2", 200000)
    if bull:
        for store in ("asyncapex-sqlite", "asyncapex-pg"):
            r = rep.ratio(rep.harness(store, "w2", 200000), bull)
            t.append((f"{store} W2 at 200,000 ≥ 3× BullMQ (whole drain, same repetition)",
                      spread(r, "{:.2f}×"), bool(r) and statistics.median(r) >= 3.0))
    one = [r["jobs_per_s"] for r in rep.processes("asyncapex-pg", 1, "scale")]
    three = [r["jobs_per_s"] for r in rep.processes("asyncapex-pg", 3, "scale")]
    if one and three:
        r = statistics.median(three) / statistics.median(one)
        t.append(("asyncapex-pg W2 with 3 worker processes ≥ 1.0× one", f"{r:.2f}×", r >= 1.0))
    plain = {r["rep"]: r["items_per_sec"] for r in rep.rows if r["kind"] == "batch" and not r["stateful"]}
    state = {r["rep"]: r["items_per_sec"] for r in rep.rows if r["kind"] == "batch" and r["stateful"]}
    r = rep.ratio(state, plain)
    if r:
        t.append(("stateful batch ≥ 50 % of non-stateful items/s", pct(r), statistics.median(r) >= 0.5))
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        idle = [r.get("vmrss_kib") for r in rep.rows if r["kind"] == "idle_rss" and r["system"] == store]
        idle = [x / MIB for x in idle if x]
        if idle:
            t.append((f"{store} idle worker RSS ≤ 20 MiB", spread(idle, "{:.1f} MiB"), max(idle) <= 20.0))
        peak = [m.get("vmhwm_kib", 0) / MIB for r in rep.processes(store, 1, "rss") for m in r["worker_memory_kib"]]
        if peak:
            t.append((f"{store} worker peak RSS draining {rep.processes(store, 1, 'rss')[0]['n']:,} jobs ≤ 64 MiB",
                      spread(peak, "{:.1f} MiB"), max(peak) <= 64.0))
    return t


def depth_table(rep):
    lines = ["| store | queued | W2 whole drain (jobs/s) | W2 after the first completion (jobs/s) | first completion (s) | reps |",
             "|---|---|---|---|---|---|"]
    depths = sorted({r["n"] for r in rep.rows if r["kind"] == "harness" and r["section"] == "depth"})
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        for n in depths:
            whole = rep.harness(store, "w2", n, section="depth")
            after = rep.harness(store, "w2", n, section="depth", field="jobs_per_s_after_first")
            first = rep.harness(store, "w2", n, section="depth", field="first_done_s")
            lines.append(f"| {store} | {n:,} | {spread(whole.values())} | {spread(after.values())} "
                         f"| {spread(first.values(), '{:.2f}')} | {len(whole)} |")
    return "\n".join(lines)


def scale_table(rep):
    lines = ["| store | worker processes | W2 whole drain (jobs/s) | after the first completion (jobs/s) | × one process (medians) | reps |",
             "|---|---|---|---|---|---|"]
    for store, ks in (("asyncapex-pg", (1, 2, 3)), ("asyncapex-sqlite", (1, 2))):
        base = [r["jobs_per_s"] for r in rep.processes(store, 1, "scale")]
        for k in ks:
            runs = rep.processes(store, k, "scale")
            if not runs:
                continue
            v = [r["jobs_per_s"] for r in runs]
            times = f"{statistics.median(v) / statistics.median(base):.2f}×" if base else "–"
            lines.append(f"| {store} | {k} | {spread(v)} | {spread([r['jobs_per_s_after_first'] for r in runs])} "
                         f"| {times} | {len(runs)} |")
    return "\n".join(lines)


def memory_table(rep):
    lines = ["| store | idle worker RSS (MiB) | worker draining N jobs: peak RSS (MiB) | N | drain (jobs/s) |",
             "|---|---|---|---|---|"]
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        idle = [r.get("vmrss_kib", 0) / MIB for r in rep.rows if r["kind"] == "idle_rss" and r["system"] == store]
        runs = rep.processes(store, 1, "rss")
        peak = [m.get("vmhwm_kib", 0) / MIB for r in runs for m in r["worker_memory_kib"]]
        n = runs[0]["n"] if runs else 0
        lines.append(f"| {store} | {spread(idle, '{:.1f}')} | {spread(peak, '{:.1f}')} | {n:,} "
                     f"| {spread([r['jobs_per_s'] for r in runs])} |")
    return "\n".join(lines)


def batch_table(rep):
    lines = ["| batch (SQLite, scope 200) | items | items/s | peak RSS (MiB) | reps |", "|---|---|---|---|---|"]
    for stateful in (False, True):
        runs = [r for r in rep.rows if r["kind"] == "batch" and r["stateful"] == stateful]
        if runs:
            lines.append(f"| {'stateful' if stateful else 'non-stateful'} | {runs[0]['items']:,} "
                         f"| {spread([r['items_per_sec'] for r in runs])} "
                         f"| {spread([r['peak_rss_kib'] / MIB for r in runs if r.get('peak_rss_kib')], '{:.1f}')} "
                         f"| {len(runs)} |")
    return "\n".join(lines)


def w3_table(rep):
    lines = ["| store | repetition | p50 (ms) | p99 (ms) | max (ms) |", "|---|---|---|---|---|"]
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        for section in ("side-by-side", "w3"):
            for r in rep.rows:
                if (r["kind"] == "harness" and r["system"] == store and r["workload"] == "w3"
                        and r["section"] == section):
                    lines.append(f"| {store} | {r['rep']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                                 f"| {r['max_ms']:.2f} |")
    return "\n".join(lines)


def ab_table(rep):
    """asyncapex before and after a change, alternated in the same run (section ab)."""
    if not any(r.get("section", "").startswith("ab-") for r in rep.rows if r["kind"] == "harness"):
        return ""
    lines = ["| store | workload | before: median [min–max] | after: median [min–max] | after ÷ before, per repetition |",
             "|---|---|---|---|---|"]
    for store in ("asyncapex-sqlite", "asyncapex-pg"):
        for workload, n, field, fmt, label in (
            ("w1", 20000, "jobs_per_s", "{:,.0f}", "W1 one call per job (jobs/s)"),
            ("w2", 200000, "jobs_per_s_after_first", "{:,.0f}", "W2 200,000 queued, after the first completion (jobs/s)"),
            ("w3", None, "p50_ms", "{:.2f}", "W3 p50 (ms)"),
            ("w3", None, "p99_ms", "{:.2f}", "W3 p99 (ms)"),
        ):
            before = rep.harness(store, workload, n, section="ab-before", field=field)
            after = rep.harness(store, workload, n, section="ab-after", field=field)
            if not before or not after:
                continue
            lines.append(f"| {store} | {label} | {spread(before.values(), fmt)} | {spread(after.values(), fmt)} "
                         f"| {spread(rep.ratio(after, before), '{:.2f}×')} |")
    return "\n".join(lines)


def chart(rep, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("W1: one enqueue call per job (jobs/s)", "w1", 20000, "jobs_per_s",
         [("ceiling: SQLite one row per commit (A1)", "A1 sqlite insert autocommit"),
          ("ceiling: PostgreSQL one row per commit (B1)", "B1 pg insert autocommit")]),
        ("W2: drain 200,000 queued, after the first completion (jobs/s)", "w2", 200000, "jobs_per_s_after_first",
         [("ceiling: SQLite claim+complete (A3)", "A3 sqlite claim+complete"),
          ("ceiling: PostgreSQL SKIP LOCKED cycle (B3)", "B3 pg claim+complete")]),
    ]
    systems = ["asyncapex-sqlite", "asyncapex-pg"] + rep.meta["peers"]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels) + 1.5))
    for ax, (title, workload, n, field, ceilings) in zip(axes, panels):
        labels, meds, lo, hi, colors = [], [], [], [], []
        for label, probe in ceilings:
            v = list(rep.limit(probe).values())
            if v:
                labels.append(label)
                meds.append(statistics.median(v))
                lo.append(statistics.median(v) - min(v))
                hi.append(max(v) - statistics.median(v))
                colors.append("#9e9e9e")
        for s in systems:
            v = [x for x in rep.harness(s, workload, n, field=field).values() if x]
            if not v:
                continue
            labels.append(s)
            meds.append(statistics.median(v))
            lo.append(statistics.median(v) - min(v))
            hi.append(max(v) - statistics.median(v))
            colors.append("#1565c0" if s.startswith("asyncapex") else "#ef6c00")
        y = range(len(labels))
        ax.barh(list(y), meds, xerr=[lo, hi], color=colors, capsize=3)
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(title)
        for i, m in enumerate(meds):
            ax.text(m, i, f" {m:,.0f}", va="center", fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    fig.suptitle(f"run {rep.meta['run_id']} (commit {rep.meta['commit']}): median and min–max of "
                 f"{rep.meta['reps']} repetitions; grey = raw-SQL ceiling, blue = asyncapex, orange = peers",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def user_args(argv):
    """The options a user gave run.sh: compare.py's argv without those run.sh adds."""
    added = {"--work", "--bin", "--out", "--run-id"}
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in added:
            skip = True
        else:
            out.append(a)
    return [a if a != os.path.abspath(a) or not a.startswith("/tmp/before") else "BEFORE_BINARY" for a in out]


def section(rep, png_rel):
    m = rep.meta
    targets = target_rows(rep)
    unmet = [t for t in targets if not t[2]]
    out = [
        BEGIN,
        "## Speed against the machine's ceilings and the peers, in one run (issue 19)",
        "",
        "Generated by `tools/bench-compare/run.sh` (do not edit by hand: rerun it). Run "
        f"`{m['run_id']}`, commit `{m['commit']}`, {m['nproc']} CPUs, {m['reps']} repetitions of each "
        f"section ({m['w3_reps']} of the W3 section), interleaved: within a repetition the ceiling "
        "probe runs, then asyncapex, then the peers, so each ratio compares figures of the same minutes. "
        f"Peers run: {', '.join(m['peers']) or 'none'}"
        + (f"; not set up in the harness copy, so not run: {', '.join(m['peers_not_set_up'])}" if m["peers_not_set_up"] else "")
        + ". Raw lines: `docs/bench/compare.jsonl`.",
        "",
        "```sh",
        "cd ../shared/peerbench/peers/bullmq && npm ci && cd -   # optional: which peers run (see run.sh)",
        "tools/bench-compare/run.sh " + " ".join(user_args(m["argv"])),
        "```",
        "",
        f"![jobs/s per system beside the ceilings]({png_rel})",
        "",
        "### Targets, as ratios in one run",
        "",
        "| target | reached: median [min–max] over repetitions | met |",
        "|---|---|---|",
    ]
    for name, reached, met in targets:
        out.append(f"| {name} | {reached} | {'yes' if met else '**no**'} |")
    out += ["", "Not met in this run:" if unmet else "Every target met in this run.", ""]
    for name, reached, _ in unmet:
        out.append(f"- **{name}**: reached {reached}.")
    out += [
        "",
        "### Ceilings measured in the same run",
        "",
        ceiling_table(rep),
        "",
        "### W1, W2, W3 side by side (the peer harness's driver, N = 20,000; W3: 200 jobs)",
        "",
        side_table(rep),
        "",
        "W2 whole drain is timed by the harness from spawning the worker until the store shows every "
        "job completed (polling every 50 ms), so start-up weighs on it; the 200,000-job column is the "
        "rate after the first completion, the figure to set beside the ceiling probe (which also "
        "excludes its set-up); it is measured at the harness's 50 ms polling granularity. W3 of "
        "asyncapex is the W3 section's repetitions.",
        "",
        "### W3 per repetition",
        "",
        w3_table(rep),
        "",
        "### W2 against queue depth",
        "",
        depth_table(rep),
        "",
        "### Many worker processes on one store",
        "",
        "Each worker process runs `asyncapex bench worker` (1,024 slots) against the same store; the "
        "jobs are pre-queued and the clock starts when the workers are spawned. Several processes "
        "on one SQLite file are supported (SQLite's file lock serialises their writes; the "
        "datagram wake-ups reach every process), but they share one writer, so they cannot "
        "add throughput; PostgreSQL is the store for many workers.",
        "",
        scale_table(rep),
        "",
        "### Worker memory",
        "",
        "Read from `/proc/<pid>/status` of the worker process: `VmRSS` after it sat idle on an "
        "empty store, `VmHWM` (peak) just before it was stopped after the drain.",
        "",
        memory_table(rep),
        "",
        *(["### asyncapex before and after this round's changes, alternated", "",
            f"The binary of the commit before the changes (`--before-bin`) and this one, run one after the other "
            f"in each repetition (which goes first alternates).", "", ab_table(rep), ""] if ab_table(rep) else []),
        "### Batch Apex: stateful against non-stateful",
        "",
        batch_table(rep),
        END,
    ]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("run_id", nargs="?", default="latest")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--png-rel", default="docs/bench/compare.png")
    a = ap.parse_args()
    _, rows = load(a.results, a.run_id)
    rep = Report(rows)
    chart(rep, a.png)
    text = section(rep, a.png_rel)
    with open(a.md, encoding="utf-8") as f:
        md = f.read()
    if BEGIN in md and END in md:
        head, rest = md.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        md = head + text + tail
    else:
        first, _, body = md.partition("\n")
        md = first + "\n\n" + text + "\n" + body
    with open(a.md, "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
