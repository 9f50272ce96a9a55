// A snapshot of the slow-path statistics of every layer. Taking it locks
// the span and large allocators briefly; nothing on a fast path is counted.
#ifndef HAKMEM_CORE_STATS_H_
#define HAKMEM_CORE_STATS_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

struct AllocatorStats {
  uint64_t os_mapped_bytes;
  uint64_t os_mapped_peak_bytes;
  uint64_t os_map_calls;
  uint64_t os_unmap_calls;
  uint64_t os_decommit_calls;
  uint64_t os_decommitted_bytes;
  uint64_t free_slab_dirty_bytes;
  uint64_t decommit_budget_bytes;
  uint64_t bytes_in_use_estimate;
  uint64_t superslabs_live;
  uint64_t superslabs_cached;
  uint64_t spans_live;
  uint64_t spans_abandoned;
  uint64_t slab_blocks_served;
  uint64_t large_live;
  uint64_t large_live_bytes;
  uint64_t large_cached;
  uint64_t threads_live;
  uint64_t large_cached_bytes;  // bytes of the cached runs (large_cached)
};

AllocatorStats GetAllocatorStats();

// The slabs (64 KiB) of live spans of each size class: writes the first
// min(n, classes) to `out` and returns the number of classes. And the
// block size of class `cls` (0 past the last class).
size_t CopySlabsPerClass(uint64_t* out, size_t n);
size_t SizeClassBlockSize(size_t cls);

// The debug counters (heap/counters.h) summed over all threads, when the
// build has them (--config=counters).
struct CounterValue {
  const char* name;
  uint64_t value;
};
// Writes up to `n` counters to `out`; returns how many there are (0 in a
// build without counters).
size_t GetCounters(CounterValue* out, size_t n);

}  // namespace hakmem::internal

#endif  // HAKMEM_CORE_STATS_H_
