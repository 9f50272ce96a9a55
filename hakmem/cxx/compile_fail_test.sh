#!/usr/bin/env bash
# The C++ API's compile-time guarantees (compile_fail_checks.cc): misuse
# must not compile, correct use must compile cleanly. clang's -verify mode
# fails if any expected diagnostic is missing or any other one appears, so
# this test fails if a guarantee is lost (or the headers stop compiling).
# Runs from the runfiles root, where the headers are.
set -euo pipefail
cxx=$(command -v clang++ || echo /usr/bin/clang++)
"$cxx" -std=c++17 -fsyntax-only -Wall -I. \
  -Xclang -verify -Xclang -verify-ignore-unexpected=note \
  hakmem/cxx/compile_fail_checks.cc
echo "compile-time checks passed"
