#!/usr/bin/env python3
"""`flowrun check` on a generated 10,000-statement program: wall time and
peak memory (the issue's bar: under 1 s and under 100 MB).

usage: bench/check_large.py [FLOWRUN] [STATEMENTS]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
flowrun = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "flowrun")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
with tempfile.TemporaryDirectory() as tmp:
    program = os.path.join(tmp, "big.flow")
    with open(program, "w") as f:
        subprocess.run([sys.executable, os.path.join(here, "gen_program.py"), str(n)], stdout=f, check=True)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = subprocess.run([flowrun, "check", "--queue", "64KiB", program], capture_output=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"check failed ({result.returncode}):\n{result.stderr.decode()[:2000]}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    times.sort()
    size = os.path.getsize(program)
    print(f"check of {n:,} statements ({size / 1e6:.1f} MB): median {times[2]:.3f} s "
          f"(min {times[0]:.3f}, max {times[-1]:.3f}), peak RSS {peak_kib / 1024:.1f} MiB")
