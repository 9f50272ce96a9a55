// Process-wide state of the thread caches: the secrets drawn once, the
// thread-exit hook, the owner tokens (thread caches and arenas draw from one
// sequence: NewOwnerToken in thread_cache.h), the count of live caches and of
// blocks served, and the fork hooks.
#ifndef HAKMEM_THREAD_CACHE_PROCESS_H_
#define HAKMEM_THREAD_CACHE_PROCESS_H_

#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Counts `cache`, just set up, as live and has TearDownThreadCache called at
// its thread's exit.
void RegisterThreadCache(ThreadCache* cache);
// Counts a cache torn down.
void UnregisterThreadCache();
// Counts blocks that refills moved from spans into thread caches.
void CountBlocksServed(uint32_t blocks);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_PROCESS_H_
