#!/usr/bin/env python3
"""How long each `flowrun run` in a FLOWRUN_TRACE file (runtime/trace.h)
lasts, taken apart around one replicated stage: when its last replica took
its first lease (the run cannot end sooner than that replica's share of the
work after it), how long its replicas took per lease, and the steps of the
run's end after the stage's last records were done. One line per run, then
the range and median of each figure over the runs.

usage: trace_makespan.py TRACE STAGE NEXT SINK
  e.g. trace_makespan.py /tmp/ab/A.trace whois count_by write   (bench/broker_ab.py --trace)

The end's steps, in ms (each from the end of the step before):
  turns     STAGE's last records done -> its last outputs out ([ordered]:
            the turns still to pass)
  drain     -> NEXT's first instance whose input ended
  origin    -> SINK's first instance ended
  exits     -> the keeper finishing (the origin's instances have exited)
  parts     -> the keeper's parts concluded (the workers' parts said done)
  removal   -> the keeper finished (the run's streams and bucket removed)

Written for issue 8's whois figure (docs/benchmarks.md, "2026-12-05,
afternoon"), where the run is the last replica's first lease, plus 10
records a replica, plus the end.
"""
import argparse
import re
import statistics

from trace_events import all_runs

STEPS = ["turns", "drain", "origin", "exits", "parts", "removal"]


def figures(events, t0, stage, next_stage, sink):
    """The figures of one run, or None when the stage ran no lease in it."""
    def ms(t):
        return (t - t0) / 1000

    def is_event(what, name, suffix):
        # (a lease's and a turn's events end with the position: " lease 12")
        return what.startswith(f"instance {name}#") and re.sub(r" \d+$", "", what).endswith(suffix)

    first_lease, last_done, leases = {}, {}, {}
    for t, pid, what in events:
        if is_event(what, stage, " lease"):
            first_lease.setdefault(pid, ms(t))
            leases[pid] = leases.get(pid, 0) + 1
        elif is_event(what, stage, " records done"):
            last_done[pid] = ms(t)
    if not first_lease:
        return None

    def first(pred):
        found = [ms(t) for t, _, what in events if pred(what)]
        return min(found) if found else float("nan")

    done = max(last_done.values())
    marks = [done,
             max(ms(t) for t, _, what in events if is_event(what, stage, " outputs out")),
             first(lambda w: w.startswith(f"instance {next_stage}#") and " input ended" in w),
             first(lambda w: is_event(w, sink, " end")),
             first(lambda w: w == "keeper finishing"),
             first(lambda w: w == "keeper parts concluded"),
             first(lambda w: w == "keeper finished")]
    cycles = [(last_done[p] - first_lease[p]) / leases[p] for p in first_lease if p in last_done]
    out = {"last first lease": max(first_lease.values()),
           "mean first lease": statistics.mean(first_lease.values()),
           "ms a lease": statistics.mean(cycles),
           "last records done": done,
           "end": marks[-1] - done}
    for name, (a, b) in zip(STEPS, zip(marks, marks[1:])):
        out[name] = b - a
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("stage")
    ap.add_argument("next_stage")
    ap.add_argument("sink")
    args = ap.parse_args()
    rows = []
    for events, t0 in all_runs(args.trace):
        row = figures(events, t0, args.stage, args.next_stage, args.sink)
        if row is not None:
            rows.append(row)
    if not rows:
        raise SystemExit(f"no leases of '{args.stage}' in {args.trace}")
    names = list(rows[0])
    print("run " + " ".join(f"{n:>{max(7, len(n))}}" for n in names))
    for i, row in enumerate(rows):
        print(f"{i:3d} " + " ".join(f"{row[n]:>{max(7, len(n))}.1f}" for n in names))
    print("\nover the runs (ms): min, median, max")
    for n in names:
        values = sorted(r[n] for r in rows)
        print(f"  {n:18s} {values[0]:7.1f} {statistics.median(values):7.1f} {values[-1]:7.1f}")


if __name__ == "__main__":
    main()
