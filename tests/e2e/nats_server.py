"""A nats-server of a test's own (tests/e2e/broker_test.py,
broker_workers_test.py, bench/broker_bench.py): JetStream on a free
loopback port, with its monitoring port, stopped and removed after."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Server:
    """A nats-server of the test's own, with JetStream and monitoring."""

    def __init__(self, binary, *extra, jetstream=True, host="127.0.0.1"):
        """`host`: the address it listens on (loopback unless a test's
        network namespace needs another)."""
        self.dir = tempfile.mkdtemp(prefix="flowrun-nats-")
        self.log = os.path.join(self.dir, "server.log")
        self.host = host
        # A port free when free_port() looked may be taken before the server
        # binds it (another test's server, or the local end of any process's
        # outgoing connection): the server then exits at once, "address
        # already in use", and is started again on other ports. (It failed
        # CI once, waiting 10 s for a server that had exited.)
        for attempt in range(5):
            self.port, self.monitor = free_port(), free_port()
            if self.monitor == self.port:
                continue
            self.argv = [binary, *(["-js"] if jetstream else []), "-a", host, "-p", str(self.port),
                         "-m", str(self.monitor), "-sd", os.path.join(self.dir, "store"), *extra]
            if self.start(may_fail=True):
                break
        else:
            raise RuntimeError(f"nats-server would not start: {self.log_tail()}")
        self.url = f"nats://{host}:{self.port}"

    def log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-600:].decode(errors="replace")
        except OSError:
            return ""

    def start(self, may_fail=False):
        """Starts the server and waits until it listens; with `may_fail`,
        False if it exited first (its ports taken)."""
        with open(self.log, "ab") as log:
            start = log.tell()
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)

        def ready():
            # Its own word that it is up (it says so once it listens on
            # both ports), then both ports: a port that accepts may be
            # another process's, and the server may still exit on it.
            with open(self.log, "rb") as f:
                f.seek(start)
                said = f.read()
            return (b"Server is ready" in said and self.proc.poll() is None and accepts(self.port, self.host)
                    and accepts(self.monitor, self.host))
        deadline = time.monotonic() + 10
        while not ready():
            if self.proc.poll() is not None:
                if may_fail:
                    return False
                raise RuntimeError(f"nats-server exited ({self.proc.returncode}): {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for nats-server to listen after 10 s: {self.log_tail()}")
            time.sleep(0.005)
        return True

    def restart(self, down_s):
        """Stops the server cleanly, waits `down_s`, starts it again on the
        same port and storage: its streams and buckets come back."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        time.sleep(down_s)  # the outage itself is what is tested
        self.start()

    def connections(self):
        """The clients connected now (its /connz monitoring page)."""
        with urllib.request.urlopen(f"http://{self.host}:{self.monitor}/connz", timeout=5) as r:
            return json.load(r).get("num_connections", 0)

    def clients(self):
        """(address, name) of each client connected now (/connz): flowrun
        names its connections after their process ("flowrun map", ...)."""
        with urllib.request.urlopen(f"http://{self.host}:{self.monitor}/connz", timeout=5) as r:
            return [(c.get("ip", ""), c.get("name", "")) for c in json.load(r).get("connections", [])]

    def streams(self):
        """The streams on the server now (its /jsz monitoring page)."""
        with urllib.request.urlopen(f"http://{self.host}:{self.monitor}/jsz?streams=1", timeout=5) as r:
            return json.load(r).get("streams", 0)

    def stream_names(self):
        """The names of the streams on the server now."""
        with urllib.request.urlopen(f"http://{self.host}:{self.monitor}/jsz?accounts=1&streams=1", timeout=5) as r:
            details = json.load(r).get("account_details", [])
        return sorted(s["name"] for a in details for s in a.get("stream_detail", []))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server():
    found = shutil.which("nats-server")
    for path in ("/usr/sbin/nats-server", "/usr/local/sbin/nats-server", "/usr/local/bin/nats-server"):
        if not found and os.access(path, os.X_OK):
            found = path
    return found
