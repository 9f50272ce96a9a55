// hakmem's allocation API in C++: routes each request to its tier.
//
//   size <= 1 KiB          tiny   (inline fast path)
//   size <= 256 KiB        pool
//   larger                 large  (its own mapping)
//   alignment > 16         the smallest slab class whose block size is a
//                          multiple of the alignment (up to 64 KiB), else
//                          large
//
// Frees route by address: the chunk map says whether a pointer is in a
// SuperSlab; anything else must be a live large block or it is reported.
#ifndef HAKMEM_CORE_ALLOCATOR_H_
#define HAKMEM_CORE_ALLOCATOR_H_

#include <cstddef>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/thread_cache/thread_cache.h"
#include "hakmem/tiny/tiny_alloc.h"

namespace hakmem::internal {

// Out-of-line parts (allocator.cc).
ABSL_ATTRIBUTE_NOINLINE void* MallocAboveTiny(size_t size) noexcept;
ABSL_ATTRIBUTE_NOINLINE void FreeOutsideSuperSlabs(void* p) noexcept;

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* Malloc(size_t size) noexcept {
  if (ABSL_PREDICT_TRUE(size <= kTinyMaxSize)) return TinyAlloc(size);
  return MallocAboveTiny(size);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Free(void* p) noexcept {
  if (ABSL_PREDICT_TRUE(InSuperSlab(p))) {
    CacheFree(p);
    return;
  }
  FreeOutsideSuperSlabs(p);  // large, nullptr, or not hakmem's
}

// Frees `p`, which malloc/calloc/realloc returned for `size` bytes (or
// AlignedAlloc for `alignment` and `size`). A size the block cannot have
// been allocated with is reported (and the block left alone).
ABSL_ATTRIBUTE_NOINLINE void FreeAlignedSized(void* p, size_t alignment,
                                              size_t size) noexcept;

// Inline for a tiny size whose class is the block's: the plain free's path
// with the class taken from the size and checked against the span's, in
// place of loading it. Anything else (a mismatch, to be reported or not, a
// larger size, a pointer outside SuperSlabs) takes FreeAlignedSized.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void FreeSized(void* p,
                                                   size_t size) noexcept {
  if (ABSL_PREDICT_TRUE(size <= kTinyMaxSize && InSuperSlab(p)) &&
      ABSL_PREDICT_TRUE(CacheFreeOfClass(p, TinyClassOf(size)))) {
    return;
  }
  FreeAlignedSized(p, 0, size);
}

void* Calloc(size_t count, size_t size) noexcept;
void* Realloc(void* p, size_t size) noexcept;
// `alignment` must be a power of two (else nullptr with EINVAL).
void* AlignedAlloc(size_t alignment, size_t size) noexcept;
// Returns memory to the OS now (see hak_collect in capi/hakmem.h).
void Collect(bool force) noexcept;

// Reports an invalid pointer (and returns 0) unless `p` is nullptr or a
// live block.
size_t UsableSize(const void* p) noexcept;

}  // namespace hakmem::internal

#endif  // HAKMEM_CORE_ALLOCATOR_H_
