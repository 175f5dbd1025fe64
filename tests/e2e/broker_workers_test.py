"""`flowrun worker --broker URL [--slots N]` end to end (issue 8): workers
started before a run take the instances of its middle stages (sources and
sinks stay on the origin) and give the local run's output; a worker
SIGKILLed mid-run loses and doubles nothing (the origin sees it lost and
runs its instances itself, its batches come back after the ack wait); a
record that fails on a worker fails the run on the origin with the
worker's message; a worker needs a broker.

Each test starts its own nats-server on a free loopback port (so workers
never join another test's run) and stops it and its workers; skipped, with
the reason printed, when nats-server is not installed.
usage: python3 broker_workers_test.py FLOWRUN [NAME-SUBSTRING]
"""
import contextlib
import json
import os
import pty
import re
import select
import socket
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nats_server import Server, find_server  # noqa: E402
from nats_auth import have_credentials_maker, make_nkey_users  # noqa: E402
from e2e import children_of, main, run_fed, test, wait_until  # noqa: E402

def lines(data):
    return data.decode("utf-8", "surrogateescape").splitlines()


# After a run, only the workers' registry (KV_flowrun_workers) is left.
REGISTRY_ONLY = 1
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATS_SERVER = None


class Workers:
    """`count` flowrun workers of `slots` slots each on `server`, with their
    logs in the test's directory."""

    def __init__(self, t, server, count, slots=2, name="worker", env=None):
        self.t, self.procs, self.logs = t, [], []
        for i in range(count):
            log = t.path(f"{name}{i}.log")
            with open(log, "wb") as f:
                self.procs.append(subprocess.Popen(
                    [t.flowrun, "worker", "--broker", server.url, "--slots", str(slots)],
                    cwd=t.dir, stdout=subprocess.DEVNULL, stderr=f, env=env))
            self.logs.append(log)
        # Registered: each says so once it is on the broker's list.
        wait_until(lambda: all(b" slots, at " in self.log(i) for i in range(count)), "the workers to register")

    def log(self, i):
        with open(self.logs[i], "rb") as f:
            return f.read()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@contextlib.contextmanager
def one_worker(t, args, env=None):
    """A `flowrun worker ARGS` (its broker in ARGS or in `env`), registered,
    its log in worker.log; stopped with SIGTERM at the end."""
    log = t.path("worker.log")
    with open(log, "wb") as f:
        worker = subprocess.Popen([t.flowrun, "worker", *args], cwd=t.dir, stdout=subprocess.DEVNULL, stderr=f, env=env)
    try:
        wait_until(lambda: b" slots, at " in open(log, "rb").read(), "the worker to register")
        yield log
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def with_workers(count, slots=2, env=None):
    """Runs the test with a server of its own and `count` workers on it
    (`env`: more variables in their environment)."""
    def wrap(fn):
        def run(t):
            server = Server(NATS_SERVER)
            workers = None
            try:
                workers = Workers(t, server, count, slots, env=dict(os.environ, **env) if env else None)
                fn(t, server, workers)
            finally:
                if workers:
                    workers.stop()
                server.stop()
        run.__name__ = fn.__name__
        return run
    return wrap


@test
@with_workers(2)
def two_workers_give_the_local_output(t, server, workers):
    program = 'seq(1, 100000) | map { $0 + "x" } * 3 | filter { len($0) % 2 == 0 } * 2 | write("out.txt")'
    t.ok(program)
    local = sorted(lines(t.read("out.txt")))
    os.remove(t.path("out.txt"))
    t.ok(program, "--broker", server.url, "--stats", "stats.json")
    t.equal(sorted(lines(t.read("out.txt"))), local, "the records through two workers")
    # The workers' instances are counted in the origin's --stats: the 4
    # slots take map's 3 instances and filter's first, so every map record
    # was counted on a worker.
    stages = {s["label"]: s for s in json.loads(t.read("stats.json"))["stages"]}
    t.equal(sum(i["records_in"] for i in stages["map"]["instances"]), 100000, "map's records in, on the workers")
    t.equal(sum(i["records_out"] for i in stages["filter"]["instances"]), len(local), "filter's records out")
    # A part ends just after the origin's sink has its last record.
    for i in range(2):
        t.expect(b"joined run" in workers.log(i), f"worker {i} took a part: {workers.log(i)!r}")
        wait_until(lambda: b": done" in workers.log(i), f"worker {i} to finish its part")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left on the broker (the registry only)")


@test
def a_broker_url_in_the_environment_keeps_its_token_out_of_ps(t):
    """FLOWRUN_BROKER stands for --broker (run, check, worker): a token
    there is in no process's command line (ps shows those to every user of
    the machine), and a run and a worker given it work as with --broker."""
    token = "env-t0ken-8b1f"
    server = Server(NATS_SERVER, "--auth", token)
    env = dict(os.environ, FLOWRUN_BROKER=f"nats://{token}@127.0.0.1:{server.port}")
    try:
        with one_worker(t, ["--slots", "4"], env) as log:
            given_the_broker_by_the_environment(t, server, token, env, log)
    finally:
        server.stop()


def given_the_broker_by_the_environment(t, server, token, env, log):
    """The checks of a_broker_url_in_the_environment_keeps_its_token_out_of_ps,
    its worker up (its log at `log`)."""
    seen = []  # command lines that show the token, read while the run goes

    def look():
        while run.poll() is None:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                if int(pid) == server.proc.pid:
                    continue  # the test's server, given the token by its command line
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmdline = f.read()
                except OSError:
                    continue
                if token.encode() in cmdline:
                    seen.append(cmdline)
            time.sleep(0.02)
    run = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 40) | sleep(20ms) * 4 | count | write("-")',
                            "--stats", "stats.json"], cwd=t.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
    looker = threading.Thread(target=look)
    looker.start()
    out, err = run.communicate(timeout=60)
    looker.join()
    t.equal((run.returncode, out, err), (0, b"40\n", b""), "the run given the broker by FLOWRUN_BROKER")
    t.equal(seen, [], "command lines that show the token")
    t.expect(b"joined run" in open(log, "rb").read(), "the worker, given the broker the same way, took a part")
    stages = {s["label"]: s for s in json.loads(t.read("stats.json"))["stages"]}
    t.equal(sum(i["records_in"] for i in stages["sleep"]["instances"]), 40, "sleep's records in")
    # Nor do the commands that a run starts see it, here or on a worker.
    r = subprocess.run([t.flowrun, "run", "-e", 'seq(1, 8) | exec("echo ${FLOWRUN_BROKER:-unset} # {}") * 4 | '
                        'distinct | write("-")'], cwd=t.dir, capture_output=True, timeout=60, env=env)
    t.equal((r.returncode, r.stdout, r.stderr), (0, b"unset\n", b""), "FLOWRUN_BROKER seen by exec's commands")
    t.equal(open(log, "rb").read().count(b"joined run"), 2, "runs the worker took a part of (its 4 slots: exec's 4)")
    t.expect(token.encode() not in t.read("stats.json") and token.encode() not in open(log, "rb").read(),
             "the token is in neither --stats nor the worker's log")
    r = subprocess.run([t.flowrun, "check", "-e", "seq(1, 3) | map { $0 } * 2 | count"], cwd=t.dir,
                       capture_output=True, timeout=30, env=env)
    t.expect(r.returncode == 0 and f"nats://***@127.0.0.1:{server.port}: answered".encode() in r.stdout
             and token.encode() not in r.stdout + r.stderr, "check given the broker by FLOWRUN_BROKER", r)
    # Set but empty: no broker (the run is local); --broker wins over it;
    # a wrong one is named as the environment's.
    r = subprocess.run([t.flowrun, "check", "-e", "seq(1, 3) | count"], cwd=t.dir, capture_output=True,
                       timeout=30, env=dict(os.environ, FLOWRUN_BROKER=""))
    t.expect(r.returncode == 0 and b"broker" not in r.stdout, "an empty FLOWRUN_BROKER is none", r)
    r = subprocess.run([t.flowrun, "check", "-e", "seq(1, 3) | count", "--broker", server.url], cwd=t.dir,
                       capture_output=True, timeout=30, env=env)
    t.expect(r.returncode == 1 and b"wants credentials" in r.stderr, "--broker wins over FLOWRUN_BROKER", r)
    r = subprocess.run([t.flowrun, "check", "-e", "seq(1, 3) | count"], cwd=t.dir, capture_output=True,
                       timeout=30, env=dict(os.environ, FLOWRUN_BROKER=f"http://{token}@127.0.0.1:1"))
    t.expect(r.returncode == 2 and b"error: FLOWRUN_BROKER takes nats://HOST:PORT" in r.stderr
             and token.encode() not in r.stderr, "a wrong scheme in FLOWRUN_BROKER is named as its", r)


