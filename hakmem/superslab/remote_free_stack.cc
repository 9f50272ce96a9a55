#include "hakmem/superslab/remote_free_stack.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"

namespace hakmem::internal {

void DrainRemoteFrees(SlabMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    FreeBlock* next;
    bool intact = DecodeIntactLink(b, &next) &&
                  (next == nullptr ||
                   (InSuperSlab(next) && SpanMetaOf(next) == m &&
                    IsCarvedBlockStart(m, next)));
    if (!intact) {
      ReportMemoryError(MemoryError::kCorruptedFreeList, b,
                        m->size_class < kNumTinyClasses ? "tiny" : "pool",
                        m->size_class);
      return;
    }
    SetEncodedLink(b, m->free_list, FreeKey(b));
    m->free_list = b;
    ++m->free_count;
    --m->used;
    b = next;
  }
}

}  // namespace hakmem::internal
