// The pool (L2) tier: requests above 1 KiB up to 256 KiB, in 32 classes (4
// per doubling, pool_classes.h), served from thread caches over multi-slab
// spans. Same thread-cache, cross-thread and thread-exit rules as the tiny
// tier: the thread cache (thread_cache/thread_cache.h) is the mechanism both
// share.
#ifndef HAKMEM_POOL_POOL_ALLOC_H_
#define HAKMEM_POOL_POOL_ALLOC_H_

#include <cstddef>

#include "absl/base/attributes.h"
#include "hakmem/platform/check.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// kTinyMaxSize < `size` <= kPoolMaxSize. nullptr with errno = ENOMEM.
// Inline: a pool malloc pays one out-of-line call (the caller's, past the
// tiny check), not two.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* PoolAlloc(size_t size) noexcept {
  HAK_DCHECK(size > kTinyMaxSize && size <= kPoolMaxSize);
  return CacheAlloc(PoolClassOf(size), size);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_POOL_POOL_ALLOC_H_
