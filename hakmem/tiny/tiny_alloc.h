// The tiny tier (1 byte to 1 KiB): a lookup table picks the size class and
// the thread heap's cache of that class serves the block. This is the
// allocation fast path of hakmem: one table load, one TLS pop.
#ifndef HAKMEM_TINY_TINY_ALLOC_H_
#define HAKMEM_TINY_TINY_ALLOC_H_

#include <cstddef>

#include "absl/base/attributes.h"
#include "hakmem/heap/thread_heap.h"
#include "hakmem/size_class/size_class.h"

namespace hakmem::internal {

// `size` <= kTinyMaxSize. nullptr with errno = ENOMEM on failure.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* TinyAlloc(size_t size) noexcept {
  return HeapAlloc(TinyClassOf(size), size);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_TINY_TINY_ALLOC_H_
