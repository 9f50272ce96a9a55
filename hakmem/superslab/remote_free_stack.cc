#include "hakmem/superslab/remote_free_stack.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/superslab/chunk_map.h"

namespace hakmem::internal {

MemoryError BrokenLinkError(const FreeBlock* b) {
  auto plausible = [](uintptr_t link) {
    return (link & 15) == 0 &&
           (link == 0 || InSuperSlab(reinterpret_cast<void*>(link)));
  };
  uint64_t key = FreeKey(b);
  uintptr_t sealed = (b->key * InverseModulo2To64(g_link_multiplier)) ^ key;
  bool pushed_both =
      (plausible(sealed) && (b->link == sealed || plausible(b->link ^ key))) ||
      (b->key == reinterpret_cast<uintptr_t>(b) && plausible(b->link));
  return pushed_both ? MemoryError::kDoubleFree
                     : MemoryError::kCorruptedFreeList;
}

}  // namespace hakmem::internal
