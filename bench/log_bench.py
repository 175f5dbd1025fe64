#!/usr/bin/env python3
"""Issue 4's log benchmarks: the four inline-transform jobs on the anchors'
generated Apache log, each done in the same run by

  jit      flowrun -e 'read(LOG) | ...'           (blocks compiled by the JIT)
  interp   flowrun --no-jit -e '...'              (the reference interpreter)
  auto     the block stage with `* auto`          (JIT; every worker of the
           2-core machine): `count_by`, `sum` and `distinct` keep state and
           cannot be replicated (docs/language.md), so their per-record work
           moves into a replicated `map` before them, e.g.
           map { int($10, 0) } * auto | sum { int($0) }
  mawk     the same one-liner in mawk (the anchors' 06_logs.py commands)
  cpp      bench/logscan_ceiling.cpp, built here with g++ -O2: the native
           single-process ceiling

jobs:
  count404  read(log) | filter { $9 == "404" } | count
  sum       read(log) | sum { int($10, 0) }
  distinct  read(log) | map { $1 } | distinct | count
  countby   read(log) | count_by { $9 }

Every variant runs interleaved (A B C, A B C) after one untimed round whose
outputs are checked to agree across tools (mawk prints a big sum in %.6g
form, so it is compared to 6 digits and gawk's %d checks the exact total;
count_by is compared as sorted lines). The noise control is the anchors'
(../shared/anchors/harness.py). MB/s = log bytes / wall / 1e6. The ratios
are taken per repetition (same run), then the median: flowrun/mawk and
flowrun/C++ are rate ratios (goals: >= 2 and >= 0.67), auto/jit is the
scaling of `* auto`, jit/interp the JIT's gain.

usage: bench/log_bench.py [--flowrun PATH] [--reps N] [--log PATH]
       [--bytes N] [--only count404,sum,distinct,countby] [--anchors DIR]
--bytes N without --log uses /tmp/anchors/access-N.log (1 GB: the anchors'
/tmp/anchors/access.log); a missing log is generated with seed 7.
Run by hand on a Release build, never in CI. See bench/README.md.
"""
import argparse
import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
FULL_BYTES = 1_000_000_000

ap = argparse.ArgumentParser()
ap.add_argument("--flowrun", default=os.path.join(PROJECT, "build", "flowrun"))
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--log", default="")
ap.add_argument("--bytes", type=int, default=FULL_BYTES)
ap.add_argument("--only", default="count404,sum,distinct,countby")
ap.add_argument("--anchors", default=os.path.join(PROJECT, "..", "shared", "anchors"))
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.anchors))
import harness  # noqa: E402
from harness import PY, header, report, run_shell  # noqa: E402

FLOWRUN = os.path.abspath(args.flowrun)
SCRATCH = tempfile.mkdtemp(prefix="flowrun-logbench-")
atexit.register(shutil.rmtree, SCRATCH, True)
VARIANTS = ["jit", "interp", "auto", "mawk", "cpp"]


def default_log():
    if args.log:
        return args.log
    if args.bytes == FULL_BYTES:
        return "/tmp/anchors/access.log"
    return f"/tmp/anchors/access-{args.bytes}.log"


def ensure_log(log):
    if os.path.exists(log):
        return
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    print(f"# making {log} ({args.bytes} bytes, seed 7, the anchors' gen_log.py)", flush=True)
    gen = os.path.join(args.anchors, "gen_log.py")
    with open(log + ".tmp", "wb") as f:
        subprocess.run([PY, gen, "--bytes", str(args.bytes), "--seed", "7"], stdout=f, check=True)
    os.rename(log + ".tmp", log)


def build_ceiling():
    exe = os.path.join(SCRATCH, "logscan_ceiling")
    subprocess.run(["g++", "-O2", "-std=c++17", "-o", exe, os.path.join(HERE, "logscan_ceiling.cpp")], check=True)
    # The anchors' speed probe (harness.speed_probe: native sha512 ns/hash
    # at the start and the end) runs an sha512_chain built here.
    probe = os.path.join(args.anchors, "sha512_chain.c")
    if subprocess.run(["gcc", "-O2", "-o", os.path.join(SCRATCH, "sha512_chain"), probe, "-lcrypto"]).returncode == 0:
        harness.BUILD = SCRATCH
    return exe


def flowrun(program, *options):
    return " ".join([shlex.quote(FLOWRUN), *options, "-e", shlex.quote(program)])


