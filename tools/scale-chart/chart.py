"""The scale benchmark's chart: view times and W2 against row count, per store.

Reads the JSON lines `asyncapex bench scale --out FILE` writes (one per store and row count;
a later line for the same store and row count replaces an earlier one) and writes a PNG.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

VIEWS = [
    ("overview", "overview page"),
    ("metrics", "/metrics"),
    ("job_list", "job list, page 1"),
    ("job_list_failed", "job list, Failed"),
    ("job_list_failed_aborted", "job list, Failed+Aborted"),
    ("flex_queue", "flex-queue page"),
]


def main(source: str, target: str) -> None:
    runs: dict[tuple[str, int], dict] = {}
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                run = json.loads(line)
                runs[(run["store"], run["rows"])] = run
    stores = sorted({store for store, _ in runs})
    fig, axes = plt.subplots(2, len(stores), figsize=(6 * len(stores), 8), squeeze=False)
    for col, store in enumerate(stores):
        mine = sorted((rows, run) for (s, rows), run in runs.items() if s == store)
        rows = [r for r, _ in mine]
        views = axes[0][col]
        for key, label in VIEWS:
            times = [dict(run["views_median_ms"])[key] for _, run in mine]
            views.plot(rows, times, marker="o", label=label)
        views.axhline(20, color="red", linestyle="--", linewidth=1, label="target: 20 ms")
        views.set_xscale("log")
        views.set_title(f"{store}: operator views (median of 15)")
        views.set_xlabel("finished job records in the store")
        views.set_ylabel("ms")
        views.legend(fontsize="small")
        views.grid(True, which="both", alpha=0.3)
        w2 = axes[1][col]
        w2.plot(rows, [run["w2_jobs_per_s"] for _, run in mine], marker="o", color="black")
        w2.set_xscale("log")
        w2.set_ylim(bottom=0)
        w2.set_title(f"{store}: W2 drain of 20,000 jobs on top")
        w2.set_xlabel("finished job records in the store")
        w2.set_ylabel("jobs/s")
        w2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, dpi=90)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RESULTS.jsonl OUT.png")
    main(sys.argv[1], sys.argv[2])