@test
def an_nkey_seed_file_is_used_by_every_process(t):
    """--nats-nkey FILE: a user of the server's configuration known by its
    NKey alone (no JWT). flowrun derives the public key from the seed, as
    the NATS tools do; the origin, its keeper and instances, a worker and
    its part all connect with it."""
    if not have_credentials_maker():
        print("     an_nkey_seed_file_is_used_by_every_process: skipped, python3-cryptography is not installed")
        return
    seed, stranger_seed = make_nkey_users(t.dir)
    server = Server(NATS_SERVER, "-c", t.path("nkey.conf"))
    url = f"nats://127.0.0.1:{server.port}"
    try:
        with one_worker(t, ["--broker", url, "--nats-nkey", "user.nk", "--slots", "4"]) as log:
            with_an_nkey(t, server, url, seed, stranger_seed, log)
    finally:
        server.stop()


def with_an_nkey(t, server, url, seed, stranger_seed, log):
    """The checks of an_nkey_seed_file_is_used_by_every_process, its worker
    up (its log at `log`)."""
    out = t.ok('seq(1, 40) | sleep(10ms) * 4 | count | write("-")', "--broker", url, "--nats-nkey", "user.nk",
               "--stats", "stats.json")
    t.equal(out, b"40\n", "the run with an NKey seed file")
    t.expect(b"joined run" in open(log, "rb").read(), "the worker, with the same file, took a part")
    t.expect(seed.encode() not in t.read("stats.json") + open(log, "rb").read(),
             "the seed is in neither --stats nor the worker's log")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")
    r = subprocess.run([t.flowrun, "check", "-e", "seq(1, 3) | count", "--broker", url, "--nats-nkey", "user.nk"],
                       cwd=t.dir, capture_output=True, timeout=30)
    t.expect(r.returncode == 0 and f"{url}: answered".encode() in r.stdout, "check with an NKey seed file", r)
    r = t.run("seq(1, 3) | count", "--broker", url, "--nats-nkey", "stranger.nk", timeout=30)
    t.expect(r.returncode == 1 and f"the broker at '{url}' refused the credentials".encode() in r.stderr,
             "a user the server does not know is refused", r)
    t.write("bad.nk", "SUnot-a-seed-secret\n")
    r = t.run("seq(1, 3) | count", "--broker", url, "--nats-nkey", "bad.nk", timeout=30)
    t.expect(r.returncode == 1 and b"cannot use the NKey seed file 'bad.nk': its user NKey seed does not decode"
             in r.stderr, "a file that holds no seed", r)
    for secret in (seed, stranger_seed, "not-a-seed-secret"):
        t.expect(secret.encode() not in r.stdout + r.stderr, f"{secret!r} is not shown", r)
    r = t.run("seq(1, 3) | count", "--broker", url, "--nats-nkey", "user.nk", "--nats-creds", "user.nk")
    t.expect(r.returncode == 2 and b"give one" in r.stderr, "--nats-creds and --nats-nkey together", r)


@test
@with_workers(3, slots=2)
def three_workers_run_the_parallel_example(t, server, workers):
    # exec * 4: its instances on the workers; sort and write on the origin.
    local = subprocess.run([t.flowrun, "run", "examples/parallel.flow"], cwd=REPO, capture_output=True, timeout=60)
    t.equal(local.returncode, 0, "the local run")
    r = subprocess.run([t.flowrun, "run", "examples/parallel.flow", "--broker", server.url], cwd=REPO,
                       capture_output=True, timeout=60)
    t.equal((r.returncode, r.stderr), (0, b""), "exit code and stderr")
    t.equal(r.stdout, local.stdout, "the example's output, as locally")
    joined = sum(1 for i in range(3) if b"joined run" in workers.log(i))
    t.expect(joined >= 2, f"the exec instances spread over the workers ({joined} of 3 joined)")


@test
@with_workers(2)
def a_killed_worker_loses_and_doubles_nothing(t, server, workers):
    n = 200000

    def kill(pid):
        wait_until(lambda: b"joined run" in workers.log(0), "worker 0 mid-run")
        workers.procs[0].kill()  # SIGKILL: its part and the part's workers die with it
    code, err = run_fed(t, 'read("in.fifo") | map { $0 + "x" } * 4 | write("out.txt")', ["--broker", server.url],
                        n, kill)
    t.expect(code == 0, f"exit 0 after a worker's death, got {code}: {err[:500]!r}")
    # The origin takes the dead worker's instances back once its beats
    # stop, and says so; a run whose input drained before that (the dead
    # instances' batches done by the others after their ack wait) ends
    # without them: the edge after `map` does not wait for the ends of
    # producers that publish only while they work (runtime/nats_queue.h).
    t.expect(b"flowrun: lost worker '" not in err or b"its instances run here now: 2 of 'map'" in err,
             f"the origin says it took the instances back: {err[:500]!r}")
    t.expect(err == b"" or b"flowrun: lost worker '" in err, f"nothing else on stderr: {err[:500]!r}")
    got = lines(t.read("out.txt"))
    t.equal(len(got), n, "records written (none lost, none twice)")
    t.equal(sorted(got), sorted(f"{i}x" for i in range(1, n + 1)), "every record once")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")


@test
@with_workers(2)
def slow_replicas_finish_a_lease_while_taking_the_next(t, server, workers):
    """A replica of a slow stage on a broker publishes and acknowledges a
    lease in the background while it works on the next one
    (runtime/lease_finisher.h): order, counts and head(n) as locally."""
    cases = [
        ('seq(1, 300) | sleep(1ms) * 6 [ordered] | write("-")', "".join(f"{i}\n" for i in range(1, 301)).encode()),
        ('seq(1, 300) | sleep(1ms) * 6 | count', b"300\n"),
        ('seq() | sleep(1ms) * 4 [ordered] | head(7)', b"1\n2\n3\n4\n5\n6\n7\n"),
        ('seq() | sleep(1ms) * 4 | head(7) | count', b"7\n"),
    ]
    for program, want in cases:
        r = t.run(program, "--broker", server.url, timeout=60)
        t.equal((r.returncode, r.stderr), (0, b""), f"exit code and stderr of {program!r}")
        t.equal(r.stdout, want, program)
    t.expect(all(b"joined run" in workers.log(i) for i in range(2)), "both workers took part")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the runs (the registry only)")


@test
@with_workers(2)
def a_killed_worker_finishing_leases_in_the_background_loses_and_doubles_nothing(t, server, workers):
    """A worker killed while its replicas of a slow stage each hold two
    leases (one worked on, one being published and acknowledged: runtime/
    lease_finisher.h): both come back after the ack wait, and what went out
    of the second is dropped as a duplicate when it goes out again."""
    n = 3000

    def kill(pid):
        wait_until(lambda: b"joined run" in workers.log(0), "worker 0 mid-run")
        time.sleep(0.2)  # its replicas under way
        workers.procs[0].kill()
    code, err = run_fed(t, 'read("in.fifo") | sleep(1ms) * 4 | write("out.txt")', ["--broker", server.url], n, kill)
    t.expect(code == 0, f"exit 0 after a worker's death, got {code}: {err[:500]!r}")
    got = lines(t.read("out.txt"))
    t.equal(len(got), n, "records written (none lost, none twice)")
    t.equal(sorted(got), sorted(str(i) for i in range(1, n + 1)), "every record once")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")


