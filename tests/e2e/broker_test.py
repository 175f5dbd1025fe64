"""`flowrun run --broker nats://HOST:PORT` end to end (issue 8, step 1):
every edge on NATS JetStream, the workers on this machine. The outputs
must be those of the local run (as multisets; exactly with [ordered]),
tee, merge and head(n) behave as locally, an unreachable broker is a clear
error without credentials, two runs share one broker, and no stream is
left on the broker after a run (read from the server's monitoring port).
Then security and `check --broker` (issue 8, items 5 and 6): a wrong token
or password is a clear error that shows neither, TLS with a CA and a
client certificate (made with openssl at test time), files that cannot be
used, and the plan `check --broker` prints.

Starts its own nats-servers on free loopback ports and stops them; skipped,
with the reason printed, when nats-server is not installed.
usage: python3 broker_test.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, Feed, children_of, main, run_fed, still_running, test, wait_until  # noqa: E402
from nats_auth import have_credentials_maker, make_certificates, make_credentials  # noqa: E402
from nats_server import Server, find_server, free_port  # noqa: E402

MAIN = 'seq(1, 100000) | map { $0 + "x" } * 3 | filter { len($0) % 2 == 0 } * 2 | write("out.txt")'


SERVER = None
NATS_SERVER = None  # the binary, for the tests that start a server of their own


def lines(data):
    return data.decode("utf-8", "surrogateescape").splitlines()


def on_broker(t, program, *args, timeout=60):
    """Runs with --broker and requires exit 0, an empty stderr and no stream
    left on the broker afterwards; returns stdout."""
    out = t.ok(program, "--broker", SERVER.url, *args, timeout=timeout)
    t.equal(SERVER.streams(), 0, f"streams left on the broker after {program!r}")
    return out


@test
def same_multiset_as_local(t):
    t.ok(MAIN)
    local = sorted(lines(t.read("out.txt")))
    t.equal(len(local), 90909, "the local run's records")
    os.remove(t.path("out.txt"))
    on_broker(t, MAIN)
    t.equal(sorted(lines(t.read("out.txt"))), local, "the records through the broker")


@test
def ordered_exactly_in_order(t):
    body = '{ fmt("{} {}", $0, hash($0) % 1000) }'
    serial = t.ok(f'seq(1, 20000) | map {body}')
    for width in (2, 3):
        out = on_broker(t, f'seq(1, 20000) | map {body} * {width} [ordered]')
        t.expect(out == serial, f"map * {width} [ordered] through the broker gives the serial output")


@test
def records_larger_than_a_message_keep_their_place_in_order(t):
    """Records larger than the broker's largest message (1 MiB here) travel
    in pieces, kept in the run's bucket: the edge's stream holds batches
    only, and an [ordered] stage's positions stay its stream sequences."""
    records = []
    for i in range(60):
        records.append(f"{i}:" + ("abcdefghij"[i % 10] * (2_500_000 + i) if i % 12 == 5 else "small"))
    t.write("in.txt", "".join(r + "\n" for r in records))
    out = on_broker(t, 'read("in.txt") | map { $0 + "!" } * 3 [ordered] | write("-")', timeout=120)
    t.expect(out == "".join(r + "!\n" for r in records).encode(), f"every record, in order ({len(out)} bytes)")


@test
def tee_and_merge(t):
    on_broker(t, 'seq(1, 5000) | tee(map { "b" + $0 } | write("branch.txt")) | map { "a" + $0 } | write("main.txt")')
    t.equal(sorted(lines(t.read("main.txt"))), sorted(f"a{i}" for i in range(1, 5001)), "tee's main line")
    t.equal(sorted(lines(t.read("branch.txt"))), sorted(f"b{i}" for i in range(1, 5001)), "tee's branch")
    t.write("words.txt", "one\ntwo\n")
    out = on_broker(t, 'merge(seq(1, 3000), lines("x\\ny"), read("words.txt") | map { upper($0) }) | write("-")')
    want = [str(i) for i in range(1, 3001)] + ["x", "y", "ONE", "TWO"]
    t.equal(sorted(lines(out)), sorted(want), "merge: every record of every input")


