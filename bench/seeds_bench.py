#!/usr/bin/env python3
"""Issue 6's side-by-side benchmarks: the seeds' workloads done by flowrun
and, in the same run and interleaved, by what people use today (the
anchors of ../shared/anchors/, with their noise control, harness.py).

  whois   120 lookups, 50 ms server latency, 12 at a time (ideal 0.5 s).
          Every tool does the same job: one TCP whois query per address
          against the same responder on a free loopback port, output
          `address\\tnetname\\tcountry`. The responder (--responder) is by
          default whois_respond, a C program built here (a thread per
          connection, the answer sent 50 ms after the query arrived, to
          within a fraction of a millisecond); `python` is
          tools/whois_responder.py, whose asyncio loop answers 3-5 ms late
          (a floor of about 0.54 s for every tool, not the clients' cost):
            flowrun   read(ips) | whois(server = ..., fields = "netname,country") * 12
            xargs     xargs -P12 -n1 whois_query HOST PORT < ips
            parallel  parallel -j12 whois_query HOST PORT {} < ips
            pool      python whois_pool.py: Pool(12).map(lookup, ips,
                      chunksize=1), a socket per lookup, whole process
          whois_query is a small C client built here (connect, send, read
          to close, pick the two keys): the cheapest per-item command that
          xargs and parallel can run. xargs_sleep is the anchors' own
          stand-in (seq 120 | xargs -P12 -I{} sleep 0.05), for reference.
  sha512  16 UUIDs (the anchors' items) x R rounds of
          h = hex(sha512(h)): flowrun `sha512(rounds = R) * 1` and `* 2`;
          the anchors' sha512_chain.c -m lowlevel (built here with gcc -O2
          -lcrypto; also -j 2); Python hashlib serial and Pool(2).map
          (chunksize 1, pool start included), as 03_sha512_farm.py does.
          ns/hash = serial wall / (16 R); speedups per repetition.
  exec    N commands `true`, 2 at a time: flowrun
          seq(1, N) | exec("true {}") * 2 | discard, beside
          seq N | xargs -P2 -n1 true and seq N | parallel -j2 true; jobs/s.

Outputs are checked to agree across tools (whois: sorted lines; sha512:
every digest of every timed run against Python's).

usage: bench/seeds_bench.py [--flowrun PATH] [--reps N] [--only whois,sha512,exec]
       [--rounds R] [--jobs N] [--lookups N] [--responder c|python] [--anchors DIR]
--rounds defaults to 200000 (a quick run); the anchors use 800000.
Run by hand on a Release build, never in CI. See bench/README.md.
"""
import argparse
import atexit
import hashlib
import multiprocessing as mp
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--flowrun", default=os.path.join(PROJECT, "build", "flowrun"))
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--only", default="whois,sha512,exec")
ap.add_argument("--rounds", type=int, default=200_000)
ap.add_argument("--jobs", type=int, default=5000)
ap.add_argument("--lookups", type=int, default=120)
ap.add_argument("--responder", choices=("c", "python"), default="c")
ap.add_argument("--anchors", default=os.path.join(PROJECT, "..", "shared", "anchors"))
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.anchors))
import harness  # noqa: E402
from harness import PY, header, measure, report, run_shell  # noqa: E402

FLOWRUN = os.path.abspath(args.flowrun)
SCRATCH = tempfile.mkdtemp(prefix="flowrun-seedsbench-")
atexit.register(shutil.rmtree, SCRATCH, True)
LATENCY_S = 0.05
WORKERS = 12


WHOIS_QUERY_C = r"""
/* whois_query HOST PORT QUERY: one RFC 3912 query; prints
   QUERY\tnetname\tcountry (the first line with each key wins, keys compared
   without case, values trimmed), as flowrun's whois() stage emits it. */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char answer[1 << 20];

static void pick(char *line, const char *key, char **value) {
    while (*line == ' ' || *line == '\t') line++;
    if (*value || *line == '%' || *line == '#') return;
    char *colon = strchr(line, ':');
    if (!colon) return;
    char *k = line, *e = colon;
    while (e > k && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if ((size_t)(e - k) != strlen(key) || strncasecmp(k, key, strlen(key)) != 0) return;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    char *ve = v + strlen(v);
    while (ve > v && isspace((unsigned char)ve[-1])) *--ve = 0;
    *value = v;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: whois_query HOST PORT QUERY\n"); return 2; }
    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) { fprintf(stderr, "bad server\n"); return 2; }
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) { perror("connect"); return 1; }
    char query[512];
    int n = snprintf(query, sizeof query, "%s\r\n", argv[3]);
    if (write(fd, query, (size_t)n) != n) { perror("write"); return 1; }
    size_t have = 0;
    ssize_t got;
    while (have < sizeof answer - 1 && (got = read(fd, answer + have, sizeof answer - 1 - have)) > 0) have += got;
    answer[have] = 0;
    close(fd);
    char *netname = NULL, *country = NULL, *save = NULL;
    for (char *line = strtok_r(answer, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        pick(line, "netname", &netname);
        pick(line, "country", &country);
    }
    printf("%s\t%s\t%s\n", argv[3], netname ? netname : "", country ? country : "");
    return 0;
}
"""

