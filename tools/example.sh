#!/usr/bin/env bash
# Sets up a machine, builds flowrun (Release) and runs the main example:
# examples/logstats.flow over examples/data/access.log, three tables out.
# (examples/whois.flow, the seed pipeline, needs the whois stage: it is
# checked and drawn here until that stage lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo
echo "\$ flowrun run examples/logstats.flow -p out=$out"
./build/flowrun run examples/logstats.flow -p out="$out"
for table in status top_paths hours; do
  echo
  echo "== $table.tsv"
  cat "$out/$table.tsv"
done
echo
echo "\$ flowrun graph examples/whois.flow"
./build/flowrun graph examples/whois.flow
