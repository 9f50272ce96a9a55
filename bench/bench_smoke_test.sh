#!/usr/bin/env bash
# Runs each benchmark briefly and checks its report (bench/report.h): a
# result, the peak and final RSS, and the allocator's identity. Without a
# library, malloc must be the program's own and hakmem must be absent; with
# one (loaded with LD_PRELOAD), malloc must come from it, and if it is
# hakmem, hakmem must have served blocks. git_gc reports on git (which it
# runs on a tiny generated repository): no final RSS, and under hakmem the
# git processes must have reported hakmem's statistics.
# Usage: bench_smoke_test.sh [--preload=LIBRARY] LARSON BENCH_TINY RANDOM_MIXED
#          THREAD_GENERATIONS SH6BENCH RPTEST XMALLOC_TEST GLIBC_THREAD
#          GLIBC_SIMPLE CFRAC MALLOC_LARGE GIT_GC
set -euo pipefail
preload=
if [[ $1 == --preload=* ]]; then
  preload=$(realpath "${1#--preload=}")
  shift
fi
larson=$1 bench_tiny=$2 random_mixed=$3 thread_generations=$4
sh6bench=$5 rptest=$6 xmalloc_test=$7 glibc_thread=$8 glibc_simple=$9
cfrac=${10} malloc_large=${11} git_gc=${12}
# git_gc keeps its generated repository in $TMPDIR.
export TMPDIR=${TEST_TMPDIR:-${TMPDIR:-/tmp}}

failures=0
check() {
  local name=$1 output=$2 pattern=$3
  if ! grep -qE "$pattern" <<<"$output"; then
    echo "FAIL: $name: no line matching '$pattern' in:" >&2
    echo "$output" >&2
    failures=$((failures + 1))
  fi
}

# run NAME [--program=P] BINARY ARGS...: with --program, the report is
# about program P that the binary ran (no final RSS; P's processes report
# hakmem's statistics).
run() {
  local name=$1 program=
  shift
  if [[ $1 == --program=* ]]; then
    program=${1#--program=}
    shift
  fi
  local output
  output=$(LD_PRELOAD=$preload "$@")
  check "$name" "$output" '^result [a-z0-9_]+ [0-9.e+-]+ (ops/s|ns/pair|s)$'
  check "$name" "$output" '^peak_rss_kib [1-9][0-9]*$'
  check "$name" "$output" '^minor_faults [0-9]+$'
  if [[ -n $program ]]; then
    check "$name" "$output" '^final_rss_kib absent$'
    check "$name" "$output" "^measured_program $program\$"
  else
    check "$name" "$output" '^final_rss_kib [1-9][0-9]*$'
  fi
  if [[ -z $preload ]]; then
    check "$name" "$output" '^hakmem_blocks_served absent$'
    [[ -z $program ]] ||
      check "$name" "$output" '^malloc_from .*/libc\.so\.6$'
  else
    check "$name" "$output" "^malloc_from $(realpath "$preload")$"
    if [[ $(basename "$preload") == libhakmem* ]]; then
      check "$name" "$output" '^hakmem_blocks_served [1-9][0-9]*$'
      [[ -z $program ]] ||
        check "$name" "$output" '^hakmem_processes [1-9][0-9]*$'
    fi
  fi
  echo "$name ok"
}

run larson "$larson" --threads=3 --chunks=200 --rounds=3 --replacements=2000
run bench_tiny "$bench_tiny" --sizes=8,64 --pairs=2000
run random_mixed "$random_mixed" --slots=64 --ops=4000 --max=300000 --fill=1
run thread_generations "$thread_generations" --generations=5 --allocs=300 \
  --checkpoints=5
run sh6bench "$sh6bench" --threads=3 --slots=500 --passes=20
run rptest "$rptest" --threads=3 --slots=200 --loops=200
run xmalloc_test "$xmalloc_test" --workers=2 --batches=8
run glibc_thread "$glibc_thread" --threads=2 --iterations=20000
run glibc_simple "$glibc_simple" --sizes=16,100 --pairs=3200
run cfrac "$cfrac" --iterations=3000 --check=1
run malloc_large "$malloc_large" --replacements=4 --slots=3 --min-mib=1 \
  --max-mib=3
run git_gc --program=git "$git_gc" --commits=20 --files=5
((failures == 0))
