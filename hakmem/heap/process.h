// Process-wide state of the thread heaps: the secrets drawn once, the
// thread-exit hook, the owner tokens (thread heaps and arenas draw from one
// sequence: NewOwnerToken in thread_heap.h), the count of live heaps and of
// blocks served, and the fork hooks.
#ifndef HAKMEM_HEAP_PROCESS_H_
#define HAKMEM_HEAP_PROCESS_H_

#include <cstdint>

#include "hakmem/heap/thread_heap.h"

namespace hakmem::internal {

// Counts `heap`, just set up, as live and has TearDownThreadHeap called at
// its thread's exit.
void RegisterThreadHeap(ThreadHeap* heap);
// Counts a heap torn down.
void UnregisterThreadHeap();
// Counts blocks that refills moved from spans into thread caches.
void CountBlocksServed(uint32_t blocks);

}  // namespace hakmem::internal

#endif  // HAKMEM_HEAP_PROCESS_H_