WHOIS_POOL_PY = r'''
"""whois_pool.py HOST PORT FILE: Pool(12).map(lookup, lines, chunksize=1),
one socket per lookup, QUERY\tnetname\tcountry per line."""
import multiprocessing as mp
import socket
import sys

HOST, PORT, FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
FIELDS = ["netname", "country"]


def lookup(query):
    with socket.create_connection((HOST, PORT), timeout=10) as s:
        s.sendall(query.encode() + b"\r\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    found = {}
    for line in b"".join(chunks).decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith(("%", "#")):
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in FIELDS and key not in found:
            found[key] = value.strip()
    return "\t".join([query] + [found.get(f, "") for f in FIELDS])


if __name__ == "__main__":
    with open(FILE) as f:
        queries = f.read().split()
    with mp.get_context("fork").Pool(12) as pool:
        out = pool.map(lookup, queries, chunksize=1)
    sys.stdout.write("".join(line + "\n" for line in out))
'''


def flowrun(program):
    return f"{shlex.quote(FLOWRUN)} -e {shlex.quote(program)}"


def shown(cmd):
    return cmd.replace(SCRATCH + "/", "").replace(shlex.quote(PY), "python3").replace(FLOWRUN, "flowrun")


def compile_c(name, source, *libs):
    src = os.path.join(SCRATCH, name + ".c")
    exe = os.path.join(SCRATCH, name)
    if source is None:
        shutil.copy(os.path.join(args.anchors, name + ".c"), src)
    else:
        with open(src, "w") as f:
            f.write(source)
    subprocess.run(["gcc", "-O2", "-o", exe, src, *libs], check=True)
    return exe


def interleaved(cmds, reps):
    """The anchors' interleave (A B C, A B C), the output of each run
    captured and dropped. Returns {name: [wall seconds]}."""
    t = {k: [] for k in cmds}
    for rep in range(reps):
        for k, c in cmds.items():
            m, _ = run_shell(c, f"{k} #{rep + 1}", capture=True, key=k)
            t[k].append(m.wall)
    return t


def ratio_report(name, nums, dens, unit, method, key):
    return report(name, [n / d for n, d in zip(nums, dens)], unit, method, key=key)


