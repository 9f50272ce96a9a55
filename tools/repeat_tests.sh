#!/usr/bin/env bash
# Runs tests many times over, in parallel as Bazel runs them, in every
# config (plain, asan, ubsan, tsan): the check for tests whose assertions
# depend on where the kernel places mappings, on scheduling or on timing
# (mapped bytes, RSS, system call counts), which can pass once and fail
# one run in four. Run it before submitting a change to such a test or to
# what it measures (the large cache, decommit, span release, thread exit).
#
# Usage: tools/repeat_tests.sh [--runs=N] [TARGET...]
#   --runs=N  runs per test and config (default 8)
#   TARGET    Bazel test targets or patterns; default: every test tagged
#             "footprint" (the tag marks tests of that kind: add it to any
#             new one)
# Ends with "N passed, N failed" (a target counts once per config) and
# exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

runs=8
if [[ ${1:-} == --runs=* ]]; then
  runs=${1#--runs=}
  shift
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(bazel query 'attr(tags, "\bfootprint\b", tests(//...))' 2>/dev/null)
fi
if ((${#targets[@]} == 0)); then
  echo "repeat_tests: no test targets" >&2
  exit 1
fi

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for config in "" asan ubsan tsan; do
  echo "=== ${config:-plain}: ${#targets[@]} targets x ${runs} runs"
  bazel test ${config:+--config=$config} --runs_per_test="$runs" \
    --nocache_test_results -- "${targets[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^//[^ ]+ +PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS)' "$log")
  # Exit code 4: every target was filtered out by the config's tags.
  if ((rc != 0 && rc != 4 && f == 0)); then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "${passed} passed, ${failed} failed"
((failed == 0))
