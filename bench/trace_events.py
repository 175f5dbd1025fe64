"""Reading a FLOWRUN_TRACE file (runtime/trace.h) for the trace scripts:
its lines as (microseconds, pid, what), and one `flowrun run` in it."""


def run_events(path, run):
    """The events of the `run`-th `flowrun run` in the file at `path` (its
    `main run` line onwards, to the next one; -1: the last), sorted by time,
    and the time it started."""
    events = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3:
                events.append((int(parts[0]), int(parts[1]), parts[2]))
    events.sort()
    starts = [i for i, e in enumerate(events) if e[2] == "main run"]
    if not starts:
        raise SystemExit("no `main run` in the trace")
    k = starts[run]
    after = starts.index(k) + 1
    end = starts[after] if after < len(starts) else len(events)
    return events[k:end], events[k][0]
