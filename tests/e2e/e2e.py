"""A small harness for the end-to-end tests: runs the real flowrun binary,
compares with oracles, and never waits a fixed time for something it can
wait for (every loop waits on a condition, with a bound that fails the test
instead of hanging it).

A test file defines functions decorated with @test and ends with main().
usage: python3 FILE.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class Failure(Exception):
    pass


class T:
    """What a test gets: the binary, a scratch directory, runs and checks."""

    def __init__(self, flowrun, directory):
        self.flowrun = flowrun
        self.dir = directory
        self.checks = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        with open(self.path(name), "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return self.path(name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def run(self, program, *args, stdin=None, timeout=60, env=None):
        """flowrun -e PROGRAM ARGS..., in the scratch directory, with the
        variables of `env` added to the environment; bytes out."""
        cmd = [self.flowrun, "run", "-e", program, *args]
        p = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.PIPE if stdin is not None else None,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=None if env is None else {**os.environ, **env})
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            # A hang in CI must tell its story: what each process of the run
            # was doing, and what it had said, before it is killed.
            stacks = stacks_of_tree(p.pid)
            p.kill()
            _, err = p.communicate()
            raise Failure(f"timed out after {timeout} s (a hang?): {program!r}\n  stderr: {err[-1500:]!r}"
                          f"\n{stacks}") from None
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)

    def ok(self, program, *args, stdin=None, timeout=60, env=None):
        """Runs and requires exit 0 and an empty stderr; returns stdout."""
        r = self.run(program, *args, stdin=stdin, timeout=timeout, env=env)
        self.expect(r.returncode == 0 and r.stderr == b"", f"run of {program!r}", r)
        return r.stdout

    def expect(self, condition, what, result=None):
        self.checks += 1
        if condition:
            return
        text = what
        if result is not None:
            text += (f"\n  exit {result.returncode}\n  stdout: {result.stdout[:600]!r}"
                     f"\n  stderr: {result.stderr[:1500]!r}")
        raise Failure(text)

    def equal(self, got, want, what):
        self.checks += 1
        if got != want:
            g, w = repr(got), repr(want)
            raise Failure(f"{what}:\n  got  {g[:600]}{' ...' if len(g) > 600 else ''}"
                          f"\n  want {w[:600]}{' ...' if len(w) > 600 else ''}")


class Feed:
    """Writes `first` into the FIFO `name` that the run reads, then waits for
    `resume()` before writing `rest`: the run cannot end before the test has
    done what it wanted to do in the middle of it."""

    def __init__(self, t, name, first, rest):
        os.mkfifo(t.path(name))
        self.first_written = threading.Event()
        self.go_on = threading.Event()

        def write():
            try:
                with open(t.path(name), "wb") as f:  # blocks until the run opens it
                    f.write(first)
                    f.flush()
                    self.first_written.set()
                    self.go_on.wait(60)
                    f.write(rest)
            except BrokenPipeError:
                pass  # the run ended early; its exit code tells the story
        self.thread = threading.Thread(target=write, daemon=True)
        self.thread.start()

    def resume(self):
        self.go_on.set()


def run_fed(t, program, args, n, mid_run, timeout=120):
    """Runs `flowrun run -e program args...` reading "in.fifo", fed with the
    numbers 1..n in two halves; between them, calls `mid_run(pid)` (which
    waits for what it needs and acts: kills a worker, cuts a link): it acts
    while the run is provably alive, whatever the machine's speed. Returns
    (exit code, stderr)."""
    numbers = [b"%d\n" % i for i in range(1, n + 1)]
    feed = Feed(t, "in.fifo", b"".join(numbers[:n // 2]), b"".join(numbers[n // 2:]))
    p = subprocess.Popen([t.flowrun, "run", "-e", program, *args], cwd=t.dir, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        wait_until(feed.first_written.is_set, "the first half to be read")
        mid_run(p.pid)
        feed.resume()
        _, err = p.communicate(timeout=timeout)
    finally:
        feed.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, err


def wait_until(condition, what, timeout=30.0):
    """Polls `condition` (a cheap look at /proc or a file) until it holds."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not condition():
        if time.monotonic() > deadline:
            raise Failure(f"gave up waiting for {what} after {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def proc_stat(pid):
    """(state, ppid, pgrp, starttime) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            line = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = line[line.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[19])


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(parent):
    """The live (not zombie) children of `parent`, with their start times."""
    out = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[1] == parent and st[0] not in "ZX":
            out[pid] = st[3]
    return out


def still_running(pids_and_starts):
    """Those of {pid: starttime} that still run (a reused pid does not count)."""
    alive = []
    for pid, start in pids_and_starts.items():
        st = proc_stat(pid)
        if st and st[3] == start and st[0] not in "ZX":
            alive.append(pid)
    return alive


def descendants_of(root):
    """`root` and every live process below it, parents first."""
    parents = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[0] not in "ZX":
            parents.setdefault(st[1], []).append(pid)
    order, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        order.append(pid)
        todo.extend(sorted(parents.get(pid, [])))
    return order


def stacks_of_tree(root, limit=6):
    """Every thread's stack of `root` and its descendants (at most `limit`
    processes), by gdb when the machine has it; else their command lines."""
    gdb = shutil.which("gdb")
    parts = []
    for pid in descendants_of(root)[:limit]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        parts.append(f"  -- process {pid}: {command[:200]}")
        if not gdb:
            continue
        try:
            r = subprocess.run([gdb, "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt 30"],
                               capture_output=True, timeout=30, text=True, errors="replace")
            stack = [line for line in r.stdout.splitlines() if line.startswith(("#", "Thread"))]
            parts.extend("     " + line for line in stack or r.stderr.splitlines()[-2:])
        except subprocess.TimeoutExpired:
            parts.append("     (gdb did not answer)")
    if not gdb:
        parts.append("  (install gdb to see each process's stacks)")
    return "\n".join(parts)


def group_members(pgrp):
    return [pid for pid in all_pids() if (st := proc_stat(pid)) and st[2] == pgrp and st[0] not in "ZX"]


def print_logs(directory, lines=40):
    """The ends of the logs a failed test leaves (its workers' stderr, where
    an instance's crash report goes): the directory is removed after it."""
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            tail = f.read().decode(errors="replace").splitlines()[-lines:]
        print(f"  -- the end of {name}:")
        for line in tail:
            print("     " + line[:300])


def main():
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} FLOWRUN [NAME-SUBSTRING]")
    # Started as a background job of a script, we would ignore SIGINT, and
    # so would every flowrun we start: a flowrun keeps ignoring what its
    # caller ignores, and the tests that interrupt a run would fail.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    flowrun = os.path.abspath(sys.argv[1])
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    passed = failed = 0
    start = time.monotonic()
    for fn in _tests:
        if only and only not in fn.__name__:
            continue
        directory = tempfile.mkdtemp(prefix="flowrun-e2e-")
        t = T(flowrun, directory)
        began = time.monotonic()
        try:
            fn(t)
            passed += 1
            print(f"ok   {fn.__name__} ({t.checks} checks, {time.monotonic() - began:.2f} s)")
        except Failure as e:
            failed += 1
            print(f"FAIL {fn.__name__}: {e}")
            print_logs(directory)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}: exception\n{traceback.format_exc()}")
            print_logs(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"{passed} passed, {failed} failed in {time.monotonic() - start:.1f} s")
    sys.exit(1 if failed else 0)
