// Whether ASan considers a block usable, for builds with ASan (hakmem
// poisons free blocks and unused span space there, see
// hakmem/platform/asan.h): every byte of a live block, up to its usable
// size, must be unpoisoned. Without ASan nothing is poisoned.
#ifndef HAKMEM_FUZZ_ASAN_SHADOW_H_
#define HAKMEM_FUZZ_ASAN_SHADOW_H_

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if !defined(FUZZ_ASAN) && defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif

#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace fuzz {

// The first poisoned byte of [p, p + n), or nullptr.
inline const void* AsanFindPoisoned(const void* p, size_t n) {
#ifdef FUZZ_ASAN
  return __asan_region_is_poisoned(const_cast<void*>(p), n);
#else
  (void)p;
  (void)n;
  return nullptr;
#endif
}

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_ASAN_SHADOW_H_
