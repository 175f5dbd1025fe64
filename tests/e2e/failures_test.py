#!/usr/bin/env python3
"""Failing records, interrupted runs and memory through the real binary:
each [on_error] choice, the failure report, SIGINT and SIGTERM in the middle
of a run (no process, no temporary file left behind, exit 130 / 143), and
the memory of all processes while 400 MiB pass a slower stage.

usage: failures_test.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, children_of, group_members, main, still_running, test, wait_until  # noqa: E402

DOUBLE = 'lines("1\\n2\\nx\\n4") | map {{ str(int($0) * 2) }}{options} | write("-")'


@test
def on_error_fail_reports_one_line(t):
    r = t.run(DOUBLE.format(options=""))
    t.expect(r.returncode == 1, "exit 1", r)
    first = r.stderr.decode().splitlines()[0]
    t.equal(first, "[map#1] <-e>:1:23: error: 'map#1' failed on record 3: <-e>:1:33: cannot convert 'x' to int; "
                   "the record: \"x\"", "the failure line")
    t.expect("flowrun: error: worker 'map#1' exited with code 1" in r.stderr.decode(), "the run's verdict", r)


@test
def on_error_fail_cuts_long_records(t):
    t.write("in.txt", "1\n" + "y" * 500 + "\t\x01\n")
    r = t.run('read("in.txt") | map { str(int($0)) }')
    t.expect(r.returncode == 1, "exit 1", r)
    t.expect(('the record: "' + "y" * 200 + '..."') in r.stderr.decode(), "200 bytes of the record", r)


@test
def on_error_skip_counts(t):
    r = t.run(DOUBLE.format(options=" [on_error = skip]"))
    t.equal((r.returncode, r.stdout), (0, b"2\n4\n8\n"), "the records that did not fail")
    t.equal(r.stderr.decode(), "flowrun: 'map' skipped 1 record that failed ([on_error = skip])\n", "the report")
    r = t.run('seq(1, 1000) | map { str(100 / (int($0) % 3)) } * 4 [on_error = skip] | count')
    t.equal((r.returncode, r.stdout), (0, b"667\n"), "skips across replicas")
    t.equal(r.stderr.decode(), "flowrun: 'map' skipped 333 records that failed ([on_error = skip])\n",
            "the report sums the replicas")


@test
def on_error_dead_letter_appends(t):
    t.write("dead.txt", "earlier line\n")
    r = t.run(DOUBLE.format(options=" [on_error = dead_letter]"), "--dead-letter", "dead.txt")
    t.equal((r.returncode, r.stdout), (0, b"2\n4\n8\n"), "the records that did not fail")
    t.equal(t.read("dead.txt").decode(), "earlier line\n<-e>:1:33: cannot convert 'x' to int\tx\n",
            "the dead-letter file")
    t.expect("wrote 1 record that failed to 'dead.txt'" in r.stderr.decode(), "the report", r)
    r = t.run('lines("a\\tb\\n\\x01") | map { str(int($0)) } [on_error = dead_letter]', "--dead-letter", "d2.txt")
    t.equal(r.returncode, 0, "exit code")
    t.equal(t.read("d2.txt").decode(), "<-e>:1:33: cannot convert 'a\\tb' to int\ta\\tb\n"
                                       "<-e>:1:33: cannot convert '\\x01' to int\t\\x01\n",
            "records and reasons escaped, one line each")


@test
def dead_letter_needs_a_path(t):
    r = t.run(DOUBLE.format(options=" [on_error = dead_letter]"))
    t.equal(r.returncode, 2, "exit code")
    t.equal(r.stderr.decode(), "flowrun: error: stage 'map' has [on_error = dead_letter]: give --dead-letter PATH\n",
            "the message")


def interrupt(t, sig, extra_args, expected_code):
    """Runs seq() | sleep(10ms) * 4 | write("out.txt") with a terminal as
    stderr and --progress, waits until the progress line shows records
    reaching write, sends `sig`, and checks that nothing is left."""
    program = 'seq() | sleep(10ms) * 4 | write("out.txt")'
    master, slave = pty.openpty()
    p = subprocess.Popen([t.flowrun, "run", "-e", program, "--progress", *extra_args], cwd=t.dir,
                         stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 30
        # The write line: "write x1  <rate> rec/s  in <n> ...", n > 0.
        progressed = re.compile(rb"write\s+x1\s+[\d,]+ rec/s\s+in\s+[1-9]")
        while not progressed.search(screen):
            if time.monotonic() > deadline:
                raise Failure(f"no progress line with records reaching write; screen: {screen[-500:]!r}")
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                screen += os.read(master, 65536)
        workers = children_of(p.pid)
        t.expect(len(workers) >= 7, f"7 processes (a group leader, 6 workers) under flowrun: {workers}")
        group = os.getpgid(next(iter(workers)))
        t.expect(group != os.getpgid(p.pid), "the workers are in a group of their own")
        p.send_signal(sig)
        # Keep reading the terminal so flowrun never blocks on it.
        while p.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
            if time.monotonic() > deadline + 30:
                raise Failure("flowrun did not end after the signal")
        code = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    t.equal(code, expected_code, "exit code")
    t.equal(still_running(workers), [], "workers still running")
    t.equal(group_members(group), [], "processes left in the workers' group")
    t.equal(sorted(os.listdir(t.dir)), [], "files left (no out.txt, no temporary file)")
    return screen.decode(errors="replace")


@test
def sigint_stops_sources_and_drains(t):
    # Small queues: what is in flight drains well within the grace period.
    screen = interrupt(t, signal.SIGINT, ["--queue", "8"], 130)
    t.expect("interrupted by SIGINT" in screen, f"the message; screen: {screen[-300:]!r}")


@test
def sigterm_kills_after_grace(t):
    # 8192 records in the queue at 400/s would take 20 s: the grace ends it.
    began = time.monotonic()
    interrupt(t, signal.SIGTERM, ["--grace", "300ms"], 143)
    t.expect(time.monotonic() - began < 25, "the grace period bounds the stop")


@test
def a_ctrl_c_the_caller_ignores_stays_ignored(t):
    # A shell's background job (`flowrun run ... &` in a script) starts with
    # SIGINT ignored; a SIGINT for the shell's foreground job must not stop
    # it. Before, the run blocked the ignored signal, found it pending and
    # stopped: exit 130 here, and on a broker exit 1 without a word.
    p = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 20) | sleep(25ms) | write("out.txt")'], cwd=t.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_until(lambda: any(open(f"/proc/{c}/comm").read().startswith("sleep#") for c in children_of(p.pid)),
                   "the sleep worker to start")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.expect(p.returncode == 0 and err == b"", f"the run went on to its end: exit {p.returncode}, {err[:300]!r}")
    t.equal(t.read("out.txt").decode().split(), [str(i) for i in range(1, 21)], "every record written")


@test
def a_worker_that_dies_of_a_fault_says_where(t):
    # A fault or an abort in a worker (a library that aborts without a word,
    # a bug in generated code) leaves its signal and stack in the log.
    p = subprocess.Popen([t.flowrun, "run", "--max-restarts", "0", "-e", 'seq(1, 5) | sleep(30s) | count'],
                         cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def sleep_worker():
        return next((c for c in children_of(p.pid) if open(f"/proc/{c}/comm").read().startswith("sleep#")), None)
    try:
        wait_until(lambda: sleep_worker() is not None, "the sleep worker to start")
        os.kill(sleep_worker(), signal.SIGABRT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = err.decode(errors="replace")
    t.expect(p.returncode == 1, f"the run fails (exit {p.returncode})")
    t.expect(re.search(r"^\[sleep#1\] crash: SIGABRT \(Aborted\); the stack", text, re.M) is not None,
             f"the worker says it was aborted: {text[-600:]!r}")
    t.expect(re.search(r"^\[sleep#1\] .*\(\+0x[0-9a-f]+\)|^\[sleep#1\] .*\[0x[0-9a-f]+\]", text, re.M) is not None,
             f"and where: {text[-600:]!r}")
    t.expect("killed by signal SIGABRT" in text, f"the supervisor's account is unchanged: {text[-300:]!r}")


def total_pss_kib(root):
    """Proportional set size of `root` and its children: shared queue pages
    count once over all the processes that map them."""
    total = 0
    for pid in [root, *children_of(root)]:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass  # ended between the listing and the read
    return total


def sanitized(binary):
    """An ASan build: its memory figures say nothing about the queues."""
    deps = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in deps


@test
def memory_stays_bounded_through_a_slow_stage(t):
    line = b"y" * 4095 + b"\n"
    with open(t.path("big.txt"), "wb") as f:
        block = line * 256
        for _ in range(400):  # 400 MiB
            f.write(block)
    p = subprocess.Popen([t.flowrun, "run", "-e", 'read("big.txt") | map { $0 + "" } | count'], cwd=t.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = samples = 0
    while p.poll() is None:  # sampling while it runs, not waiting for anything
        peak = max(peak, total_pss_kib(p.pid))
        samples += 1
        time.sleep(0.01)
    out, err = p.communicate()
    os.unlink(t.path("big.txt"))
    t.equal((p.returncode, out, err), (0, b"102400\n", b""), "the run")
    t.expect(samples >= 3, f"sampled the run {samples} times")
    if not sanitized(t.flowrun):
        # 400 MiB went through; the queues hold 4 MiB each. Unbounded
        # buffering would show hundreds of MiB here.
        t.expect(peak < 96 * 1024, f"peak memory of all processes {peak / 1024:.1f} MiB")
        print(f"     peak PSS of all processes: {peak / 1024:.1f} MiB over {samples} samples")


@test
def progress_is_silent_off_a_terminal(t):
    r = t.run('seq(1, 100) | count', "--progress")
    t.equal((r.returncode, r.stdout, r.stderr), (0, b"100\n", b""), "no progress lines on a pipe")



def on_terminal(t, program, keys):
    """Runs `program` with a new terminal as its controlling terminal,
    stdin, stdout and stderr (a shell's foreground job), types `keys` (each
    after a pause), and returns the exit code and what the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(t.dir)
        os.execv(t.flowrun, [t.flowrun, "run", "-e", program])
    screen, code = b"", None
    try:
        for pause, key in keys:
            time.sleep(pause)
            os.write(fd, key)
        deadline = time.monotonic() + 20
        while code is None and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    pass
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
    finally:
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return code, screen.decode(errors="replace")


@test
def a_stage_reads_stdin_from_a_terminal(t):
    # The workers' group gets the terminal: no SIGTTIN stops the reader.
    code, screen = on_terminal(t, 'read("-") | map { upper($0) } | write("-")',
                               [(0.3, b"hello\n"), (0.3, b"\x04")])
    t.equal(code, 0, "exit code")
    t.expect("HELLO" in screen, f"the record came back: {screen!r}")


@test
def ctrl_c_on_the_terminal_interrupts_the_run(t):
    code, screen = on_terminal(t, 'read("-") | write("-")', [(0.5, b"\x03")])
    t.equal(code, 130, "exit code")
    t.expect("interrupted by SIGINT" in screen, f"the message: {screen!r}")


if __name__ == "__main__":
    main()
