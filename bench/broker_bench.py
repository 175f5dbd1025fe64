#!/usr/bin/env python3
"""The broker's throughput (issue 8), beside its anchor, in one session on
one nats-server of its own (JetStream, file storage, a temporary directory):

  local    seq(1, N) | map { $0 } * 4 | count | write("-"), records/s, on
           shared memory (flowrun run)
  broker   the same with --broker nats://127.0.0.1:PORT: every edge on
           JetStream. Today every instance runs on this machine; with
           --workers K (K > 0), K `flowrun worker --broker URL --slots 2`
           processes are started before each run and killed after it, to
           take the map instances (skipped, saying so, while `flowrun worker`
           does not exist)
  anchor   bench/nats_one_per_message.c (built here with cc and pkg-config
           libnats): one 40-byte record per JetStream message on a
           work-queue stream, published asynchronously, pulled in Fetch
           batches of 256 and acknowledged one by one; records/s from the
           first publish to the last acknowledgement

The variants are interleaved (local, broker, anchor; again), after one
untimed round, and each figure is the median of --reps. flowrun's figures
are the whole process's wall time (start, streams made and deleted); the
anchor's is its own clock, from its first publish (its stream is made
before): the comparison leans the anchor's way. The goal (issue 8): broker
>= 20x the anchor.

usage: bench/broker_bench.py [--flowrun PATH] [--reps N] [--records N]
       [--anchor-records M] [--anchor-mode async|window|sync] [--workers K]
       [--anchors DIR]
Run by hand on a Release build, never in CI. See bench/README.md.
"""
import argparse
import atexit
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)

ap = argparse.ArgumentParser(description="flowrun on a NATS JetStream broker, beside one record per message")
ap.add_argument("--flowrun", default=os.path.join(PROJECT, "build", "flowrun"))
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--records", type=int, default=2_000_000, help="N, the records of the flowrun program")
ap.add_argument("--anchor-records", type=int, default=200_000, help="M, the anchor's messages")
ap.add_argument("--anchor-mode", default="async", choices=("async", "window", "sync"),
                help="how the anchor publishes (see nats_one_per_message.c); async is the fastest here")
ap.add_argument("--anchor-window", type=int, default=4096, help="the anchor's unacknowledged publishes at most")
ap.add_argument("--workers", type=int, default=0,
                help="HOOK (issue 8, later steps): start K `flowrun worker` processes for each broker run")
ap.add_argument("--anchors", default=os.path.join(PROJECT, "..", "shared", "anchors"),
                help="the anchors' directory, for its noise control (harness.py); plain timing without it")
args = ap.parse_args()

FLOWRUN = os.path.abspath(args.flowrun)
SCRATCH = tempfile.mkdtemp(prefix="flowrun-broker-bench-")
atexit.register(shutil.rmtree, SCRATCH, True)

# The e2e tests' nats-server helpers: a server on free loopback ports, its
# streams read from the monitoring port, stopped and its directory removed.
sys.path.insert(0, os.path.join(PROJECT, "tests", "e2e"))
from nats_server import Server, find_server  # noqa: E402
from whois_fixture import start_responder, write_whois24  # noqa: E402

# The anchors' noise control when it is there (wait for a quiet machine,
# retry a run other jobs disturbed, report their CPU share); else a clock.
try:
    sys.path.insert(0, os.path.abspath(args.anchors))
    from harness import header, measure, report  # noqa: E402
except ImportError:
    class _Clock:
        def __init__(self, wall):
            self.wall = wall

    def header(title):
        print(f"# {title}\n# {time.strftime('%Y-%m-%d %H:%M:%S')} cpus={os.cpu_count()} (no anchors harness)")

    def measure(fn, label, key=None):
        began = time.perf_counter()
        r = fn()
        wall = time.perf_counter() - began
        print(f"run\t{label}\twall={wall:.4f}s", flush=True)
        return _Clock(wall), r

    def report(name, vals, unit, method, key=None):
        med = statistics.median(vals)
        print(f"RESULT\t{name}\t{med:.0f}\t{min(vals):.0f}\t{max(vals):.0f}\t{len(vals)}\t{unit}\t{method}\t",
              flush=True)
        return med


