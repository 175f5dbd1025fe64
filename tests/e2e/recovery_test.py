#!/usr/bin/env python3
"""Workers that die, through the real binary (section 7 and issue 5): a
killed worker is replaced and its records are redone exactly once; a
record that kills every worker that touches it goes to on_error after
[retries]; [timeout] kills a stuck worker; the restart budget; stages that
cannot be replaced say why; sources and sinks resume.

usage: recovery_test.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, Feed, children_of, group_members, main, still_running, test, wait_until  # noqa: E402

# An exec whose command kills its own worker ($PPID of the shell) on the
# record "3": a record that crashes whoever processes it.
KILLER = 'exec("if [ {} = 3 ]; then kill -9 $PPID; sleep 5; fi; echo {}")'


def workers_named(pid, prefix):
    found = []
    for child in children_of(pid):
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().strip().startswith(prefix):
                    found.append(child)
        except OSError:
            pass  # ended meanwhile
    return found


def kill_worker_once(t, program, prefix, *args, feed=None):
    """Starts `program`, SIGKILLs its first worker whose name starts with
    `prefix`, returns the result. The kill must land while the run is alive,
    whatever the machine's speed: give a `feed` (the run reads it and waits
    for its second half), or let the run write to stdout, which is not read
    until the kill is done (so a long output keeps every stage blocked)."""
    p = subprocess.Popen([t.flowrun, "run", "-e", program, *args], cwd=t.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if feed:
            wait_until(lambda: feed.first_written.is_set() or p.poll() is not None, "the first half read")
        wait_until(lambda: workers_named(p.pid, prefix) or p.poll() is not None, f"a '{prefix}' worker")
        if p.poll() is not None:
            raise Failure(f"the run ended (exit {p.returncode}) before a '{prefix}' worker was killed: "
                          + p.stderr.read().decode(errors="replace"))
        os.kill(workers_named(p.pid, prefix)[0], signal.SIGKILL)
        if feed:
            feed.resume()
        out, err = p.communicate(timeout=60)
    finally:
        if feed:
            feed.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err.decode(errors="replace")


@test
def a_poison_record_goes_to_on_error_after_its_retries(t):
    r = t.run(f'seq(1, 5) | {KILLER} [retries = 1, on_error = skip] | sort(numeric = true)')
    t.equal((r.returncode, r.stdout), (0, b"1\n2\n4\n5\n"), "every record but the poison one")
    err = r.stderr.decode()
    t.expect("skipped 1 record that failed" in err, "the skip is reported", r)
    t.expect("2 workers were replaced after dying" in err, "one death per attempt: 2 attempts", r)


@test
def a_poison_record_fails_the_run_with_its_story(t):
    r = t.run(f'seq(1, 5) | {KILLER} [retries = 2]')
    t.equal(r.returncode, 1, "exit code")
    err = r.stderr.decode()
    t.expect("'exec#1' failed on record 3: its worker died on it 3 times (the last was killed by signal "
             "SIGKILL (Killed)); the record: \"3\"" in err, "the diagnostic names the record and why", r)


@test
def a_poison_record_can_go_to_the_dead_letter_file(t):
    r = t.run(f'seq(1, 4) | {KILLER} [retries = 0, on_error = dead_letter] | discard', "--dead-letter", "dead.txt")
    t.equal(r.returncode, 0, "exit code")
    t.equal(t.read("dead.txt").decode(),
            "its worker died on it 1 time (the last was killed by signal SIGKILL (Killed))\t3\n", "the dead letter")


@test
def a_stuck_record_is_killed_at_its_timeout(t):
    start = time.monotonic()
    r = t.run('lines("1\\n2\\n3") | map { $0 } | exec("if [ {} = 2 ]; then sleep 30; fi; echo {}") '
              '[timeout = 200ms, retries = 1, on_error = skip] | sort')
    took = time.monotonic() - start
    t.equal((r.returncode, r.stdout), (0, b"1\n3\n"), "the stuck record skipped")
    t.expect(took < 10, f"ended long before the 30 s sleep ({took:.1f} s)")
    t.expect("skipped 1 record" in r.stderr.decode(), "reported", r)


@test
def a_command_is_not_left_running_when_its_worker_is_killed(t):
    # exec#1 times out on record 1 inside `sleep 37.25`; the worker is killed
    # and the run goes on (2 s in sleep below): the orphaned `sleep 37.25`
    # must be gone long before the run ends.
    p = subprocess.Popen([t.flowrun, "run", "-e",
                          'lines("1\\n2") | exec("if [ {} = 1 ]; then exec sleep 37.25; fi; echo {}") '
                          '[timeout = 200ms, retries = 0, on_error = skip] | sleep(2s) | write("-")'],
                         cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def sleepers():
            found = []
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if f.read() == b"sleep\x0037.25\x00":
                            found.append(pid)
                except OSError:
                    pass
            return found
        wait_until(lambda: sleepers(), "the command's sleep 37.25")
        wait_until(lambda: not sleepers(), "the orphaned command killed", timeout=1.5)
        t.expect(p.poll() is None, "while the run still goes on")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.equal((p.returncode, out), (0, b"2\n"), "the run's result")


@test
def the_restart_budget_stops_a_stage_that_always_dies(t):
    r = t.run('seq(1, 100) | exec("kill -9 $PPID") [retries = 1000]', "--max-restarts", "3")
    t.equal(r.returncode, 1, "exit code")
    t.expect("'exec' was replaced 3 times already (--max-restarts 3)" in r.stderr.decode(), "the budget named", r)


@test
def a_stateful_stage_that_dies_stops_the_run_and_says_why(t):
    code, out, err = kill_worker_once(t, 'seq() | count', "count")
    t.equal(code, 1, "exit code")
    t.expect("worker 'count#1' was killed by signal SIGKILL (Killed), and 'count' keeps its state in the worker "
             "that died, so it cannot be replaced without losing it" in err, "the reason", err)


@test
def a_killed_transform_is_replaced_and_nothing_is_lost_or_doubled(t):
    n = 300_000
    lines = [f"{i}\n".encode() for i in range(n)]
    feed = Feed(t, "in.fifo", b"".join(lines[:n // 2]), b"".join(lines[n // 2:]))
    code, out, err = kill_worker_once(t, 'read("in.fifo") | map { $0 + "!" } * 3 | write("out.txt")', "map",
                                      feed=feed)
    t.equal(code, 0, "exit code")
    got = t.read("out.txt").decode().split("\n")[:-1]
    t.equal(sorted(got), sorted(f"{i}!" for i in range(n)), "every record once")
    t.expect("1 worker was replaced after dying" in err, "the replacement is reported", err)


@test
def a_killed_source_resumes(t):
    # The output (15 MB) is far more than the queue and the pipe hold, and
    # stdout is read only after the kill: seq is surely mid-way.
    n = 2_000_000
    code, out, err = kill_worker_once(t, f"seq(1, {n})", "seq")
    t.equal(code, 0, "exit code")
    t.equal(out, b"".join(b"%d\n" % i for i in range(1, n + 1)), "the output")
    t.expect("1 worker was replaced after dying" in err, "the replacement is reported", err)


@test
def a_killed_sink_rewrites_nothing_twice(t):
    n = 2_000_000
    lines = b"".join(b"%d\n" % i for i in range(1, n + 1))
    feed = Feed(t, "in.fifo", lines[:len(lines) // 2], lines[len(lines) // 2:])
    code, out, err = kill_worker_once(t, 'read("in.fifo") | write("out.txt")', "write", feed=feed)
    t.equal(code, 0, "exit code")
    t.equal(t.read("out.txt"), lines, "the output")
    t.expect("1 worker was replaced after dying" in err, "the replacement is reported", err)


@test
def a_full_disk_fails_the_run_cleanly(t):
    """RLIMIT_FSIZE stands for a full disk: the sink fails, the run says so,
    and neither the target nor a temporary file is left."""
    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
    p = subprocess.run([t.flowrun, "run", "-e", 'seq(1, 1000000) | write("out.txt")'], cwd=t.dir,
                       capture_output=True, preexec_fn=small_files, timeout=60)
    t.equal(p.returncode, 1, "exit code")
    t.expect("cannot write 'out.txt': File too large" in p.stderr.decode(), "the message", p)
    t.equal(sorted(os.listdir(t.dir)), [], "no output file and no temporary file")


@test
def a_sigkilled_supervisor_leaves_no_worker(t):
    p = subprocess.Popen([t.flowrun, "run", "-e", 'seq() | sleep(1ms) * 4 | write("out.txt")'], cwd=t.dir,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(children_of(p.pid)) >= 7, "the leader and 6 workers")
        workers = children_of(p.pid)
        group = os.getpgid(next(iter(workers)))
        p.kill()
        p.wait()
        wait_until(lambda: not still_running(workers), "every worker gone")
        wait_until(lambda: not group_members(group), "the workers' group empty")
        t.equal((still_running(workers), group_members(group)), ([], []), "workers and group members left")
        # Nor the sink's temporary file (.out.txt.flowrun-PID-N.tmp, left
        # until 2026-12-06): the group's leader removes it as it goes.
        t.equal(sorted(os.listdir(t.dir)), [], "files left in the run's directory")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
