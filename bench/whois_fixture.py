"""Issue 8's whois figure, as broker_bench.py, broker_ab.py and
broker_idle.py run it: examples/whois.flow's pipeline ([ordered], retries,
timeout; then count_by, sort and write on the origin) on 240 distinct
addresses, its whois stage * 24, against bench/whois_respond.c answering
in 50 ms (ideal: 0.5 s on 24 slots)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)


def start_responder(scratch, latency_ms=50):
    """Builds and starts bench/whois_respond.c in `scratch`; returns the
    process and the loopback port it answers on."""
    exe = os.path.join(scratch, "whois_respond")
    subprocess.run(["cc", "-O2", "-pthread", os.path.join(HERE, "whois_respond.c"), "-o", exe], check=True)
    responder = subprocess.Popen([exe, str(latency_ms)], stdout=subprocess.PIPE, text=True)
    return responder, responder.stdout.readline().strip()


def write_whois24(scratch):
    """Writes the example's pipeline on 240 distinct addresses (as its
    `distinct` makes them), its whois stage * 24, to scratch/whois24.flow;
    returns that path."""
    ips = os.path.join(scratch, "ips240.txt")
    with open(ips, "w") as f:
        f.write("".join(f"{1 + i * 7 % 223}.{i * 13 % 256}.{i % 256}.{1 + i % 254}\n" for i in range(240)))
    with open(os.path.join(PROJECT, "examples", "whois.flow")) as f:
        example = f.read()
    program = (example.replace('read("examples/data/access.log") | map { $1 } | distinct', f'read("{ips}")')
               .replace("* 12 [ordered", "* 24 [ordered"))
    if program.count(ips) != 1 or "* 24 [ordered" not in program:
        sys.exit("examples/whois.flow changed: update bench/whois_fixture.py")
    path = os.path.join(scratch, "whois24.flow")
    with open(path, "w") as f:
        f.write(program)
    return path
