#!/usr/bin/env python3
"""exec() and sh() through the real binary: outputs against oracles (the
input itself, Python's sorted), failures with and without [on_error = skip],
the command's stderr in the log, examples/parallel.flow, and no process
left behind: no zombie while a worker runs, no command after the run, even
when the run or a worker is killed while commands run.

usage: exec_sh_test.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from e2e import Failure, all_pids, children_of, group_members, main, proc_stat, test, wait_until  # noqa: E402


def lines(data):
    return data.decode("utf-8", "surrogateescape").splitlines()


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def in_group(group, name):
    """Live processes named `name` in process group `group`."""
    return [pid for pid in group_members(group) if comm(pid) == name]


@test
def exec_replicas_against_oracle(t):
    out = t.ok('seq(1, 200) | exec("echo {}") * 4 | write("-")')
    t.equal(sorted(lines(out), key=int), [str(i) for i in range(1, 201)], "the multiset of records")
    out = t.ok('seq(1, 200) | exec("echo {} | sed s/^/n/") * 4 [ordered] | write("-")')
    t.equal(lines(out), [f"n{i}" for i in range(1, 201)], "[ordered] through the shell: input order")
    out = t.ok('seq(1, 50) | exec("seq {}") * 3 | count')
    t.equal(out, f"{sum(range(1, 51))}\n".encode(), "many lines per command")


@test
def exec_keeps_every_record_one_word(t):
    text = "a b\nit's\n$HOME\n`id`\n  sp  \n\n\"q\" \\ *\n"
    t.write("in.txt", text)
    out = t.ok(r'''read("in.txt") | exec("printf '%s\\n' {} | cat") | write("-")''')
    t.equal(out.decode(), text, "records through the shell, quoted")
    out = t.ok('read("in.txt") | exec("echo {}") | write("-")')
    t.equal(out.decode(), text, "records through the direct path")
    out = t.ok('lines("a b c\\nd") | exec("echo [{3}] {1}") | write("-")')
    t.equal(out, b"[c] a\n[] d\n", "fields, one past the last empty")


@test
def exec_failure_fails_the_run(t):
    r = t.run('seq(1, 5) | exec("expr {} - 3") | write("-")')
    t.expect(r.returncode == 1, "exit 1", r)
    err = r.stderr.decode()
    t.expect("error: 'exec#1' failed on record 3: command exited with status 1; the record: \"3\"" in err,
             "the diagnostic names the stage, the record and the status", r)
    r = t.run('seq(1, 3) | exec("no-such-program-flowrun {}") | write("-")')
    t.expect(r.returncode == 1, "exit 1", r)
    t.expect("cannot run 'no-such-program-flowrun': No such file or directory" in r.stderr.decode(),
             "a missing program is named", r)


@test
def exec_failure_skipped(t):
    r = t.run('seq(1, 5) | exec("expr {} - 3") [on_error = skip] | write("-")')
    t.equal((r.returncode, r.stdout), (0, b"-2\n-1\n1\n2\n"), "the records that did not fail, nothing of record 3")
    t.equal(r.stderr.decode(), "flowrun: 'exec' skipped 1 record that failed ([on_error = skip])\n", "the report")


@test
def exec_stderr_goes_to_the_log_prefixed(t):
    r = t.run('seq(1, 6) | exec("echo oops {} >&2; echo {}") * 2 | write("-")')
    t.equal(r.returncode, 0, "exit code")
    t.equal(sorted(lines(r.stdout), key=int), [str(i) for i in range(1, 7)], "stdout")
    errs = lines(r.stderr)
    t.expect(all(re.fullmatch(r"\[exec#[12]\] oops [1-6]", e) for e in errs), f"prefixed lines: {errs}")
    t.equal(sorted(int(e.split()[-1]) for e in errs), list(range(1, 7)), "one line per record")


@test
def sh_sort_against_python(t):
    rng = random.Random(3)
    numbers = [rng.randrange(-10**6, 10**6) for _ in range(20000)]
    t.write("in.txt", "".join(f"{n}\n" for n in numbers))
    out = t.ok('read("in.txt") | sh("sort -n") | write("-")')
    t.equal(lines(out), [str(n) for n in sorted(numbers)], "sort -n against sorted()")
    out = t.ok('read("in.txt") | sh("cat") * 3 | count')
    t.equal(out, b"20000\n", "cat * 3 gives back every record")


@test
def sh_head_stops_early(t):
    began = time.monotonic()
    out = t.ok('seq() | sh("head -1") | write("-")')
    t.equal(out, b"1\n", "head -1 of an endless source")
    t.expect(time.monotonic() - began < 10, "the endless source was cancelled")


@test
def sh_failure_is_fatal(t):
    r = t.run('seq(1, 10) | sh("cat >/dev/null; exit 3") | write("-")')
    t.expect(r.returncode == 1, "exit 1", r)
    t.expect("error: 'sh#1': command exited with status 3" in r.stderr.decode(), "the diagnostic", r)


@test
def parallel_example(t):
    host = socket.gethostname()
    r = subprocess.run([t.flowrun, "run", "examples/parallel.flow"], cwd=REPO, capture_output=True, timeout=60)
    t.equal((r.returncode, r.stderr), (0, b""), "exit code and stderr")
    t.equal(lines(r.stdout), [f"job {i} on {host}" for i in range(1, 21)], "the example's output")


@test
def no_zombie_while_a_worker_runs(t):
    p = subprocess.Popen([t.flowrun, "run", "-e", 'seq(1, 60) | sleep(20ms) | exec("true {}") | discard'],
                         cwd=t.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: any(comm(pid) == "exec#1" for pid in children_of(p.pid)), "the exec worker")
        worker = next(pid for pid in children_of(p.pid) if comm(pid) == "exec#1")
        seen = set()
        while p.poll() is None:
            zombies = {pid for pid in all_pids() if (st := proc_stat(pid)) and st[1] == worker and st[0] == "Z"}
            t.expect(not (zombies & seen), f"a zombie child of the exec worker lasted 50 ms: {zombies & seen}")
            seen = zombies
            time.sleep(0.05)
        t.equal(p.wait(timeout=30), 0, "exit code")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def alive(pid):
    """Running, not a zombie (PID 1 of a container may never reap one)."""
    st = proc_stat(pid)
    return st is not None and st[0] not in "ZX"


def start_sleeping(t, command, count):
    """Starts seq(1, 8) | exec(command) * 2 and waits until `count` sleep
    commands run in the workers' group; returns (process, group)."""
    program = f'seq(1, 8) | exec("{command}") * 2 | write("-")'
    p = subprocess.Popen([t.flowrun, "run", "-e", program, "--grace", "200ms"], cwd=t.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(children_of(p.pid)) >= 4, "the workers")
    group = os.getpgid(next(iter(children_of(p.pid))))
    wait_until(lambda: len(in_group(group, "sleep")) == count, f"{count} sleep commands")
    return p, group