@test
@with_workers(2)
def an_edge_after_worker_replicas_ends_on_their_inputs_drain(t, server, workers):
    """The replicas of map and sleep publish only while they work: the edge
    after each ends once the edge before it is drained, without waiting for
    each replica's end (runtime/nats_queue.h); every record arrives."""
    r = t.run('seq(1, 2000) | map { $0 } * 2 | sleep(1ms) * 4 | count', "--broker", server.url)
    t.equal((r.returncode, r.stdout, r.stderr), (0, b"2000\n", b""), "map * 2 | sleep * 4: every record")
    t.expect(all(b"joined run" in workers.log(i) for i in range(2)), "both workers took part")
    r = t.run('seq(1, 500) | sleep(1ms) * 4 | map { $0 + "x" } * 2 | write("-")', "--broker", server.url)
    t.equal((r.returncode, r.stderr), (0, b""), "exit code and stderr")
    t.equal(sorted(lines(r.stdout)), sorted(f"{i}x" for i in range(1, 501)), "sleep * 4 | map * 2: every record once")


@test
@with_workers(2, slots=3)
def ordered_replicas_on_the_workers_keep_the_order(t, server, workers):
    # The turns are the broker's (runtime/broker_order_gate.h): 4 replicas on
    # two workers and 2 here, records of uneven cost, exactly in order.
    program = 'seq(1, 3000) | map { $0 + "x" } | sleep(1ms) * 8 [ordered] | filter { int(substr($0, 1, len($0) - 1)) % 7 != 3 } | write("-")'
    want = "".join(f"{i}x\n" for i in range(1, 3001) if i % 7 != 3).encode()
    r = t.run(program, "--broker", server.url)
    t.equal((r.returncode, r.stderr), (0, b""), "exit code and stderr")
    t.expect(r.stdout == want, "every record, in input order")
    t.expect(all(b"joined run" in workers.log(i) for i in range(2)), "both workers took part")


@test
@with_workers(2)
def a_lost_worker_with_ordered_replicas_loses_nothing_and_keeps_the_order(t, server, workers):
    """Its [ordered] replicas run here from then on; their batches come back
    after the ack wait at the places they had, and the replacements take
    them first (runtime/broker_order_gate.h)."""
    def kill(pid):
        wait_until(lambda: b"joined run" in workers.log(0), "worker 0 mid-run")
        time.sleep(0.2)  # its replicas hold leases: the first half takes 1 s
        workers.procs[0].kill()
    n = 8000
    code, err = run_fed(t, 'read("in.fifo") | sleep(1ms) * 4 [ordered] | write("out.txt")', ["--broker", server.url],
                        n, kill)
    t.equal(code, 0, f"exit code ({err[-500:]!r})")
    t.expect(b"lost worker" in err, f"the loss is reported: {err[-500:]!r}")
    got = lines(t.read("out.txt"))
    want = [str(i) for i in range(1, n + 1)]
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    t.expect(got == want, f"every record once, in input order: {len(got)} lines, the first wrong at {first}: "
                          f"{got[max(0, first - 3):first + 3]}")


@test
@with_workers(2, slots=4)
def a_dead_machine_s_ordered_positions_come_back_after_one_ack_wait(t, server, workers):
    """Worker 0 SIGKILLed mid-run, and every process under it with it: a
    machine that dies, whose memory nobody can read to hand back what its
    [ordered] replicas held. The turns stop at the first position it held;
    its batches come back after their ack wait (12 s: the [timeout]) to the
    siblings that asked ahead, which take them at once, and the turns go
    on. It took two ack waits (52.8 s here, with an ack wait of 25 s): the
    siblings waited for those very positions while the positions waited,
    unread, in their inboxes for their next "one more" (runtime/worker.cc)."""
    program = 'seq(1, 400) | sleep(50ms) * 8 [timeout = 12s, ordered] | write("-")'
    run = subprocess.Popen([t.flowrun, "run", "-e", program, "--broker", server.url], cwd=t.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(instances_of(workers.procs[0].pid, "sleep")) == 4, "worker 0's sleeps to run")
    time.sleep(0.3)
    workers.procs[0].kill()
    killed = time.monotonic()
    out, err = run.communicate(timeout=120)
    after_kill = time.monotonic() - killed
    t.equal(run.returncode, 0, f"exit code ({err[-500:]!r})")
    t.expect(b"lost worker" in err, f"the loss is reported: {err[-500:]!r}")
    t.equal(lines(out), [str(i) for i in range(1, 401)], "every record once, in order")
    # One ack wait, then what is left of a 2.5 s run; two ack waits are 24 s.
    t.expect(after_kill < 20, f"the run ended {after_kill:.1f} s after the kill (one ack wait: 12 s)")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left on the broker (the registry only)")


def signal_mid_run(workers, i, stage, sig=signal.SIGTERM):
    """A function that sends `sig` to worker `i` once its instances of
    `stage` have run for half a second."""
    def send():
        wait_until(lambda: instances_of(workers.procs[i].pid, stage), f"worker {i}'s instances")
        time.sleep(0.5)
        workers.procs[i].send_signal(sig)
    return send


