#include "hakmem/heap/thread_lifecycle.h"

#include "hakmem/config/config.h"
#include "hakmem/heap/cache_sizing.h"
#include "hakmem/heap/counters.h"
#include "hakmem/heap/guard_sampling.h"
#include "hakmem/heap/owned_spans.h"
#include "hakmem/heap/process.h"
#include "hakmem/heap/spill.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {

__thread ThreadHeap tls_heap HAKMEM_TLS_MODEL;

void SetUpThreadHeap(ThreadHeap& heap) {
  heap.token = NewOwnerToken();
  heap.free_key_secret = g_free_key_secret;
  heap.link_multiplier = g_link_multiplier;
  if (uint32_t rate = GetConfig().guard_rate) SetUpGuardSampling(heap, rate);
  for (unsigned cls = 0; cls < kNumClasses; ++cls) ResetEmptyCache(heap, cls);
  RegisterThreadHeap(&heap);
}

void TearDownThreadHeap(void*) {
  ThreadHeap& heap = tls_heap;
  ++heap.teardowns;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(heap, cls);
    CacheBin bin(heap, cls);
    bin.capacity = 0;
    bin.set_count(0);
    DisownSpans(heap.spans[cls]);
  }
  heap.token = 0;
  UnregisterThreadHeap();
  FoldThreadCounters();
}

}  // namespace hakmem::internal
