#!/usr/bin/env bash
# Runs each benchmark briefly and checks its report (bench/report.h): a
# result, the peak and final RSS, and the allocator's identity. Without a
# library, malloc must be the program's own and hakmem must be absent; with
# one (loaded with LD_PRELOAD), malloc must come from it, and if it is
# hakmem, hakmem must have served blocks.
# Usage: bench_smoke_test.sh [--preload=LIBRARY] LARSON BENCH_TINY RANDOM_MIXED
#          THREAD_GENERATIONS
set -euo pipefail
preload=
if [[ $1 == --preload=* ]]; then
  preload=$(realpath "${1#--preload=}")
  shift
fi
larson=$1 bench_tiny=$2 random_mixed=$3 thread_generations=$4

failures=0
check() {
  local name=$1 output=$2 pattern=$3
  if ! grep -qE "$pattern" <<<"$output"; then
    echo "FAIL: $name: no line matching '$pattern' in:" >&2
    echo "$output" >&2
    failures=$((failures + 1))
  fi
}

run() {
  local name=$1
  shift
  local output
  output=$(LD_PRELOAD=$preload "$@")
  check "$name" "$output" '^result [a-z0-9_]+ [0-9.e+]+ (ops/s|ns/pair)$'
  check "$name" "$output" '^peak_rss_kib [1-9][0-9]*$'
  check "$name" "$output" '^final_rss_kib [1-9][0-9]*$'
  check "$name" "$output" '^minor_faults [0-9]+$'
  if [[ -z $preload ]]; then
    check "$name" "$output" '^hakmem_blocks_served absent$'
  else
    check "$name" "$output" "^malloc_from $(realpath "$preload")$"
    if [[ $(basename "$preload") == libhakmem* ]]; then
      check "$name" "$output" '^hakmem_blocks_served [1-9][0-9]*$'
    fi
  fi
  echo "$name ok"
}

run larson "$larson" --threads=3 --chunks=200 --rounds=3 --replacements=2000
run bench_tiny "$bench_tiny" --sizes=8,64 --pairs=2000
run random_mixed "$random_mixed" --slots=64 --ops=4000 --max=300000 --fill=1
run thread_generations "$thread_generations" --generations=5 --allocs=300 \
  --checkpoints=5
((failures == 0))