def run_and_end_a_part(t, server, program, end):
    """Runs `program` on `server`, calls `end()` once it is under way on the
    workers; (exit code, stdout, stderr, seconds)."""
    start = time.monotonic()
    run = subprocess.Popen([t.flowrun, "run", "-e", program, "--broker", server.url], cwd=t.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end()
        out, err = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    return run.returncode, out, err, time.monotonic() - start


@test
@with_workers(2, slots=4)
def a_stopped_worker_hands_back_what_it_held(t, server, workers):
    """SIGTERM to a worker mid-run (a rolling restart), then `kill -9` of the
    other's part (the OOM killer): each worker hands back at once what its
    part's instances still held (runtime/hand_back_book.h), and the origin,
    which runs their instances from then on, need not wait the edge's ack
    wait (the [timeout] of 20 s) for them, [ordered] or not.
    Before, each run took 42 s here; now under 3."""
    program = 'seq(1, 400) | sleep(50ms) * 8 [timeout = 20s, ordered] | write("-")'
    code, out, err, took = run_and_end_a_part(t, server, program, signal_mid_run(workers, 0, "sleep"))
    t.equal(code, 0, f"exit code ({err[-500:]!r})")
    t.equal(lines(out), [str(i) for i in range(1, 401)], "every record once, in order")
    t.expect(b"ended its part of the run and handed back what it held; its instances run here now: 4 of 'sleep'"
             in err, f"the worker's leaving is reported: {err[-500:]!r}")
    # (Its instances finish what they hold first, so it hands back nothing,
    # most often; what it does hand back it logs.)
    t.expect(b"flowrun worker: stopped" in workers.log(0), f"the worker's log: {workers.log(0)[-500:]!r}")
    t.equal(workers.procs[0].wait(timeout=10), 128 + signal.SIGTERM, "the stopped worker's exit code")
    t.expect(took < 15, f"the run took {took:.1f} s, less than the ack wait (20 s)")

    def kill_worker_1s_part():
        wait_until(lambda: instances_of(workers.procs[1].pid, "exec"), "worker 1's instances")  # (its part's)
        # Mid-lease: the records take 200-500 ms from about 20 ms in, so
        # leases end near each 100 ms mark; 0.5 s fell on one, where an
        # instance has asked for its next batch and publishes its outputs,
        # and a kill met that batch on its way in 2 of 28 runs here (the ack
        # wait; and a CI failure on 2026-12-06; see below).
        time.sleep(0.45)
        # The part is the worker's child with children (the spare has none).
        part = [p for p in children_of(workers.procs[1].pid) if children_of(p)]
        os.kill(part[0], signal.SIGKILL)

    # Nobody can note a batch on its way to an instance as it is killed:
    # the answer to the ask an instance sends as its lease ends, while it
    # publishes that lease's outputs (docs/distributed.md, "Still open"),
    # or a batch between the broker's send and the read. With records of 20
    # to 80 ms, a kill met one about 1 run in 10 on a loaded machine (the
    # run then took the ack wait); records of 200 to 500 ms, killed away
    # from their ends, make that rare. A stopping worker closes that gap
    # first (above); a kill cannot.
    program = 'seq(1, 80) | exec("n={}; sleep 0.$((n % 4 + 2)); echo {}") * 8 [timeout = 20s] | write("-")'
    code, out, err, took = run_and_end_a_part(t, server, program, kill_worker_1s_part)
    t.equal(code, 0, f"exit code ({err[-500:]!r})")
    t.equal(sorted(lines(out), key=int), [str(i) for i in range(1, 81)], "every record once")
    t.expect(b"ended its part of the run and handed back what it held" in err, f"the part's end is reported: {err[-500:]!r}")
    t.expect(b": gone: the part was killed by signal SIGKILL" in workers.log(1), f"the worker's log: {workers.log(1)[-500:]!r}")
    t.expect(took < 15, f"the run took {took:.1f} s, less than the ack wait (20 s)")
    t.expect(server.streams() == REGISTRY_ONLY, "only the registry left on the broker")


@test
@with_workers(2, slots=4)
def a_stopped_worker_finishes_the_records_in_flight(t, server, workers):
    """SIGTERM to a worker mid-run: its instances take nothing more and
    finish the records they hold (`--grace`, 5 s), then it stops; the
    origin runs their instances from then on. No command runs twice (before,
    its parts were killed, and what they were doing ran again elsewhere).

    Records of 300 to 500 ms, so that the instances are not in step: the
    worker says it waits only if its instances still hold records 30 ms
    after the signal, and with records of 300 ms each, all 4 once finished
    theirs within those 30 ms (ASan, CI)."""
    program = ('seq(1, 80) | exec("n={}; echo {} >> side.txt; sleep 0.$((n % 3 + 3)); echo {}") * 8 [timeout = 20s] '
               '| write("-")')
    code, out, err, took = run_and_end_a_part(t, server, program, signal_mid_run(workers, 0, "exec"))
    t.equal(code, 0, f"exit code ({err[-500:]!r})")
    want = [str(i) for i in range(1, 81)]
    t.equal(sorted(lines(out), key=int), want, "every record once")
    t.equal(sorted(lines(t.read("side.txt")), key=int), want, "every command ran once")
    t.expect(b"flowrun worker: stopping once the records in flight are done (at most 5 s; again to stop now)"
             in workers.log(0), f"the worker's log: {workers.log(0)[-500:]!r}")
    t.expect(b"ended its part of the run and handed back what it held" in err, f"the origin's word: {err[-500:]!r}")
    t.equal(workers.procs[0].wait(timeout=10), 128 + signal.SIGTERM, "the stopped worker's exit code")
    t.expect(took < 15, f"the run took {took:.1f} s")


@test
@with_workers(2, slots=4)
def the_whois_example_survives_a_lost_worker(t, server, workers):
    """The README's example, `whois * 12 [ordered]`, on two workers, one of
    them SIGKILLed once the lookups are under way: the table is the local
    one, exactly (tests/e2e/whois_test.py pins it)."""
    want = b"PRIVATE-172-16\t13\nTEST-NET-2\t9\nTEST-NET-1\t9\nTEST-NET-3\t4\nPRIVATE-10\t4\n"
    queries = t.path("queries.log")
    responder = subprocess.Popen([sys.executable, os.path.join(REPO, "tools", "whois_responder.py"), "--port", "0",
                                  "--latency", "300ms", "--query-log", queries], stdout=subprocess.PIPE)
    try:
        port = int(responder.stdout.readline())
        run = subprocess.Popen([t.flowrun, "run", "examples/whois.flow", "-p", f"server=127.0.0.1:{port}",
                                "--broker", server.url], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # 39 lookups, 12 at a time, 300 ms each: the 16th asked, more
            # than half are still to come.
            asked = lambda: os.path.exists(queries) and open(queries, "rb").read().count(b"\n")
            wait_until(lambda: b"joined run" in workers.log(0) and asked() >= 16, "the lookups under way")
            workers.procs[0].kill()
            out, err = run.communicate(timeout=90)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    finally:
        responder.kill()
        responder.wait()
    t.equal(run.returncode, 0, f"exit code ({err[-500:]!r})")
    t.expect(b"lost worker" in err, f"the loss is reported: {err[-500:]!r}")
    t.equal(out, want, "the table, as a local run prints it")


@test
@with_workers(2)
def the_examples_give_the_local_output(t, server, workers):
    """etl, logstats, hash and parallel: stdout and every file they write,
    byte for byte, as a local run (their single chains keep their order)."""
    def run(flow, out_dir, *params):
        os.makedirs(out_dir, exist_ok=True)
        r = subprocess.run([t.flowrun, "run", f"examples/{flow}", *params, *extra], cwd=REPO, capture_output=True,
                           timeout=120)
        t.equal((r.returncode, r.stderr), (0, b""), f"{flow} {' '.join(extra)}: exit code and stderr")
        files = {name: open(os.path.join(out_dir, name), "rb").read() for name in sorted(os.listdir(out_dir))}
        return r.stdout, files

    cases = [("etl.flow", lambda d: ["-p", f"adults={d}/adults.tsv"]),
             ("logstats.flow", lambda d: ["-p", f"out={d}"]),
             ("hash.flow", lambda d: ["-p", "rounds=1000"]),
             ("parallel.flow", lambda d: [])]
    for flow, params in cases:
        extra = []
        local_dir = t.path(f"local-{flow}")
        local = run(flow, local_dir, *params(local_dir))
        extra = ["--broker", server.url]
        broker_dir = t.path(f"broker-{flow}")
        joined_before = sum(workers.log(i).count(b"joined run") for i in range(2))
        on_broker = run(flow, broker_dir, *params(broker_dir))
        t.equal(on_broker, local, f"{flow}: stdout and files through the workers")
        joined = sum(workers.log(i).count(b"joined run") for i in range(2)) - joined_before
        if flow != "hash.flow":  # hash's only middle stage is [ordered]: it stays here
            t.expect(joined >= 1, f"{flow}: a worker took part ({joined} joined)")


@test
@with_workers(1)
def a_record_that_fails_on_a_worker_fails_the_run(t, server, workers):
    r = t.run('seq(1, 100) | map { int("x" + $0) } * 2 | write("out.txt")', "--broker", server.url)
    err = r.stderr.decode()
    t.expect(r.returncode == 1, "exit 1", r)
    t.expect("flowrun: error: the part of the run on worker '" in err and "cannot convert 'x" in err,
             f"the origin names the worker and the record's error: {err!r}")
    t.expect(not os.path.exists(t.path("out.txt")), "no output file after a failed run")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")


@test
@with_workers(2)
def a_failing_record_is_not_run_again_by_a_sibling(t, server, workers):
    # Record 3's command fails three times (two retries, in its worker);
    # the run then stops, and no other replica runs it again: its command
    # has side effects.
    r = t.run('seq(1, 6) | exec("echo {} >> ran.txt; test {} != 3 && echo {}") * 4 | write("out.txt")',
              "--broker", server.url)
    t.expect(r.returncode == 1, "exit 1", r)
    ran = lines(t.read("ran.txt"))
    t.equal(ran.count("3"), 3, f"record 3's command runs (its three attempts) {ran!r}")
    err = r.stderr.decode()
    t.expect("failed on record 3: command exited with status 1" in err, f"the error: {err!r}")


@test
@with_workers(2, slots=3)
def check_says_which_worker_takes_what(t, server, workers):
    r = subprocess.run([t.flowrun, "check", "-e", 'seq(1, 9) | sleep(1ms) * 4 | map { $0 } * 3 | count | write("-")',
                        "--broker", server.url], cwd=t.dir, capture_output=True, timeout=30)
    out = r.stdout.decode()
    t.equal(r.returncode, 0, "exit code")
    t.expect(", 2 workers" in out, f"the broker line counts the workers: {out}")
    sleep_row = next(line for line in out.splitlines() if line.strip().startswith("sleep "))
    map_row = next(line for line in out.splitlines() if line.strip().startswith("map "))
    t.expect(sleep_row.count(" x2") == 2, f"sleep's 4 instances: 2 on each worker: {sleep_row}")
    t.expect("worker " in map_row and "this machine x1" in map_row, f"map: 2 on the workers, 1 here: {map_row}")
    t.expect("this machine (keeps state)" in out, f"count stays here, and says why: {out}")
    # seq, map#3, count, write here; 4 sleep and 2 map on the workers (the
    # summary said "all 10 here, no worker takes any" until 2026-12-06).
    t.expect("\nruns on       4 stage instances on this machine, 6 on 2 workers\n" in out,
             f"the summary counts where they run: {out}")


@test
@with_workers(2, slots=3)
def auto_counts_the_workers_slots(t, server, workers):
    program = 'seq(1, 3000) | map { $0 + "x" } * auto | sha512(rounds = 2) * auto [ordered] | count | write("-")'

    def replicas(out, stage):
        row = next(line for line in out.splitlines() if line.strip().startswith(stage + " "))
        return int(row.split()[1])
    local = subprocess.run([t.flowrun, "check", "-e", program], cwd=t.dir, capture_output=True, text=True, timeout=30)
    here = replicas(local.stdout, "map")
    r = subprocess.run([t.flowrun, "check", "-e", program, "--broker", server.url], cwd=t.dir, capture_output=True,
                       text=True, timeout=30)
    t.equal(replicas(r.stdout, "map"), here + 6, "map * auto: this machine's CPUs and the 6 slots of the workers")
    t.equal(replicas(r.stdout, "sha512"), here + 6, "an [ordered] stage too")
    t.expect(r.stdout.count(", + workers that join") == 2, f"both grow with workers that join later: {r.stdout}")
    t.equal(t.ok(program, "--broker", server.url), t.ok(program), "the run's output, as locally")
    t.expect(all(b"joined run" in workers.log(i) for i in range(2)), "both workers took part")


@test
@with_workers(1)
def auto_grows_with_a_worker_that_joins(t, server, workers):
    # A worker started mid-run gets instances added to the `* auto` stage
    # that may move; every record still comes out once.
    n = 1000
    late = []

    def join(pid):
        late.append(Workers(t, server, 1, slots=3, name="late"))
        wait_until(lambda: b"joined run" in late[0].log(0), "the new worker to join the run")
    try:
        code, err = run_fed(t, 'read("in.fifo") | sleep(5ms) * auto | map { $0 + "x" } | write("out.txt")',
                            ["--broker", server.url, "--stats", "stats.json"], n, join)
    finally:
        for w in late:
            w.stop()
    t.expect(code == 0, f"exit 0, got {code}: {err[:500]!r}")
    t.expect(re.search(rb"flowrun: worker '\w+' \([^)]*\) joined the run: 3 more of 'sleep'\n", err),
             f"the origin says who joined and what it runs: {err[:500]!r}")
    t.equal(sorted(lines(t.read("out.txt"))), sorted(f"{i}x" for i in range(1, n + 1)), "every record once")
    sleep = next(s for s in json.loads(t.read("stats.json"))["stages"] if s["label"] == "sleep")
    first = os.cpu_count() + 2  # this machine's CPUs and the first worker's slots
    t.equal(sleep["replicas"], first + 3, "sleep's instances in --stats: the 3 added ones too")
    added = sum(i["records_in"] for i in sleep["instances"][first:])
    t.expect(0 < added < n, f"the added instances took some of the records: {added}")
    t.equal(sum(i["records_in"] for i in sleep["instances"]), n, "sleep's records in, on every machine")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left on the broker (the registry only)")


def run_joined_by(t, server, program, n, slots, then=None):
    """run_fed with a worker of `slots` slots started mid-run; once it has
    joined, calls then(worker). Returns (exit code, stderr)."""
    late = []

    def join(pid):
        late.append(Workers(t, server, 1, slots=slots, name="late"))
        wait_until(lambda: b"joined run" in late[0].log(0), "the new worker to join the run")
        if then:
            then(late[0])
    try:
        return run_fed(t, program, ["--broker", server.url], n, join)
    finally:
        for w in late:
            w.stop()


@test
@with_workers(0)
def an_ordered_auto_stage_grows_in_order(t, server, workers):
    # No worker when the run starts (no registry on the broker yet): the
    # one that comes takes added replicas, which keep the order.
    n = 600
    code, err = run_joined_by(t, server, 'read("in.fifo") | sleep(2ms) * auto [ordered] | write("out.txt")', n, 2)
    t.expect(code == 0, f"exit 0, got {code}: {err[:500]!r}")
    t.expect(b"joined the run: 2 more of 'sleep'" in err, f"the origin says who joined: {err[:500]!r}")
    t.equal(lines(t.read("out.txt")), [str(i) for i in range(1, n + 1)], "every record once, in order")


def kill_once_its_sleeps_run(late):
    """SIGKILLs the worker `late` that joined while the second half flows
    (run_fed resumes the feed when this returns) and its 3 `sleep`
    instances hold records: once they run, and a moment after. A fixed
    delay from the join was not enough on a loaded machine (ASan in CI):
    its instances had not started yet, held nothing, and the run was over
    before the loss could be seen."""
    def when_busy():
        deadline = time.monotonic() + 30
        while len(instances_of(late.procs[0].pid, "sleep")) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        late.procs[0].kill()
    threading.Thread(target=when_busy, daemon=True).start()


def run_and_kill_joined(t, server, program, n):
    """Runs `program` on `n` records, joined by a worker with 3 slots that
    is SIGKILLed once its `sleep` instances run (kill_once_its_sleeps_run);
    checks that the run went through and said the added instances are not
    replaced; returns the lines of out.txt."""
    code, err = run_joined_by(t, server, program, n, 3, kill_once_its_sleeps_run)
    t.expect(code == 0, f"exit 0, got {code}: {err[:500]!r}")
    t.expect(b"the 3 instances added when it joined are not replaced" in err, f"the origin says so: {err[:500]!r}")
    return lines(t.read("out.txt"))


@test
@with_workers(1)
def a_killed_worker_that_joined_loses_nothing(t, server, workers):
    # Its added instances are not replaced: their siblings take the batches
    # it held after the ack wait, and the duplicate window drops what it had
    # published of them.
    n = 1000
    got = run_and_kill_joined(t, server, 'read("in.fifo") | sleep(10ms) * auto | map { $0 + "x" } | write("out.txt")', n)
    t.equal(sorted(got), sorted(f"{i}x" for i in range(1, n + 1)), "every record once")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left on the broker (the registry only)")


@test
@with_workers(1)
def a_killed_worker_that_joined_keeps_the_order(t, server, workers):
    # Its added [ordered] replicas are not replaced, and their siblings may
    # all hold later positions by then, waiting for the turn of one the dead
    # held: after an ack wait a blocked replica takes one more batch, the
    # dead one's back, and the turns go on.
    n = 1000
    got = run_and_kill_joined(t, server, 'read("in.fifo") | sleep(10ms) * auto [ordered] | write("out.txt")', n)
    t.equal(got, [str(i) for i in range(1, n + 1)], "every record once, in order")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left on the broker (the registry only)")


@test
@with_workers(2)
def two_runs_share_the_workers(t, server, workers):
    program = 'seq(1, 50000) | map { $0 + "x" } * 3 | filter { len($0) % 2 == 0 } * 2 | write("{}")'
    runs = [subprocess.Popen([t.flowrun, "run", "-e", program.replace("{}", out), "--broker", server.url],
                             cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for out in ("a.txt", "b.txt")]
    for r in runs:
        _, err = r.communicate(timeout=120)
        t.expect(r.returncode == 0 and err == b"", f"a run sharing the workers: exit {r.returncode}, {err[:500]!r}")
    want = sorted(f"{i}x" for i in range(1, 50001) if len(f"{i}x") % 2 == 0)
    t.equal(sorted(lines(t.read("a.txt"))), want, "the first run's records")
    t.equal(sorted(lines(t.read("b.txt"))), want, "the second run's records")
    # Started together, both may count the same free slots (best effort),
    # or the second finds them taken and runs its instances here.
    t.expect(sum(workers.log(i).count(b"joined run") for i in range(2)) >= 2, "the workers took part")


@test
@with_workers(2)
def ctrl_c_mid_run_ends_the_run_and_its_parts_on_the_workers(t, server, workers):
    """SIGINT or SIGTERM while both workers run their parts: the run ends as
    a local one does (exit 130/143, the records in flight drained within
    --grace, none written twice), its instances on the workers end with it
    (the keeper's JobStop), nothing of it is left on the broker, and the
    workers take the next run. Before JobStop, the origin waited 5 s more
    for parts that never ended, and their instances ran on until the broker
    wait after the run's removal (20 s), then failed saying that the broker
    did not answer."""
    program = 'seq(1, 100000) | sleep(20ms) * 8 | write("-")'
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        joined_before = [workers.log(i).count(b"joined run") for i in range(2)]
        run = subprocess.Popen([t.flowrun, "run", "-e", program, "--broker", server.url, "--grace", "1s"],
                               cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: all(workers.log(i).count(b"joined run") > joined_before[i] for i in range(2)),
                       "both workers to join the run")
            wait_until(lambda: all(instances_of(w.pid, "sleep") for w in workers.procs),
                       "the sleep instances to run on both workers")
            time.sleep(0.5)  # records flow through the workers
            sent = time.monotonic()
            run.send_signal(sig)
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        took = time.monotonic() - sent
        t.equal(run.returncode, code, f"exit code after {sig.name}")
        t.equal(err, f"flowrun: interrupted by {sig.name}\n".encode(), f"stderr after {sig.name}")
        # The grace (1 s), then the parts stopped and the run removed: well
        # under the 6 s of a keeper that waits for the parts' own end.
        t.expect(took < 4.5, f"the run ended {took:.1f} s after {sig.name}")
        got = lines(out)
        t.expect(0 < len(got) < 100000, f"a part of the records written before {sig.name}: {len(got)}")
        t.equal(len(set(got)), len(got), f"records written twice after {sig.name}")
        t.expect(set(got) <= {str(i) for i in range(1, 100001)}, "only records of the run")
        # Its instances on the workers end with it; the broker keeps nothing.
        wait_until(lambda: not any(instances_of(w.pid, "sleep") for w in workers.procs),
                   f"the workers' sleep instances to end after {sig.name}", timeout=3)
        for i in range(2):
            said = workers.log(i).count(b": stopped, as its origin ended it")
            t.equal(said, 1 if sig == signal.SIGINT else 2, f"worker {i}'s log on its part of the run")
        t.equal(server.streams(), REGISTRY_ONLY, f"streams left after {sig.name} (the registry only)")
    t.ok('seq(1, 200) | sleep(1ms) * 8 | count | write("-")', "--broker", server.url)
    t.expect(all(w.poll() is None for w in workers.procs), "the workers live on after the interrupted runs")


@test
@with_workers(2, slots=4)
def a_failure_on_one_worker_stops_the_part_on_the_other(t, server, workers):
    """The run fails on the worker that has `map` (a division by zero at
    record 300) while the other's sleep instances still have work: that
    part is stopped at once (JobStop). Before, the origin waited 5 s for it,
    and its instances ran on for 20 s, then failed saying that the broker
    did not answer."""
    start = time.monotonic()
    r = t.run('seq(1, 100000) | sleep(10ms) * 7 | map { 1000 / (int($0) - 300) } | write("out.txt")',
              "--broker", server.url)
    took = time.monotonic() - start
    t.expect(r.returncode == 1 and b"division by zero" in r.stderr, "exit 1, with the record's error", r)
    t.expect(took < 4, f"the failed run ended after {took:.1f} s")
    wait_until(lambda: not any(instances_of(w.pid, "sleep") for w in workers.procs),
               "the workers' sleep instances to end", timeout=3)
    said = sorted(b": stopped, as its origin ended it" in workers.log(i) for i in range(2))
    t.equal(said, [False, True], "the worker without the failure says its part was stopped")
    t.expect(not any(b"has not answered" in workers.log(i) for i in range(2)), "no broker blamed")
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")


@test
@with_workers(2)
def the_parts_of_a_crashed_origin_end_and_free_their_slots(t, server, workers):
    """The origin's machine lost mid-run: its keeper and the origin
    SIGKILLed at once (the keeper first, so that it cannot tell the parts
    to stop as it dies), nothing tells the workers. Each part hears no
    heartbeat from the origin for 15 s (kOriginSilentMs in
    runtime/worker_daemon.cc), ends its instances and frees its slots,
    which the next run gets. Before, the instances waited for ever for
    inputs that no one would end, holding the slots."""
    joined = [workers.log(i).count(b"joined run") for i in range(2)]
    run = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 100000) | sleep(10ms) * 4 | write("out.txt")',
                            "--broker", server.url], cwd=t.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: all(instances_of(w.pid, "sleep") for w in workers.procs),
                   "the sleep instances to run on both workers")
        keeper = [pid for pid in children_of(run.pid) if comm_of(pid) == "flowrun-keeper"]
        t.equal(len(keeper), 1, "the run's keeper, found")
        os.kill(keeper[0], signal.SIGKILL)
    finally:
        run.kill()
        run.wait()
    killed = time.monotonic()
    wait_until(lambda: not any(instances_of(w.pid, "sleep") for w in workers.procs),
               "the crashed origin's instances on the workers to end", timeout=30)
    took = time.monotonic() - killed
    t.expect(took < 20, f"they ended {took:.1f} s after the origin died")
    for i in range(2):
        t.expect(b"its origin has not been heard from for 15 s" in workers.log(i),
                 f"worker {i} says why: {workers.log(i)[-600:]!r}")
    t.equal(t.ok('seq(1, 100) | sleep(1ms) * 4 | count | write("-")', "--broker", server.url), b"100\n",
            "the next run's output")
    t.equal([workers.log(i).count(b"joined run") for i in range(2)], [n + 2 for n in joined],
            "both workers took part in the next run too: their slots were free")


