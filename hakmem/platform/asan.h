// AddressSanitizer annotations. When hakmem itself is built with ASan (the
// fuzz and asan configs), freed and never-used parts of blocks are
// poisoned, so that ASan reports a use-after-free inside a hakmem block,
// which it could not otherwise see. In other builds these compile away.
#ifndef HAKMEM_PLATFORM_ASAN_H_
#define HAKMEM_PLATFORM_ASAN_H_

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAKMEM_ASAN 1
#endif
#endif
#if !defined(HAKMEM_ASAN) && defined(__SANITIZE_ADDRESS__)
#define HAKMEM_ASAN 1
#endif

#ifdef HAKMEM_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace hakmem::internal {

inline void AsanPoison(const void* p, size_t n) {
#ifdef HAKMEM_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

inline void AsanUnpoison(const void* p, size_t n) {
#ifdef HAKMEM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

}  // namespace hakmem::internal

#endif  // HAKMEM_PLATFORM_ASAN_H_
