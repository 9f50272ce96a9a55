#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then runs
# every Bazel test in the plain build and under ASan, UBSan and TSan, the
# format check and the consumer workspace.
# Ends with one line "N passed, N failed" (test targets, all configs).
# Extra arguments go to every `bazel test` (e.g. --config=... filters).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

passed=0
failed=0
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for config in "" asan ubsan tsan; do
  echo "=== bazel test ${config:+--config=$config} //..."
  bazel test ${config:+--config=$config} //... "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS)' "$log")
  # A build failure fails tests that never ran: count it once.
  if ((rc != 0 && f == 0)); then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  ((rc == 0)) || status=1
done
# Every C/C++ file formatted as .clang-format says.
if tools/format_check.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
# hakmem as a dependency of another Bazel workspace (examples/consumer).
if tools/consumer_test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "${passed} passed, ${failed} failed"
exit "$status"
