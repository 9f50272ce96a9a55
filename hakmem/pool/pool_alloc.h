// The pool (L2) tier: requests above 1 KiB up to 256 KiB, in 32 classes (4
// per doubling), served from thread caches over multi-slab spans. Same
// thread-cache, cross-thread and thread-exit rules as the tiny tier.
#ifndef HAKMEM_POOL_POOL_ALLOC_H_
#define HAKMEM_POOL_POOL_ALLOC_H_

#include <cstddef>

namespace hakmem::internal {

// kTinyMaxSize < `size` <= kPoolMaxSize. nullptr with errno = ENOMEM.
void* PoolAlloc(size_t size) noexcept;

}  // namespace hakmem::internal

#endif  // HAKMEM_POOL_POOL_ALLOC_H_
