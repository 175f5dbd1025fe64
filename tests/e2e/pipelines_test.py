#!/usr/bin/env python3
"""Pipelines through the real binary, each output compared with an oracle
(Python, awk, the input itself): numbers, logs, binary files, fan-out and
fan-in at every width from 1 to 16, order, cancellation, tee and merge,
empty inputs, tiny queues, a 64 MiB record, a closed stdout.

usage: pipelines_test.py FLOWRUN [NAME-SUBSTRING]
"""
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Failure, main, test  # noqa: E402


def lines(data):
    return data.decode("utf-8", "surrogateescape").splitlines()


@test
def seq_map_filter_count(t):
    n = 100_000
    out = t.ok(f'seq(1, {n}) | map {{ $0 + "x" }} | filter {{ len($0) % 2 == 0 }} | count')
    want = sum(1 for i in range(1, n + 1) if len(str(i) + "x") % 2 == 0)
    t.equal(out, f"{want}\n".encode(), "count of even-length records")


@test
def seq_map_filter_records(t):
    out = t.ok('seq(3, 30000) | map { int($0) * 7 % 1000 } | filter { int($0) > 500 }')
    want = "".join(f"{i * 7 % 1000}\n" for i in range(3, 30001) if i * 7 % 1000 > 500)
    t.equal(out.decode(), want, "mapped and filtered numbers")


@test
def log_fields_against_awk(t):
    rng = random.Random(7)
    log = "".join(
        f"10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [22/Nov/2026] \"GET /p{rng.randrange(50)} HTTP/1.1\" "
        f"{rng.choice([200, 200, 301, 404, 500])} {rng.randrange(100000)}\n"
        for _ in range(20000))
    t.write("access.log", log)
    got = t.ok('read("access.log") | filter { $7 == "404" } | map { $1 + " " + $8 }')
    awk = subprocess.run(["awk", '$7 == "404" { print $1 " " $8 }', t.path("access.log")],
                         capture_output=True, check=True).stdout
    t.equal(got, awk, "filter and fields against awk")
    got = t.ok('read("access.log") | sum { int($8) }')
    want = sum(int(line.split()[7]) for line in log.splitlines())
    t.equal(got, f"{want}\n".encode(), "sum of a field")


@test
def binary_file_read_write_identical(t):
    rng = random.Random(11)
    data = rng.randbytes(3_000_000) + b"\n"
    t.write("in.bin", data)
    t.ok('read("in.bin") | write("out.bin")')
    t.expect(t.read("out.bin") == data, "read | write copies a binary file byte for byte")
    leftovers = [f for f in os.listdir(t.dir) if f.startswith(".")]
    t.equal(leftovers, [], "temporary files left")


@test
def fan_out_fan_in_every_width(t):
    n = 20_000
    want = sorted(f"{i}:{len(str(i))}" for i in range(1, n + 1))
    for width in range(1, 17):
        out = t.ok(f'seq(1, {n}) | map {{ $0 + ":" + str(len($0)) }} * {width} | write("-")')
        t.equal(sorted(lines(out)), want, f"map * {width}: the multiset of records")


@test
def ordered_replicas_match_serial(t):
    n = 30_000
    body = '{ fmt("{} {}", $0, hash($0) % 1000) }'
    serial = t.ok(f'seq(1, {n}) | map {body}')
    for width in (2, 3, 8, 16):
        out = t.ok(f'seq(1, {n}) | map {body} * {width} [ordered]')
        t.expect(out == serial, f"map * {width} [ordered] gives the serial output")
    out = t.ok(f'seq(1, 3000) | map {body} * 4 [ordered]', "--queue", "1")
    t.expect(out == serial[:len(out)] and len(lines(out)) == 3000, "[ordered] with --queue 1")


@test
def endless_source_head_terminates(t):
    out = t.ok('seq() | map { $0 } | head(5)', timeout=30)
    t.equal(out, b"1\n2\n3\n4\n5\n", "seq() | map | head(5)")
    out = t.ok('seq() | map { $0 } * 4 | filter { true } * 3 | head(3) | count', timeout=30)
    t.equal(out, b"3\n", "replicated stages between seq() and head")


@test
def tee_and_merge(t):
    t.ok('seq(1, 5000) | tee(map { "b" + $0 } | write("branch.txt")) | map { "a" + $0 } | write("main.txt")')
    t.equal(t.read("main.txt"), "".join(f"a{i}\n" for i in range(1, 5001)).encode(), "tee's main line")
    t.equal(t.read("branch.txt"), "".join(f"b{i}\n" for i in range(1, 5001)).encode(), "tee's branch")
    out = t.ok('seq(1, 3) | tee(head(1) | write("first.txt")) | write("-")')
    t.equal(out, b"1\n2\n3\n", "a tee whose branch stops early goes on")
    t.equal(t.read("first.txt"), b"1\n", "the short branch")

    t.write("words.txt", "".join(f"w{i}\n" for i in range(2000)))
    out = t.ok('merge(seq(1, 3000), lines("x\\ny"), read("words.txt") | map { upper($0) }) | write("-")')
    want = [str(i) for i in range(1, 3001)] + ["x", "y"] + [f"W{i}" for i in range(2000)]
    t.equal(sorted(lines(out)), sorted(want), "merge: every record of every input")
    out = t.ok('merge(seq(), seq(1, 10)) | head(20) | count', timeout=30)
    t.equal(out, b"20\n", "merge of an endless source, cancelled")


