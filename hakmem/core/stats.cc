#include "hakmem/core/stats.h"

#include "hakmem/guard/guarded_pool.h"
#include "hakmem/heap/counters.h"
#include "hakmem/heap/thread_heap.h"
#include "hakmem/large/large_alloc.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem::internal {

AllocatorStats GetAllocatorStats() {
  OsMemoryStats os = GetOsMemoryStats();
  SpanAllocatorStats spans = GetSpanAllocatorStats();
  HeapStats heap = GetHeapStats();
  LargeStats large = GetLargeStats();
  return AllocatorStats{
      os.mapped_bytes,         os.mapped_peak_bytes,
      os.map_calls,            os.unmap_calls,
      os.decommit_calls,       os.decommitted_bytes,
      spans.dirty_bytes,       spans.decommit_budget,
      spans.span_bytes_live + large.live_bytes +
          GetGuardStats().live * kGuardMaxSize,
      spans.superslabs_live,   spans.superslabs_cached,
      spans.spans_live,        spans.spans_abandoned,
      heap.blocks_served,      large.live,
      large.live_bytes,        large.cached,
      heap.threads_live,       large.cached_bytes,
  };
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
