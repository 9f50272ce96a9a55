// A snapshot of the slow-path statistics of every layer. Taking it locks
// the span and large allocators briefly; nothing on a fast path is counted.
#ifndef HAKMEM_CORE_STATS_H_
#define HAKMEM_CORE_STATS_H_

#include <cstddef>
#include <cstdint>

namespace hakmem::internal {

// The statistics, one row each, in the order of struct hak_stats
// (capi/hakmem.h, hand-written C that cannot include this), whose fields
// they are: the struct below, the C ABI's copy, its layout checks and the
// printed rows (capi/stats_print.cc) are all made from this list. A new
// statistic is appended here and to hak_stats, under a new
// HAK_STATS_VERSION. What each means: docs/OBSERVABILITY.md.
#define HAKMEM_STATS_FIELDS(X) \
  X(os_mapped_bytes)           \
  X(os_mapped_peak_bytes)      \
  X(os_map_calls)              \
  X(os_unmap_calls)            \
  X(superslabs_live)           \
  X(superslabs_cached)         \
  X(slabs_live)                \
  X(slab_blocks_served)        \
  X(large_live)                \
  X(large_live_bytes)          \
  X(large_cached)              \
  X(threads_live)              \
  X(os_decommit_calls)         \
  X(os_decommitted_bytes)      \
  X(free_slab_dirty_bytes)     \
  X(decommit_budget_bytes)     \
  X(bytes_in_use_estimate)     \
  X(spans_abandoned)           \
  X(large_cached_bytes)

struct AllocatorStats {
#define HAKMEM_STATS_DECLARE(name) uint64_t name;
  HAKMEM_STATS_FIELDS(HAKMEM_STATS_DECLARE)
#undef HAKMEM_STATS_DECLARE
};

AllocatorStats GetAllocatorStats();

// The slabs (64 KiB) of live spans of each size class: writes the first
// min(n, classes) to `out` and returns the number of classes. And the
// block size of class `cls` (0 past the last class).
size_t CopySlabsPerClass(uint64_t* out, size_t n);
size_t SizeClassBlockSize(size_t cls);

// The debug counters (thread_cache/counters.h) summed over all threads, when
// the build has them (--config=counters).
struct CounterValue {
  const char* name;
  uint64_t value;
};
// Writes up to `n` counters to `out`; returns how many there are (0 in a
// build without counters).
size_t GetCounters(CounterValue* out, size_t n);

}  // namespace hakmem::internal

#endif  // HAKMEM_CORE_STATS_H_
