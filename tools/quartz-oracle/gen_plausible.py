#!/usr/bin/env python3
"""Generate cron-looking strings, valid or not, as oracle input (UTC, 3 fire
times). Used to check that whatever Quartz refuses, cronwork refuses too, and
that whatever both accept gives the same fire times. Deterministic."""
import random
import sys

rng = random.Random(7)
NAMES = ["JAN", "feb", "Jun", "DEC", "MON", "fri", "SAT", "sun", "FOO", "MONDAY"]


RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2099)]
MONTHS = ["JAN", "feb", "Mar", "jun", "NOV", "DEC"]
DAYS = ["SUN", "mon", "Tue", "WED", "fri", "SAT"]


def item(idx):
    lo, hi = RANGES[idx]
    # Occasionally step just outside the range.
    v = lambda: rng.randint(lo - (1 if rng.random() < 0.05 else 0), hi + (1 if rng.random() < 0.05 else 0))
    step = lambda: str(rng.choice([0, 1, 2, 5, 7, 15, 30, 59, 60, 61]) if rng.random() < 0.1 else rng.randint(1, 9))
    k = rng.random()
    if k < 0.3:
        return str(v())
    if k < 0.45:
        return f"{v()}-{v()}"
    if k < 0.55:
        return f"{v()}/{step()}"
    if k < 0.62:
        return f"{v()}-{v()}/{step()}"
    if k < 0.7:
        return rng.choice(["*", "*/" + step()])
    if k < 0.8 and idx in (4, 5):
        names = MONTHS if idx == 4 else DAYS
        return rng.choice(names) + rng.choice(["", "", "-" + rng.choice(names), "/2", "L", "#2"])
    if k < 0.9 and idx == 3:
        return rng.choice(["L", "LW", f"L-{rng.randint(0, 32)}", f"L-{rng.randint(0, 29)}W", f"{v()}W", "W", "L-", f"{v()}L"])
    if k < 0.9 and idx == 5:
        return rng.choice([f"{v()}L", f"{v()}#{rng.randint(0, 6)}", "L", f"{v()}W"])
    # Stray specials anywhere.
    return rng.choice(["?", "L", "W", "#", "/5", "", "5x", "*/", "1-", "MONDAY", "JAN-3", "2-FRI"])


def field(idx):
    return ",".join(item(idx) for _ in range(1 if rng.random() < 0.8 else 2))


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for _ in range(count):
        nf = rng.choice([6] * 6 + [7] * 3 + [5, 8])
        fields = [field(min(i, 6)) for i in range(nf)]
        # Bias towards the day-field rule being satisfied so deeper checks run.
        if nf >= 6 and rng.random() < 0.7:
            if rng.random() < 0.5:
                fields[3] = "?"
            else:
                fields[5] = "?"
        after = f"{rng.randint(2000, 2090)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:00:00Z"
        print(f"{' '.join(fields)}\tUTC\t{after}\t3")


if __name__ == "__main__":
    main()
