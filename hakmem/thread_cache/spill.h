// Spills: blocks going back from a thread cache to their spans, when the
// cache overflows (SpillCache, thread_cache.h) or is flushed.
#ifndef HAKMEM_THREAD_CACHE_SPILL_H_
#define HAKMEM_THREAD_CACHE_SPILL_H_

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Returns every cached block of class `cls` to its span.
void FlushBin(ThreadCache& cache, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_SPILL_H_