@test
def sigterm_to_flowrun_ends_running_commands(t):
    p, group = start_sleeping(t, "sleep 30 {}", 2)
    try:
        sleeps = in_group(group, "sleep")
        p.send_signal(signal.SIGTERM)
        t.equal(p.wait(timeout=20), 143, "exit code")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.equal([pid for pid in sleeps if alive(pid)], [], "sleep commands left")
    t.equal(group_members(group), [], "processes left in the workers' group")


@test
def a_sigkilled_flowrun_leaves_no_command_behind(t):
    # No handler of flowrun's runs: its workers die of their parent-death
    # signal, and the commands they started with the group's leader.
    p, group = start_sleeping(t, "sleep 30 {}", 2)
    sleeps = in_group(group, "sleep")
    p.kill()
    p.wait()
    wait_until(lambda: not any(alive(pid) for pid in sleeps) and group_members(group) == [],
               "every process of the workers' group to end", timeout=10)
    t.equal([pid for pid in sleeps if alive(pid)], [], "sleep commands left")


@test
def a_command_never_outlives_the_run(t):
    # Record 1's first attempt sleeps; its worker is killed and replaced,
    # the retry (which finds the directory made) does not sleep. The
    # orphaned sleep lives on, in the workers' group, until the run ends.
    p, group = start_sleeping(t, "if [ {} = 1 ] && mkdir first; then sleep 30; fi; echo {}", 1)
    try:
        sleep = in_group(group, "sleep")[0]
        shell = proc_stat(sleep)[1]
        worker = proc_stat(shell)[1]
        t.expect(comm(worker) in ("exec#1", "exec#2"), f"the sleep runs under an exec worker, not {comm(worker)}")
        os.kill(worker, signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.equal((p.returncode, sorted(lines(out), key=int)), (0, [str(i) for i in range(1, 9)]),
            f"every record once after the restart (stderr {err[:300]!r})")
    t.expect(not alive(sleep), "the orphaned command ended with the run")
    t.equal(group_members(group), [], "processes left in the workers' group")


if __name__ == "__main__":
    main()
