#include "hakmem/superslab/remote_free_stack.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"

namespace hakmem {

void DrainRemoteFrees(SlabMeta* m) {
  FreeBlock* b = RemoteFreeTakeAll(m);
  while (b != nullptr) {
    auto* next = reinterpret_cast<FreeBlock*>(b->link);
    SetEncodedLink(b, m->free_list, FreeKey(b));
    m->free_list = b;
    ++m->free_count;
    --m->used;
    if (kDetection && next != nullptr &&
        !(InSuperSlab(next) && SpanMetaOf(next) == m &&
          IsCarvedBlockStart(m, next) && next->key == FreeKey(next))) {
      ReportMemoryError(MemoryError::kCorruptedFreeList, b,
                        m->size_class < kNumTinyClasses ? "tiny" : "pool",
                        m->size_class);
      return;
    }
    b = next;
  }
}

}  // namespace hakmem
