// Guarded (sampled) blocks in the fuzzers' oracles: which blocks hakmem
// served from its guarded pool (HAKMEM_GUARD_RATE, hakmem/guard/), and the
// shape such a block must have.
//
// Whether a block is guarded cannot be told through the C ABI, so this asks
// hakmem::internal::InGuardedPool (two loads of the pool's published
// range, no lock), as fuzz_support.h asks CheckThreadCache.
#ifndef HAKMEM_FUZZ_GUARDED_BLOCKS_H_
#define HAKMEM_FUZZ_GUARDED_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "hakmem/guard/guarded_pool.h"

namespace fuzz {

inline constexpr size_t kGuardPage = 4096;

inline bool IsGuarded(const void* p) {
  return hakmem::internal::InGuardedPool(p);
}

// The usable size of a guarded block for a request of `size` bytes with
// `alignment` (0 or up to 16: a plain request): the request rounded up to
// the alignment (a zero-byte request takes one unit of it), then to 16
// bytes. At most a page: larger requests are never guarded.
inline size_t GuardedUsable(size_t size, size_t alignment) {
  size_t unit = alignment > 16 ? alignment : 16;
  size_t need = size == 0 ? 1 : size;
  return (need + unit - 1) & ~(unit - 1);
}

inline uintptr_t PageStart(const void* p) {
  return reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kGuardPage} - 1);
}

// Where a guarded block of `usable` bytes lies in its page: its end at the
// page's end (HAKMEM_GUARD_ALIGN=end, the default), or its start at the
// page's start (start).
inline bool GuardedPlacementOk(const void* p, size_t usable, bool align_start) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return align_start ? a % kGuardPage == 0 : (a + usable) % kGuardPage == 0;
}

// HAKMEM_GUARD_ALIGN as hakmem reads it (once, at its first allocation;
// the fuzzers set it, if at all, before that).
inline bool GuardAlignStart() {
  static const bool start = [] {
    const char* v = std::getenv("HAKMEM_GUARD_ALIGN");
    return v != nullptr && std::strcmp(v, "start") == 0;
  }();
  return start;
}

}  // namespace fuzz

#endif  // HAKMEM_FUZZ_GUARDED_BLOCKS_H_
