// Guarded sampling (HAKMEM_GUARD_RATE): about one in that many blocks that
// refills hand out comes from the guarded pool instead. The countdown runs
// over blocks refills hand out, never over cache hits, so the fast paths
// carry nothing for it: a refill takes no more blocks than the countdown
// has left, so that the refill that reaches it comes on time. Blocks a
// thread frees and allocates again from its cache are not sampled; the
// sample is of the blocks that come out of spans.
#ifndef HAKMEM_THREAD_CACHE_GUARD_SAMPLING_H_
#define HAKMEM_THREAD_CACHE_GUARD_SAMPLING_H_

#include <cstddef>
#include <cstdint>

#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

// Seeds the cache's draw and its first countdown (sampling on only).
void SetUpGuardSampling(ThreadCache& cache, uint32_t rate);

// A guarded block for this refill when the countdown is due and the
// request fits a guarded page, else nullptr after lowering `want` so that
// the refill stops short of the next sample. Sampling on only.
void* SampleGuarded(ThreadCache& cache, unsigned cls, size_t size,
                    uint32_t* want);

// Counts `blocks` handed out by a refill against the countdown.
inline void CountTowardsSample(ThreadCache& cache, uint32_t blocks) {
  if (cache.guard_countdown != 0) {
    cache.guard_countdown =
        cache.guard_countdown > blocks ? cache.guard_countdown - blocks : 1;
  }
}

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_GUARD_SAMPLING_H_