@test
def a_broker_whose_storage_is_full_fails_the_run_clearly(t):
    """A JetStream limit reached mid-run (the server's max_file_store at
    1 MB; the run's edges hold more): the run fails at once, exit 1, saying
    that the broker's storage is full; nothing of it is left on the broker,
    and the worker takes the next run."""
    conf = t.path("nats.conf")
    with open(conf, "w") as f:
        f.write("jetstream { max_file_store: 1MB }\n")
    server = Server(NATS_SERVER, "-c", conf)
    workers = None
    try:
        workers = Workers(t, server, 1)
        start = time.monotonic()
        r = t.run('seq(1, 3000000) | map { $0 + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } * 2 | sleep(1ms)'
                  ' | head(5000) | count | write("-")', "--broker", server.url)
        took = time.monotonic() - start
        t.expect(r.returncode == 1 and b"the broker's JetStream storage is full" in r.stderr,
                 "exit 1, naming the full storage", r)
        t.expect(took < 10, f"the run failed after {took:.1f} s")
        t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")
        t.equal(t.ok('seq(1, 100) | map { $0 } * 2 | count | write("-")', "--broker", server.url), b"100\n",
                "the next run, small enough")
        t.expect(workers.log(0).count(b"joined run") == 2, "the worker took both runs")
    finally:
        if workers:
            workers.stop()
        server.stop()


