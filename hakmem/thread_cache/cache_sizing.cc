#include "hakmem/thread_cache/cache_sizing.h"

#include <cstddef>
#include <cstdint>

#include "hakmem/config/config.h"
#include "hakmem/size_class/size_class.h"

namespace hakmem::internal {
namespace {

// The least a thread cache holds, in blocks, whatever HAKMEM_TCACHE_BYTES
// says (kMaxCacheBlocks, the most, is in the header).
constexpr size_t kMinCacheBlocks = 2;

// A cache starts at HAKMEM_TCACHE_BYTES worth of blocks. A class that
// refills this many times between two scavenges is busy: its capacity
// doubles, up to kCacheGrowth times HAKMEM_TCACHE_BYTES. A scavenge that
// finds a class idle (no refill since the last one) flushes its cache and
// shrinks it back. What this buys is for large blocks, where the byte
// budget leaves a cache of two or three: random_mixed over 1-64 KiB made a
// refill for every third malloc, one block each (RESULTS.md). It is the
// thread cache's policy, not the pool's: the tiny classes whose budget
// comes to fewer than kMaxCacheBlocks blocks grow too, and rptest (8 to
// 16,000 B) ran 3.5% slower when only the pool classes grew (RESULTS.md,
// issue 16).
constexpr uint16_t kRefillsToGrow = 16;
constexpr size_t kCacheGrowth = 4;

// A cache of `bytes` worth of class `cls` blocks, within the bounds.
uint32_t CacheCapacity(unsigned cls, size_t bytes) {
  size_t blocks = bytes / ClassBlockSize(cls);
  return static_cast<uint32_t>(blocks < kMinCacheBlocks   ? kMinCacheBlocks
                               : blocks > kMaxCacheBlocks ? kMaxCacheBlocks
                                                          : blocks);
}

// Doubles the capacity of a busy class's cache, within its growth bound.
void GrowCache(ThreadCache& cache, unsigned cls) {
  CacheBin bin(cache, cls);
  uint32_t most =
      CacheCapacity(cls, GetConfig().thread_cache_bytes * kCacheGrowth);
  if (bin.capacity >= most) return;
  uint32_t count = bin.count();
  bin.capacity = bin.capacity * 2 < most ? bin.capacity * 2 : most;
  bin.set_count(count);
}

}  // namespace

void ResetEmptyCache(ThreadCache& cache, unsigned cls) {
  CacheBin bin(cache, cls);
  bin.capacity = CacheCapacity(cls, GetConfig().thread_cache_bytes);
  bin.set_count(0);
}

void NoteRefill(ThreadCache& cache, unsigned cls) {
  if (cache.recent_refills[cls] != UINT16_MAX &&
      ++cache.recent_refills[cls] % kRefillsToGrow == 0) {
    GrowCache(cache, cls);
  }
}

}  // namespace hakmem::internal