@test
def head_ends_an_endless_source(t):
    out = on_broker(t, 'seq() | map { $0 } | head(5)', timeout=30)
    t.equal(out, b"1\n2\n3\n4\n5\n", "seq() | map | head(5)")
    out = on_broker(t, 'seq() | map { $0 } * 2 | head(5)', timeout=30)
    got = lines(out)
    t.expect(len(got) == 5 and len(set(got)) == 5 and all(x.isdigit() for x in got),
             f"seq() | map * 2 | head(5): five distinct records, got {got!r}")
    out = on_broker(t, 'merge(seq(), seq(1, 10)) | head(20) | count', timeout=30)
    t.equal(out, b"20\n", "merge of an endless source, cancelled")


@test
def unreachable_broker_is_a_clear_error(t):
    port = free_port()  # nobody listens there
    began = time.monotonic()
    r = t.run('seq(1, 3) | write("-")', "--broker", f"nats://alice:s3cret@127.0.0.1:{port}", timeout=30)
    t.expect(r.returncode in (1, 2), "exit 1 or 2 when the broker does not answer", r)
    err = r.stderr.decode()
    t.expect(f"cannot reach the broker at 'nats://***@127.0.0.1:{port}'" in err, "the message names the URL", r)
    t.expect("s3cret" not in err and "alice" not in err, "no credentials in the message", r)
    t.expect(r.stdout == b"", "nothing ran", r)
    t.expect(time.monotonic() - began < 15, "no long wait for an absent broker")


@test
def ctrl_c_while_the_broker_does_not_answer(t):
    # A listener that takes connections and never speaks: the keeper waits
    # for the broker's greeting until its timeout (2 s). A Ctrl-C (or a
    # SIGTERM) meanwhile ends the run at once, as before any worker started.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"nats://127.0.0.1:{silent.getsockname()[1]}"
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            began = time.monotonic()
            run = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 30) | map { $0 } | write("out.txt")', "--broker", url],
                                   cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.3)
            run.send_signal(sig)
            try:
                _, err = run.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()
                raise Failure(f"a run interrupted while its broker does not answer did not end ({sig.name})")
            took = time.monotonic() - began
            t.expect(took < 1.5, f"{sig.name} ended the run at once, not after the timeout: it took {took:.2f} s, "
                                 f"exit {run.returncode}, {err[:300]!r}")
            t.expect(run.returncode in (-sig, 128 + sig), f"{sig.name}: ended by it, exit {run.returncode}, {err[:300]!r}")
            t.expect(not os.path.exists(t.path("out.txt")), f"{sig.name}: nothing ran")
    finally:
        silent.close()


@test
def two_runs_share_one_broker(t):
    cmd = lambda out: [t.flowrun, "run", "-e", MAIN.replace("out.txt", out), "--broker", SERVER.url]
    runs = [subprocess.Popen(cmd(name), cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for name in ("a.txt", "b.txt")]
    for r in runs:
        try:
            _, err = r.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            r.kill()
            raise Failure("a run on a shared broker timed out (a hang?)")
        t.expect(r.returncode == 0 and err == b"", f"a run on a shared broker: exit {r.returncode}, {err[:500]!r}")
    a, b = sorted(lines(t.read("a.txt"))), sorted(lines(t.read("b.txt")))
    t.equal(len(a), 90909, "the first run's records")
    t.equal(a, b, "both runs give the same records")
    t.equal(SERVER.streams(), 0, "streams left after two runs")


@test
def edges_between_stages_on_the_origin_are_local(t):
    # count, sort and write stay on the origin: their two edges are shared
    # memory there, only seq -> sleep and sleep -> count are streams.
    run = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 40) | sleep(20ms) * 2 | count | sort | write("-")',
                            "--broker", SERVER.url], cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = set()
    while run.poll() is None:
        seen.update(name.rsplit("_", 1)[-1] for name in SERVER.stream_names() if name.startswith("FLOW_"))
        time.sleep(0.02)
    out, err = run.communicate()
    t.expect(run.returncode == 0 and err == b"", f"exit {run.returncode}, {err[:500]!r}")
    t.equal(out, b"40\n", "the count")
    t.equal(sorted(seen), ["E0", "E1"], "the run's streams")
    t.equal(SERVER.streams(), 0, "streams left")


def workers_named(pid, prefix):
    found = []
    for child in children_of(pid):
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().startswith(prefix):
                    found.append(child)
        except OSError:
            pass  # ended meanwhile
    return found


