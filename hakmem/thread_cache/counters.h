// Debug counters: what the refill stages, the free pipeline and the early
// returns did, per thread, summed when printed.
//
// Compiled in only with --config=counters (which defines
// HAKMEM_COUNTERS=1); otherwise HAK_COUNT expands to nothing and the fast
// paths carry no trace of them (compare the callgrind counts of both
// builds: tools/fast_path_budget.sh).
#ifndef HAKMEM_THREAD_CACHE_COUNTERS_H_
#define HAKMEM_THREAD_CACHE_COUNTERS_H_

#include <cstdint>

#ifndef HAKMEM_COUNTERS
#define HAKMEM_COUNTERS 0
#endif

namespace hakmem::internal {

enum class Counter : uint8_t {
  // Allocation.
  kAllocCacheHit,  // popped from the thread cache (fast path)
  kAllocRefill,    // the cache was empty: refill
  // Refill stages: where each refill found its blocks.
  kRefillFreeList,     // the current span's free list
  kRefillRemoteDrain,  // the current span's remote frees
  kRefillCarve,        // fresh space of the current span
  kRefillBlocks,       // blocks moved into the cache by refills
  kSpanFromAvailable,  // next span: an owned span known to have blocks
  kSpanFromFull,       // next span: a full span that got remote frees
  kSpanAdopted,        // next span: abandoned by an exited thread
  kSpanNew,            // next span: fresh from the span allocator
  kSpanNewSuperSlab,   // of those, carved from a SuperSlab mapped for it
  // Free pipeline. Printed (and in docs/OBSERVABILITY.md) with the design
  // card's names: free_tls_sll, free_ss_local, free_ss_remote.
  kFreeToCache,        // tls_sll: pushed onto the thread cache
  kFreeToSpan,         // ss_local: returned to an owned span (spills, exit)
  kFreeRemote,         // ss_remote: pushed to another thread's span
  kFreeIntoAbandoned,  // put back into a span whose thread exited
  kSpill,              // cache over capacity: half returned to spans
  kSpanReleased,       // an owned span emptied and was given back
  // Early returns and failures.
  kRefillFailed,  // no memory for a new span: ENOMEM
  kFreeRejected,  // a free reported as a memory error and skipped
  kCacheDropped,  // a corrupted cache was reported and leaked
  kCount,
};

const char* CounterName(Counter c);

#if HAKMEM_COUNTERS
void CountEvent(Counter c, uint64_t n);
// Folds the calling thread's counters into the totals (at thread exit).
void FoldThreadCounters();
#define HAK_COUNT_N(counter, n) ::hakmem::internal::CountEvent(counter, n)
#else
inline void FoldThreadCounters() {}
#define HAK_COUNT_N(counter, n) \
  do {                          \
  } while (false)
#endif
#define HAK_COUNT(counter) HAK_COUNT_N(counter, 1)

// Whether this build has counters, and their totals over all threads, live
// and exited (all zero without counters).
bool CountersCompiledIn();
void SumCounters(uint64_t (&out)[static_cast<int>(Counter::kCount)]);

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_COUNTERS_H_