def commands(log, ceiling):
    """{job: {variant: shell command}} for the jobs asked for."""
    r = f'read("{log}")'
    L = shlex.quote(log)
    jobs = {
        "count404": (f'{r} | filter {{ $9 == "404" }} | count',
                     f'{r} | filter {{ $9 == "404" }} * auto | count',
                     f"mawk '$9==\"404\" {{n++}} END{{print n+0}}' {L}", "count404"),
        "sum": (f"{r} | sum {{ int($10, 0) }}",
                f"{r} | map {{ int($10, 0) }} * auto | sum {{ int($0) }}",
                f"mawk '{{s+=$10}} END{{print s}}' {L}", "sumbytes"),
        "distinct": (f"{r} | map {{ $1 }} | distinct | count",
                     f"{r} | map {{ $1 }} * auto | distinct | count",
                     f"mawk '!s[$1]++{{n++}} END{{print n}}' {L}", "distinct1"),
        "countby": (f"{r} | count_by {{ $9 }}",
                    f"{r} | map {{ $9 }} * auto | count_by {{ $0 }}",
                    f"mawk '{{c[$9]++}} END{{for(k in c) print k\"\\t\"c[k]}}' {L} | sort", "countby9"),
    }
    out = {}
    for job in args.only.split(","):
        if job not in jobs:
            sys.exit(f"unknown job '{job}' (count404, sum, distinct, countby)")
        plain, auto, mawk, mode = jobs[job]
        out[job] = {"jit": flowrun(plain), "interp": flowrun(plain, "--no-jit"), "auto": flowrun(auto),
                    "mawk": mawk, "cpp": f"{shlex.quote(ceiling)} {mode} {L}"}
    return out


def shown(cmd, log):
    return cmd.replace(log, "LOG").replace(SCRATCH + "/", "").replace(FLOWRUN, "flowrun")


def normalized(job, variant, text):
    text = text.strip()
    if job == "countby":
        return "\n".join(sorted(text.splitlines()))
    if job == "sum" and variant == "mawk":
        return f"{float(text):.5e}"  # mawk's %.6g: 6 significant digits
    if job == "sum":
        return f"{float(text):.5e}|{int(text)}"
    return text


def check(cmds, log):
    """One untimed round (it also warms the page cache); exits on any
    disagreement between the tools."""
    bad = False
    for job, variants in cmds.items():
        job_bad = False
        outs = {}
        for v, c in variants.items():
            _, out = run_shell(c, f"warmup {job} {v}", capture=True, retry=False)
            outs[v] = out
        if job == "sum":  # the exact total, which mawk cannot print
            _, exact = run_shell(f"gawk '{{s+=$10}} END{{printf \"%d\\n\", s}}' {shlex.quote(log)}",
                                 "check sum gawk %d", capture=True, retry=False)
            if int(exact) != int(outs["cpp"]):
                print(f"# check sum: gawk %d says {exact.strip()}, C++ {outs['cpp'].strip()}")
                job_bad = True
        ref = normalized(job, "cpp", outs["cpp"])
        for v, out in outs.items():
            got = normalized(job, v, out)
            same = got == ref or (job == "sum" and got == ref.split("|")[0])
            if not same:
                print(f"# check {job}: {v} gives {out[:300]!r}, C++ {outs['cpp'][:300]!r}")
                job_bad = True
        answer = outs["cpp"].strip().replace("\n", " ")
        print(f"# check {job}: {'MISMATCH' if job_bad else 'OK'} (C++: {answer[:120]})", flush=True)
        bad = bad or job_bad
    if bad:
        sys.exit("outputs disagree: no figures")


def main():
    log = default_log()
    ensure_log(log)
    size = os.path.getsize(log)
    ceiling = build_ceiling()
    cmds = commands(log, ceiling)
    header(f"flowrun log benchmarks (issue 4): {FLOWRUN} on {log}, {size} bytes")
    for job, variants in cmds.items():
        for v, c in variants.items():
            print(f"# {job:8} {v:6} {shown(c, log)}")
    check(cmds, log)
    walls = {(job, v): [] for job in cmds for v in cmds[job]}
    for rep in range(args.reps):
        for job, variants in cmds.items():
            for v, c in variants.items():
                m, _ = run_shell(c, f"{job}_{v} #{rep + 1}", capture=True, key=f"{job}_{v}")
                walls[(job, v)].append(m.wall)
    for job, variants in cmds.items():
        for v in variants:
            report(f"log_{job}_{v}_MBps", [size / w / 1e6 for w in walls[(job, v)]], "MB/s", shown(variants[v], log),
                   key=f"{job}_{v}")
        t = {v: walls[(job, v)] for v in variants}
        for name, fast, slow, goal in (("flowrun_vs_mawk", "jit", "mawk", " (goal >= 2)"),
                                       ("flowrun_vs_cpp", "jit", "cpp", " (goal >= 0.67)"),
                                       ("auto_vs_jit", "auto", "jit", ", scaling of * auto on "
                                        f"{os.cpu_count()} cpus"),
                                       ("jit_vs_interp", "jit", "interp", "")):
            report(f"log_{job}_{name}", [s / f for f, s in zip(t[fast], t[slow])], "x",
                   f"rate({fast}) / rate({slow}), same repetition{goal}", key=[f"{job}_{fast}", f"{job}_{slow}"])


main()
