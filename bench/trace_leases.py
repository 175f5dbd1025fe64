#!/usr/bin/env python3
"""Where a stage's leases spend their time, from a FLOWRUN_TRACE file
(runtime/trace.h), for one `flowrun run` in it: per phase of a lease, over
every instance of the stage, the count, mean, median, 90th percentile and
largest in ms; then the time spent waiting for the turn ([ordered] only),
summed by 100 ms of the run, which shows where in the run the waits are.

usage: trace_leases.py TRACE STAGE [--run K]   (K: which `flowrun run`, -1 = last)

The phases, as worker.cc traces them for each lease:
  lease -> records done    the stage's work on the lease's records
  records done -> turn     waiting for the lease's turn ([ordered])
  turn -> outputs out      publishing the outputs (a round trip on a broker)
  outputs out -> lease     passing the turn on, the ack, and the next lease

A replica that finishes its leases in the background (a stage on a broker,
runtime/lease_finisher.h) traces the turn and "outputs out" of a lease
after the next one's "lease": "records done -> lease" is then the gap
between two leases on its worker thread, what the background saves.

Found with it (2026-12-04, the whois example on 2 workers): the waits for
the turn are almost all in the first wave, where 24 replicas that started
within 25 ms finish within 25 ms and then pass the turn along a chain of 24
links, a few ms each on a loaded 2-core machine.
"""
import argparse
import re
import statistics

from trace_events import run_events

PHASES = ["lease", "records done", "turn", "outputs out"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("stage")
    ap.add_argument("--run", type=int, default=-1)
    args = ap.parse_args()
    run, t0 = run_events(args.trace, args.run)
    pattern = re.compile(r"instance " + re.escape(args.stage) + r"#\d+ (" + "|".join(PHASES) + r")(?: \d+)?$")
    by_pid = {}
    for t, pid, what in run:
        m = pattern.match(what)
        if m:
            by_pid.setdefault(pid, []).append(((t - t0) / 1000, m.group(1)))
    if not by_pid:
        raise SystemExit(f"no leases of '{args.stage}' in that run")
    spans = {}
    waits = {}
    for marks in by_pid.values():
        for (t, a), (u, b) in zip(marks, marks[1:]):
            spans.setdefault(f"{a} -> {b}", []).append(u - t)
            if a == "records done" and b == "turn":
                waits.setdefault(int(t // 100) * 100, []).append(u - t)
    print(f"{'phase':28s} {'count':>5} {'mean':>7} {'median':>7} {'p90':>7} {'max':>7}")
    for name, values in spans.items():
        values.sort()
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"{name:28s} {len(values):5d} {statistics.mean(values):7.2f} {statistics.median(values):7.2f}"
              f" {p90:7.2f} {values[-1]:7.2f}")
    if waits:
        print("\nwaiting for the turn, by when the records were done:")
        print(f"{'from ms':>7} {'leases':>6} {'sum ms':>8} {'max ms':>7}")
        for at, values in sorted(waits.items()):
            print(f"{at:7d} {len(values):6d} {sum(values):8.1f} {max(values):7.1f}")


if __name__ == "__main__":
    main()
