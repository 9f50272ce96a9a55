#!/usr/bin/env bash
# The main job: installs what is missing, builds hakmem and the benchmarks
# optimised, and runs the quick comparison (about a minute): the same
# benchmark binaries on glibc, hakmem, mimalloc, jemalloc and tcmalloc,
# printing the table of medians, ratios, peak RSS and issue 4's targets.
# The chart (SVG) and tables are written to build/bench/. Arguments go to
# tools/bench_runner.py, whose profile is quick unless one is named (tput,
# pf, peer, threads), e.g. `tools/run.sh --repeats=9` or `tools/run.sh tput`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/bench_runner.py "$@"
