#!/usr/bin/env python3
"""Two flowrun builds side by side on issue 8's fan-out figures (see
broker_bench.py's fanout and whois_example): `seq(1, 240) | sleep(50ms) * 24`
and examples/whois.flow's pipeline (240 addresses, whois * 24 [ordered]),
each on 2 `flowrun worker --slots 12` of the same build, on one nats-server.

The builds alternate by rounds (A's workers, its runs; B's workers, its
runs; again), so that a busy moment of the machine falls on both; each
round starts with one untimed run of each figure. Prints every time, then
per build and figure the median, min and max.

usage: bench/broker_ab.py A_FLOWRUN B_FLOWRUN [--rounds R] [--runs K]
       [--only fanout,whois] [--trace DIR] [--b-extra=ARGS]
With --trace DIR every process of build X (its workers too) appends to
DIR/X.trace (FLOWRUN_TRACE; read with bench/trace_report.py --run K: the
runs are in the order printed, each figure's untimed one first).
With --cpu, each timed run also reports the CPU the whole machine used
during it and 0.2 s after it (/proc/stat: the run's processes, the
workers, nats-server and the responder; in steps of 10 ms) and nats-server's
own: on a 2-core machine a broker run is CPU-bound at its start and at each
wave, so CPU is what a change must save.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PROJECT, "tests", "e2e"))
from nats_server import Server, find_server  # noqa: E402
from whois_fixture import start_responder, write_whois24  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--only", default="fanout,whois")
ap.add_argument("--trace", default="")
ap.add_argument("--b-extra", default="", help="more arguments for B's runs (space-separated), e.g. --no-jit")
ap.add_argument("--cpu", action="store_true", help="report the CPU each timed run used, all processes and the broker's")
args = ap.parse_args()
args.a, args.b = os.path.abspath(args.a), os.path.abspath(args.b)
SCRATCH = tempfile.mkdtemp(prefix="flowrun-broker-ab-")
FANOUT = 'seq(1, 240) | sleep(50ms) * 24 | count | write("-")'


def machine_cpu_ms():
    """CPU time used so far by the whole machine, idle and iowait left out."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) * 1000 // os.sysconf("SC_CLK_TCK")


def process_cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def workers(flowrun, url, env):
    logs = [tempfile.TemporaryFile() for _ in range(2)]
    procs = [subprocess.Popen([flowrun, "worker", "--broker", url, "--slots", "12"], cwd=SCRATCH,
                              stdout=subprocess.DEVNULL, stderr=log, env=env) for log in logs]
    deadline = time.monotonic() + 10
    def log(i):
        logs[i].seek(0)
        return logs[i].read()
    while not all(b" slots, at " in log(i) for i in range(2)):
        if time.monotonic() > deadline:
            sys.exit("workers did not register")
        time.sleep(0.01)
    return procs


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)


def main():
    server = Server(find_server())
    responder, port = start_responder(SCRATCH)
    whois = write_whois24(SCRATCH)
    figures = {
        "fanout": (["run", "-e", FANOUT], b"240\n"),
        "whois": (["run", whois, "-p", f"server=127.0.0.1:{port}"], None),
    }
    only = args.only.split(",")
    expected = {"whois": subprocess.run([args.a] + figures["whois"][0], cwd=SCRATCH, capture_output=True).stdout}
    times = {}
    cpus = {}
    try:
        for rnd in range(args.rounds):
            for label, flowrun in (("A", args.a), ("B", args.b)):
                env = dict(os.environ)
                if args.trace:
                    env["FLOWRUN_TRACE"] = os.path.join(args.trace, f"{label}.trace")
                procs = workers(flowrun, server.url, env)
                try:
                    for fig in only:
                        argv, want = figures[fig]
                        want = want or expected[fig]
                        for k in range(args.runs + 1):
                            cpu_before = machine_cpu_ms(), process_cpu_ms(server.proc.pid)
                            start = time.monotonic()
                            extra = args.b_extra.split() if label == "B" else []
                            r = subprocess.run([flowrun] + argv + extra + ["--broker", server.url], cwd=SCRATCH,
                                               capture_output=True, env=env)
                            wall = time.monotonic() - start
                            if r.returncode != 0 or r.stdout != want:
                                sys.exit(f"{label} {fig}: exit {r.returncode} {r.stdout[:200]!r} {r.stderr[:800]!r}")
                            cpu = ""
                            if args.cpu:
                                time.sleep(0.2)  # the workers' parts end after the origin
                                used = machine_cpu_ms() - cpu_before[0], process_cpu_ms(server.proc.pid) - cpu_before[1]
                                cpu = f" cpu {used[0]} ms, broker {used[1]} ms"
                            if k > 0:
                                times.setdefault((label, fig), []).append(wall)
                                if args.cpu:
                                    cpus.setdefault((label, fig), []).append(used)
                                print(f"round {rnd} {label} {fig} {wall:.3f}{cpu}", flush=True)
                finally:
                    stop(procs)
    finally:
        responder.terminate()
        server.stop()
        shutil.rmtree(SCRATCH, True)
    for fig in only:
        for label in ("A", "B"):
            v = times[(label, fig)]
            cpu = ""
            if args.cpu:
                c = cpus[(label, fig)]
                cpu = (f"; cpu median {statistics.median(u[0] for u in c):.0f} ms,"
                       f" broker {statistics.median(u[1] for u in c):.0f} ms")
            print(f"{label} {fig}: median {statistics.median(v):.3f} min {min(v):.3f} max {max(v):.3f} n {len(v)}"
                  f" ({statistics.median(v) / 0.5:.2f}x ideal){cpu}")


if __name__ == "__main__":
    main()