def kill_a_map_mid_run(t, program, n):
    """Runs `program` on the shared server, reading "in.fifo" fed with the
    numbers 1..n in two halves, and SIGKILLs a 'map' worker between them.
    (exit code, stderr)."""
    def kill(pid):
        wait_until(lambda: workers_named(pid, "map"), "a 'map' worker mid-run")
        os.kill(workers_named(pid, "map")[0], signal.SIGKILL)
    return run_fed(t, program, ["--broker", SERVER.url], n, kill, timeout=60)


@test
def a_killed_worker_loses_and_doubles_nothing(t):
    # Its batches come back after the ack wait (5 s) to its replacement or
    # a sibling; what it had published of them is not published again.
    code, err = kill_a_map_mid_run(t, 'read("in.fifo") | map { $0 + "x" } * 3 | write("out.txt")', 300000)
    t.expect(code == 0, f"exit 0 after a worker's death, got {code}: {err[:500]!r}")
    t.expect(b"1 worker was replaced after dying" in err, f"the replacement is reported: {err[:500]!r}")
    got = lines(t.read("out.txt"))
    t.equal(len(got), 300000, "records written (none lost, none twice)")
    t.equal(sorted(got), sorted(f"{i}x" for i in range(1, 300001)), "every record once")
    t.equal(SERVER.streams(), 0, "streams left after the run")