@test
@with_workers(1)
def a_program_too_large_for_one_message_is_a_clear_error(t, server, workers):
    """The program travels to the workers in one message: one with a 1.2 MB
    literal does not fit the broker's max_payload (1 MiB). The run fails at
    once saying so and what to change (the broker's own refusal named a job
    key), leaves nothing on the broker, and runs without --broker; `check
    --broker` says it too."""
    big = "y" * 1_200_000
    with open(t.path("big.flow"), "w") as f:
        f.write('seq(1, 10) | map { $0 + "%s" } * 2 | map { len($0) } | count | write("-")\n' % big)
    r = subprocess.run([t.flowrun, "run", "big.flow", "--broker", server.url], cwd=t.dir, capture_output=True,
                       timeout=60)
    t.expect(r.returncode == 1 and b"more than the broker at 'nats://" in r.stderr
             and b"raise max_payload in its configuration, or run without --broker" in r.stderr,
             "exit 1, naming the broker's limit and what to change", r)
    t.equal(server.streams(), REGISTRY_ONLY, "streams left after the run (the registry only)")
    # The dry-run validator finds it first.
    c = subprocess.run([t.flowrun, "check", "big.flow", "--broker", server.url], cwd=t.dir, capture_output=True,
                       timeout=60)
    t.expect(c.returncode == 1 and b"raise max_payload in its configuration" in c.stderr,
             "check --broker: exit 1 and the same reason", c)
    small = subprocess.run([t.flowrun, "check", "-e", 'seq(1, 10) | map { $0 } * 2 | count | write("-")',
                            "--broker", server.url], cwd=t.dir, capture_output=True, timeout=60)
    t.equal((small.returncode, small.stderr), (0, b""), "check --broker of a program that fits")
    local = subprocess.run([t.flowrun, "run", "big.flow"], cwd=t.dir, capture_output=True, timeout=60)
    t.equal((local.returncode, local.stdout), (0, b"10\n"), "the same program without --broker")


