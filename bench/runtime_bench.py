#!/usr/bin/env python3
"""The runtime's performance figures (issue 3), each beside its anchor run in
the same session with the anchors' own noise control (../shared/anchors/
harness.py: wait for a quiet machine, retry noisy runs, report the foreign
CPU share).

  records  seq(1, 20000000) | map { $0 } | filter { true } | count, records/s;
           and 01_mpqueue.py's records (16-64 B, upper-cased) through
           gen -> upper -> count, generated in the pipeline and read from
           a file; beside 01_mpqueue.py (one record per put, and batched by
           1000), rerun here
  bytes    read(f) | write("-") > /dev/null on a 1 GB file, GB/s, beside
           cat f | cat > /dev/null
  fanout   seq(1, 120) | sleep(50ms) * 12 | discard, s, beside the ideal 0.5 s
           and seq 120 | xargs -P12 -I{} sleep 0.05
  startup  64 worker processes on an empty input, end to end, ms, beside
           64 multiprocessing.Process start + join; each run after a quiet
           wait (the harness's way), and back to back

usage: bench/runtime_bench.py [--flowrun PATH] [--reps N] [--only NAME,...]
       [--anchors DIR] [--log PATH]
Run by hand on a Release build, never in CI. See bench/README.md.
"""
import argparse
import atexit
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--flowrun", default=os.path.join(PROJECT, "build", "flowrun"))
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--only", default="records,bytes,fanout,startup")
ap.add_argument("--anchors", default=os.path.join(PROJECT, "..", "shared", "anchors"))
ap.add_argument("--log", default="", help="the 1 GB file (default: /tmp/anchors/access.log, made if missing)")
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.anchors))
from harness import header, measure, report, run_shell  # noqa: E402

FLOWRUN = os.path.abspath(args.flowrun)
ONLY = set(args.only.split(","))
SCRATCH = tempfile.mkdtemp(prefix="flowrun-bench-")
atexit.register(shutil.rmtree, SCRATCH, True)


def flowrun(program, *extra, out="/dev/null"):
    """The shell command running `program` with stdout to `out`."""
    quoted = program.replace("'", "'\\''")
    return f"{FLOWRUN} {' '.join(extra)} -e '{quoted}' > {out}"


def check_output(program, want):
    got = subprocess.run(["/bin/bash", "-c", flowrun(program, out="/dev/stdout")], capture_output=True,
                         text=True)
    if got.returncode != 0 or got.stdout != want:
        sys.exit(f"wrong output from {program!r}: {got.stdout[:200]!r} {got.stderr[:500]!r}")


def timed(cmd, label, reps):
    walls = []
    for rep in range(reps):
        m, _ = run_shell(cmd, f"{label} #{rep + 1}", key=label)
        walls.append(m.wall)
    return walls


def anchor_mpqueue(reps):
    """Reruns 01_mpqueue.py (smaller n, same method) and returns its RESULT
    medians by name."""
    cmd = [sys.executable, os.path.join(args.anchors, "01_mpqueue.py"), "--n", "300000", "--nbatch", "3000000",
           "--reps", str(reps)]
    text = subprocess.run(cmd, capture_output=True, text=True, cwd=args.anchors, check=True).stdout
    sys.stdout.write("".join(f"#   anchor: {line}\n" for line in text.splitlines() if line.startswith("RESULT")))
    found = {}
    for line in text.splitlines():
        if line.startswith("RESULT"):
            fields = line.split("\t")
            value = fields[2]
            scale = 1e6 if value.endswith("M") else 1e3 if value.endswith("k") else 1
            found[fields[1]] = float(value.rstrip("Mk")) * scale
    return found


def bench_records():
    n = 20_000_000
    program = f"seq(1, {n}) | map {{ $0 }} | filter {{ true }} | count"
    check_output(program, f"{n}\n")
    rates = [n / w for w in timed(flowrun(program), "flowrun_seq_map_filter_count", args.reps)]
    med = report("flowrun_seq_map_filter_count", rates, "records/s", program, key="flowrun_seq_map_filter_count")

    # 01_mpqueue.py's records: "%010d" % i, then 6..54 filler characters.
    fill = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
    m = 5_000_000
    gen = (f'seq(0, {m - 1}) | map {{ substr("0000000000" + $0, len($0) + 1) + '
           f'substr("{fill}", 1, 6 + int($0) * 7 % 49) }} | map {{ upper($0) }} | count')
    check_output(gen, f"{m}\n")
    rates2 = [m / w for w in timed(flowrun(gen), "flowrun_mpqueue_records", args.reps)]
    med2 = report("flowrun_mpqueue_records", rates2, "records/s", "gen -> upper -> count, 01's records",
                  key="flowrun_mpqueue_records")
    # The same records from a file (in the page cache): the source is then
    # what a pipeline's source usually is, a read, and what is measured is
    # the queues and the upper-casing, as in the anchor's transform -> sink.
    records = os.path.join(SCRATCH, "records01.txt")
    with open(records, "w") as f:
        for start in range(0, m, 100_000):
            f.write("".join(f"{i:010d}{fill[:6 + (i * 7) % 49]}\n" for i in range(start, min(m, start + 100_000))))
    from_file = f'read("{records}") | map {{ upper($0) }} | count'
    check_output(from_file, f"{m}\n")
    rates3 = [m / w for w in timed(flowrun(from_file), "flowrun_mpqueue_records_read", args.reps)]
    med3 = report("flowrun_mpqueue_records_read", rates3, "records/s", "read(file of 01's records) -> upper -> count",
                  key="flowrun_mpqueue_records_read")
    anchor = anchor_mpqueue(args.reps)
    for name in ("mpqueue_pipe3", "mpqueue_pipe3_seqrecs", "mpqueue_pipe3_batch", "mpqueue_pipe3_batch_seqrecs"):
        if name in anchor:
            print(f"#   seq|map|filter|count / {name}: {med / anchor[name]:.1f}x; "
                  f"01's records generated / {name}: {med2 / anchor[name]:.1f}x; "
                  f"01's records read / {name}: {med3 / anchor[name]:.1f}x")


