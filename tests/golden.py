#!/usr/bin/env python3
"""Golden tests through the real binary.

For each CASE.flow in the directory: run `flowrun ARGS CASE.flow` from that
directory (ARGS from CASE.args, default `check`) and compare stderr with
CASE.stderr and the exit code with CASE.code (default 2). CASE.stdout, when
present, is compared too. `--update` rewrites the expected files from the
binary's output (review the diff before committing).

usage: golden.py FLOWRUN DIR [--update]
"""
import pathlib
import subprocess
import sys


def run_case(flowrun, case, update):
    base = case.with_suffix("")
    args_file = base.with_suffix(".args")
    args = args_file.read_text().split() if args_file.exists() else ["check"]
    result = subprocess.run([flowrun, *args, case.name], cwd=case.parent, capture_output=True, timeout=60)
    code_file = base.with_suffix(".code")
    stderr_file = base.with_suffix(".stderr")
    stdout_file = base.with_suffix(".stdout")
    if update:
        stderr_file.write_bytes(result.stderr)
        if result.returncode != 2 or code_file.exists():
            code_file.write_text(f"{result.returncode}\n")
        if result.stdout or stdout_file.exists():
            stdout_file.write_bytes(result.stdout)
        return []
    problems = []
    want_code = int(code_file.read_text()) if code_file.exists() else 2
    if result.returncode != want_code:
        problems.append(f"exit code {result.returncode}, expected {want_code}")
    want_stderr = stderr_file.read_bytes() if stderr_file.exists() else b""
    if result.stderr != want_stderr:
        problems.append("stderr differs:\n--- expected\n" + want_stderr.decode(errors="replace") +
                        "--- got\n" + result.stderr.decode(errors="replace"))
    if stdout_file.exists() and result.stdout != stdout_file.read_bytes():
        problems.append("stdout differs:\n--- expected\n" + stdout_file.read_text(errors="replace") +
                        "--- got\n" + result.stdout.decode(errors="replace"))
    return problems


def main():
    flowrun, directory = str(pathlib.Path(sys.argv[1]).resolve()), pathlib.Path(sys.argv[2])
    update = "--update" in sys.argv[3:]
    cases = sorted(directory.glob("*.flow"))
    failed = 0
    for case in cases:
        problems = run_case(flowrun, case, update)
        if problems:
            failed += 1
            print(f"FAIL {case.name}")
            for p in problems:
                print("  " + p.replace("\n", "\n  "))
    print(f"golden: {len(cases) - failed} passed, {failed} failed")
    sys.exit(1 if failed or not cases else 0)


if __name__ == "__main__":
    main()