# ---------------------------------------------------------------- whois
def start_responder():
    if args.responder == "c":
        with open(os.path.join(HERE, "whois_respond.c")) as f:
            cmd = [compile_c("whois_respond", f.read(), "-pthread"), str(int(LATENCY_S * 1000))]
    else:
        cmd = [PY, os.path.join(PROJECT, "tools", "whois_responder.py"), "--port", "0", "--latency",
               f"{int(LATENCY_S * 1000)}ms"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    atexit.register(proc.terminate)
    port = proc.stdout.readline().strip()
    if not port.isdigit():
        sys.exit(f"the whois responder did not print its port (got {port!r})")
    return port


def responder_latency(port, queries=20):
    """The median time of one query alone, from a client here: the
    responder's own floor (50 ms and what it adds)."""
    times = []
    for i in range(queries):
        with socket.create_connection(("127.0.0.1", int(port))) as s:
            start = time.perf_counter()
            s.sendall(f"192.0.2.{i + 1}\r\n".encode())
            while s.recv(65536):
                pass
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_whois():
    port = start_responder()
    ips = os.path.join(SCRATCH, "ips.txt")
    with open(ips, "w") as f:  # distinct addresses, so no tool can cache
        f.write("".join(f"{1 + i * 7 % 223}.{i * 13 % 256}.{i % 256}.{1 + i % 254}\n" for i in range(args.lookups)))
    client = compile_c("whois_query", WHOIS_QUERY_C)
    pool = os.path.join(SCRATCH, "whois_pool.py")
    with open(pool, "w") as f:
        f.write(WHOIS_POOL_PY)
    server = f"127.0.0.1:{port}"
    alone = responder_latency(port)
    print(f"# whois responder: {args.responder}, one query alone answers in {alone * 1e3:.1f} ms "
          f"(latency {LATENCY_S * 1e3:g} ms)", flush=True)
    cmds = {
        "flowrun": flowrun(f'read("{ips}") | whois(server = "{server}", fields = "netname,country") * {WORKERS}'
                           f' | write("-")'),
        "xargs": f"xargs -P{WORKERS} -n1 {client} 127.0.0.1 {port} < {ips}",
        "parallel": f"parallel -j{WORKERS} {client} 127.0.0.1 {port} {{}} < {ips}",
        "pool": f"{shlex.quote(PY)} {pool} 127.0.0.1 {port} {ips}",
        "xargs_sleep": f"seq {args.lookups} | xargs -P{WORKERS} -I{{}} sleep {LATENCY_S}",
    }
    for k, c in cmds.items():
        print(f"# whois {k:11} {shown(c)}")
    outs = {}
    for k, c in cmds.items():
        if k != "xargs_sleep":
            _, out = run_shell(c, f"check whois {k}", capture=True, retry=False)
            outs[k] = sorted(out.splitlines())
    ok = all(v == outs["flowrun"] for v in outs.values()) and len(outs["flowrun"]) == args.lookups
    print(f"# check whois: {'OK' if ok else 'MISMATCH'} ({len(outs['flowrun'])} lines, e.g. {outs['flowrun'][0]!r})",
          flush=True)
    if not ok:
        sys.exit("whois outputs disagree: " + repr({k: v[:3] for k, v in outs.items()}))
    t = interleaved(cmds, args.reps)
    ideal = args.lookups * LATENCY_S / WORKERS
    for k, c in cmds.items():
        report(f"whois_{k}_wall", t[k], "s", f"{shown(c)} (ideal {ideal:g} s)", key=k)
    report("whois_flowrun_vs_ideal", [w / ideal for w in t["flowrun"]], "x",
           "flowrun wall / ideal (goal <= 1.10)", key="flowrun")
    for k in ("xargs", "parallel", "pool"):
        ratio_report(f"whois_{k}_vs_flowrun", t[k], t["flowrun"], "x",
                     f"wall({k}) / wall(flowrun), same repetition (goal > 1)", key=[k, "flowrun"])


# ---------------------------------------------------------------- sha512
def items16():
    """The anchors' 16 items (03_sha512_farm.py)."""
    rng = random.Random(2026)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(16)]


def chain(s, rounds):
    h = s.encode()
    for _ in range(rounds):
        h = hashlib.sha512(h).hexdigest().encode()
    return h.decode()


ROUNDS = args.rounds


def chain_r(s):
    return chain(s, ROUNDS)


