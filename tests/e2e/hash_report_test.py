#!/usr/bin/env python3
"""sha512 and report through the real binary: chained digests against
hashlib (replicated and [ordered], binary records, examples/hash.flow with
-p rounds=...), every report format written to a file and read back with
Python's csv and json modules, and a failed run that leaves no report.

usage: hash_report_test.py FLOWRUN [NAME-SUBSTRING]
"""
import codecs
import csv
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import main, test  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def chain(record, rounds):
    h = record
    for _ in range(rounds):
        h = hashlib.sha512(h).hexdigest().encode()
    return h


def hashed(records, rounds):
    return b"".join(r + b"\t" + chain(r, rounds) + b"\n" for r in records)


# report's json writes each byte that is not part of valid UTF-8 as \u00XX,
# the byte read as Latin-1: this decoder does the same on the Python side.
codecs.register_error("flowrun-latin1", lambda e: (chr(e.object[e.start]), e.start + 1))


def as_json_text(field):
    return field.decode("utf-8", "flowrun-latin1")


def fields(record):
    """A record's fields as report reads them: an empty record has none."""
    return record.split(b"\t") if record else []


def table_records(seed=3, n=300):
    """Rows that exercise every format's quoting: fixed ones, then random
    fields over an alphabet of the awkward bytes (no tab or LF: those split
    fields and records)."""
    fixed = [
        b"name\tcity\tnote",
        b'alice\tParis\tsays "hi", twice',
        "bob\tZürich".encode(),
        b"",
        b"carol\tOslo\tx|y\textra",
        b"dave\t\t\t",
        b"eve\tcr at the end\r",
        b"bytes\t\xff\xfe\x00\x01\x7f\tcut \xe2\x82 short",
        "emoji 😀\t€ and \\|".encode(),
        b"back\\slash\tcomma,only\t<br>",
    ]
    rng = random.Random(seed)
    alphabet = [b"a", b"Z", b"0", b" ", b",", b'"', b"|", b"\\", b"\r", b"\x00", b"\x1f", b"\x7f", b"\xff",
                b"\xc3\xa9", b"\xe2\x82\xac", b"\xed\xa0\x80", b"\xc0\xaf"]
    rows = []
    for _ in range(n):
        width = rng.randint(0, 6)
        rows.append(b"\t".join(b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
                               for _ in range(width)))
    return fixed + rows


@test
def sha512_replicated_ordered_against_hashlib(t):
    rng = random.Random(1)
    records = [b"f38b2ffc-80a4-4f5a-91c9-bc701e7ea419", b"", b"alpha"] + \
        [f"item-{i}-{rng.randrange(10**9)}".encode() for i in range(37)]
    text = "\\n".join(r.decode() for r in records)
    for rounds in (1, 3, 1000):
        out = t.ok(f'lines("{text}") | sha512(rounds = {rounds}) * 2 [ordered] | write("-")')
        t.equal(out, hashed(records, rounds), f"sha512(rounds = {rounds}) * 2 [ordered]")


@test
def sha512_binary_records_unordered(t):
    rng = random.Random(2)
    records = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))).replace(b"\n", b"") for _ in range(200)]
    records += [b"\x00", b"\r", b"x" * 5000]
    t.write("in.bin", b"".join(r + b"\n" for r in records))
    out = t.ok('read("in.bin") | sha512(rounds = 2) * 3 | write("-")')
    t.equal(sorted(out.split(b"\n")[:-1]), sorted(hashed(records, 2).split(b"\n")[:-1]),
            "binary records through sha512 * 3, in any order")


@test
def hash_example_with_rounds_parameter(t):
    example = os.path.join(ROOT, "examples", "hash.flow")
    with open(example) as f:
        literal = re.search(r'lines\("([^"]*)"\)', f.read()).group(1)
    records = [r.encode() for r in literal.split("\\n")]
    cmd = [t.flowrun, "run", example, "-p", "rounds=1000"]
    r = subprocess.run(cmd, cwd=t.dir, capture_output=True, timeout=60)
    t.expect(r.returncode == 0 and r.stderr == b"", "examples/hash.flow -p rounds=1000", r)
    t.equal(r.stdout, hashed(records, 1000), "examples/hash.flow against hashlib")


def run_report(t, records, fmt, header=False, name=None):
    name = name or f"out.{fmt}"
    t.write("in.tsv", b"".join(r + b"\n" for r in records))
    t.ok(f'read("in.tsv") | report("{name}", format = "{fmt}", header = {str(header).lower()})')
    t.equal(sorted(os.listdir(t.dir)), sorted(["in.tsv", name]), f"files after report {fmt}")
    return t.read(name)


@test
def report_tsv_is_the_input(t):
    records = table_records()
    t.equal(run_report(t, records, "tsv"), b"".join(r + b"\n" for r in records), "tsv")


@test
def report_csv_reads_back_with_python_csv(t):
    records = table_records()
    data = run_report(t, records, "csv")
    t.expect(data.endswith(b"\r\n"), "csv lines end in CRLF")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline="")))
    want = [[f.decode("utf-8", "surrogateescape") for f in fields(r)] for r in records]
    t.equal(len(rows), len(want), "csv row count")
    for i, (got, expected) in enumerate(zip(rows, want)):
        t.equal(got, expected, f"csv row {i + 1}")


