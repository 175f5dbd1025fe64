"""`flowrun run --broker nats://HOST:PORT` end to end (issue 8, step 1):
every edge on NATS JetStream, the workers on this machine. The outputs
must be those of the local run (as multisets; exactly with [ordered]),
tee, merge and head(n) behave as locally, an unreachable broker is a clear
error without credentials, two runs share one broker, and no stream is
left on the broker after a run (read from the server's monitoring port).

Starts its own nats-server on free loopback ports and stops it; skipped,
with the reason printed, when nats-server is not installed.
usage: python3 broker_test.py FLOWRUN [NAME-SUBSTRING]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, Feed, children_of, main, test, wait_until  # noqa: E402

MAIN = 'seq(1, 100000) | map { $0 + "x" } * 3 | filter { len($0) % 2 == 0 } * 2 | write("out.txt")'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Server:
    """A nats-server of the test's own, with JetStream and monitoring."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="flowrun-nats-")
        self.port, self.monitor = free_port(), free_port()
        self.proc = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor), "-sd", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: accepts(self.port) and accepts(self.monitor), "nats-server to listen", timeout=10)
        self.url = f"nats://127.0.0.1:{self.port}"

    def streams(self):
        """The streams on the server now (its /jsz monitoring page)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/jsz?streams=1", timeout=5) as r:
            return json.load(r).get("streams", 0)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


SERVER = None


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


def known_asan_flake(name):
    """Two broker tests are not reliable on an ASan build yet: two runs at
    once can time out, and a killed worker's lease was once seen written
    twice (docs/distributed.md, "Known problems"). They run on Release."""
    if SANITIZED:
        print(f"     {name}: skipped on an ASan build (known problem, see docs/distributed.md)")
        return True
    return False


@test
def two_runs_share_one_broker(t):
    if known_asan_flake("two_runs_share_one_broker"):
        return
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


@test
def a_killed_worker_loses_and_doubles_nothing(t):
    if known_asan_flake("a_killed_worker_loses_and_doubles_nothing"):
        return
    # Its batches come back after the ack wait (5 s) to its replacement or
    # a sibling; what it had published of them is not published again.
    # The run reads a FIFO fed in halves: the kill lands mid-run whatever
    # the machine's speed.
    n = 300000
    numbers = [b"%d\n" % i for i in range(1, n + 1)]
    feed = Feed(t, "in.fifo", b"".join(numbers[:n // 2]), b"".join(numbers[n // 2:]))
    program = 'read("in.fifo") | map { $0 + "x" } * 3 | write("out.txt")'
    p = subprocess.Popen([t.flowrun, "run", "-e", program, "--broker", SERVER.url], cwd=t.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: feed.first_written.is_set() and workers_named(p.pid, "map"), "a 'map' worker mid-run")
        os.kill(workers_named(p.pid, "map")[0], signal.SIGKILL)
        feed.resume()
        _, err = p.communicate(timeout=60)
    finally:
        feed.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
    t.expect(p.returncode == 0, f"exit 0 after a worker's death, got {p.returncode}: {err[:500]!r}")
    t.expect(b"1 worker was replaced after dying" in err, f"the replacement is reported: {err[:500]!r}")
    got = lines(t.read("out.txt"))
    t.equal(len(got), 300000, "records written (none lost, none twice)")
    t.equal(sorted(got), sorted(f"{i}x" for i in range(1, 300001)), "every record once")
    t.equal(SERVER.streams(), 0, "streams left after the run")


def find_server():
    found = shutil.which("nats-server")
    for path in ("/usr/sbin/nats-server", "/usr/local/sbin/nats-server", "/usr/local/bin/nats-server"):
        if not found and os.access(path, os.X_OK):
            found = path
    return found


if __name__ == "__main__":
    binary = find_server()
    if not binary:
        print("skipped: nats-server is not installed (apt-get install nats-server)")
        sys.exit(0)
    SANITIZED = "libasan" in subprocess.run(["ldd", sys.argv[1]], capture_output=True, text=True).stdout
    SERVER = Server(binary)
    try:
        main()
    finally:
        SERVER.stop()
