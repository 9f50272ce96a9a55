#include "fuzz/fuzz_support.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "hakmem/thread_cache/cache_check.h"

namespace fuzz {

void Fail(const char* format, ...) {
  std::fprintf(stderr, "fuzz oracle failed: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::abort();
}

void CheckHeap(const char* where) {
  if (const char* broken = hakmem::internal::CheckThreadCache()) {
    Fail("CheckThreadCache after %s: %s", where, broken);
  }
}

}  // namespace fuzz
