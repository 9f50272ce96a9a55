// Scavenging: every kScavengePeriod slow paths (refills, spills, remote
// frees), a thread returns the cached blocks of classes that needed no
// refill since the last time, and takes in the remote frees of its spans,
// releasing those that emptied. Idle caches shrink and spans whose blocks
// were all freed by other threads go back without a background thread, on
// the thread's own slow path.
#ifndef HAKMEM_THREAD_CACHE_SCAVENGE_H_
#define HAKMEM_THREAD_CACHE_SCAVENGE_H_

#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

inline constexpr uint32_t kScavengePeriod = 1024;

void Scavenge(ThreadCache& cache);

// Counts one slow path of a set-up cache, and scavenges every
// kScavengePeriod of them. Remote frees count: a thread that only frees (a
// main thread freeing what exited workers left) still takes in the remote
// frees of its own spans and gives the empty ones back.
inline void CountSlowPath(ThreadCache& cache) {
  if (++cache.slow_paths % kScavengePeriod == 0) Scavenge(cache);
}

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_SCAVENGE_H_
