#include "hakmem/thread_cache/cache_errors.h"

#include "hakmem/error/memory_error.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

void ReportCorruptedBlock(const FreeBlock* b, unsigned cls) {
  ReportMemoryError(BrokenLinkError(b), b, ClassTierName(cls),
                    static_cast<int>(cls));
}

void ReportSlabFreeError(MemoryError error, const SpanMeta* span,
                         const void* p) noexcept {
  // A free slab (nothing carved) has no class; report the pointer alone.
  HAK_COUNT(Counter::kFreeRejected);
  bool carved = span->carved.load(std::memory_order_relaxed) != 0;
  ReportMemoryError(error, p,
                    carved ? ClassTierName(span->size_class) : "superslab",
                    carved ? span->size_class : -1);
}

}  // namespace hakmem::internal
