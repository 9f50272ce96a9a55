#!/usr/bin/env bash
# Instructions per malloc/free pair of a pair-loop program (pair_loop.h),
# counted by callgrind: the program runs with 100000 and 200000 pairs, and
# the difference in instructions over the 100000 extra pairs is printed
# (one decimal), so start-up, first-touch refills and exit cancel out. The
# count includes the loop's own few instructions and the calls. hakmem's
# guarded sampling is off (HAKMEM_GUARD_RATE=0): a refill that samples a
# block in one run and not in the other would add a sample's thousands of
# instructions to the difference (68.3 instead of 68.0 per pair at a rate
# of 50), and sampling is no part of the fast path.
# Usage: instructions_per_pair.sh PROGRAM [PRELOAD_LIBRARY]
set -euo pipefail
program=$1
preload=${2:-}

# callgrind's "Collected : N" line: the instructions executed.
instructions() {
  local log
  log=$(mktemp)
  HAKMEM_GUARD_RATE=0 LD_PRELOAD=$preload valgrind --tool=callgrind \
    --callgrind-out-file=/dev/null "$program" "$1" 2>"$log" ||
    { cat "$log" >&2; rm -f "$log"; return 1; }
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log"
  rm -f "$log"
}

small=$(instructions 100000)
large=$(instructions 200000)
if [[ -z $small || -z $large ]]; then
  echo "instructions_per_pair: no count from callgrind" >&2
  exit 1
fi
awk -v a="$small" -v b="$large" 'BEGIN { printf "%.1f\n", (b - a) / 100000 }'
