"""Reading a FLOWRUN_TRACE file (runtime/trace.h) for the trace scripts:
its lines as (microseconds, pid, what), split into its `flowrun run`s."""


def all_runs(path):
    """Every `flowrun run` in the file at `path`, in order: each as its
    events (its `main run` line onwards, to the next one), sorted by time,
    and the time it started."""
    events = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3:
                events.append((int(parts[0]), int(parts[1]), parts[2]))
    events.sort()
    starts = [i for i, e in enumerate(events) if e[2] == "main run"]
    ends = starts[1:] + [len(events)]
    return [(events[k:end], events[k][0]) for k, end in zip(starts, ends)]


def run_events(path, run):
    """The events of the `run`-th `flowrun run` in the file at `path` (-1:
    the last), and the time it started."""
    runs = all_runs(path)
    if not runs:
        raise SystemExit("no `main run` in the trace")
    return runs[run]
