#!/usr/bin/env python3
"""whois() through the real binary against tools/whois_responder.py, started
on a free port for each test: examples/whois.flow against an oracle (the
responder asked directly over a socket), 120 lookups at 50 ms through
`whois * 12` well under the serial time, a dead server (exit 1, naming the
stage and the server; exit 0 with [on_error = skip]), a server slower than
[timeout], and answers with no entry.

usage: whois_test.py FLOWRUN [NAME-SUBSTRING]
"""
import concurrent.futures
import contextlib
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, main, test  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESPONDER = os.path.join(REPO, "tools", "whois_responder.py")

# examples/whois.flow over examples/data/access.log, pinned.
EXAMPLE_OUTPUT = "PRIVATE-172-16\t13\nTEST-NET-2\t9\nTEST-NET-1\t9\nTEST-NET-3\t4\nPRIVATE-10\t4\n"


@contextlib.contextmanager
def responder(latency="0ms", query_log=None):
    """A responder on a free loopback port; yields its port; always killed."""
    cmd = [sys.executable, RESPONDER, "--port", "0", "--latency", latency]
    if query_log:
        cmd += ["--query-log", query_log]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            raise Failure(f"the responder did not start: {line!r} {proc.stderr.read1(2000)!r}")
        yield int(line)
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def dead_port():
    """A loopback port bound but not listening: every connection is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def ask(port, query):
    """The responder's answer to `query`, read as any whois client would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def field(answer, key):
    for line in answer.splitlines():
        if line.strip().startswith(("%", "#")) or ":" not in line:
            continue
        name, value = line.split(":", 1)
        if name.strip().lower() == key:
            return value.strip()
    return ""


def run_flowrun(t, args, timeout=60):
    try:
        return subprocess.run([t.flowrun, "run", *args], cwd=REPO, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"timed out after {timeout} s (a hang?): {args!r}") from e


@test
def example_against_oracle(t):
    log = t.path("queries.log")
    with responder("5ms", log) as port:
        r = run_flowrun(t, ["examples/whois.flow", "-p", f"server=127.0.0.1:{port}"])
        t.expect(r.returncode == 0 and r.stderr == b"", "examples/whois.flow runs", r)
        ips = []
        with open(os.path.join(REPO, "examples", "data", "access.log")) as f:
            for line in f:
                if line.split() and line.split()[0] not in ips:
                    ips.append(line.split()[0])
        counts = {}
        for ip in ips:
            netname = field(ask(port, ip), "netname")
            counts[netname] = counts.get(netname, 0) + 1
    oracle = "".join(f"{name}\t{n}\n" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    t.equal(r.stdout.decode(), oracle, "networks counted, against the responder asked directly")
    t.equal(r.stdout.decode(), EXAMPLE_OUTPUT, "the example's pinned output")
    asked = t.read("queries.log").decode().splitlines()
    t.equal(sorted(asked), sorted(ips + ips), "each distinct address asked once by flowrun, once by the oracle")


@test
def twelve_replicas_overlap_the_latency(t):
    queries = [f"10.{i}.{i * 7 % 256}.1" if i % 3 else f"{i}.{i}.0.9" for i in range(1, 121)]
    t.write("queries.txt", "".join(q + "\n" for q in queries))
    log = t.path("asked.log")
    with responder("50ms", log) as port:
        program = (f'read("{t.path("queries.txt")}") | whois(server = "127.0.0.1:{port}", '
                   f'fields = "country,netname,inetnum") * 12 | write("-")')
        began = time.monotonic()
        r = run_flowrun(t, ["-e", program])
        wall = time.monotonic() - began
        t.expect(r.returncode == 0 and r.stderr == b"", "120 lookups", r)
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda q: ask(port, q), queries))
        want = sorted(f"{q}\t{field(a, 'country')}\t{field(a, 'netname')}\t{field(a, 'inetnum')}"
                      for q, a in zip(queries, answers))
    t.equal(sorted(r.stdout.decode().splitlines()), want, "every query's fields")
    t.equal(sorted(t.read("asked.log").decode().splitlines()), sorted(queries + queries), "each query asked once")
    print(f"     120 lookups at 50 ms with whois * 12: {wall:.2f} s (serial: 6 s, ideal 0.5 s)")
    t.expect(wall < 2.5, f"120 lookups at 50 ms with * 12 took {wall:.2f} s, not well under the serial 6 s")


@test
def dead_server_fails_naming_stage_and_server(t):
    with dead_port() as port:
        began = time.monotonic()
        r = run_flowrun(t, ["-e", f'lines("192.0.2.1\\n192.0.2.2") | whois(server = "127.0.0.1:{port}") '
                                  f'| write("-")'], timeout=30)
        wall = time.monotonic() - began
    err = r.stderr.decode()
    t.expect(r.returncode == 1, "a dead server fails the run", r)
    t.expect("'whois#1' failed on record 1" in err, "the diagnostic names the stage and the record", r)
    t.expect(f"whois server '127.0.0.1:{port}': cannot connect: connection refused" in err,
             "the diagnostic names the server and what happened", r)
    t.expect(wall < 10, f"a refused connection fails fast (took {wall:.1f} s)")

    with dead_port() as port:
        r = run_flowrun(t, ["-e", f'lines("192.0.2.1\\n192.0.2.2") | whois(server = "127.0.0.1:{port}") '
                                  f'* 3 [on_error = skip] | write("-")'], timeout=30)
    t.expect(r.returncode == 0 and r.stdout == b"", "[on_error = skip]: exit 0, nothing out", r)
    t.expect("skipped 2 records" in r.stderr.decode(), "the skips are reported", r)


@test
def slower_than_timeout_is_a_record_error(t):
    with responder("5s") as port:
        began = time.monotonic()
        r = run_flowrun(t, ["-e", f'lines("192.0.2.7") | whois(server = "127.0.0.1:{port}") '
                                  f'[timeout = 300ms, on_error = skip] | write("-")'], timeout=30)
        wall = time.monotonic() - began
    t.expect(r.returncode == 0 and r.stdout == b"", "a late answer is skipped", r)
    t.expect(wall < 4.5, f"the query gave up near its timeout, not at the server's 5 s (took {wall:.1f} s)")


@test
def no_entry_and_ipv6_answers(t):
    with responder() as port:
        r = run_flowrun(t, ["-e", f'lines("example.com\\n2001:db8::1\\n8.8.8.8") | '
                                  f'whois(server = "127.0.0.1:{port}", fields = "netname, country")'])
    t.expect(r.returncode == 0 and r.stderr == b"", "mixed queries", r)
    t.equal(r.stdout.decode(), "example.com\t\t\n2001:db8::1\tDOC-NET6\tNL\n8.8.8.8\tNET-8-8\tBR\n",
            "no entry gives empty fields; IPv6 and made-up networks")


main()