@test
def empty_inputs(t):
    t.write("empty.txt", "")
    t.equal(t.ok('read("empty.txt") | map { $0 } | count'), b"0\n", "count of nothing")
    t.equal(t.ok('read("empty.txt") | map { $0 } * 5 | write("-")'), b"", "nothing through 5 replicas")
    t.ok('seq(1, 0) | write("out.txt")')
    t.equal(t.read("out.txt"), b"", "an empty run still writes its (empty) file")
    t.equal(t.ok('merge(read("empty.txt"), seq(1, 0)) | sum { int($0) }'), b"0\n", "sum of nothing")


@test
def queue_capacity_one(t):
    out = t.ok('seq(1, 3000) | map { $0 } * 3 | filter { true } | count', "--queue", "1")
    t.equal(out, b"3000\n", "--queue 1 with replicas")
    out = t.ok('seq(1, 2000) | tee(write("b.txt")) | write("-")', "--queue", "1")
    t.equal(out, "".join(f"{i}\n" for i in range(1, 2001)).encode(), "--queue 1 through a tee")


@test
def large_single_record(t):
    rng = random.Random(5)
    chunk = rng.randbytes(1 << 16).replace(b"\n", b"n")
    record = chunk * 1024  # 64 MiB, no newline inside
    t.write("big.bin", record + b"\n" + b"tail\n")
    t.ok('read("big.bin") | map { $0 } | write("out.bin")', timeout=120)
    t.expect(t.read("out.bin") == record + b"\ntail\n", "a 64 MiB record passes whole")
    out = t.ok('read("big.bin") | map { str(len($0)) }', "--queue", "64KiB", timeout=120)
    t.equal(out, f"{len(record)}\n4\n".encode(), "through 64 KiB queues")


