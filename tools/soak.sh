#!/usr/bin/env bash
# Runs end-to-end tests again and again with both cores kept busy, until one
# fails or ROUNDS rounds pass: a hand-run hunt for the rare failures that CI
# meets once in many runs (not part of CI). What a failure leaves is kept:
# the test's output (its workers' logs are in it), ASan's reports (ASan
# writes them to files, so a crash is not lost with its process's stderr),
# and core files where the machine lets us say where they go.
#
# usage: tools/soak.sh FLOWRUN TEST_FILE [NAME-SUBSTRING] [ROUNDS]
#   e.g. tools/soak.sh build-asan/flowrun tests/e2e/broker_workers_test.py ordered 40
# Writes to ${SOAK_DIR:-/tmp/flowrun-soak}. Found this way (2026-12-05):
# libnats's use of a freed subscription (NatsLink::Retire), and a store a
# fresh nats-server in operator mode failed to make.
set -uo pipefail
cd "$(dirname "$0")/.."
flowrun=$(realpath "$1")
test_file=$2
only=${3:-}
rounds=${4:-40}
dir=${SOAK_DIR:-/tmp/flowrun-soak}
mkdir -p "$dir/asan" "$dir/cores"

ulimit -c unlimited
# Cores by name in $dir/cores when we may say so (root, not in a container
# that forbids it); else wherever the machine puts them.
if [[ -w /proc/sys/kernel/core_pattern ]]; then
  old_pattern=$(cat /proc/sys/kernel/core_pattern)
  echo "$dir/cores/core.%e.%p" >/proc/sys/kernel/core_pattern
fi
export ASAN_OPTIONS="detect_leaks=1:log_path=$dir/asan/report:disable_coredump=0"

busy=()
for _ in $(seq "$(nproc)"); do
  (while :; do :; done) &
  busy+=($!)
done
cleanup() {
  kill "${busy[@]}" 2>/dev/null
  [[ -n ${old_pattern:-} ]] && echo "$old_pattern" >/proc/sys/kernel/core_pattern
}
trap cleanup EXIT

for round in $(seq "$rounds"); do
  out=$(python3 "$test_file" "$flowrun" "$only" 2>&1)
  echo "round $round: $(tail -1 <<<"$out") ($(date +%T))"
  if grep -q '^FAIL' <<<"$out"; then
    echo "$out" >"$dir/failure-$round.txt"
    echo "failed: $dir/failure-$round.txt; ASan reports in $dir/asan, cores in $dir/cores"
    exit 1
  fi
done
echo "no failure in $rounds rounds"
