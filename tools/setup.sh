#!/usr/bin/env bash
# Installs every Debian package that flowrun's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, and `apt-get update` runs
# only when something is missing (a bare machine has empty package lists).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  tao-pegtl-dev llvm-19-dev libfmt-dev doctest-dev libcli11-dev libpcre2-dev libssl-dev libnats-dev
  # what LLVM's static libraries link against (CMakeLists.txt: FLOWRUN_STATIC_LLVM)
  zlib1g-dev libzstd-dev
  # the broker for runs across machines (the tests start their own)
  nats-server
  # tests: the fuzzer (clang + libFuzzer runtime), oracles, Graphviz to render `graph --format dot`
  clang libclang-rt-14-dev python3 gawk mawk coreutils graphviz
  # tests of a broker with TLS and NATS credentials: certificates and keys made at test time
  openssl python3-cryptography
  # tests: the stacks of a run that hangs, printed before it is killed (tests/e2e/e2e.py)
  gdb
  # benchmarks
  parallel
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
