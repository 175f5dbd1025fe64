#!/usr/bin/env python3
"""Lines up a FLOWRUN_TRACE file (runtime/trace.h): where the time of the
last run in it went, across the origin, its keeper, the workers' daemons,
parts and instances.

usage: trace_report.py TRACE [--run K]   (K: which `flowrun run`, -1 = last)

Each milestone is shown once with its count, at its first and last time in
milliseconds from the start of that run (`main run`); instances' names are
folded (`sleep#3 start` counts as `instance sleep start`).
"""
import argparse
import re
from collections import OrderedDict

from trace_events import run_events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--run", type=int, default=-1)
    args = ap.parse_args()
    run, t0 = run_events(args.trace, args.run)
    seen = OrderedDict()
    for t, pid, what in run:
        key = re.sub(r"#\d+", "", what)
        key = re.sub(r"^(daemon job) \w+", r"\1", key)
        first, last, count = seen.get(key, (t, t, 0))
        seen[key] = (first, t, count + 1)
    print(f"{'first ms':>9} {'last ms':>9} {'count':>5}  milestone")
    for key, (first, last, count) in seen.items():
        print(f"{(first - t0) / 1000:9.1f} {(last - t0) / 1000:9.1f} {count:5d}  {key}")


if __name__ == "__main__":
    main()
