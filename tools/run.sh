#!/usr/bin/env bash
# The main job: installs what is missing, builds hakmem optimised and runs
# the demonstration, which prints what hakmem served.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel run -c opt //bench:demo