@test
def closed_stdout_ends_quietly(t):
    for program in ('seq() | map { $0 }', 'seq(1, 1000000) | map { $0 } * 3 | write("-")'):
        p = subprocess.Popen([t.flowrun, "-e", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = p.stdout.readline()
        p.stdout.close()  # as `| head -1` does
        try:
            err = p.stderr.read()
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Failure(f"{program!r} kept running after its reader left")
        t.expect(first.rstrip(b"\n").isdigit(), f"the first line: {first!r}")
        t.equal((code, err), (0, b""), f"{program!r} | head -1: exit code and stderr")


@test
def write_renamed_only_on_success(t):
    t.write("out.txt", "old\n")
    r = t.run('lines("1\\n2\\nx\\n4") | map { str(int($0) * 2) } | write("out.txt")')
    t.expect(r.returncode == 1, "a failing run exits 1", r)
    t.equal(t.read("out.txt"), b"old\n", "the target of a failed run")
    t.equal(sorted(os.listdir(t.dir)), ["out.txt"], "files after a failed run")
    t.ok('lines("1\\n2\\n4") | map { str(int($0) * 2) } | write("out.txt")')
    t.equal(t.read("out.txt"), b"2\n4\n8\n", "the target of a successful run")
    t.equal(sorted(os.listdir(t.dir)), ["out.txt"], "files after a successful run")


@test
def random_shapes_never_hang(t):
    """Random replicas (1-16), tiny queues, sleeps, empty inputs, merges,
    tees and heads; each run is checked against what Python computes."""
    seed = int(os.environ.get("FLOWRUN_E2E_SEED", "20261122"))
    rng = random.Random(seed)
    for round_ in range(14):
        n = rng.choice([0, 1, 7, 300, 2000])
        m = rng.choice([0, 5, 150])
        a, b = rng.randint(1, 16), rng.randint(1, 16)
        queue = rng.choice(["1", "2", "5", "64", "256B", "4KiB"])
        sleep = rng.choice(["", f" | sleep({rng.choice([0, 1])}ms) * {rng.randint(1, 16)}"])
        ordered = rng.choice(["", " [ordered]"]) if a > 1 else ""
        head = rng.choice([None, rng.randint(0, 50)])
        program = (f'merge(seq(1, {n}), seq(1, {m}) | map {{ $0 }} * {b}) | map {{ $0 + "," }} * {a}{ordered}'
                   f'{sleep} | tee(filter {{ len($0) > 2 }} | count | write("branch.txt"))')
        total = n + m
        want_branch = sum(1 for i in range(1, n + 1) if len(f"{i},") > 2) + \
            sum(1 for i in range(1, m + 1) if len(f"{i},") > 2)
        if head is not None:
            program += f" | head({head})"
            total = min(total, head)
        program += " | count"
        seed_note = f"FLOWRUN_E2E_SEED={seed}, round {round_}: {program} --queue {queue}"
        out = t.ok(program, "--queue", queue, timeout=60)
        t.equal(out, f"{total}\n".encode(), seed_note)
        if head is None:
            t.equal(t.read("branch.txt"), f"{want_branch}\n".encode(), seed_note + " (branch)")


@test
def slow_replicas_share_the_work(t):
    """A slow stage's consumers ask for small leases: 24 records of 50 ms
    over 12 replicas are spread, not taken by whichever replica came first."""
    t.ok('seq(1, 24) | sleep(50ms) * 12 | count', "--stats", "stats.json")
    import json
    stats = json.loads(t.read("stats.json"))
    sleep = next(s for s in stats["stages"] if s["label"] == "sleep")
    taken = [i["records_in"] for i in sleep["instances"]]
    t.equal(sum(taken), 24, "records through sleep")
    t.expect(max(taken) <= 6, f"records per replica: {taken}")


@test
def stats_file(t):
    t.ok('seq(1, 1000) | filter { int($0) % 10 == 0 } * 2 | write("-")', "--stats", "stats.json")
    import json
    stats = json.loads(t.read("stats.json"))
    by_label = {s["label"]: s for s in stats["stages"]}
    t.equal(sorted(by_label), ["filter", "seq", "write"], "stages in the stats")
    t.equal([i["instance"] for i in by_label["filter"]["instances"]], [1, 2], "instances of filter")
    t.equal(sum(i["records_in"] for i in by_label["filter"]["instances"]), 1000, "records into filter")
    t.equal(sum(i["records_out"] for i in by_label["filter"]["instances"]), 100, "records out of filter")
    t.equal(by_label["seq"]["instances"][0]["records_out"], 1000, "records out of seq")
    t.equal(by_label["write"]["instances"][0]["records_in"], 100, "records into write")
    t.expect(stats["elapsed_seconds"] > 0, "elapsed time")


@test
def a_fifo_or_device_target_is_written_in_place(t):
    # Not renamed over (as root, write("/dev/null") would have turned
    # /dev/null into a plain file): a FIFO stays a FIFO and its reader gets
    # the records; report writes the same way.
    import stat as stat_module
    import threading
    for sink in ('write("pipe")', 'report("pipe", format = "csv")'):
        fifo = t.path("pipe")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        r = t.run(f'lines("a\\tb\\nc") | {sink}')
        reader.join(timeout=30)
        t.equal(r.returncode, 0, f"{sink}: exit code")
        t.expect(stat_module.S_ISFIFO(os.stat(fifo).st_mode), f"{sink}: the target is still a FIFO")
        t.equal(got, [b"a\tb\nc\n" if sink.startswith("write") else b"a,b\r\nc\r\n"], f"{sink}: what the reader got")
        t.equal(sorted(os.listdir(t.dir)), ["pipe"], f"{sink}: no temporary file left")
        os.unlink(fifo)


@test
def jit_cache_between_runs(t):
    """A program run again takes its blocks' machine code from the JIT's
    cache (compiler/jit_cache.h): the same output, and no new entry. By
    default under $HOME/.cache; `off` keeps none; a cache that cannot be
    written changes nothing but the time."""
    prog = 'seq(1, 5000) | filter { int($0) % 2 == 0 } | map { fmt("{}-{}", $0, int($0) * 3 % 7) }'
    want = "".join(f"{i}-{i * 3 % 7}\n" for i in range(1, 5001) if i % 2 == 0)
    home = t.path("home")
    os.mkdir(home)

    def run(**env):
        environment = {k: v for k, v in os.environ.items() if k not in ("FLOWRUN_JIT_CACHE", "XDG_CACHE_HOME")}
        environment.update(env)
        r = subprocess.run([t.flowrun, "run", "-e", prog], cwd=t.dir, capture_output=True, env=environment,
                           timeout=60)
        t.expect(r.returncode == 0 and r.stderr == b"", f"run with {env}", r)
        return r.stdout.decode()

    cache = t.path("jit-cache")
    t.equal(run(FLOWRUN_JIT_CACHE=cache), want, "first run: compiled and stored")
    entries = sorted(os.listdir(cache))
    t.equal(len(entries), 1, "one entry: the program's blocks are one module")
    t.equal(run(FLOWRUN_JIT_CACHE=cache), want, "second run: from the cache")
    t.equal(sorted(os.listdir(cache)), entries, "no new entry")
    t.equal(run(FLOWRUN_JIT_CACHE="off", HOME=home), want, "no cache")
    t.equal(os.listdir(home), [], "off: nothing written")
    t.equal(run(FLOWRUN_JIT_CACHE="/proc/no/cache"), want, "a cache that cannot be written")
    t.equal(run(HOME=home), want, "the default cache")
    t.equal(len(os.listdir(os.path.join(home, ".cache", "flowrun", "jit"))), 1, "under $HOME/.cache/flowrun/jit")


if __name__ == "__main__":
    main()