@contextlib.contextmanager
def limited_flowrun(t, test_name):
    """Yields (prlimit, flowrun, as_nobody) to run flowrun under a process
    limit, or None, having said why the test is skipped. Root is exempt
    from RLIMIT_NPROC: as root, flowrun runs as nobody (`as_nobody`, a
    preexec_fn), from a copy that nobody may run (the build directory may
    be in a home that nobody may not enter, as CI's /root)."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        print(f"     {test_name}: skipped, prlimit is not installed")
        yield None
        return
    shared = tempfile.mkdtemp(prefix="flowrun-nobody-")
    try:
        flowrun, as_nobody = t.flowrun, None
        if os.geteuid() == 0:
            as_nobody = lambda: (os.setgid(65534), os.setuid(65534))  # noqa: E731
            os.chmod(shared, 0o755)
            flowrun = shutil.copy2(t.flowrun, shared)
        try:
            runs = subprocess.run([flowrun, "--version"], capture_output=True, preexec_fn=as_nobody,
                                  cwd="/").returncode
        except OSError as e:
            runs = str(e)
        if runs != 0:
            print(f"     {test_name}: skipped, nobody cannot run flowrun: {runs}")
            yield None
            return
        yield prlimit, flowrun, as_nobody
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@test
def a_worker_offers_only_the_slots_its_process_limit_holds(t):
    """A worker whose process limit (RLIMIT_NPROC = 40, which counts
    threads) cannot hold its --slots 100 (an instance on a broker takes
    about 11 tasks): it offers 2 and says why, and the run placed on it
    goes through. Before, the instances past the limit failed (their
    threads refused: 'pthread_create error: 11', blamed on the broker), and
    so did every run placed on the worker."""
    with limited_flowrun(t, "a_worker_offers_only_the_slots_its_process_limit_holds") as found:
        if found is not None:
            worker_within_limits(t, *found)


@test
def a_run_past_the_process_limit_says_so_before_it_starts(t):
    """`map * 8` on a broker with no worker to take any: 8 replicas here of
    about 11 tasks each, past RLIMIT_NPROC = 60 (which counts threads).
    `check --broker` says so, and the run stops with the same reason before
    its replicas start. Before, `check` found nothing wrong (it counted 13
    processes), and the run failed with 'pthread_create error: 11' and
    'cannot use the NATS library: system Error', blamed on the broker."""
    with limited_flowrun(t, "a_run_past_the_process_limit_says_so_before_it_starts") as found:
        if found is None:
            return
        prlimit, flowrun, as_nobody = found
        home = tempfile.mkdtemp(prefix="flowrun-nobody-home-")  # (the JIT's cache)
        os.chmod(home, 0o777)
        server = Server(NATS_SERVER)
        try:
            program = 'seq(1, 1000) | map { $0 } * 8 | count | write("-")'

            def under(nproc, command):
                return subprocess.run([prlimit, f"--nproc={nproc}", flowrun, command, "-e", program, "--broker",
                                       server.url], cwd="/", capture_output=True, preexec_fn=as_nobody, timeout=60,
                                      env=dict(os.environ, HOME=home))
            for command in ("check", "run"):
                r = under(60, command)
                t.expect(r.returncode == 1 and b"flowrun: error: the run needs about " in r.stderr and
                         b"the limit for this user is 60 (RLIMIT_NPROC" in r.stderr and
                         b"pthread_create" not in r.stderr and b"NATS library" not in r.stderr,
                         f"{command}: exit 1, saying why, and nothing else", r)
            t.equal(server.streams(), 0, "streams left on the broker")
            r = under(400, "run")
            t.equal((r.returncode, r.stdout), (0, b"1000\n"), f"with room for them, the run goes through: {r.stderr!r}")
        finally:
            server.stop()
            shutil.rmtree(home, ignore_errors=True)


def worker_within_limits(t, prlimit, flowrun, as_nobody):
    server = Server(NATS_SERVER)
    worker = None
    try:
        with open(t.path("worker.log"), "wb") as f:
            worker = subprocess.Popen([prlimit, "--nproc=40", flowrun, "worker", "--broker", server.url,
                                       "--slots", "100"], cwd="/", stdout=subprocess.DEVNULL, stderr=f,
                                      preexec_fn=as_nobody)
        wait_until(lambda: b" slots, at " in t.read("worker.log"), "the worker to register")
        said = t.read("worker.log")
        t.expect(b"flowrun worker: warning: 2 slots, not 100: the limit for this user (RLIMIT_NPROC = 40, " in said
                 and b"leaves room for 2 instances of about 11 tasks each" in said, f"the warning: {said!r}")
        t.equal(t.ok('seq(1, 400) | sleep(1ms) * auto | count | write("-")', "--broker", server.url), b"400\n",
                "a run that widens to the worker's slots")
        t.expect(b"joined run" in t.read("worker.log"), "the worker took part")
        # None of its slots left: an error, not a worker that fails every run.
        r = subprocess.run([prlimit, "--nproc=5", flowrun, "worker", "--broker", server.url], cwd="/",
                           capture_output=True, preexec_fn=as_nobody, timeout=30)
        t.expect(r.returncode == 1 and b"flowrun: error: this worker has no room for a stage instance: the limit "
                 b"for this user (RLIMIT_NPROC = 5" in r.stderr, "no room at all: exit 1, saying why", r)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait()
        server.stop()


def comm_of(pid):
    """The name a process goes by (the runtime names its own), or None."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def instances_of(worker_pid, stage):
    """The live instances of `stage` ("sleep#2") under a worker: its parts'
    children, named by the runtime."""
    return [pid for part in children_of(worker_pid) for pid in children_of(part)
            if re.fullmatch(re.escape(stage) + r"#\d+", comm_of(pid) or "")]


