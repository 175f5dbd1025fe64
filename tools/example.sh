#!/usr/bin/env bash
# Sets up a machine, builds flowrun (Release) and runs the main example,
# the seed pipeline examples/whois.flow: the visitors of a web log, looked up
# twelve at a time against a whois server (tools/whois_responder.py, started
# here on a free port with 50 ms of latency per answer), counted per
# network. Then examples/logstats.flow, whose three tables it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

out=$(mktemp -d)
coproc responder { exec python3 tools/whois_responder.py --port 0 --latency 50ms; }
trap 'kill "$responder_PID" 2>/dev/null || true; rm -rf "$out"' EXIT
read -r port <&"${responder[0]}"

echo
echo "\$ flowrun run examples/whois.flow -p server=127.0.0.1:$port"
./build/flowrun run examples/whois.flow -p server="127.0.0.1:$port"

echo
echo "\$ flowrun run examples/logstats.flow -p out=$out"
./build/flowrun run examples/logstats.flow -p out="$out"
for table in status top_paths hours; do
  echo
  echo "== $table.tsv"
  cat "$out/$table.tsv"
done
