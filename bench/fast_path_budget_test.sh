#!/usr/bin/env bash
# Fails when hakmem's hot tiny malloc+free pair (hak_malloc(32) + hak_free,
# optimised build) takes more instructions than the budget. The count comes
# from callgrind (instructions_per_pair.sh): exact, whatever else the
# machine is doing (it depends on the compiler and flags only). The budget
# is today's count (69: hak_malloc 25, hak_free 38, the loop 6) plus a
# little headroom; see bench/RESULTS.md.
# Usage: fast_path_budget_test.sh HAK_PAIR_LOOP INSTRUCTIONS_PER_PAIR_SH
set -euo pipefail
readonly budget=71

count=$("$2" "$1")
echo "hakmem fast path: ${count} instructions per malloc+free pair" \
  "(budget ${budget})"
if awk -v c="$count" -v b="$budget" 'BEGIN { exit !(c > b) }'; then
  echo "FAIL: over budget; bench/RESULTS.md shows how to see where they go" >&2
  exit 1
fi
