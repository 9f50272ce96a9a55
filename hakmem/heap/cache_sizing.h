// How large a thread cache is: HAKMEM_TCACHE_BYTES worth of blocks at
// first, within fixed bounds; a class that keeps refilling grows its
// cache, and a scavenge that finds it idle shrinks it back.
#ifndef HAKMEM_HEAP_CACHE_SIZING_H_
#define HAKMEM_HEAP_CACHE_SIZING_H_

#include "hakmem/heap/thread_heap.h"

namespace hakmem::internal {

// Gives an empty cache its starting capacity (HAKMEM_TCACHE_BYTES worth).
void ResetEmptyCache(ThreadHeap& heap, unsigned cls);

// Counts a refill of class `cls`, and grows the class's cache when the
// refills since the last scavenge say it is busy.
void NoteRefill(ThreadHeap& heap, unsigned cls);

}  // namespace hakmem::internal

#endif  // HAKMEM_HEAP_CACHE_SIZING_H_
