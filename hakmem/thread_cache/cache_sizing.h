// How large a thread cache is: HAKMEM_TCACHE_BYTES worth of blocks at
// first, within fixed bounds; a class that keeps refilling grows its
// cache, and a scavenge that finds it idle shrinks it back.
#ifndef HAKMEM_THREAD_CACHE_CACHE_SIZING_H_
#define HAKMEM_THREAD_CACHE_CACHE_SIZING_H_

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Gives an empty cache its starting capacity (HAKMEM_TCACHE_BYTES worth).
void ResetEmptyCache(ThreadCache& cache, unsigned cls);

// Counts a refill of class `cls`, and grows the class's cache when the
// refills since the last scavenge say it is busy.
void NoteRefill(ThreadCache& cache, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_CACHE_SIZING_H_