def connected_to(pid, port):
    """Whether process `pid` holds an established TCP connection to `port`."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        with open(f"/proc/{pid}/net/tcp") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return False  # ended meanwhile
    return any(int(c[2].split(":")[1], 16) == port and c[3] == "01" and c[9] in inodes
               for c in (row.split() for row in rows))


def run_while_the_broker_fails(t, server, records, fail, timeout):
    """Runs `read | map * 2 | write` fed `records` numbers from a FIFO that
    stays open, calls `fail()` once the map replicas run (both connected to
    the broker: the source reads as soon as the run is made, before they
    start), and returns the run's (exit code, stderr text, seconds from the
    failure to its end, its workers left running)."""
    feed = Feed(t, "in.fifo", b"".join(b"%d\n" % i for i in range(1, records + 1)), b"")
    p = subprocess.Popen([t.flowrun, "run", "-e", 'read("in.fifo") | map { $0 + "x" } * 2 | write("out.txt")',
                          "--broker", server.url], cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        maps_connected = lambda: [connected_to(m, server.port) for m in workers_named(p.pid, "map")] == [True, True]
        wait_until(lambda: feed.first_written.is_set() and maps_connected(), "the run under way")
        workers = children_of(p.pid)
        fail()
        started = time.monotonic()
        _, err = p.communicate(timeout=timeout)
        took = time.monotonic() - started
    finally:
        feed.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, err.decode(errors="replace"), took, still_running(workers)


@test
def a_broker_lost_mid_run_fails_the_run_clearly(t):
    """The broker shuts down while records flow: the workers wait for it
    (10 s, the link's broker wait), then the run stops with a message naming
    it, never hangs, and leaves no worker and no output file behind."""
    server = own_server()
    try:
        code, text, took, left = run_while_the_broker_fails(t, server, 20000, server.stop, 60)
    finally:
        server.stop()
    t.equal(code, 1, f"exit code (stderr: {text[:600]!r})")
    t.expect(f"lost the broker at '{server.url}'" in text, f"the message names the broker: {text[:600]!r}")
    t.expect(took < 45, f"the run stopped in bounded time, took {took:.1f} s")
    t.expect(not os.path.exists(t.path("out.txt")), "no output file")
    t.equal(left, [], "workers left")


@test
def a_broker_that_stops_answering_fails_the_run_clearly(t):
    """The broker stops answering (SIGSTOP) while every connection to it
    stays up: no call notices a lost connection, so each wait for an answer
    must be bounded on its own. The run stops with a message naming the
    broker, never hangs, and leaves no worker behind."""
    server = own_server()
    try:
        code, text, took, left = run_while_the_broker_fails(
            t, server, 2000, lambda: server.proc.send_signal(signal.SIGSTOP), 90)
    finally:
        server.proc.send_signal(signal.SIGCONT)
        server.stop()
    t.equal(code, 1, f"exit code (stderr: {text[:600]!r})")
    # An instance in the middle of a request when the broker stopped (its
    # edges being opened) says that request timed out; the others, waiting
    # for batches, that the broker has not answered.
    said = (f"the broker at '{server.url}' has not answered for more than 10000 ms" in text or
            (f"'{server.url}'" in text and ": timeout" in text))
    t.expect(said, f"the message names the broker and says why: {text[:600]!r}")
    t.expect(took < 60, f"the run stopped in bounded time, took {took:.1f} s")
    t.equal(left, [], "workers left")


@test
def a_broker_back_within_the_wait_loses_nothing(t):
    """The broker restarts (a second down) while records flow: every process
    reconnects within the link's wait, pulls again and publishes again what
    it had not seen stored; the run ends well, each record once."""
    server = own_server()
    n = 20000
    feed = Feed(t, "in.fifo", b"".join(b"%d\n" % i for i in range(1, n // 2 + 1)),
                b"".join(b"%d\n" % i for i in range(n // 2 + 1, n + 1)))
    p = subprocess.Popen([t.flowrun, "run", "-e", 'read("in.fifo") | map { $0 + "x" } * 2 | write("out.txt")',
                          "--broker", server.url], cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Every process connected (the keeper, read, 2 maps, write): the
        # outage is met mid-run, not at a worker's start.
        wait_until(lambda: feed.first_written.is_set() and server.connections() >= 5, "the run under way")
        server.restart(1.0)
        feed.resume()
        _, err = p.communicate(timeout=120)
    finally:
        feed.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
        server.stop()
    t.equal(p.returncode, 0, f"exit code (stderr: {err[:600]!r})")
    got = lines(t.read("out.txt"))
    t.equal(len(got), n, "records written (none lost, none twice)")
    t.equal(sorted(got), sorted(f"{i}x" for i in range(1, n + 1)), "every record once")


@test
def a_killed_ordered_replica_is_replaced_and_the_order_kept(t):
    """On a broker, a dead [ordered] replica's batch comes back after the ack
    wait at the place it had (its stream sequence: runtime/broker_order_gate.h),
    to the replacement, which asks only once it is back: every record once,
    exactly in input order."""
    n = 100000
    code, err = kill_a_map_mid_run(t, 'read("in.fifo") | map { $0 + "x" } * 3 [ordered] | write("out.txt")', n)
    t.expect(code == 0, f"exit 0 after a worker's death, got {code}: {err[-500:]!r}")
    t.expect(b"1 worker was replaced after dying" in err, f"the replacement is reported: {err[-500:]!r}")
    got = lines(t.read("out.txt"))
    want = [f"{i}x" for i in range(1, n + 1)]
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    t.expect(got == want, f"every record once, in input order: {len(got)} lines, the first wrong at {first}: "
                          f"{got[max(0, first - 3):first + 3]}")
    t.equal(SERVER.streams(), 0, "streams left after the run")


@test
def the_trace_names_each_ordered_lease_s_position(t):
    """FLOWRUN_TRACE (runtime/trace.h) names the position of each [ordered]
    lease as it is taken and as its turn comes (bench/trace_leases.py and
    the investigation of a dead machine's positions read them): each
    position once, the turns in order. The lease finisher's thread writes a
    turn after the lease's iteration is over: under ASan, a position it
    read by reference there was a stack use after scope."""
    out = t.ok('seq(1, 200) | sleep(1ms) * 3 [ordered] | write("-")', "--broker", SERVER.url,
               env={"FLOWRUN_TRACE": t.path("trace")})
    t.equal(lines(out), [str(i) for i in range(1, 201)], "the records, in order")
    events = sorted((line.split(b" ", 2) for line in t.read("trace").splitlines()), key=lambda e: int(e[0]))

    def positions(what):
        pattern = re.compile(rb"instance sleep#\d+ " + what + rb" (\d+)")
        return [int(m.group(1)) for m in (pattern.fullmatch(e[2]) for e in events) if m]
    t.equal(sorted(positions(b"lease")), list(range(200)), "each position taken once (one record a batch)")
    t.equal(positions(b"turn"), list(range(200)), "the turns, in order")
    t.equal(SERVER.streams(), 0, "streams left after the run")


@test
def a_killed_replica_s_batches_run_again_at_once(t):
    """A replica SIGKILLed mid-lease (here by the command of its record 50,
    once): its replacement hands back what the dead one had fetched
    (runtime/hand_back_book.h), so record 50 runs again at once, not after
    the edge's ack wait (the [timeout] of 20 s). Before,
    such a run took 42 s; now about 2. With and without [ordered].

    Records of uneven lengths (10 to 50 ms), whose instances do not ask
    ahead for the next (runtime/lease_pace.h): until the heartbeat noted
    an ask's answer as it came, a kill found it unnoted (with 10 ms each,
    the run took the ack wait 1 time in 6 on a loaded machine);
    a_replica_killed_after_it_asked_ahead_loses_no_ack_wait tests that."""
    for options in ("", ", ordered"):
        kill_once = f"if [ {{}} = 50 ] && mkdir killed{len(options)} 2>/dev/null; then kill -9 $PPID; sleep 5; fi"
        program = (f'seq(1, 300) | exec("{kill_once}; n={{}}; sleep 0.0$((n % 5 + 1)); echo {{}}") * 4 '
                   f'[timeout = 20s{options}] | write("-")')
        run_losing_a_replica(t, program, 300, options, 15, "the ack wait (20 s)")
    t.equal(SERVER.streams(), 0, "streams left after the run")


def run_losing_a_replica(t, program, records, options, within_s, ack_wait):
    """Runs `program`, whose command kills one replica once, on the test
    server: every one of `records` records once (in order with [ordered]),
    the replacement reported, the run over within `within_s`."""
    start = time.monotonic()
    r = subprocess.run([t.flowrun, "run", "-e", program, "--broker", SERVER.url], cwd=t.dir, capture_output=True,
                       timeout=120)
    took = time.monotonic() - start
    t.equal(r.returncode, 0, f"{options}exit code ({r.stderr[-500:]!r})")
    t.expect(b"1 worker was replaced after dying" in r.stderr,
             f"{options}the replacement is reported: {r.stderr[-500:]!r}")
    got = lines(r.stdout)
    want = [str(i) for i in range(1, records + 1)]
    t.equal(got if options else sorted(got, key=int), want, f"{options}every record once")
    t.expect(took < within_s, f"{options}the run took {took:.1f} s, less than {ack_wait}")


@test
def a_replica_killed_after_it_asked_ahead_loses_no_ack_wait(t):
    """A replica whose leases keep a steady pace asks for its next batch
    before its lease ends (runtime/lease_pace.h); the answer came while it
    worked and waited, unread and unnoted, until the lease ended, so a kill
    in that moment left the batch to its ack wait (here the [timeout] of
    6 s). Now the heartbeat notes the answer as it comes (NatsQueue::
    NoteAnswersDue), and the replacement hands it back at once.

    Each replica's records take 190 and 210 ms in turn (its own count, in a
    file named after it): a pace steady enough to ask ahead, some 30-50 ms
    before each lease's end. Record 21's command kills its replica 180 ms
    in, after that ask. Before: 7.4 s in 5 runs of 5 (8.5 s [ordered], 3 of
    3); now about 2.2 s."""
    for options in ("", ", ordered"):
        kill_once = (f"if [ {{}} = 21 ] && mkdir killed{len(options)} 2>/dev/null; then sleep 0.18; kill -9 $PPID; "
                     "sleep 5; fi")
        in_turn = "c=$(cat n.$PPID 2>/dev/null || echo 0); echo $((c + 1)) > n.$PPID; sleep 0.$((19 + c % 2 * 2))"
        program = f'seq(1, 40) | exec("{kill_once}; {in_turn}; echo {{}}") * 4 [timeout = 6s{options}] | write("-")'
        run_losing_a_replica(t, program, 40, options, 5, "the ack wait (6 s)")
    t.equal(SERVER.streams(), 0, "streams left after the run")


@test
def a_record_slower_than_the_ack_wait_runs_once(t):
    """A record that takes longer than its edge's ack wait (5 s) stays with
    the replica working on it (InProgress heartbeats): the idle sibling
    never gets it, so its side effect happens once."""
    out = on_broker(t, 'seq(1, 1) | exec("echo {} >> side.txt; sleep 5.6; echo {}") * 2')
    t.equal(out, b"1\n", "the output")
    t.equal(t.read("side.txt"), b"1\n", "the command ran once")



@test
def an_ordered_record_slower_than_the_ack_wait_keeps_the_order(t):
    """Record 3 takes longer than the ack wait (5 s) plus 250 ms: its
    siblings, each holding later positions and waiting for its turn, take
    one more lease each then (runtime/worker.cc, "one more"), as they would
    for a dead replica's position. Nothing runs twice, and the order holds."""
    program = 'seq(1, 30) | exec("echo {} >> side.txt; if [ {} = 3 ]; then sleep 6; fi; echo {}") * 3 [ordered]'
    out = on_broker(t, program)
    t.equal(lines(out), [str(i) for i in range(1, 31)], "the output, in order")
    t.equal(sorted(lines(t.read("side.txt")), key=int), [str(i) for i in range(1, 31)], "each command ran once")

