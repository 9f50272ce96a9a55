#!/bin/bash
# The evidence checks of preload_lib.sh accept real HAKMEM_STATS=1 output
# and reject what a run without hakmem (or with a hakmem error) leaves. Runs
# in every configuration, sanitizers included (it loads no allocator).
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/preload_lib_test.XXXXXX")

summary() {  # SERVED: one summary as stats_at_exit prints it
  printf 'hakmem: %-22s %s\n' os_mapped_bytes 2097152 slab_blocks_served "$1" threads_live 1
}

passes() { (eval "$1") >/dev/null 2>&1 || fail "rejected: $1"; }
fails() { if (eval "$1") >/dev/null 2>&1; then fail "accepted: $1"; fi; }

{ echo "program output"; summary 42; } >"$WORK/one"
{ summary 0; echo "warning: x"; summary 7; } >"$WORK/two"
summary 0 >"$WORK/idle"
echo "free(): invalid pointer" >"$WORK/glibc"
{ summary 5; echo "hakmem: double free: ptr=0x1000 tier=tiny class=1 thread=7"; } >"$WORK/error"

passes 'check_stats "$WORK/one"'
passes 'check_stats "$WORK/two" 2'
fails 'check_stats "$WORK/one" 2'
fails 'check_stats "$WORK/idle"'
fails 'check_stats "$WORK/glibc"'
passes 'check_no_errors "$WORK/two"'
passes 'check_no_errors "$WORK/glibc"'
fails 'check_no_errors "$WORK/error"'
[[ "$(strip_stats "$WORK/two")" == "warning: x" ]] || fail "strip_stats kept statistics"
[[ -z "$(strip_stats "$WORK/idle")" ]] || fail "strip_stats of statistics only"
echo PASS
