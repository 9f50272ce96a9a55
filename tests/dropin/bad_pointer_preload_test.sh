#!/bin/bash
# Under LD_PRELOAD=libhakmem.so, free or realloc of a pointer hakmem never
# returned (stack, global, mmap) kills the process with SIGABRT after one
# hakmem error line that names the pointer.
#   bad_pointer_preload_test.sh LIBHAKMEM BAD_POINTER_MAIN
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
program=$2

for call in free realloc; do
  for where in stack global mmap; do
    rc=0
    # (The subshell keeps bash's "Aborted" notice out of the log.)
    (LD_PRELOAD="$HAKMEM_SO" "$program" "$call" "$where" \
      >"$WORK/out" 2>"$WORK/err"; exit $?) 2>/dev/null || rc=$?
    ptr=$(head -1 "$WORK/out")
    [[ "$ptr" =~ ^0x[0-9a-f]+$ ]] || fail "$call $where: no pointer printed"
    ! grep -q survived "$WORK/out" || fail "$call $where: the process went on"
    ((rc == 128 + 6)) || fail "$call $where: exit status $rc, expected 134 (SIGABRT)"
    errors=$(grep -c '^hakmem: ' "$WORK/err" || true)
    ((errors == 1)) || fail "$call $where: $errors hakmem lines: $(cat "$WORK/err")"
    grep -qE "^hakmem: invalid (free|pointer)[^:]*( \([^)]*\))?: ptr=$ptr tier=[a-z]+( class=-?[0-9]+)? thread=[0-9]+$" \
      "$WORK/err" || fail "$call $where: unexpected report: $(cat "$WORK/err")"
    echo "  $call $where: $(cat "$WORK/err")"
  done
done
echo "PASS"