def check(t, program, *args, timeout=30):
    """flowrun check -e PROGRAM ARGS..., in the scratch directory."""
    try:
        return subprocess.run([t.flowrun, "check", "-e", program, *args], cwd=t.dir, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"check timed out after {timeout} s (a hang?): {program!r}") from e


def shows_none(t, r, secrets, what):
    """Neither stdout nor stderr of `r` holds any of `secrets`."""
    for secret in secrets:
        t.expect(secret.encode() not in r.stdout and secret.encode() not in r.stderr,
                 f"{what}: {secret!r} is not shown", r)


def own_server(*extra, jetstream=True):
    return Server(NATS_SERVER, *extra, jetstream=jetstream)


@test
def a_wrong_token_or_password_is_a_clear_error(t):
    token, wrong = "r1ght-t0ken-42", "wr0ng-t0ken-42"
    server = own_server("--auth", token)
    try:
        shown = f"'nats://***@127.0.0.1:{server.port}'"
        r = t.run(MAIN, "--broker", f"nats://{wrong}@127.0.0.1:{server.port}", timeout=30)
        t.expect(r.returncode == 1, "exit 1 for a wrong token", r)
        t.expect(f"flowrun: error: the broker at {shown} refused the credentials".encode() in r.stderr,
                 "the message names the broker and says why", r)
        shows_none(t, r, [token, wrong], "a wrong token")
        t.expect(r.stdout == b"" and not os.path.exists(t.path("out.txt")), "nothing ran", r)

        r = t.run(MAIN, "--broker", f"nats://127.0.0.1:{server.port}", timeout=30)
        t.expect(r.returncode == 1 and b"wants credentials" in r.stderr and b"--nats-creds" in r.stderr,
                 "no credentials at all: the message says how to give them", r)

        # The right token: the run works, and the token is in no output.
        url = f"nats://{token}@127.0.0.1:{server.port}"
        r = t.run(MAIN, "--broker", url, "--stats", "stats.json", timeout=60)
        t.expect(r.returncode == 0 and r.stderr == b"", "the run with the right token", r)
        t.equal(len(lines(t.read("out.txt"))), 90909, "records with the right token")
        t.expect(token.encode() not in t.read("stats.json"), "the token is not in --stats")
        t.equal(server.streams(), 0, "streams left after the run with a token")
        r = check(t, MAIN, "--broker", url)
        t.expect(r.returncode == 0 and f"nats://***@127.0.0.1:{server.port}: answered".encode() in r.stdout,
                 "check with the right token", r)
        shows_none(t, r, [token], "check with a token")
    finally:
        server.stop()

    server = own_server("--user", "alice", "--pass", "s3cret-pw")
    try:
        r = t.run('seq(1, 3) | write("-")', "--broker", f"nats://alice:wrong-pw@127.0.0.1:{server.port}")
        t.expect(r.returncode == 1 and b"refused the credentials" in r.stderr, "exit 1 for a wrong password", r)
        shows_none(t, r, ["alice", "wrong-pw", "s3cret-pw"], "a wrong password")
        out = t.ok('seq(1, 3) | map { $0 } * 2 | write("-")', "--broker",
                   f"nats://alice:s3cret-pw@127.0.0.1:{server.port}")
        t.equal(sorted(lines(out)), ["1", "2", "3"], "the run with the right password")
    finally:
        server.stop()


