#!/usr/bin/env bash
# Sets up a machine, builds flowrun (Release) and runs the main example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
echo
echo "\$ flowrun check examples/whois.flow"
./build/flowrun check examples/whois.flow
echo
echo "\$ flowrun graph examples/whois.flow"
./build/flowrun graph examples/whois.flow
