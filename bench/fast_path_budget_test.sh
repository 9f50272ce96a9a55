#!/usr/bin/env bash
# Fails when one of hakmem's hot tiny pairs (optimised build) takes more
# instructions than its budget: hak_malloc(32) + hak_free (budget 68 today:
# hak_malloc 19, hak_free 43, the loop 6), or hak_malloc(32) +
# hak_free_sized(p, 32) (76: the sized free looks the class up from the
# size and checks it against the span's). The count comes from callgrind
# (instructions_per_pair.sh): exact, whatever else the machine is doing (it
# depends on the compiler and flags only). See bench/RESULTS.md.
# Usage: fast_path_budget_test.sh PAIR_LOOP INSTRUCTIONS_PER_PAIR_SH BUDGET
#        [WHAT]
set -euo pipefail
readonly budget=$3
readonly what=${4:-malloc+free}

count=$("$2" "$1")
echo "hakmem fast path: ${count} instructions per ${what} pair" \
  "(budget ${budget})"
if awk -v c="$count" -v b="$budget" 'BEGIN { exit !(c > b) }'; then
  echo "FAIL: over budget; bench/RESULTS.md shows how to see where they go" >&2
  exit 1
fi
