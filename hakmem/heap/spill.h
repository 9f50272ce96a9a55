// Spills: blocks going back from a thread cache to their spans, when the
// cache overflows (SpillCache, thread_heap.h) or is flushed.
#ifndef HAKMEM_HEAP_SPILL_H_
#define HAKMEM_HEAP_SPILL_H_

#include "hakmem/heap/thread_heap.h"

namespace hakmem::internal {

// Returns every cached block of class `cls` to its span.
void FlushBin(ThreadHeap& heap, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_HEAP_SPILL_H_
