#!/usr/bin/env python3
"""The CPU a `flowrun worker` daemon uses while its part of a run runs
(its loop forwards the part's log and beats for it; the part's own
processes are not counted): a 4 s run of `seq(1, 80) | sleep(100ms) * 2`
on one worker of 2 slots, per build given, each on its own nats-server.

Why: a worker machine's daemon runs all the time; measured (2026-12-05),
the daemon that polled for its part's end every 2 ms used 60-100 ms of CPU
in such a run, the one that waits for it on a thread 0-10 ms.

usage: bench/worker_daemon_cpu.py FLOWRUN [FLOWRUN...] [--runs N]
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from nats_server import Server, find_server  # noqa: E402

PROGRAM = 'seq(1, 80) | sleep(100ms) * 2 | count | write("-")'


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("flowrun", nargs="+")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    for _ in range(args.runs):
        for flowrun in args.flowrun:
            server = Server(find_server())
            worker = subprocess.Popen([flowrun, "worker", "--broker", server.url, "--slots", "2"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.5)  # registered, its spare part started
                before, start = cpu_ms(worker.pid), time.monotonic()
                run = subprocess.run([flowrun, "run", "-e", PROGRAM, "--broker", server.url], capture_output=True)
                wall = time.monotonic() - start
                if run.returncode != 0 or run.stdout != b"80\n":
                    sys.exit(f"{flowrun}: exit {run.returncode} {run.stdout!r} {run.stderr[:400]!r}")
                print(f"{flowrun}: run {wall:.2f} s, the daemon's CPU meanwhile {cpu_ms(worker.pid) - before} ms",
                      flush=True)
            finally:
                worker.terminate()
                worker.wait(timeout=10)
                server.stop()


if __name__ == "__main__":
    main()
