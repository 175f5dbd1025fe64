#!/usr/bin/env python3
"""Where a broker run leaves the machine's CPUs idle: the whois example of
broker_bench.py (240 addresses, whois * 24 [ordered] on 2 `flowrun worker
--slots 12`, 50 ms per lookup), with one spinner per CPU at SCHED_IDLE
priority, which runs only when nothing else wants that CPU. How far each
spinner got in each millisecond, against how far it gets in a millisecond
before the run, is how idle that CPU was (the spinners themselves take a
fraction of a per cent from the run).

Why: a phase of the run that leaves the CPUs idle waits for round trips,
and starting its work sooner or in parallel saves time; a phase with the
CPUs busy saves time only with less work. Found with it (2026-12-05): the
first 10 ms of a run leave 57-72% of the CPUs idle (the origin starts, its
keeper connects and reads the registry), 20-40 ms almost none (24 replicas
start), the middle three quarters, the last 10 ms about half.

usage: bench/broker_idle.py [--flowrun PATH] [--runs N]
Run by hand on a Release build, on a machine otherwise quiet; Linux only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PROJECT, "tests", "e2e"))
from nats_server import Server, find_server  # noqa: E402
from whois_fixture import start_responder, write_whois24  # noqa: E402

SPINNER = r"""
import json, os, sys, time
cpu, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
os.sched_setaffinity(0, {cpu})
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
clock = time.monotonic_ns
end = clock() + int(seconds * 1e9)
counts = {}
now = 0
while now < end:
    now = clock()
    ms = now // 1_000_000
    counts[ms] = counts.get(ms, 0) + 1
json.dump(counts, open(out, "w"))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowrun", default=os.path.join(PROJECT, "build", "flowrun"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    flowrun = os.path.abspath(args.flowrun)
    scratch = tempfile.mkdtemp(prefix="flowrun-broker-idle-")
    spinner = os.path.join(scratch, "spinner.py")
    with open(spinner, "w") as f:
        f.write(SPINNER)
    cpus = sorted(os.sched_getaffinity(0))
    server = Server(find_server())
    responder, port = start_responder(scratch)
    path = write_whois24(scratch)
    workers = [subprocess.Popen([flowrun, "worker", "--broker", server.url, "--slots", "12"], cwd=scratch,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        time.sleep(1.5)  # registered
        command = [flowrun, "run", path, "-p", f"server=127.0.0.1:{port}", "--broker", server.url]
        for _ in range(2):  # warm
            subprocess.run(command, cwd=scratch, capture_output=True, check=True)
        print("idle % of both CPUs, by 10 ms of the run (from its start; `end`: before its exit)")
        for _ in range(args.runs):
            outs = [os.path.join(scratch, f"spin{c}.json") for c in cpus]
            spinners = [subprocess.Popen([sys.executable, spinner, str(c), "1.7", out]) for c, out in zip(cpus, outs)]
            time.sleep(0.6)  # their pace alone, before the run
            start = time.monotonic_ns()
            r = subprocess.run(command, cwd=scratch, capture_output=True)
            stop = time.monotonic_ns()
            for s in spinners:
                s.wait()
            if r.returncode != 0:
                sys.exit(f"the run failed: {r.stderr[:500]!r}")
            counts = []
            for out in outs:
                with open(out) as f:
                    c = {int(k): v for k, v in json.load(f).items()}
                alone = sorted(v for k, v in c.items() if k < start // 1_000_000 - 50)
                counts.append((c, alone[len(alone) * 3 // 4]))
            first = start // 1_000_000

            def idle(a, b):
                got = [min(1.0, c.get(first + ms, 0) / pace) for c, pace in counts for ms in range(a, b)]
                return 100 * sum(got) / len(got)
            wall = (stop - start) / 1e6
            end = int(wall)
            head = " ".join(f"{a}-{a + 10}:{idle(a, a + 10):.0f}" for a in range(0, 60, 10))
            tail = " ".join(f"{a - end}:{idle(a, a + 10):.0f}" for a in range(end - 50, end, 10))
            print(f"wall {wall:.1f} ms | {head} | 200-400 ms: {idle(200, 400):.0f} | end {tail}", flush=True)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
        responder.terminate()
        server.stop()


if __name__ == "__main__":
    main()
