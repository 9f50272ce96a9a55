#!/usr/bin/env bash
# Installs what building and testing hakmem needs on Debian 12, skipping
# apt-get entirely when everything is already there (so it also works
# offline on a prepared machine). Safe to run repeatedly.
set -euo pipefail

packages=(
  bazel-bootstrap default-jdk-headless  # the build (Bazel 4.2.3, offline)
  clang lld libclang-rt-14-dev          # compiler, linker, sanitizers
  clang-format-14                       # tools/format_check.sh
  libgtest-dev libbenchmark-dev libabsl-dev libfuzzer-14-dev
  valgrind python3                      # benchmarks: callgrind, the runner
  libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4  # allocators compared
  sqlite3 git gcc g++ perl xz-utils  # real programs under LD_PRELOAD (tests/dropin)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
    "${missing[@]}" >&2
fi