def bench_sha512():
    R = args.rounds
    items = items16()
    path = os.path.join(SCRATCH, "items.txt")
    with open(path, "w") as f:
        f.write("".join(s + "\n" for s in items))
    native = os.path.join(SCRATCH, "sha512_chain")
    program = f'read("{path}") | sha512(rounds = {R}) * {{}} | write("-")'
    cmds = {
        "flowrun_w1": flowrun(program.format(1)),
        "flowrun_w2": flowrun(program.format(2)),
        "c_lowlevel": f"{native} -m lowlevel {R} {' '.join(items)}",
        "c_lowlevel_j2": f"{native} -m lowlevel -j 2 {R} {' '.join(items)}",
    }
    for k, c in cmds.items():
        print(f"# sha512 {k:13} {shown(c).replace(' '.join(items), 'ITEMS')}")
    print(f"# sha512 py_serial     [chain(s, {R}) for s in items], in this process")
    print(f"# sha512 py_pool2      Pool(2).map(chain, items, chunksize=1), pool start included (fork)")
    ctx = mp.get_context("fork")
    t = {k: [] for k in ["py_serial", "py_pool2", *cmds]}
    want = None
    for rep in range(args.reps):
        m, py = measure(lambda: [chain(s, R) for s in items], f"py_serial #{rep + 1}")
        t["py_serial"].append(m.wall)
        want = sorted(f"{s}\t{h}" for s, h in zip(items, py))

        def pool2():
            with ctx.Pool(2) as p:
                return p.map(chain_r, items, chunksize=1)
        m, pooled = measure(pool2, f"py_pool2 #{rep + 1}")
        t["py_pool2"].append(m.wall)
        if pooled != py:
            sys.exit("sha512: Pool(2) differs from the serial loop")
        for k, c in cmds.items():
            m, out = run_shell(c, f"{k} #{rep + 1}", capture=True, key=k)
            t[k].append(m.wall)
            if sorted(out.splitlines()) != want:
                sys.exit(f"sha512: {k} gives other digests than Python's: {out[:300]!r}")
    print(f"# check sha512: OK, all 16 digests of every run equal Python's; item 0 R={R}: {want[0][:60]}...",
          flush=True)
    H = 16 * R
    ns = lambda ws: [w / H * 1e9 for w in ws]  # noqa: E731
    report("sha512_rounds", [R], "rounds", "per item, 16 items (the anchors: 800000)")
    report("sha512_flowrun_ns_per_hash", ns(t["flowrun_w1"]), "ns/hash", "sha512(rounds = R) * 1, whole run",
           key="flowrun_w1")
    report("sha512_c_lowlevel_ns_per_hash", ns(t["c_lowlevel"]), "ns/hash", "sha512_chain -m lowlevel",
           key="c_lowlevel")
    report("sha512_py_ns_per_hash", ns(t["py_serial"]), "ns/hash", "hashlib, serial", key="py_serial")
    ratio_report("sha512_flowrun_over_c_lowlevel", t["flowrun_w1"], t["c_lowlevel"], "x",
                 "ns/hash flowrun / C low-level, same repetition (goal <= 1.15)", key=["flowrun_w1", "c_lowlevel"])
    ratio_report("sha512_py_over_flowrun", t["py_serial"], t["flowrun_w1"], "x",
                 "ns/hash Python / flowrun, same repetition", key=["py_serial", "flowrun_w1"])
    ratio_report("sha512_flowrun_speedup_w2", t["flowrun_w1"], t["flowrun_w2"], "x",
                 "wall(* 1) / wall(* 2), same repetition (goal >= 1.9)", key=["flowrun_w1", "flowrun_w2"])
    ratio_report("sha512_py_pool2_speedup", t["py_serial"], t["py_pool2"], "x", "serial / Pool(2), same repetition",
                 key=["py_serial", "py_pool2"])
    ratio_report("sha512_c_lowlevel_speedup_j2", t["c_lowlevel"], t["c_lowlevel_j2"], "x",
                 "C low-level serial / -j 2, same repetition", key=["c_lowlevel", "c_lowlevel_j2"])


# ---------------------------------------------------------------- exec
def bench_exec():
    n = args.jobs
    check = flowrun('seq(1, 100) | exec("echo {}") * 2 | count')
    _, out = run_shell(check, "check exec", capture=True, retry=False)
    if out.strip() != "100":
        sys.exit(f"exec: {check} printed {out!r}, not 100")
    cmds = {
        "flowrun": flowrun(f'seq(1, {n}) | exec("true {{}}") * 2 | discard'),
        "xargs": f"seq {n} | xargs -P2 -n1 true",
        "parallel": f"seq {n} | parallel -j2 true",
    }
    for k, c in cmds.items():
        print(f"# exec {k:9} {shown(c)}")
    t = interleaved(cmds, args.reps)
    for k, c in cmds.items():
        report(f"exec_{k}_jobs_per_s", [n / w for w in t[k]], "jobs/s", shown(c), key=k)
    for k in ("xargs", "parallel"):
        ratio_report(f"exec_flowrun_vs_{k}", t[k], t["flowrun"], "x",
                     f"jobs/s flowrun / {k}, same repetition" + (" (goal >= 1)" if k == "xargs" else ""),
                     key=["flowrun", k])


# The anchors' speed probe (harness.speed_probe: native sha512 ns/hash at
# the start and the end) runs the sha512_chain built here.
compile_c("sha512_chain", None, "-lcrypto")
harness.BUILD = SCRATCH
header(f"flowrun seeds benchmarks (issue 6): {FLOWRUN}")
for name, fn in (("whois", bench_whois), ("sha512", bench_sha512), ("exec", bench_exec)):
    if name in args.only.split(","):
        print(f"# --- {name} ({time.strftime('%H:%M:%S')})", flush=True)
        fn()