def bench_bytes():
    log = args.log or "/tmp/anchors/access.log"
    if not os.path.exists(log):
        os.makedirs(os.path.dirname(log), exist_ok=True)
        print(f"# making {log} (1 GB, seed 7)", flush=True)
        with open(log, "wb") as f:
            subprocess.run([sys.executable, os.path.join(args.anchors, "gen_log.py"), "--bytes", "1000000000"],
                           stdout=f, check=True)
    size = os.path.getsize(log)
    subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)  # into the page cache
    ours = [size / w / 1e9 for w in timed(flowrun(f'read("{log}") | write("-")'), "flowrun_read_write", args.reps)]
    theirs = [size / w / 1e9 for w in timed(f"cat {log} | cat > /dev/null", "cat_cat", args.reps)]
    a = report("flowrun_read_write", ours, "GB/s", 'read(f) | write("-") > /dev/null, 1 GB', key="flowrun_read_write")
    b = report("cat_pipe_cat", theirs, "GB/s", "cat f | cat > /dev/null", key="cat_cat")
    print(f"#   flowrun / cat|cat: {a / b:.2f}x")


def bench_fanout():
    program = "seq(1, 120) | sleep(50ms) * 12 | discard"
    ours = timed(flowrun(program), "flowrun_sleep12", args.reps)
    theirs = timed("seq 120 | xargs -P12 -I{} sleep 0.05", "xargs_p12", args.reps)
    a = report("flowrun_sleep50ms_x12", ours, "s", program + " (ideal 0.5 s)", key="flowrun_sleep12")
    report("xargs_p12_sleep", theirs, "s", "seq 120 | xargs -P12 -I{} sleep 0.05", key="xargs_p12")
    print(f"#   flowrun / ideal: {a / 0.5:.3f}")


def noop():
    pass


def bench_startup():
    empty = os.path.join(SCRATCH, "empty.txt")
    open(empty, "w").close()
    program = f'read("{empty}") | map {{ $0 }} * 61 | count | write("-")'  # 64 workers
    check_output(program, "0\n")
    ours = [w * 1e3 for w in timed(flowrun(program), "flowrun_64_workers", args.reps * 3)]
    ctx = mp.get_context("fork")

    def p64():
        ps = [ctx.Process(target=noop) for _ in range(64)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()

    theirs = []
    for rep in range(args.reps * 3):
        m, _ = measure(p64, f"py_64_process #{rep + 1}", key="py_64_process")
        theirs.append(m.wall * 1e3)
    report("flowrun_64_workers_empty", ours, "ms", program, key="flowrun_64_workers")
    report("py_64_process", theirs, "ms", "64 mp.Process(noop) start + join (fork)", key="py_64_process")

    # The harness waits for a quiet machine before each run, so every run
    # above starts on idle CPUs (on this VM, idle CPUs wake slowly: both
    # sides take 20-40 ms longer than back to back). The same, back to back
    # after one warm-up, the two interleaved: what a script starting
    # flowrun in a loop sees.
    cmd = ["/bin/bash", "-c", flowrun(program)]

    def once_ours():
        subprocess.run(cmd, check=True)

    warm = {"flowrun": [], "python": []}
    for rep in range(args.reps * 10 + 1):
        for name, fn in (("flowrun", once_ours), ("python", p64)):
            t0 = time.perf_counter()
            fn()
            if rep:
                warm[name].append((time.perf_counter() - t0) * 1e3)
    a = report("flowrun_64_workers_warm", warm["flowrun"], "ms", program + ", back to back",
               key="flowrun_64_workers_warm")
    b = report("py_64_process_warm", warm["python"], "ms", "64 mp.Process, back to back", key="py_64_process_warm")
    print(f"#   back to back: flowrun / Python: {a / b:.2f}x")


header(f"flowrun runtime benchmarks: {FLOWRUN}")
for name, fn in (("records", bench_records), ("bytes", bench_bytes), ("fanout", bench_fanout),
                 ("startup", bench_startup)):
    if name in ONLY:
        print(f"# --- {name} ({time.strftime('%H:%M:%S')})", flush=True)
        fn()
