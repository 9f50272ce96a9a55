#include "hakmem/thread_cache/guard_sampling.h"

#include "hakmem/config/config.h"
#include "hakmem/guard/guarded_pool.h"
#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {
namespace {

// The next countdown: uniform in [1, 2 * rate - 1], mean `rate` (xorshift;
// 1 when rate is 1, so that every refill samples).
uint32_t DrawGuardCountdown(ThreadCache& cache, uint32_t rate) {
  uint64_t x = cache.guard_random;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  cache.guard_random = x;
  return 1 + static_cast<uint32_t>(x % (uint64_t{2} * rate - 1));
}

}  // namespace

void SetUpGuardSampling(ThreadCache& cache, uint32_t rate) {
  cache.guard_random =
      ((cache.token * 0x9E3779B97F4A7C15ull) ^ g_free_key_secret) | 1;
  cache.guard_countdown = DrawGuardCountdown(cache, rate);
}

void* SampleGuarded(ThreadCache& cache, unsigned cls, size_t size,
                    uint32_t* want) {
  if (cache.guard_countdown > 1) {
    if (*want >= cache.guard_countdown) *want = cache.guard_countdown - 1;
    return nullptr;
  }
  if (size > kGuardMaxSize) return nullptr;  // the next small one is due
  cache.guard_countdown = DrawGuardCountdown(cache, GetConfig().guard_rate);
  // nullptr when the pool is full: then served normally.
  return GuardedAlloc(size == 0 ? 1 : size, 16, static_cast<int>(cls));
}

}  // namespace hakmem::internal
