#include "hakmem/pool/pool_alloc.h"

#include "hakmem/heap/thread_heap.h"
#include "hakmem/platform/check.h"
#include "hakmem/size_class/size_class.h"

namespace hakmem::internal {

void* PoolAlloc(size_t size) noexcept {
  HAK_DCHECK(size > kTinyMaxSize && size <= kPoolMaxSize);
  return HeapAlloc(PoolClassOf(size), size);
}

}  // namespace hakmem::internal
