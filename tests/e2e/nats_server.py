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

from e2e import wait_until


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
        self.host = host
        self.port, self.monitor = free_port(), free_port()
        self.argv = [binary, *(["-js"] if jetstream else []), "-a", host, "-p", str(self.port),
                     "-m", str(self.monitor), "-sd", self.dir, *extra]
        self.start()
        self.url = f"nats://{host}:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: accepts(self.port, self.host) and accepts(self.monitor, self.host),
                   "nats-server to listen", timeout=10)

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
