#!/usr/bin/env python3
"""Generate oracle input lines "EXPR\tZONE\tAFTER\tCOUNT" on stdout.

Hand-picked tricky cases first, then random expressions drawn from the grammar
that both Quartz 2.3 and cronwork accept, with "after" instants biased towards
DST transitions, leap days and month ends. Deterministic (fixed seed).

Usage: python3 gen_cases.py [N_RANDOM] > cases.in
"""
import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC",
         "Asia/Kolkata", "America/Sao_Paulo"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

rng = random.Random(20260427)


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_trans_cache = {}


def transitions(zone, year):
    """UTC instants (to the minute) where the zone's offset changes in `year`."""
    key = (zone, year)
    if key in _trans_cache:
        return _trans_cache[key]
    tz = ZoneInfo(zone)
    out = []
    t = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    prev = t.astimezone(tz).utcoffset()
    step = timedelta(hours=6)
    while t < end:
        n = t + step
        off = n.astimezone(tz).utcoffset()
        if off != prev:
            lo, hi = t, n
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    break
                if mid.astimezone(tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            prev = off
        t = n
    _trans_cache[key] = out
    return out


def rand_after(zone):
    r = rng.random()
    year = rng.choice([rng.randint(1995, 2040), rng.randint(2015, 2030), rng.randint(2041, 2098)])
    if r < 0.45 and zone not in ("UTC", "Asia/Kolkata"):
        tr = transitions(zone, year)
        if not tr and zone == "America/Sao_Paulo":
            tr = transitions(zone, rng.randint(1995, 2018))
        if tr:
            t = rng.choice(tr)
            delta = rng.choice([
                rng.randint(-7200, 7200),
                rng.randint(-3 * 86400, 86400),
                rng.randint(-60, 60),
            ])
            return t + timedelta(seconds=delta)
    if r < 0.6:
        # Around leap days / month ends.
        y = rng.choice([1996, 2000, 2004, 2024, 2028, 2096, 2023, 2025, 2100 - 1])
        m = rng.choice([2, 2, 2, 1, 3, 4, 12])
        base = datetime(y, m, 1, tzinfo=ZoneInfo(zone)) + timedelta(days=rng.randint(-3, 30))
        return base + timedelta(seconds=rng.randint(-86400, 86400))
    base = datetime(year, 1, 1, tzinfo=timezone.utc)
    return base + timedelta(seconds=rng.randint(0, 365 * 86400))


def num_item(lo, hi, names=None, allow_step=True):
    """One list item of a plain field."""
    def val():
        return rng.randint(lo, hi)
    k = rng.random()
    if names and k < 0.35:
        a = rng.randint(lo, hi)
        n = names[a - lo]
        n = rng.choice([n, n.lower(), n.capitalize()])
        if rng.random() < 0.4:
            b = rng.randint(lo, hi)
            m = names[b - lo]
            return f"{n}-{m}"
        return n
    if k < 0.45:
        return "*"
    if k < 0.6 and allow_step:
        return f"*/{rng.randint(1, max(1, min(hi - lo, 30)))}"
    if k < 0.72 and allow_step:
        return f"{val()}/{rng.randint(1, max(1, min(hi - lo, 30)))}"
    if k < 0.85:
        return f"{val()}-{val()}"
    if k < 0.92 and allow_step:
        return f"{val()}-{val()}/{rng.randint(1, max(1, min(hi - lo, 20)))}"
    return str(val())


def plain_field(lo, hi, names=None, dense=False):
    if dense and rng.random() < 0.3:
        return "*"
    n = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    items = [num_item(lo, hi, names) for _ in range(n)]
    if "*" in items and len(items) > 1:
        items = [i for i in items if i != "*"] or ["*"]
    return ",".join(items)


def single_or_small(lo, hi):
    r = rng.random()
    if r < 0.55:
        return str(rng.randint(lo, hi))
    if r < 0.7:
        return ",".join(str(rng.randint(lo, hi)) for _ in range(rng.randint(2, 3)))
    return plain_field(lo, hi)


def dom_field():
    r = rng.random()
    if r < 0.12:
        return "L"
    if r < 0.2:
        return f"L-{rng.randint(0, 30) if rng.random() < 0.3 else rng.randint(0, 5)}"
    if r < 0.27:
        return "LW"
    if r < 0.31:
        return f"L-{rng.randint(0, 6)}W"
    if r < 0.42:
        return f"{rng.randint(1, 31)}W"
    if r < 0.5:
        return "*"
    return plain_field(1, 31)


def dow_field():
    r = rng.random()
    day = rng.randint(1, 7)
    name = rng.choice([str(day), DAYS[day - 1], DAYS[day - 1].lower()])
    if r < 0.15:
        return f"{name}L"
    if r < 0.3:
        return f"{name}#{rng.randint(1, 5)}"
    if r < 0.34:
        return "L"
    if r < 0.42:
        return "*"
    return plain_field(1, 7, DAYS)


def year_field():
    r = rng.random()
    if r < 0.3:
        return "*"
    if r < 0.55:
        return str(rng.randint(1990, 2099))
    if r < 0.8:
        a = rng.randint(1990, 2095)
        return f"{a}-{rng.randint(a, 2099)}"
    if r < 0.9:
        return f"{rng.randint(1990, 2050)}/{rng.randint(1, 10)}"
    return ",".join(str(rng.randint(2000, 2099)) for _ in range(3))


def rand_expr():
    kind = rng.random()
    # Mostly realistic: fixed seconds/minutes; sometimes dense.
    if kind < 0.5:
        sec, mi = str(rng.choice([0, 0, 0, rng.randint(0, 59)])), single_or_small(0, 59)
    else:
        sec, mi = plain_field(0, 59, dense=True), plain_field(0, 59, dense=True)
    hr = single_or_small(0, 23) if rng.random() < 0.6 else plain_field(0, 23, dense=True)
    mon = "*" if rng.random() < 0.55 else plain_field(1, 12, MONTHS)
    if rng.random() < 0.5:
        dom, dow = dom_field(), "?"
    else:
        dom, dow = "?", dow_field()
    parts = [sec, mi, hr, dom, mon, dow]
    if rng.random() < 0.25:
        parts.append(year_field())
    return " ".join(parts)


HAND = [
    # Apex documentation examples.
    ("0 0 13 * * ?", None), ("0 5 * * * ?", None), ("0 0 22 ? * 6L", None),
    ("0 0 10 ? * MON-FRI", None), ("0 0 20 * * ? 2010", "2009-12-30T00:00:00Z"),
    ("0 0 8 13 2 ?", None), ("20 30 8 10 2 ?", None), ("0 0 0 3 9 ? 2042", None),
    # Far future / never.
    ("0 0 0 1 1 ? 2099", "2026-01-01T00:00:00Z"), ("0 0 0 30 2 ?", "2026-01-01T00:00:00Z"),
    ("0 0 0 31 4 ?", "2026-01-01T00:00:00Z"), ("0 0 0 1 1 ? 2020", "2026-01-01T00:00:00Z"),
    ("0 0 0 29 2 ?", "2023-06-01T00:00:00Z"), ("0 0 0 29 2 ?", "2096-03-01T00:00:00Z"),
    ("0 0 12 ? 2 1#5", "2000-01-01T00:00:00Z"),
    # nth / last weekday.
    ("0 0 9 ? * 6#5", "2026-01-01T00:00:00Z"), ("0 0 9 ? * FRI#5", "2026-01-01T00:00:00Z"),
    ("0 0 9 ? * 2#1", "2026-01-01T00:00:00Z"), ("0 0 9 ? * 1L", "2026-01-01T00:00:00Z"),
    ("0 0 9 ? * friL", "2026-01-01T00:00:00Z"), ("0 0 9 ? * L", "2026-01-01T00:00:00Z"),
    # L / W near month ends.
    ("0 0 0 L * ?", "2024-01-15T00:00:00Z"), ("0 0 0 L-2 * ?", "2024-01-15T00:00:00Z"),
    ("0 0 0 L-30 * ?", "2024-01-15T00:00:00Z"), ("0 0 0 LW * ?", "2024-01-15T00:00:00Z"),
    ("0 0 0 L-1W * ?", "2024-01-15T00:00:00Z"), ("0 0 0 1W * ?", "2022-01-01T00:00:00Z"),
    ("0 0 0 15W * ?", "2024-01-01T00:00:00Z"), ("0 0 0 31W * ?", "2024-01-01T00:00:00Z"),
    ("0 0 0 30W * ?", "2024-01-01T00:00:00Z"), ("0 0 12 1W * ?", "2026-07-15T00:00:00Z"),
    # Wrapping ranges.
    ("0 0 22-2 * * ?", None), ("0 0 12 ? * FRI-MON", None), ("0 0 0 1 NOV-FEB ?", None),
    ("0 50-10/7 * * * ?", None), ("0 0 0 28-3 * ?", "2024-02-01T00:00:00Z"),
    ("0 0 12 ? * 6-2", None), ("0 0 0 1 11-2 ?", None), ("50-10 * * * * ?", None),
    # Steps.
    ("0/15 * * * * ?", None), ("5/20 * * * * ?", None), ("*/3 * * * * ?", None),
    ("10-40/5 * * * * ?", None), ("0 */15 * * * ?", None), ("0 0 */5 * * ?", None),
    ("0 0 0 1/5 * ?", None), ("0 0 0 ? * */2", None), ("0 0 0 1 */3 ?", None),
    ("0 0 0 1 1 ? */7", None), ("0 0 0 1 1 ? 2030/5", None), ("0 0 0 1 1 ? 2030-2040/3", None),
    ("* * * * * ?", None),
    # Sparse: many years between fires, or never.
    ("0 0 0 ? 2 2#5", "1970-01-01T00:00:00Z"), ("0 0 0 ? 2 1#5", "1970-01-01T00:00:00Z"),
    ("0 0 0 29 2 ?", "1970-01-01T00:00:00Z"), ("0 0 0 L-30 2 ?", "1970-01-01T00:00:00Z"),
    ("0 0 0 30W 2 ?", "2020-01-01T00:00:00Z"), ("0 0 0 31W 4 ?", "2020-01-01T00:00:00Z"),
    ("0 0 0 31W * ?", "2020-01-01T00:00:00Z"), ("0 0 0 L-27W * ?", "2021-01-01T00:00:00Z"),
    ("0 0 0 L-29 * ?", "2020-01-01T00:00:00Z"),
    ("0 0 0 ? * 6#5 2090-2099", "2026-01-01T00:00:00Z"), ("59 59 23 31 12 ? 2099", None),
    ("0 0 0 ? 2 1L", "2026-01-01T00:00:00Z"), ("0 0 0 ? 2 7#4", "2026-01-01T00:00:00Z"),
    ("0 0 0 29 2 ? 2096-2099", "1970-01-01T00:00:00Z"),
]

DST_HAND = [
    ("0 30 2 * * ?", "America/New_York", "2026-03-06T12:00:00Z"),
    ("0 30 1 * * ?", "America/New_York", "2026-10-31T12:00:00Z"),
    ("0 0/10 * * * ?", "America/New_York", "2026-11-01T04:30:00Z"),
    ("0 0/10 * * * ?", "America/New_York", "2026-03-08T06:30:00Z"),
    ("*/15 * * * * ?", "America/New_York", "2026-11-01T05:59:00Z"),
    ("*/15 * * * * ?", "America/New_York", "2026-03-08T06:59:00Z"),
    ("0 0 2 * * ?", "America/New_York", "2026-03-07T12:00:00Z"),
    ("0 59 1 * * ?", "America/New_York", "2026-03-07T12:00:00Z"),
    ("0 0 3 * * ?", "America/New_York", "2026-03-07T12:00:00Z"),
    ("0 0 * * * ?", "America/New_York", "2026-11-01T03:00:00Z"),
    ("0 30 * * * ?", "America/New_York", "2026-11-01T03:00:00Z"),
    ("0 30 1 * * ?", "Europe/London", "2026-03-27T12:00:00Z"),
    ("0 30 1 * * ?", "Europe/London", "2026-10-24T12:00:00Z"),
    ("0 15 2 * * ?", "Australia/Lord_Howe", "2026-10-02T12:00:00Z"),
    ("0 45 1 * * ?", "Australia/Lord_Howe", "2026-04-03T12:00:00Z"),
    ("0 0/5 * * * ?", "Australia/Lord_Howe", "2026-04-04T14:20:00Z"),
    ("0 0/5 * * * ?", "Australia/Lord_Howe", "2026-10-03T15:10:00Z"),
    ("0 0 0 * * ?", "America/Sao_Paulo", "2018-11-02T12:00:00Z"),
    ("0 30 23 * * ?", "America/Sao_Paulo", "2019-02-15T12:00:00Z"),
    ("0 0 0 ? * SUN", "America/Sao_Paulo", "2018-10-30T12:00:00Z"),
    ("0 0 0 4 11 ? 2018", "America/Sao_Paulo", "2018-01-01T00:00:00Z"),
    ("0 30 2 ? * 1#2", "America/New_York", "2026-01-01T00:00:00Z"),
    ("0 30 2 8 3 ?", "America/New_York", "2026-01-01T00:00:00Z"),
    ("0 30 1 1 11 ?", "America/New_York", "2026-01-01T00:00:00Z"),
    ("0 30 2 * * ?", "America/New_York", "2037-03-06T12:00:00Z"),
    ("0 30 2 * * ?", "America/New_York", "2038-03-13T12:00:00Z"),
    ("0 * * * * ?", "America/New_York", "2038-03-14T06:59:00Z"),
    ("0 * * * * ?", "America/New_York", "2038-11-07T05:58:00Z"),
    ("0 * * * * ?", "Australia/Lord_Howe", "2038-04-03T14:44:00Z"),
    ("0 0 2 8W * ?", "America/New_York", "2026-03-01T00:00:00Z"),
    ("0 30 2 LW * ?", "Europe/London", "2026-03-01T00:00:00Z"),
    ("0 30 1 L * ?", "Europe/London", "2026-03-01T00:00:00Z"),
]


def main():
    n_random = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    out = []
    for expr, after in HAND:
        for zone in ZONES:
            a = after or iso(rand_after(zone))
            out.append((expr, zone, a, 6))
    for expr, zone, after in DST_HAND:
        out.append((expr, zone, after, 8))
    for _ in range(n_random):
        zone = rng.choice(ZONES)
        out.append((rand_expr(), zone, iso(rand_after(zone)), 5))
    for expr, zone, after, count in out:
        print(f"{expr}\t{zone}\t{after}\t{count}")


if __name__ == "__main__":
    main()