PLACED = 'seq(1, 3) | map { $0 } * 4 | count'


@test
def check_with_a_broker_says_where_each_stage_runs(t):
    began = time.monotonic()
    r = check(t, PLACED, "--broker", SERVER.url)
    t.expect(r.returncode == 0 and r.stderr == b"", "check --broker on a good broker", r)
    out = r.stdout.decode()
    rows = {line.split()[0]: line for line in out.splitlines()[2:6]}
    t.expect("seq#1      this machine (source)" in rows.get("seq", ""), f"seq runs here, a source:\n{out}")
    t.expect("map#1..4   this machine  " in rows.get("map", ""), f"map's 4 instances run here:\n{out}")
    t.expect("this machine (sink)" in rows.get("write", ""), f"write runs here, a sink:\n{out}")
    t.equal(len(re.findall(r"on the broker +64 batches", out)), 2, f"two edges on the broker, 64 batches each:\n{out}")
    t.equal(out.count("count  →  write  in shared memory here"), 1, f"count -> write stays here:\n{out}")
    t.expect("processes     9 (7 stage instances, 1 supervisor, 1 broker keeper)" in out, f"the processes:\n{out}")
    t.expect(f"broker        {SERVER.url}: answered in " in out and "JetStream enabled" in out,
             f"what the broker answered:\n{out}")
    t.expect(time.monotonic() - began < 2, "check --broker is fast")
    t.equal(SERVER.streams(), 0, "check leaves no stream on the broker")
    # The same plan from run --dry-run, but for the round trip and the
    # machine's figures, which move.
    plan = lambda text: re.sub(rb"answered in [^,]*,", b"", text.split(b"\nlimits ")[0])
    dry = subprocess.run([t.flowrun, "run", "-e", PLACED, "--broker", SERVER.url, "--dry-run"], cwd=t.dir,
                         capture_output=True, timeout=30)
    t.expect(dry.returncode == 0 and plan(dry.stdout) == plan(r.stdout), "run --dry-run --broker: the same plan", dry)
    local = check(t, PLACED)
    t.expect(b"runs on" not in local.stdout and b"broker" not in local.stdout, "no placement without --broker",
             local)


