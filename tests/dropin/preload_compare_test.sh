#!/bin/bash
# Runs PROGRAM without hakmem, then with LD_PRELOAD=libhakmem.so (and
# --hakmem appended, so that the program checks that hakmem serves it).
# Both runs must exit 0 with the same stdout; the preloaded run must print
# no hakmem error and no loader error ("cannot allocate memory in static
# TLS block"), and HAKMEM_STATS=1 must show that hakmem served blocks.
#   preload_compare_test.sh LIBHAKMEM PROGRAM [ARG...]
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
program=$2
shift 2
args=()
for a in "$@"; do
  # Paths from the runfiles tree; absolute so that the program may chdir.
  if [[ -e "$a" ]]; then args+=("$(realpath "$a")"); else args+=("$a"); fi
done

rc=0
"$program" "${args[@]}" >"$WORK/base.out" 2>"$WORK/base.err" || rc=$?
((rc == 0)) || fail "without hakmem: exit $rc: $(cat "$WORK/base.err")"
rc=0
LD_PRELOAD="$HAKMEM_SO" HAKMEM_STATS=1 "$program" "${args[@]}" --hakmem \
  >"$WORK/hak.out" 2>"$WORK/hak.err" || rc=$?
if grep -E "static TLS|error while loading|symbol lookup error" "$WORK/hak.err" >&2; then
  fail "the dynamic loader failed under hakmem"
fi
((rc == 0)) || fail "with hakmem: exit $rc: $(cat "$WORK/hak.err")"
grep -q '^ok' "$WORK/hak.out" || fail "with hakmem: no ok line"
if ! cmp -s "$WORK/base.out" "$WORK/hak.out"; then
  diff "$WORK/base.out" "$WORK/hak.out" >&2 || true
  fail "output differs with hakmem"
fi
check_no_errors "$WORK/hak.err"
check_stats "$WORK/hak.err"
echo "PASS: $(basename "$program"): $(head -1 "$WORK/hak.out")"