def build_anchor():
    """cc the anchor against libnats into the scratch directory."""
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libnats"], capture_output=True, text=True)
    if flags.returncode != 0:
        sys.exit("pkg-config knows no libnats (apt-get install libnats-dev)")
    exe = os.path.join(SCRATCH, "nats_one_per_message")
    cmd = ["cc", "-O2", "-pthread", os.path.join(HERE, "nats_one_per_message.c"), "-o", exe, *flags.stdout.split()]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"cannot build the anchor: {' '.join(cmd)}\n{r.stderr}")
    return exe


def have_worker():
    """Whether `flowrun worker` exists. Its exit code alone does not tell:
    until it does, `flowrun worker --help` is `flowrun run worker --help`
    (a file named worker) and exits 0 with run's help."""
    r = subprocess.run([FLOWRUN, "worker", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and re.search(r"Usage: \S*flowrun worker\b", r.stdout) is not None


class Workers:
    """K `flowrun worker` processes around one broker run (the hook for
    issue 8's later steps: they take the map instances)."""

    def __init__(self, url, k, slots=2):
        self.logs = [tempfile.TemporaryFile() for _ in range(k)]
        self.procs = [subprocess.Popen([FLOWRUN, "worker", "--broker", url, "--slots", str(slots)], cwd=SCRATCH,
                                       stdout=subprocess.DEVNULL, stderr=log) for log in self.logs]
        # A run places instances only on the workers registered when it starts.
        deadline = time.monotonic() + 10
        while not all(b" slots, at " in self.log(i) for i in range(k)):
            if time.monotonic() > deadline:
                sys.exit("the flowrun workers did not register within 10 s")
            time.sleep(0.01)

    def log(self, i):
        self.logs[i].seek(0)
        return self.logs[i].read()

    def stop(self):
        for p in self.procs:
            if p.poll() is not None:
                err = self.log(self.procs.index(p)).decode(errors="replace")
                sys.exit(f"a flowrun worker ended early: exit {p.returncode}: {err[:500]}")
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_flowrun(program, extra):
    r = subprocess.run([FLOWRUN, "run", "-e", program, *extra], cwd=SCRATCH, capture_output=True)
    if r.returncode != 0 or r.stdout != f"{args.records}\n".encode():
        sys.exit(f"flowrun {' '.join(extra)} -e {program!r}: exit {r.returncode}, stdout {r.stdout[:200]!r}, "
                 f"stderr {r.stderr[:800]!r}")


def run_anchor(exe, url):
    cmd = [exe, url, "-n", str(args.anchor_records), "-m", args.anchor_mode, "-w", str(args.anchor_window)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    found = re.search(r"records_per_s=(\d+)", r.stdout)
    if r.returncode != 0 or not found:
        sys.exit(f"the anchor failed: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()[:800]}")
    print(f"#   {r.stdout.strip()}", flush=True)
    return float(found.group(1))


def main():
    binary = find_server()
    if not binary:
        sys.exit("nats-server is not installed (apt-get install nats-server)")
    if not os.access(FLOWRUN, os.X_OK):
        sys.exit(f"no flowrun at {FLOWRUN} (build it, or give --flowrun)")
    header(f"broker_bench: {FLOWRUN}, {binary}, reps={args.reps}, N={args.records}, M={args.anchor_records}")
    anchor = build_anchor()
    workers = args.workers
    if workers > 0 and not have_worker():
        print(f"# --workers {workers}: skipped, `flowrun worker` does not exist yet; the broker runs "
              "place every instance on this machine", flush=True)
        workers = 0
    server = Server(binary)
    atexit.register(server.stop)
    print(f"# nats-server on {server.url}, store {server.dir}", flush=True)

    n = args.records
    program = f'seq(1, {n}) | map {{ $0 }} * 4 | count | write("-")'
    broker_args = ["--broker", server.url]

    def local():
        measured, _ = measure(lambda: run_flowrun(program, []), *tag("local"))
        return n / measured.wall

    def broker():
        crew = Workers(server.url, workers) if workers else None
        try:
            measured, _ = measure(lambda: run_flowrun(program, broker_args), *tag("broker"))
        finally:
            if crew:
                crew.stop()
        left = server.streams() - (1 if workers else 0)  # the workers' registry stays
        if left != 0:
            sys.exit(f"{left} streams left on the broker after a run")
        return n / measured.wall

    def one_per_message():
        # The anchor's own figure (its clock); measure() only for the noise.
        _, rate = measure(lambda: run_anchor(anchor, server.url), *tag("anchor"))
        return rate

    def tag(name):
        """measure()'s label and noise key; round 0 is the warm-up."""
        return (f"{name} #{rep}", name) if rep else (f"{name} warm-up", f"{name} warm-up")

    variants = {"local": local, "broker": broker, "anchor": one_per_message}
    rates = {name: [] for name in variants}
    for rep in range(0, args.reps + 1):  # round 0: untimed (warm caches, a warm server)
        for name, fn in variants.items():
            rate = fn()
            if rep > 0:
                rates[name].append(rate)

    label = f"with {workers} flowrun workers" if workers else "every instance on this machine"
    med = {
        "local": report("flowrun_local_map4", rates["local"], "records/s", program, key="local"),
        "broker": report("flowrun_broker_map4", rates["broker"], "records/s",
                         f"{program} --broker ({label})", key="broker"),
        "anchor": report("nats_one_per_message", rates["anchor"], "records/s",
                         f"{args.anchor_records} x 40 B, {args.anchor_mode} publish (window "
                         f"{args.anchor_window}), Fetch 256, Ack each", key="anchor"),
    }
    print()
    print("| figure | records/s (median) | min | max |")
    print("|---|---|---|---|")
    for name, title in (("local", "local: flowrun run"), ("broker", f"broker: --broker, {label}"),
                        ("anchor", "anchor: one 40-byte message per record")):
        v = rates[name]
        print(f"| {title} | {med[name]:,.0f} | {min(v):,.0f} | {max(v):,.0f} |")
    print()
    ratio = med["broker"] / med["anchor"]
    print(f"broker / anchor: {ratio:.1f}x (goal >= 20x: {'met' if ratio >= 20 else 'NOT met'})")
    print(f"broker / local:  {med['broker'] / med['local']:.3f}")
    if workers:
        fanout(server)


def fanout(server):
    """Issue 8's fan-out figure: 240 records of 50 ms on 24 instances, all
    on 2 workers of 12 slots (ideal 0.5 s), beside the same run on one
    machine's shared memory; then the time from a worker's death to its
    records running elsewhere."""
    program = 'seq(1, 240) | sleep(50ms) * 24 | count | write("-")'
    crew = Workers(server.url, 2, slots=12)
    times = {"local": [], "workers": []}
    try:
        for rep in range(0, args.reps + 1):
            for name, extra in (("local", []), ("workers", ["--broker", server.url])):
                start = time.monotonic()
                r = subprocess.run([FLOWRUN, "run", "-e", program, *extra], cwd=SCRATCH, capture_output=True)
                wall = time.monotonic() - start
                if r.returncode != 0 or r.stdout != b"240\n":
                    sys.exit(f"fan-out {name}: exit {r.returncode} {r.stdout!r} {r.stderr[:500]!r}")
                if rep > 0:
                    times[name].append(wall)
        joined = sum(crew.log(i).count(b"joined run") for i in range(2))
    finally:
        crew.stop()
    print()
    for name in ("local", "workers"):
        med = statistics.median(times[name])
        print(f"RESULT\tfanout_{name}\t{med:.3f}\ts\t{program}{' --broker, 2 workers x 12 slots' if name == 'workers' else ''}"
              f"\t{med / 0.5:.2f}x ideal")
    print(f"# the workers joined {joined} runs of {2 * (args.reps + 1)} asked")
    print(f"fan-out on 2 workers: {statistics.median(times['workers']) / 0.5:.2f}x the ideal 0.5 s (goal <= 1.15x)")
    whois_example(server)
    death(server)


def whois_example(server):
    """Issue 8's whois figure: examples/whois.flow's pipeline ([ordered],
    retries, timeout; then count_by, sort and write on the origin) with 240
    distinct addresses, 50 ms each at bench/whois_respond.c, and its whois
    stage * 24 on 2 workers of 12 slots: ideal 0.5 s."""
    responder, port = start_responder(SCRATCH)
    path = write_whois24(SCRATCH)
    crew = Workers(server.url, 2, slots=12)
    times = []
    try:
        local = subprocess.run([FLOWRUN, "run", path, "-p", f"server=127.0.0.1:{port}"], cwd=SCRATCH,
                               capture_output=True)
        for rep in range(0, args.reps + 1):
            start = time.monotonic()
            r = subprocess.run([FLOWRUN, "run", path, "-p", f"server=127.0.0.1:{port}", "--broker", server.url],
                               cwd=SCRATCH, capture_output=True)
            wall = time.monotonic() - start
            if r.returncode != 0 or r.stdout != local.stdout:
                sys.exit(f"whois on workers: exit {r.returncode}, output {'as' if r.stdout == local.stdout else 'NOT as'}"
                         f" locally: {r.stderr[:500]!r}")
            if rep > 0:
                times.append(wall)
        joined = sum(crew.log(i).count(b"joined run") for i in range(2))
    finally:
        crew.stop()
        responder.terminate()
    med = statistics.median(times)
    print(f"RESULT\twhois_example_workers\t{med:.3f}\ts\texamples/whois.flow, 240 addresses, whois * 24 on 2 workers "
          f"x 12 slots, 50 ms each\t{med / 0.5:.2f}x ideal")
    print(f"# the workers joined {joined} runs of {2 * (args.reps + 1)} asked; the output as a local run's every time")
    print(f"whois example on 2 workers: {med / 0.5:.2f}x the ideal 0.5 s (goal <= 1.15x)")


def death(server):
    """A worker SIGKILLed mid-run: how long until the records it held ran
    elsewhere. exec prints each record with the time it ran; the records
    the dead worker held are those that ran late, behind the run's frontier
    (below). The goal: the ack wait (5 s) plus under 100 ms."""
    crew = Workers(server.url, 2, slots=2)
    program = 'seq(1, 3000) | exec("sleep 0.02; echo {} $(date +%s.%N)") * 4 | write("-")'
    try:
        p = subprocess.Popen([FLOWRUN, "run", "-e", program, "--broker", server.url], cwd=SCRATCH,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while b"joined run" not in crew.log(0) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.0)  # well into the run
        killed_at = time.time()
        crew.procs[0].kill()
        out, err = p.communicate(timeout=120)
    finally:
        for q in crew.procs:
            if q.poll() is None:
                q.terminate()
            q.wait()
    if p.returncode != 0:
        sys.exit(f"the death run failed: exit {p.returncode}: {err[:800]!r}")
    rows = [line.split() for line in out.decode().splitlines()]
    ran = {int(n): float(ts) for n, ts in rows}
    if sorted(ran) != list(range(1, 3001)) or len(rows) != 3000:
        sys.exit(f"the death run lost or doubled records: {len(rows)} lines, {len(ran)} distinct")
    # By 2 s after the kill the run has moved on (the living worker, and the
    # dead one's instances started again here after 1.5 s): a record that
    # runs later than that with a number below that frontier is one the dead
    # worker held, back after its ack wait.
    frontier = max(n for n, ts in ran.items() if ts < killed_at + 2.0)
    redone = sorted(ts - killed_at for n, ts in ran.items() if n < frontier and ts > killed_at + 2.0)
    lost = [line for line in err.decode().splitlines() if "lost worker" in line]
    print()
    print(f"# killed a worker at +0; the origin: {lost[0] if lost else 'no lost-worker line!'}")
    if redone:
        print(f"RESULT\tdeath_to_elsewhere\t{redone[-1]:.3f}\ts\t{len(redone)} records the dead worker held "
              f"ran again {redone[0]:.3f}..{redone[-1]:.3f} s after its death (ack wait 5 s)")
        print(f"death -> elsewhere: ack wait + {1000 * (redone[-1] - 5.0):.0f} ms (goal: + under 100 ms)")
    else:
        print("# no record of the dead worker had to run again (it held none when it died)")


if __name__ == "__main__":
    main()