@test
def check_with_an_unreachable_broker_fails_clearly(t):
    port = free_port()  # nobody listens there
    began = time.monotonic()
    r = check(t, PLACED, "--broker", f"nats://alice:s3cret@127.0.0.1:{port}")
    t.expect(r.returncode == 1, "exit 1 when the broker does not answer", r)
    t.expect(f"flowrun: error: cannot reach the broker at 'nats://***@127.0.0.1:{port}'".encode() in r.stderr,
             "the message names the URL", r)
    t.expect(b"stages" in r.stdout, "the plan is still printed", r)
    shows_none(t, r, ["alice", "s3cret"], "an unreachable broker")
    t.expect(time.monotonic() - began < 2, "no long wait for an absent broker")


@test
def a_broker_without_jetstream_is_named(t):
    server = own_server(jetstream=False)
    try:
        url = f"nats://127.0.0.1:{server.port}"
        want = f"JetStream is not enabled on the broker at '{url}' (start nats-server with -js)".encode()
        r = check(t, PLACED, "--broker", url)
        t.expect(r.returncode == 1 and want in r.stderr, "check says JetStream is not enabled", r)
        r = t.run(PLACED, "--broker", url, timeout=30)
        t.expect(r.returncode == 1 and want in r.stderr and r.stdout == b"", "run says so too", r)
    finally:
        server.stop()


@test
def tls_with_a_ca_and_a_client_certificate(t):
    openssl = shutil.which("openssl")
    if not openssl:
        print("     tls_with_a_ca_and_a_client_certificate: skipped, openssl is not installed")
        return
    make_certificates(t.dir, openssl)
    # The server verifies clients: a run needs all three files.
    server = own_server("--tlsverify", "--tlscert", t.path("server.pem"), "--tlskey", t.path("server.key"),
                        "--tlscacert", t.path("ca.pem"))
    try:
        url = f"nats://127.0.0.1:{server.port}"
        tls = ["--nats-tls-ca", "ca.pem", "--nats-tls-cert", "client.pem", "--nats-tls-key", "client.key"]
        out = t.ok('seq(1, 5000) | map { $0 + "x" } * 3 | write("-")', "--broker", url, *tls)
        t.equal(sorted(lines(out)), sorted(f"{i}x" for i in range(1, 5001)), "records over TLS")
        t.equal(server.streams(), 0, "streams left after the run over TLS")
        r = check(t, PLACED, "--broker", url, *tls)
        t.expect(r.returncode == 0 and f"{url} (TLS): answered".encode() in r.stdout, "check over TLS", r)

        r = t.run(PLACED, "--broker", url, "--nats-tls-ca", "ca.pem", timeout=30)
        t.expect(r.returncode == 1 and f"cannot reach the broker at '{url}'".encode() in r.stderr,
                 "without a client certificate: a clear error", r)
        r = t.run(PLACED, "--broker", url, timeout=30)
        t.expect(r.returncode == 1 and b"--nats-tls-ca" in r.stderr, "without the CA: the message names the option", r)
    finally:
        server.stop()