def spare_parts(worker_pid):
    """The `flowrun worker-part` children of a worker that wait for a run
    (started ahead, runtime/worker_daemon.cc)."""
    found = []
    for pid in children_of(worker_pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"worker-part" in f.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            pass
    return found


@test
@with_workers(1)
def each_run_finds_its_part_started_ahead(t, server, workers):
    pid = workers.procs[0].pid
    wait_until(lambda: len(spare_parts(pid)) == 1, "the worker to start a part ahead")
    first = spare_parts(pid)[0]
    program = 'seq(1, 2000) | map { $0 + "x" } * 2 | write("out.txt")'
    want = sorted(f"{i}x" for i in range(1, 2001))
    r = t.run(program, "--broker", server.url)
    t.expect(r.returncode == 0, f"a run with the part started ahead: exit {r.returncode}, {r.stderr[:300]!r}")
    t.equal(sorted(lines(t.read("out.txt"))), want, "its records")
    # The one started ahead ran the part; the next is ready once it ended.
    t.expect(first not in spare_parts(pid), "the part started ahead took the run")
    wait_until(lambda: len(spare_parts(pid)) == 1, "a new part started ahead after the run")
    # One that died waiting is replaced when the next run comes.
    os.kill(spare_parts(pid)[0], signal.SIGKILL)
    r = t.run(program, "--broker", server.url)
    t.expect(r.returncode == 0, f"a run after the part started ahead died: exit {r.returncode}, {r.stderr[:300]!r}")
    t.equal(sorted(lines(t.read("out.txt"))), want, "its records")
    t.expect(workers.log(0).count(b"joined run") == 2, "the worker took part in both runs")


@test
@with_workers(2)
def a_run_takes_the_slots_other_runs_left(t, server, workers):
    # While a run holds all 4 slots, another is placed on this machine; once
    # it is over, the slots are free again.
    other = 'seq(1, 10) | map { $0 } * 4 | count | write("-")'

    def map_row():
        r = subprocess.run([t.flowrun, "check", "-e", other, "--broker", server.url], cwd=t.dir,
                           capture_output=True, text=True, timeout=30)
        return next(line for line in r.stdout.splitlines() if line.strip().startswith("map "))
    rows = []

    def mid_run(pid):
        wait_until(lambda: all(b"joined run" in workers.log(i) for i in range(2)), "both workers to join the run")
        rows.append(map_row())
    code, err = run_fed(t, 'read("in.fifo") | map { $0 } * 4 | count | write("-")', ["--broker", server.url], 1000,
                        mid_run)
    t.expect(code == 0, f"the first run: exit {code}, {err[:300]!r}")
    t.expect("worker " not in rows[0] and "this machine" in rows[0],
             f"the slots taken: all 4 here: {rows[0]}")
    after = map_row()
    t.expect(after.count(" x2") == 2, f"once it is over, 2 on each worker again: {after}")


@test
@with_workers(2)
def a_poison_record_is_dead_lettered_on_the_origin(t, server, workers):
    # A dead-letter stage stays on the origin (the file is its); the others move.
    program = 'seq(1, 20) | map { $0 } * 2 | map { int(replace($0, "7", "x")) } [on_error = dead_letter] | write("-")'
    r = t.run(program, "--broker", server.url, "--dead-letter", "dl.txt")
    t.equal(r.returncode, 0, "exit code")
    t.equal(sorted(lines(r.stdout)), sorted(str(i) for i in range(1, 21) if "7" not in str(i)), "the good records")
    letters = sorted(line.split("\t")[-1] for line in lines(t.read("dl.txt")))
    t.equal(letters, ["17", "7"], "the poison records, dead-lettered with their reason")
    t.expect(b"wrote 2 records that failed to 'dl.txt'" in r.stderr, "the report", r)


@test
@with_workers(2)
def the_workers_log_lines_reach_the_origin(t, server, workers):
    # The 4 slots take every exec instance; what they write to stderr is
    # shown on the origin, once, with the worker's host in the prefix.
    r = t.run('seq(1, 8) | exec("echo line-{} >&2; echo {}") * 4 | write("-")', "--broker", server.url)
    t.expect(r.returncode == 0, "exit code 0", r)
    t.equal(sorted(lines(r.stdout), key=int), [str(i) for i in range(1, 9)], "the records")
    host = socket.gethostname()
    shown = [line for line in r.stderr.decode().splitlines() if "line-" in line]
    t.equal(sorted(line.split("] ", 1)[1] for line in shown), sorted(f"line-{i}" for i in range(1, 9)),
            "each line once")
    t.expect(all(re.match(rf"\[exec#\d@{re.escape(host)}\] line-\d$", line) for line in shown),
             "prefixed with the instance and the worker's host", r)


@test
@with_workers(2)
def progress_shows_what_the_workers_do(t, server, workers):
    # Every sleep instance is on a worker: its counters reach the origin's
    # progress line with the part's beats, while the run goes on.
    master, slave = pty.openpty()
    p = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 120) | sleep(50ms) * 4 | count | write("-")', "--progress",
                          "--broker", server.url], cwd=t.dir, stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL)
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    out, _ = p.communicate(timeout=60)
    os.close(master)
    t.equal((p.returncode, out), (0, b"120\n"), "the run")
    counts = [int(n.replace(b",", b"")) for n in re.findall(rb"sleep\s+x4\s+[\d,]+ rec/s\s+in\s+([\d,]+)", screen)]
    t.expect(any(0 < n < 120 for n in counts), f"sleep's records in, counted on the workers, mid-run: {counts}")


@test
@with_workers(2, slots=1)
def a_record_that_kills_its_workers_goes_to_on_error(t, server, workers):
    # The exec kills its worker on record 3, on whichever machine takes it.
    # Its batch comes back after each ack wait (5 s), to the same machine,
    # whose recovery book counts the deaths, or to the other, where the
    # broker's MaxDeliver counts them and the origin takes the batch out on
    # the advisory (runtime/poison_watch.h). Either way, after [retries] + 1
    # deaths it is skipped, and nothing else is lost or doubled. With
    # [ordered], the rest comes exactly in order: the position of a batch
    # taken out is marked skipped (BrokerOrderGate::Skip), or the dying
    # machine's book skips the record and passes the turn itself.
    #
    # Record 3's command waits 0.3 s before it kills: an instance that takes
    # it finishes its previous lease meanwhile (an exec's leases are
    # finished in the background, their outputs out and acknowledged while
    # the next runs). Killed at once, that previous batch, innocent, was
    # handed back too, and two such deaths used up its deliveries: the
    # broker gave up on it, and its record was skipped as poison (lost, if
    # neither attempt had published it): 3 runs in 40 under ASan on busy
    # cores. docs/distributed.md, Known problems.
    for options in ("", "ordered, "):
        program = ('seq(1, 6) | exec("if [ {} = 3 ]; then sleep 0.3; kill -9 $PPID; sleep 5; fi; echo {}") * 2 '
                   f'[{options}retries = 0, on_error = skip] | write("-")')
        r = t.run(program, "--broker", server.url, timeout=90)
        t.expect(r.returncode == 0, f"{options}exit code 0", r)
        got = lines(r.stdout) if options else sorted(lines(r.stdout))
        t.equal(got, ["1", "2", "4", "5", "6"], f"{options}every other record, once")
        t.expect(b"skipped 1 record" in r.stderr, f"{options}the skip is reported", r)


@test
@with_workers(2, slots=1, env={"KILL_MY_WORKER": "1"})
def a_record_that_kills_ordered_replicas_on_two_machines_is_skipped_in_order(t, server, workers):
    # Record 3 kills its worker's part there (its instance's parent: field 4
    # of the instance's /proc stat; the origin takes the part's instances
    # over), and its instance here: two deliveries on two machines,
    # no book saw both, so the broker's MaxDeliver (2 with [retries = 0])
    # ends it, and the origin takes the batch out on the advisory and marks
    # its position skipped (BrokerOrderGate::Skip): the turns go on past it.
    kill = ("if [ {} = 3 ]; then if [ ${KILL_MY_WORKER:-0} = 1 ]; then kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); "
            "else kill -9 $PPID; fi; sleep 5; fi; echo {}")
    program = f'seq(1, 6) | exec("{kill}") * 2 [ordered, retries = 0, on_error = skip] | write("-")'
    r = t.run(program, "--broker", server.url, timeout=90)
    t.expect(r.returncode == 0, "exit code 0", r)
    t.equal(lines(r.stdout), ["1", "2", "4", "5", "6"], "every other record, once, in order")
    # Its worker outlives the part, and hands back what it held (the batch
    # of record 3, its delivery counted): the origin need not wait for it.
    t.expect(b"ended its part of the run and handed back what it held; its instances run here now: 1 of 'exec'"
             in r.stderr, "the part's end is reported", r)
    t.expect(b"skipped 1 record" in r.stderr, "the skip is reported", r)


@test
def a_worker_needs_a_broker(t):
    r = subprocess.run([t.flowrun, "worker"], cwd=t.dir, capture_output=True, timeout=30)
    t.equal(r.returncode, 2, "exit code")
    t.expect(b"give --broker nats://HOST:PORT" in r.stderr, "the message", r)
    r = subprocess.run([t.flowrun, "worker", "--broker", "nats://127.0.0.1:1"], cwd=t.dir, capture_output=True,
                       timeout=30)
    t.equal(r.returncode, 1, "an unreachable broker: exit code")
    t.expect(b"cannot reach the broker at 'nats://127.0.0.1:1'" in r.stderr, "the message", r)
    # One without JetStream: said so, as `run` and `check` say it (the
    # worker said "cannot open the bucket 'flowrun_workers': no responders
    # available for request").
    server = Server(NATS_SERVER, jetstream=False)
    try:
        r = subprocess.run([t.flowrun, "worker", "--broker", server.url], cwd=t.dir, capture_output=True, timeout=30)
    finally:
        server.stop()
    t.equal(r.returncode, 1, "a broker without JetStream: exit code")
    t.expect(f"JetStream is not enabled on the broker at '{server.url}' (start nats-server with -js)".encode()
             in r.stderr, "the message", r)


if __name__ == "__main__":
    NATS_SERVER = find_server()
    if not NATS_SERVER:
        print("skipped: nats-server is not installed (apt-get install nats-server)")
        sys.exit(0)
    main()
