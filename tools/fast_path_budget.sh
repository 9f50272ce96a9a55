#!/usr/bin/env bash
# The fast-path instruction budget: counts, with callgrind, the instructions
# of a hot malloc(32)+free pair in the optimised build, for hakmem's
# prefixed API (the budgeted number, checked by
# bench/fast_path_budget_test.sh, which the test suite also runs) and, for
# comparison, through plain malloc/free for every allocator loaded with
# LD_PRELOAD (the PLT jump and the loop are counted there too).
# Exits non-zero when hakmem is over its budget.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

bazel build -c opt //bench:hak_pair_loop //bench:hak_sized_pair_loop \
  //bench:malloc_pair_loop \
  //bench:dlopen_pair_loop //:libhakmem.so //:libhakmem_capi.so
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
libs=/usr/lib/x86_64-linux-gnu

echo "instructions per malloc(32)+free pair via malloc/free" \
  "(callgrind, -c opt):"
for entry in "glibc:" "hakmem:$bin/libhakmem.so" \
  "mimalloc:$libs/libmimalloc.so.2" "jemalloc:$libs/libjemalloc.so.2" \
  "tcmalloc:$libs/libtcmalloc_minimal.so.4"; do
  name=${entry%%:*} library=${entry#*:}
  printf '  %-9s %s\n' "$name" \
    "$(bench/instructions_per_pair.sh "$bin/bench/malloc_pair_loop" "$library")"
done
echo "hak_malloc(32)+hak_free of libhakmem_capi.so loaded with dlopen" \
  "(dynamic TLS): $(PAIR_LOOP_LIBRARY=$bin/libhakmem_capi.so \
  bench/instructions_per_pair.sh "$bin/bench/dlopen_pair_loop")"
bench/fast_path_budget_test.sh "$bin/bench/hak_pair_loop" \
  bench/instructions_per_pair.sh 68
bench/fast_path_budget_test.sh "$bin/bench/hak_sized_pair_loop" \
  bench/instructions_per_pair.sh 76 malloc+free_sized
