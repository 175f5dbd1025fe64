#!/usr/bin/env bash
# Sets up a machine, builds flowrun and runs every test: under ASan+UBSan,
# the parser/checker fuzzer for a bounded time, then the Release build (its
# ctest summary is the last line).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

jobs=$(nproc)
configure_and_build() {  # DIR [cmake options...] -- [targets...]
  local dir=$1; shift
  local options=() targets=()
  while (($#)) && [[ $1 != -- ]]; do options+=("$1"); shift; done
  (($#)) && shift
  targets=("$@")
  cmake -S . -B "$dir" -G Ninja "${options[@]}" >/dev/null
  if ((${#targets[@]})); then
    cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$jobs"
  fi
}

echo "== ASan+UBSan build and tests"
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DFLOWRUN_SANITIZE=ON
ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzzing the parser and checker (${FLOWRUN_FUZZ_SECONDS:-60} s)"
configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWRUN_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFLOWRUN_FUZZ_SECONDS="${FLOWRUN_FUZZ_SECONDS:-60}" \
  -- fuzz_front_end
ctest --test-dir build-fuzz --output-on-failure -R fuzz_front_end

echo "== Release build and tests"
configure_and_build build -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build --output-on-failure -j "$jobs"
