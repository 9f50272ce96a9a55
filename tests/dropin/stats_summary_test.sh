#!/bin/bash
# HAKMEM_STATS=1 must print hakmem's summary at exit for every program run
# under LD_PRELOAD=libhakmem.so, so that nobody measures glibc by mistake:
# also for programs that close stderr in their own atexit handler (GNU
# coreutils and xz do, through gnulib's close_stdout), which run before
# hakmem's handler; and for programs that allocate before libc's own
# initialisation (in .preinit_array: environ is still NULL there, yet
# HAKMEM_* variables must not be ignored). Without HAKMEM_STATS (or with 0)
# nothing is printed.
#   stats_summary_test.sh LIBHAKMEM EARLY_ALLOC_MAIN
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
early_alloc_main=$(realpath "$2")
export PATH=/usr/bin:/bin
seq 1 20000 >"$WORK/in.txt"

failures=0
expect_summary() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  rc=0
  LD_PRELOAD="$HAKMEM_SO" HAKMEM_STATS=1 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if ((rc != 0)); then
    echo "FAIL $what: exit $rc" >&2
    failures=$((failures + 1))
  elif ! grep -qE '^hakmem: slab_blocks_served +[1-9][0-9]*$' "$WORK/err"; then
    echo "FAIL $what: no HAKMEM_STATS=1 summary on stderr" >&2
    failures=$((failures + 1))
  else
    echo "ok   $what"
  fi
}

expect_summary "sed (leaves stderr open)" sed -n '$p' "$WORK/in.txt"
expect_summary "sort (closes stderr at exit)" sort -n "$WORK/in.txt"
expect_summary "cat (closes stderr at exit)" cat "$WORK/in.txt"
expect_summary "xz (closes stderr at exit)" xz -c "$WORK/in.txt"
expect_summary "malloc in .preinit_array" "$early_alloc_main" --hakmem

# Off unless HAKMEM_STATS is exactly 1.
for value in unset 0; do
  if [[ $value == unset ]]; then
    LD_PRELOAD="$HAKMEM_SO" sed -n '$p' "$WORK/in.txt" >/dev/null 2>"$WORK/err"
  else
    LD_PRELOAD="$HAKMEM_SO" HAKMEM_STATS=$value sed -n '$p' "$WORK/in.txt" >/dev/null 2>"$WORK/err"
  fi
  if [[ -s "$WORK/err" ]]; then
    echo "FAIL HAKMEM_STATS $value: printed $(cat "$WORK/err")" >&2
    failures=$((failures + 1))
  else
    echo "ok   HAKMEM_STATS $value: silent"
  fi
done
((failures == 0)) || fail "$failures checks failed"
echo PASS
