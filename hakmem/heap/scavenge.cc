#include "hakmem/heap/scavenge.h"

#include "hakmem/heap/cache_sizing.h"
#include "hakmem/heap/owned_spans.h"
#include "hakmem/heap/spill.h"
#include "hakmem/size_class/size_class.h"

namespace hakmem::internal {
namespace {

// Spans of each list of each class a scavenge examines (in rotation): keeps
// one scavenge's work, and its cache misses, bounded however many spans a
// thread owns.
constexpr uint32_t kSpansReclaimedPerScavenge = 32;

}  // namespace

void Scavenge(ThreadHeap& heap) {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    if (heap.recent_refills[cls] == 0) {
      FlushBin(heap, cls);
      ResetEmptyCache(heap, cls);
    }
    heap.recent_refills[cls] = 0;
    ReclaimRemoteFrees(heap.spans[cls], kSpansReclaimedPerScavenge);
  }
}

void CollectThreadHeap(bool force) {
  ThreadHeap& heap = tls_heap;
  if (heap.token == 0) return;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(heap, cls);
    OwnedSpans& o = heap.spans[cls];
    ReleaseSpare(o);
    if (force && o.current != nullptr) {
      o.available.PushFront(o.current);
      o.current = nullptr;
    }
    ReclaimRemoteFrees(o, UINT32_MAX);
  }
}

}  // namespace hakmem::internal
