#!/usr/bin/env bash
# Runs the Bazel test suite and ends with the plain summary line
# "N passed, N failed" (counted per test target). Extra args go to bazel.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS)' "$log")
echo "${passed} passed, ${failed} failed"
exit "$rc"
