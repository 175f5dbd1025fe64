#!/usr/bin/env python3
"""Chaos: a run survives workers killed at random, with nothing lost and
nothing doubled (section 7).

`read | map * 4 | filter * 2 | write` over 1,000,000 records while a killer
SIGKILLs a random worker (sources and sinks included) every few
milliseconds for the whole run; the output must equal the expected output
as a multiset, and exactly in order with [ordered]. Several seeds; the seed
is printed on failure. By hand: chaos_test.py FLOWRUN [--seed N] [--runs K]
[--records N] (default 1,000,000; 200,000 for an ASan build).

usage: chaos_test.py PATH/TO/flowrun
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time


def children(pid):
    """The worker processes of the supervisor `pid` (not the group leader)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        # Workers are named "label#i"; the group's leader, and in an ASan
        # build the leak checker's tracer at exit, are not fair game.
        if ppid == pid and "#" in name:
            found.append((int(entry), name))
    return found


def killer(pid, rng, every_s, stop, kills):
    while not stop.is_set():
        workers = children(pid)
        if workers:
            victim, name = rng.choice(workers)
            try:
                os.kill(victim, signal.SIGKILL)
                kills.append(name)
            except ProcessLookupError:
                pass
        stop.wait(every_s * rng.uniform(0.5, 1.5))


def run_once(flowrun, tmp, seed, records, ordered):
    rng = random.Random(seed)
    src = os.path.join(tmp, "in.txt")
    out = os.path.join(tmp, f"out-{seed}-{int(ordered)}.txt")
    if not os.path.exists(src):
        with open(src, "w") as f:
            f.write("".join(f"{i}\n" for i in range(1, records + 1)))
    order = " [ordered]" if ordered else ""
    program = (f'read("{src}") | map {{ $0 + "x" }} * 4{order} | filter {{ len($0) % 7 != 3 }} * 2{order} '
               f'| write("{out}")')
    expected = [f"{i}x" for i in range(1, records + 1) if len(f"{i}x") % 7 != 3]
    # Small queues: more leases in flight, more to recover.
    proc = subprocess.Popen([flowrun, "run", "--max-restarts", "100000", "--queue", "512", "-e", program],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()
    kills = []
    t = threading.Thread(target=killer, args=(proc.pid, rng, 0.004, stop, kills))
    t.start()
    hung = False
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        hung = True
        proc.kill()  # the workers die with it (PR_SET_PDEATHSIG)
        _, err = proc.communicate()
    finally:
        stop.set()
        t.join()
    label = f"seed {seed}, {'ordered' if ordered else 'unordered'}, {len(kills)} kills"
    if hung:
        return f"{label}: no end after 120 s\n{err.decode(errors='replace')[-2000:]}"
    if proc.returncode != 0:
        return f"{label}: exit {proc.returncode}\n{err.decode(errors='replace')[-2000:]}"
    with open(out) as f:
        got = f.read().split("\n")[:-1]
    os.unlink(out)
    if ordered:
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            return f"{label}: output differs from line {first + 1} ({len(got)} lines, {len(expected)} expected)"
    elif sorted(got) != sorted(expected):
        missing = len(set(expected) - set(got))
        return f"{label}: {len(got)} lines, {len(expected)} expected, {missing} missing"
    print(f"ok: {label}")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("flowrun")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--records", type=int, default=None)
    args = ap.parse_args()
    if args.records is None:
        # An ASan build runs the same kills over fewer records (it is about
        # ten times slower); the Release build runs the full million.
        deps = subprocess.run(["ldd", args.flowrun], capture_output=True, text=True).stdout
        args.records = 200_000 if "libasan" in deps else 1_000_000
    seeds = [args.seed] if args.seed is not None else [11 + k for k in range(args.runs)]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for ordered in (False, True):
                error = run_once(args.flowrun, tmp, seed, args.records, ordered)
                if error:
                    failures.append(error)
                    print("FAIL:", error)
    if failures:
        print(f"{len(failures)} chaos runs failed (rerun one: --seed N)")
        sys.exit(1)


if __name__ == "__main__":
    main()
