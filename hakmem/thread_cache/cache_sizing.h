// How large a thread cache is: HAKMEM_TCACHE_BYTES worth of blocks at
// first, within fixed bounds; a class that keeps refilling grows its
// cache, and a scavenge that finds it idle shrinks it back.
#ifndef HAKMEM_THREAD_CACHE_CACHE_SIZING_H_
#define HAKMEM_THREAD_CACHE_CACHE_SIZING_H_

#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// The most blocks one refill moves into a cache (half its capacity when
// that is less): as many as when kMaxCacheBlocks was 256. Larger batches
// carve more of a span at once: xmalloc_test's producer, refilling 512 at
// a time, peaked at 1.4x the RSS. (The one exception: the first take from
// an adopted span, whose inherited list is taken whole: span.h.)
inline constexpr uint32_t kMaxRefillBlocks = 128;

// Gives an empty cache its starting capacity (HAKMEM_TCACHE_BYTES worth).
void ResetEmptyCache(ThreadCache& cache, unsigned cls);

// Counts a refill of class `cls`, and grows the class's cache when the
// refills since the last scavenge say it is busy.
void NoteRefill(ThreadCache& cache, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_CACHE_SIZING_H_
