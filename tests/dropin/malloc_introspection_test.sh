#!/bin/bash
# glibc's introspection calls answered by hakmem, under
# LD_PRELOAD=libhakmem.so and with the static override: libhakmem.so
# exports them; the program's checks pass (mallinfo2 with hak_stats_get's
# figures, malloc_trim, malloc_info, mallopt, malloc_stats); and the output
# of malloc_info and malloc_stats has the shape of glibc's own (numbers
# aside, and the free-chunk lines of glibc's <sizes>), taken from the same
# program run without hakmem.
#   malloc_introspection_test.sh LIBHAKMEM PRELOAD_MAIN STATIC_MAIN
set -euo pipefail
source "$(dirname "$0")/preload_lib.sh"
preload_init "$1"
preload_main=$(realpath "$2")
static_main=$(realpath "$3")

for name in mallinfo mallinfo2 malloc_stats malloc_info malloc_trim mallopt; do
  nm -D --defined-only "$HAKMEM_SO" | grep -qE " T $name\$" ||
    fail "$HAKMEM_SO does not export $name"
done

# Numbers to N, runs of blanks to one; glibc's free-chunk histogram dropped.
shape() {
  grep -vE '^ *<(size|unsorted) ' "$1" | sed -E 's/[0-9]+/N/g; s/ +/ /g'
}

"$preload_main" info >"$WORK/glibc_info" || fail "malloc_info under glibc failed"
"$preload_main" stats 2>"$WORK/glibc_stats" || fail "malloc_stats under glibc failed"
grep -q '^in use bytes' "$WORK/glibc_stats" || fail "glibc's malloc_stats: $(cat "$WORK/glibc_stats")"

for variant in preload static; do
  if [[ $variant == preload ]]; then
    run=(env LD_PRELOAD="$HAKMEM_SO" "$preload_main")
  else
    run=("$static_main")
  fi
  rc=0
  "${run[@]}" check >"$WORK/out" 2>"$WORK/err" || rc=$?
  ((rc == 0)) || fail "$variant check: exit $rc: $(cat "$WORK/err")"
  grep -q '^ok' "$WORK/out" || fail "$variant check: no ok line"
  check_no_errors "$WORK/err"
  echo "  $variant: $(head -1 "$WORK/out")"

  "${run[@]}" info >"$WORK/info" || fail "$variant info: exit $?"
  diff <(shape "$WORK/glibc_info") <(shape "$WORK/info") >&2 ||
    fail "$variant: malloc_info's shape differs from glibc's"
  # hakmem's figures, not glibc's idle arena: all that hakmem maps is far
  # more than glibc's first 132 KiB.
  current=$(grep '<system type="current"' "$WORK/info" | tail -1 | tr -dc 0-9)
  ((current >= 1 << 21)) || fail "$variant: system current $current: $(cat "$WORK/info")"

  "${run[@]}" stats 2>"$WORK/stats" || fail "$variant stats: exit $?"
  diff <(shape "$WORK/glibc_stats") <(shape "$WORK/stats") >&2 ||
    fail "$variant: malloc_stats's shape differs from glibc's"
  grep -qE '^in use bytes += +[0-9]+$' "$WORK/stats" ||
    fail "$variant: no in use bytes line: $(cat "$WORK/stats")"
  echo "  $variant: malloc_info and malloc_stats in glibc's shape"
done
echo "PASS"
