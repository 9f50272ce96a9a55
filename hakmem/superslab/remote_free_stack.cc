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
  uintptr_t n = b->link ^ RemoteLinkKey(key);
  *next = reinterpret_cast<FreeBlock*>(n);
  return ((b->key ^ key) | (n & 15)) == 0;
}

}  // namespace

MemoryError BrokenLinkError(const FreeBlock* b, bool on_remote_stack) {
  uint64_t key = FreeKey(b);
  uintptr_t other =
      b->link ^ (on_remote_stack ? key : RemoteLinkKey(key));
  bool pushed_there_too =
      (other & 15) == 0 &&
      (other == 0 || InSuperSlab(reinterpret_cast<void*>(other)));
  return pushed_there_too ? MemoryError::kDoubleFree
                          : MemoryError::kCorruptedFreeList;
}

void DrainRemoteFrees(SlabMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    FreeBlock* next;
    bool intact = DecodeIntactRemoteLink(b, &next) && IsSpanLink(m, next);
    if (!intact) {
      // The rest of the stack is leaked with it (still counted in `used`).
      ReportMemoryError(BrokenLinkError(b, /*on_remote_stack=*/true), b,
                        m->size_class < kNumTinyClasses ? "tiny" : "pool",
                        m->size_class);
      return;
    }
    PushOnSpanFreeList(m, b, FreeKey(b));
    b = next;
  }
}

}  // namespace hakmem::internal
