#include "hakmem/core/stats.h"

#include "hakmem/guard/guarded_pool.h"
#include "hakmem/large/large_alloc.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

AllocatorStats GetAllocatorStats() {
  OsMemoryStats os = GetOsMemoryStats();
  SpanAllocatorStats spans = GetSpanAllocatorStats();
  ThreadCacheStats caches = GetThreadCacheStats();
  LargeStats large = GetLargeStats();
  AllocatorStats s;
  s.os_mapped_bytes = os.mapped_bytes;
  s.os_mapped_peak_bytes = os.mapped_peak_bytes;
  s.os_map_calls = os.map_calls;
  s.os_unmap_calls = os.unmap_calls;
  s.superslabs_live = spans.superslabs_live;
  s.superslabs_cached = spans.superslabs_cached;
  s.slabs_live = spans.spans_live;
  s.slab_blocks_served = caches.blocks_served;
  s.large_live = large.live;
  s.large_live_bytes = large.live_bytes;
  s.large_cached = large.cached;
  s.threads_live = caches.threads_live;
  s.os_decommit_calls = os.decommit_calls;
  s.os_decommitted_bytes = os.decommitted_bytes;
  s.free_slab_dirty_bytes = spans.dirty_bytes;
  s.decommit_budget_bytes = spans.decommit_budget;
  s.bytes_in_use_estimate = spans.span_bytes_live + large.live_bytes +
                            GetGuardStats().live * kGuardMaxSize;
  s.spans_abandoned = spans.spans_abandoned;
  s.large_cached_bytes = large.cached_bytes;
  return s;
}

size_t CopySlabsPerClass(uint64_t* out, size_t n) {
  uint64_t all[kNumClasses];
  GetSlabsPerClass(all);
  for (size_t c = 0; c < n && c < kNumClasses; ++c) out[c] = all[c];
  return kNumClasses;
}

size_t SizeClassBlockSize(size_t cls) {
  return cls < kNumClasses ? ClassBlockSize(static_cast<unsigned>(cls)) : 0;
}

size_t GetCounters(CounterValue* out, size_t n) {
  if (!CountersCompiledIn()) return 0;
  constexpr int kCount = static_cast<int>(Counter::kCount);
  uint64_t sums[kCount];
  SumCounters(sums);
  for (int i = 0; i < kCount && static_cast<size_t>(i) < n; ++i) {
    out[i] = CounterValue{CounterName(static_cast<Counter>(i)), sums[i]};
  }
  return kCount;
}

}  // namespace hakmem::internal
