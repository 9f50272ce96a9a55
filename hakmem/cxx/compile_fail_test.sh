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

# The API also compiles without exceptions (MakeBox etc. abort instead of
# throwing) and without RTTI.
"$cxx" -std=c++17 -fsyntax-only -Wall -Werror -I. -fno-exceptions -fno-rtti \
  -x c++ - <<'CC'
#include "hakmem/hakmem.h"
void f() {
  hakmem::Box<int[]> a = hakmem::MakeBox<int[]>(3);
  hakmem::Heap h = hakmem::Heap::Create().value();
  hakmem::HeapBox<int> b = h.MakeBox<int>(1);
  hakmem::HeapResource r(h);
  std::pmr::vector<int> v(hakmem::GlobalResource());
  (void)a; (void)b;
}
CC
echo "compiles without exceptions and RTTI"