@test
def a_credentials_file_is_used_by_every_process(t):
    if not have_credentials_maker():
        print("     a_credentials_file_is_used_by_every_process: skipped, python3-cryptography is not installed")
        return
    seed, stranger_seed = make_credentials(t.dir)
    server = own_server("-c", t.path("server.conf"))  # operator mode: a user needs a JWT the server trusts
    try:
        url = f"nats://127.0.0.1:{server.port}"
        out = t.ok('seq(1, 5000) | map { $0 + "x" } * 3 | write("-")', "--broker", url,
                   "--nats-creds", "user.creds", "--stats", "stats.json", env={"FLOWRUN_TRACE": t.path("trace")})
        t.equal(sorted(lines(out)), sorted(f"{i}x" for i in range(1, 5001)), "records with a credentials file")
        # nats-server 2.9 enables JetStream for a JWT account at its first
        # connection; two first connections at once lose streams made
        # meanwhile (a hang, 1 run in 12-48 here). So the instances started
        # with the keeper connect after it (RunControl::AwaitKeeperConnected).
        events = [line.split(b" ", 2) for line in t.read("trace").splitlines()]
        keeper = [int(at) for at, _, what in events if what == b"keeper connected"]
        connects = [int(at) for at, _, what in events if what.endswith(b" connects")]
        t.expect(len(keeper) == 1 and len(connects) == 5 and min(connects) >= keeper[0],
                 f"every instance (seq, write, map * 3) connects after the keeper: keeper {keeper}, instances {connects}")
        t.expect(seed.encode() not in t.read("stats.json"), "the seed is not in --stats")
        # By name: a stream left is then named in the failure.
        t.equal(server.stream_names(), [], "streams left after the run with a credentials file")
        r = check(t, PLACED, "--broker", url, "--nats-creds", "user.creds")
        t.expect(r.returncode == 0 and f"{url}: answered".encode() in r.stdout, "check with a credentials file", r)
        shows_none(t, r, [seed], "check with a credentials file")
        r = t.run(PLACED, "--broker", url, "--nats-creds", "stranger.creds", timeout=30)
        t.expect(r.returncode == 1 and f"the broker at '{url}' refused the credentials".encode() in r.stderr,
                 "a user of an unknown account is refused", r)
        shows_none(t, r, [stranger_seed, seed], "refused credentials")
    finally:
        server.stop()


@test
def unusable_credentials_and_tls_files_are_clear_errors(t):
    # Files are read before anything connects, by run and by check.
    for command in (t.run, lambda *a, **k: check(t, *a, **k)):
        r = command(PLACED, "--broker", SERVER.url, "--nats-tls-ca", "missing-ca.pem")
        t.expect(r.returncode == 1 and
                 b"flowrun: error: cannot read the TLS CA file 'missing-ca.pem' (--nats-tls-ca): No such file"
                 in r.stderr, "a missing CA file", r)
    # A file that is not what it should be: named, its content never shown.
    t.write("bad.creds", "-----BEGIN NATS USER JWT-----\nnot-a-jwt-secret-content\n")
    t.write("bad-ca.pem", "not a certificate: secret-ca-content\n")
    for option, name, want in (("--nats-creds", "bad.creds", b"cannot use the credentials file 'bad.creds'"),
                               ("--nats-tls-ca", "bad-ca.pem", b"cannot load the TLS CA file 'bad-ca.pem'")):
        r = t.run(PLACED, "--broker", SERVER.url, option, name, timeout=30)
        t.expect(r.returncode == 1 and want in r.stderr, f"a bad {option} file", r)
        shows_none(t, r, ["secret-content", "secret-ca-content"], f"a bad {option} file")
    # Usage errors: exit 2.
    for args, want in ((["--nats-creds", "x.creds"], b"--nats-creds is for a broker"),
                       (["--broker", SERVER.url, "--nats-tls-cert", "c.pem"], b"go together"),
                       (["--broker", SERVER.url, "--nats-tls-key", ""], b"--nats-tls-key takes a file")):
        r = t.run(PLACED, *args)
        t.expect(r.returncode == 2 and want in r.stderr, f"usage error for {args}", r)


if __name__ == "__main__":
    binary = find_server()
    if not binary:
        print("skipped: nats-server is not installed (apt-get install nats-server)")
        sys.exit(0)
    NATS_SERVER = binary
    SERVER = Server(binary)
    try:
        main()
    finally:
        SERVER.stop()