@test
def report_json_reads_back_with_python_json(t):
    records = table_records()
    rows = json.loads(run_report(t, records, "json"))
    want = [[as_json_text(f) for f in fields(r)] for r in records]
    t.equal(len(rows), len(want), "json row count")
    for i, (got, expected) in enumerate(zip(rows, want)):
        t.equal(got, expected, f"json row {i + 1}")


@test
def report_json_header_makes_objects(t):
    records = table_records()
    rows = json.loads(run_report(t, records, "json", header=True))
    names = [as_json_text(f) for f in fields(records[0])]
    want = []
    for r in records[1:]:
        values = [as_json_text(f) for f in fields(r)]
        width = max(len(names), len(values))
        keys = names + [str(i + 1) for i in range(len(names), width)]
        values += [""] * (width - len(values))
        want.append(dict(zip(keys, values)))
    t.equal(len(rows), len(want), "json object count")
    for i, (got, expected) in enumerate(zip(rows, want)):
        t.equal(got, expected, f"json object {i + 1}")
    t.equal(rows[3], {"name": "carol", "city": "Oslo", "note": "x|y", "4": "extra"}, "a long row")
    t.equal(rows[1], {"name": "bob", "city": "Zürich", "note": ""}, "a short row")


def markdown_cells(line):
    """The cells of one table row: split on the pipes no backslash escapes
    (GitHub's rule), and one blank taken off each side."""
    parts = re.split(rb"(?<!\\)\|", line)
    assert parts[0] == b"" and parts[-1] == b"", line
    return [p[1:-1] for p in parts[1:-1]]


def markdown_escape(field):
    return re.sub(rb"\r\n|\r|\n", b"<br>", field.replace(b"|", b"\\|"))


@test
def report_markdown_table(t):
    records = table_records()
    width = max(len(fields(r)) for r in records)
    for header in (False, True):
        lines = run_report(t, records, "markdown", header=header, name=f"out{int(header)}.md").split(b"\n")
        t.equal(lines[-1], b"", "the table ends with a newline")
        table = [markdown_cells(line) for line in lines[:-1]]
        if header:
            head = [markdown_escape(f) for f in fields(records[0])]
            want_head = head + [str(i + 1).encode() for i in range(len(head), width)]
            body = records[1:]
        else:
            want_head = [str(i + 1).encode() for i in range(width)]
            body = records
        t.equal(table[0], want_head, f"header row (header = {header})")
        t.equal(table[1], [b"---"] * width, "delimiter row")
        t.equal(len(table) - 2, len(body), "body row count")
        for i, (got, r) in enumerate(zip(table[2:], body)):
            cells = [markdown_escape(f) for f in fields(r)]
            t.equal(got, cells + [b""] * (width - len(cells)), f"markdown row {i + 1} (header = {header})")
        os.remove(t.path(f"out{int(header)}.md"))


@test
def report_empty_input_and_stdout(t):
    t.write("empty.txt", "")
    for fmt, want in (("tsv", b""), ("csv", b""), ("json", b"[]\n"), ("markdown", b"")):
        t.ok(f'read("empty.txt") | report("e.{fmt}", format = "{fmt}")')
        t.equal(t.read(f"e.{fmt}"), want, f"report {fmt} of nothing")
    out = t.ok('lines("k\\tv\\na\\tb,c") | report("-", format = "csv")')
    t.equal(out, b'k,v\r\na,"b,c"\r\n', "report to stdout")
    out = t.ok('lines("k\\tv\\na\\tb") | report("-", format = "json", header = true)')
    t.equal(json.loads(out), [{"k": "a", "v": "b"}], "json with a header to stdout")


@test
def failed_run_leaves_no_report(t):
    t.write("in.tsv", "1\ta\n2\tb\nx\tc\n4\td\n")
    program = 'read("in.tsv") | map {{ str(int($1) * 2) + "\\t" + $2 }} | report("{name}", format = "{fmt}")'
    for fmt in ("json", "markdown", "csv"):
        r = t.run(program.format(name="out." + fmt, fmt=fmt))
        t.expect(r.returncode == 1, f"a failing run with report {fmt} exits 1", r)
        t.equal(sorted(os.listdir(t.dir)), ["in.tsv"], f"files after a failed report {fmt}")
    t.write("kept.json", "old\n")
    r = t.run(program.format(name="kept.json", fmt="json"))
    t.expect(r.returncode == 1, "a failing run exits 1", r)
    t.equal(t.read("kept.json"), b"old\n", "the target of a failed run is untouched")
    t.equal(sorted(os.listdir(t.dir)), ["in.tsv", "kept.json"], "files after the failed run")
    t.write("in.tsv", "1\ta\n2\tb\n")
    t.ok(program.format(name="kept.json", fmt="json"))
    t.equal(json.loads(t.read("kept.json")), [["2", "a"], ["4", "b"]], "the target of a successful run")


if __name__ == "__main__":
    main()
