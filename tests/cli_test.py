#!/usr/bin/env python3
"""The command line through the real binary: subcommands, --help, --version,
usage errors and their exit codes (section 8 of the contract).

usage: cli_test.py FLOWRUN PROJECT_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

flowrun, project = sys.argv[1], sys.argv[2]
passed = failed = 0


def run(*args, cwd=project, stdin=None):
    return subprocess.run([flowrun, *args], cwd=cwd, capture_output=True, text=True, errors="replace", timeout=60, input=stdin)


def check(name, condition, result=None):
    global passed, failed
    if condition:
        passed += 1
        return
    failed += 1
    print(f"FAIL {name}")
    if result is not None:
        print(f"  exit {result.returncode}\n  stdout: {result.stdout[:2000]!r}\n  stderr: {result.stderr[:2000]!r}")


# Whole-number options refused in words (CLI11's own check printed a range
# up to a 300-digit number, and "not in range" for a word).
for args, said in ((["worker", "--broker", "nats://127.0.0.1:1", "--slots", "0"], "--slots: '0' is not a whole number of 1 or more"),
                   (["worker", "--broker", "nats://127.0.0.1:1", "--slots", "abc"], "--slots: 'abc' is not a whole number of 1 or more"),
                   (["worker", "--broker", "nats://127.0.0.1:1", "--slots", "99999999999"], "--slots: '99999999999' is too large"),
                   (["run", "-e", "seq(1, 3)", "--max-restarts", "-1"], "--max-restarts: '-1' is not a whole number of 0 or more")):
    r = run(*args)
    check(" ".join(args), r.returncode == 2 and r.stderr.startswith(said + "\n") and len(r.stderr) < 200, r)

# A broker URL of another scheme is a usage error, said without its password
# (libnats spoke NATS to it and said "no server available for connection").
for args in (["run", "-e", "seq(1, 3)", "--broker", "http://user:secret@host:4222"],
             ["check", "-e", "seq(1, 3)", "--broker", "nats://host:4222,ws://user:secret@host:4223"],
             ["worker", "--broker", "ws://user:secret@host:4222"]):
    r = run(*args)
    check(" ".join(args), r.returncode == 2 and r.stderr.startswith(
        "flowrun: error: --broker takes nats://HOST:PORT or tls://HOST:PORT, got '") and "secret" not in r.stderr
        and "://***@host:" in r.stderr, r)

# A worker's grace, as a run's.
r = run("worker", "--broker", "nats://127.0.0.1:1", "--grace", "soon")
check("worker --grace soon", r.returncode == 2 and r.stderr ==
      "flowrun: error: --grace takes a duration (250ms, 5s, 2m), got 'soon'\n", r)
r = run("worker", "--help")
for option in ("--broker", "--slots", "--grace", "--nats-creds"):
    check(f"worker --help mentions {option}", option in r.stdout, r)

r = run("--version")
check("--version", r.returncode == 0 and r.stdout.startswith("flowrun 0."), r)

for args in (["--help"], ["run", "--help"], ["check", "--help"], ["graph", "--help"]):
    r = run(*args)
    check(" ".join(args), r.returncode == 0 and "Usage" in r.stdout, r)
r = run("run", "--help")
for option in ("--param", "--queue", "--progress", "--stats", "--dead-letter", "--grace", "--sort-memory", "--no-jit",
               "--dry-run"):
    check(f"run --help mentions {option}", option in r.stdout, r)
r = run("graph", "--help")
check("graph --help mentions --format", "--format" in r.stdout, r)

r = run()
check("no arguments is a usage error", r.returncode == 2, r)
r = run("check")
check("check without a program", r.returncode == 2 and "no program" in r.stderr, r)
r = run("check", "--no-such-option", "examples/whois.flow")
check("unknown option", r.returncode == 2, r)
r = run("check", "missing.flow")
check("missing file", r.returncode == 2 and
      r.stderr == "flowrun: error: cannot read 'missing.flow': No such file or directory\n", r)
r = run("check", "-p", "novalue", "examples/whois.flow")
check("-p without =", r.returncode == 2 and "-p takes NAME=VALUE" in r.stderr, r)
r = run("check", "--queue", "lots", "examples/whois.flow")
check("--queue malformed", r.returncode == 2 and "--queue" in r.stderr, r)
r = run("run", "--grace", "soon", "examples/whois.flow")
check("--grace malformed", r.returncode == 2 and "--grace" in r.stderr, r)
r = run("graph", "--format", "png", "examples/whois.flow")
check("graph --format png is refused", r.returncode == 2, r)
r = run("check", "-e", "seq(1, 3)", "examples/whois.flow")
check("file and -e together", r.returncode == 2 and "not both" in r.stderr, r)

# Every example checks cleanly.
for example in sorted(os.listdir(os.path.join(project, "examples"))):
    if example.endswith(".flow"):
        r = run("check", os.path.join("examples", example))
        check(f"check examples/{example}", r.returncode == 0, r)

# `check` prints the plan; `run --dry-run` is the same.
r = run("check", "-e", 'seq(1, 10) | map { $0 } * 3 | write("-")')
check("check -e prints a plan", r.returncode == 0 and "map" in r.stdout and "processes" in r.stdout, r)


def without_limits(plan):  # the machine's figures (processes running now) change between runs
    return plan.split("\nlimits")[0].rstrip("\n")


r2 = run("run", "--dry-run", "-e", 'seq(1, 10) | map { $0 } * 3 | write("-")')
check("run --dry-run = check", r2.returncode == 0 and without_limits(r2.stdout) == without_limits(r.stdout), r2)
r3 = run("--dry-run", "-e", 'seq(1, 10) | map { $0 } * 3 | write("-")')
check("flowrun --dry-run -e = check", r3.returncode == 0 and without_limits(r3.stdout) == without_limits(r.stdout), r3)
r4 = run("check", "--no-limits", "-e", 'seq(1, 10) | map { $0 } * 3 | write("-")')
check("check --no-limits leaves the limits out", r4.returncode == 0 and "limits" not in r4.stdout and
      without_limits(r4.stdout) == without_limits(r.stdout), r4)

# -p reaches arg(); a compile error exits 2.
r = run("check", "-p", "n=7", "-e", 'let n = int(arg("n")) \n seq(1, n) | discard')
check("-p reaches arg()", r.returncode == 0, r)
r = run("check", "-e", 'let n = int(arg("n")) \n seq(1, n) | discard')
check("missing -p is a compile error", r.returncode == 2 and "-p n=" in r.stderr, r)
r = run("check", "-e", 'seq(1, 3) | mapp { $0 }')
check("unknown stage exits 2", r.returncode == 2 and "did you mean 'map'" in r.stderr, r)

# A plan that cannot run is refused with the figure that blocks it.
r = run("check", "-e", 'seq(1, 3) | map { $0 } * 999999 | discard')
check("too many processes", r.returncode == 1 and "the plan needs 1,000,002 processes" in r.stderr, r)
r = run("check", "-e", 'read("no/such/file.log") | discard')
check("missing input file", r.returncode == 1 and "no/such/file.log" in r.stderr, r)
r = run("check", "-e", 'seq(1, 3) | write("/no/such/dir/out.txt")')
check("unwritable output", r.returncode == 1 and "/no/such/dir" in r.stderr, r)

# graph in each format.
r = run("graph", "examples/whois.flow")
check("graph text", r.returncode == 0 and "whois" in r.stdout, r)
r = run("graph", "--format", "dot", "examples/whois.flow")
check("graph dot", r.returncode == 0 and r.stdout.startswith("digraph"), r)
if shutil.which("dot") and r.returncode == 0:
    svg = subprocess.run(["dot", "-Tsvg"], input=r.stdout, capture_output=True, text=True)
    check("graph dot renders with Graphviz", svg.returncode == 0 and "<svg" in svg.stdout, svg)
r = run("graph", "--format", "mermaid", "examples/whois.flow")
check("graph mermaid", r.returncode == 0 and r.stdout.startswith("flowchart"), r)

# The JIT and the reference interpreter give byte-identical output.
log = "examples/data/access.log"
for program in (f'read("{log}") | filter {{ $9 == "404" }} | count',
                f'read("{log}") | sum {{ int($10, 0) }}',
                f'read("{log}") | map {{ $1 }} | distinct | count',
                f'read("{log}") | count_by {{ $9 }}',
                f'read("{log}") | map {{ fmt("{{}} {{}} {{}}", upper($6), len($7) * 1.5, NR % 7 == 0) }}',
                f'read("{log}") | map {{ let h = int(substr($4, 14, 2)); h > 12 ? str(h / 0.7) : capture($7, "/([a-z]+)", 1) }}',
                'seq(1, 3000) | map { str(int($0) * 1000000007 * 1000000009) + "\t" + str(-int($0) % 7) }'):
    jit = run("run", "-e", program)
    interpreted = run("run", "--no-jit", "-e", program)
    check(f"--no-jit agrees: {program}", jit.returncode == 0 and jit.stdout == interpreted.stdout and
          jit.stdout != "", jit if jit.returncode else interpreted)

# sort spills to temporary files past --sort-memory and still sorts stably.
with tempfile.TemporaryDirectory() as tmp:
    import random
    rng = random.Random(11)
    lines = [f"{rng.randint(0, 5000)} {rng.randint(0, 10**9)}" for _ in range(60000)]
    numbers = os.path.join(tmp, "numbers.txt")
    with open(numbers, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([flowrun, "run", "--sort-memory", "64KiB", "-e",
                        f'read("{numbers}") | sort(key = 1, numeric = true)'],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "TMPDIR": tmp})
    expected = "".join(l + "\n" for l in sorted(lines, key=lambda l: int(l.split()[0])))
    check("external sort equals Python's stable sort", r.returncode == 0 and r.stdout == expected, r)
    check("external sort leaves no temporary file", sorted(os.listdir(tmp)) == ["numbers.txt"])
r = run("run", "--sort-memory", "lots", "-e", "seq(1, 2)")
check("--sort-memory malformed", r.returncode == 2 and "--sort-memory" in r.stderr, r)

# Bad input gets a clear error, never a crash.
with tempfile.TemporaryDirectory() as tmp:
    def write_program(name, text):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(text)
        return path

    long_line = write_program("long.flow", b'seq(1, 3) | map { "' + b"x" * 10_000_000 + b'" } | discard\n')
    r = run("check", long_line)
    check("a 10 MB line checks", r.returncode == 0, r)
    long_sum = write_program("sum.flow", b"let x = 0" + b" + 1" * 2_000_000 + b"\nseq(1, x) | discard\n")
    r = run("check", long_sum)
    check("a 2,000,000-term sum: a clear error", r.returncode == 2 and "expression too deep" in r.stderr, r)
    for opener, closer, what in ((b"(", b")", "parentheses"), (b"-", b"", "unary minus"), (b"!", b"", "negation"),
                                 (b"$(", b")", "computed fields")):
        deep = write_program("deep.flow", b"seq(1, 3) | map { " + opener * 100_000 + b"1" + closer * 100_000 +
                             b" } | discard\n")
        r = run("check", deep)
        check(f"{what} nested 100,000 deep: a clear error", r.returncode == 2 and "nested more than" in r.stderr, r)
    garbage = write_program("garbage.flow", bytes(range(256)) * 64)
    r = run("check", garbage)
    check("binary garbage: a clear error", r.returncode == 2 and r.stderr.count("error") >= 1, r)

print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
