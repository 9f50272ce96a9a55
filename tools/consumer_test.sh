#!/usr/bin/env bash
# Builds and tests examples/consumer, a separate Bazel workspace that takes
# hakmem as an external repository (local_repository "../.."): the proof
# that hakmem works as another project's dependency, offline.
#
# It runs its own Bazel server (own output base; .bazelrc there makes it
# exit after 2 idle minutes). It also checks that hakmem's internal
# targets are not visible from there. Ends with "N passed, N failed" like
# tools/test.sh and exits non-zero if the build or any test fails.
# Extra arguments go to `bazel test`.
set -uo pipefail
cd "$(dirname "$0")/../examples/consumer" || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "=== (examples/consumer) bazel test //..."
bazel test //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS)' "$log")
# A build failure fails tests that never ran: count it once.
if ((rc != 0 && failed == 0)); then failed=1; fi
# Only the root package is public: a consumer naming an internal target
# must get a visibility error.
echo "=== (examples/consumer) an internal hakmem target must not be visible"
if bazel build //private_probe:uses_internal_c_abi >"$log" 2>&1; then
  echo "FAIL: @hakmem//capi:hakmem is visible to another workspace" >&2
  failed=$((failed + 1))
  rc=1
elif grep -q "is not visible from target" "$log"; then
  passed=$((passed + 1))
else
  cat "$log" >&2
  echo "FAIL: building //private_probe failed for another reason" >&2
  failed=$((failed + 1))
  rc=1
fi
echo "consumer: ${passed} passed, ${failed} failed"
exit "$rc"
