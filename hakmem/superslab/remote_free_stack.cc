#include "hakmem/superslab/remote_free_stack.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"

namespace hakmem::internal {

namespace {

// DecodeIntactLink for a remote-free stack's encoding.
bool DecodeIntactRemoteLink(const FreeBlock* b, FreeBlock** next) {
  if (!kDetection) {
    *next = reinterpret_cast<FreeBlock*>(b->link);
    return true;
  }
  uint64_t key = FreeKey(b);
  uintptr_t n = b->link ^ key;
  *next = reinterpret_cast<FreeBlock*>(n);
  return ((b->key ^ key) | (n & 15)) == 0;
}

}  // namespace

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

void DrainRemoteFrees(SlabMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    FreeBlock* next;
    bool intact = DecodeIntactRemoteLink(b, &next) && IsSpanLink(m, next);
    if (!intact) {
      // The rest of the stack is leaked with it (still counted in `used`).
      ReportMemoryError(BrokenLinkError(b), b,
                        m->size_class < kNumTinyClasses ? "tiny" : "pool",
                        m->size_class);
      return;
    }
    PushOnSpanFreeList(m, b, FreeKey(b));
    b = next;
  }
}

}  // namespace hakmem::internal
