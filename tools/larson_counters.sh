#!/usr/bin/env bash
# Explains a larson run with hakmem's debug counters: builds libhakmem.so
# with --config=counters, runs bench/larson on it and prints the statistics
# and counters (refill stages, the free pipeline tls_sll / ss_local /
# ss_remote, early returns; docs/OBSERVABILITY.md says what each means).
# Arguments go to larson, e.g. `tools/larson_counters.sh --threads=4`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build -c opt --config=counters //:libhakmem.so //bench:larson
out=$(bazel info -c opt --config=counters bazel-bin 2>/dev/null)
HAKMEM_STATS=1 LD_PRELOAD="$out/libhakmem.so" "$out/bench/larson" "$@"
