// The tiny tier (1 byte to 1 KiB): a lookup table picks the size class and
// the thread cache's list for that class serves the block. This is the
// allocation fast path of hakmem: one table load, one TLS pop.
#ifndef HAKMEM_TINY_TINY_ALLOC_H_
#define HAKMEM_TINY_TINY_ALLOC_H_

#include <cstddef>

#include "absl/base/attributes.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// `size` <= kTinyMaxSize. nullptr with errno = ENOMEM on failure.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* TinyAlloc(size_t size) noexcept {
  return CacheAlloc(TinyClassOf(size), size);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_TINY_TINY_ALLOC_H_
