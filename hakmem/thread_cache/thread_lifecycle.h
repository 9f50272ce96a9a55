// A thread cache's life: set up on the thread's first refill (or first
// remote free's slow path), torn down by the pthread key destructor at
// thread exit, when its caches go back to their spans and its spans back to
// the span allocator or to adoption.
#ifndef HAKMEM_THREAD_CACHE_THREAD_LIFECYCLE_H_
#define HAKMEM_THREAD_CACHE_THREAD_LIFECYCLE_H_

#include <limits.h>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

void SetUpThreadCache(ThreadCache& cache);

// pthread key destructor: runs at thread exit, after the thread's own code.
// Other destructors may still allocate after it; that sets the cache up
// again with a new token, and pthread calls this again (up to
// PTHREAD_DESTRUCTOR_ITERATIONS rounds).
void TearDownThreadCache(void*);

// Whether the thread is past pthread's last round of key destructors: a
// cache set up now would never be torn down, so each refill hands its span
// straight back (see RefillAndAlloc).
inline bool PastLastExitRound(const ThreadCache& cache) {
  return cache.teardowns >= PTHREAD_DESTRUCTOR_ITERATIONS;
}

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_THREAD_LIFECYCLE_H_
