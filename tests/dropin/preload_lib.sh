# Helpers for the LD_PRELOAD tests; sourced by the *_test.sh scripts.
#
#   preload_init LIBHAKMEM   checks the library, sets $HAKMEM_SO and $WORK
#   fail MESSAGE...          prints FAIL and exits 1
#   check_stats FILE [MIN]   FILE (a stderr capture) holds at least MIN
#                            (default 1) HAKMEM_STATS=1 summaries, and one
#                            of them has slab_blocks_served > 0
#   check_no_errors FILE     FILE has no hakmem line other than statistics
#   strip_stats FILE         FILE without the statistics lines

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

preload_init() {
  [[ -f "$1" ]] || fail "no such library: $1"
  HAKMEM_SO=$(realpath "$1")
  nm -D --defined-only "$HAKMEM_SO" | grep -qw malloc ||
    fail "$HAKMEM_SO does not export malloc"
  # Bazel gives each test a private temporary directory.
  WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/dropin.XXXXXX")
  export LC_ALL=C
}

# The statistics summary: one "hakmem: <name> <value>" line per statistic
# (and "hakmem: counter <name> <value>" per counter with --config=counters).
readonly STATS_PATTERN='^hakmem: (counter )?[a-z0-9_]+ +[0-9]+$'

check_stats() {
  local file=$1 min=${2:-1} summaries served
  summaries=$(grep -cE '^hakmem: slab_blocks_served +[0-9]+$' "$file" || true)
  ((summaries >= min)) ||
    fail "$file: $summaries HAKMEM_STATS summaries, expected at least $min" \
      "(was hakmem preloaded?)"
  served=$(grep -E '^hakmem: slab_blocks_served +[0-9]+$' "$file" |
    awk '$3 > m { m = $3 } END { print m + 0 }')
  ((served > 0)) || fail "$file: slab_blocks_served is 0 in every summary"
  echo "  hakmem: $summaries summaries, slab_blocks_served up to $served"
}

check_no_errors() {
  if grep -E '^hakmem: ' "$1" | grep -vqE "$STATS_PATTERN"; then
    grep -E '^hakmem: ' "$1" | grep -vE "$STATS_PATTERN" >&2
    fail "$1: hakmem reported an error"
  fi
}

strip_stats() {
  grep -vE "$STATS_PATTERN" "$1" || true
}
