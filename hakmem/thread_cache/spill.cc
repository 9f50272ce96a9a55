#include "hakmem/thread_cache/spill.h"

#include <cstdint>

#include "hakmem/superslab/span.h"
#include "hakmem/thread_cache/cache_errors.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/owned_spans.h"
#include "hakmem/thread_cache/scavenge.h"

namespace hakmem::internal {
namespace {

// Moves the run of blocks at the head of the cache bin that belong to the
// head's span, up to `limit` of them, back onto that span's free list in
// one splice, and returns how many. Blocks leave a cache mostly in runs of
// one span (bulk frees in allocation order: sh6bench), and a run keeps the
// links, and so the seals, it has: each link is checked before it is
// followed, and only the last block is relinked. The span then goes where
// its blocks say (ReturnedToSpan). Returns 0 when the bin is empty, or its
// next block is corrupted: reported, and the rest of the bin leaked.
uint32_t ReturnRunToSpan(ThreadCache& cache, CacheBin bin, unsigned cls,
                         uint32_t limit) {
  FreeBlock* b = bin.head;
  if (b == nullptr) return 0;
  SpanMeta* m = SpanMetaOf(b);
  FreeBlock* first = b;
  FreeBlock* last = nullptr;
  uint32_t n = 0;
  bool broken = false;
  // A run is cut at the first block of another slab: one compare of
  // address bits, no load, and the blocks of a slab belong to one span. A
  // multi-slab span may take more than one run.
  uintptr_t slab = reinterpret_cast<uintptr_t>(b) >> kSlabShift;
  const uint64_t secret = cache.free_key_secret;
  const uint64_t multiplier = cache.link_multiplier;
  while (n < limit && b != nullptr &&
         reinterpret_cast<uintptr_t>(b) >> kSlabShift == slab) {
    FreeBlock* next = reinterpret_cast<FreeBlock*>(b->link);
    if (kDetection && !HoldsOwnerListState(b, FreeKey(secret, b), multiplier)) {
      ReportCorruptedBlock(b, cls);
      broken = true;
      break;
    }
    last = b;
    b = next;
    ++n;
  }
  if (n != 0) {
    SpanPushRun(m, first, last, n, FreeKey(secret, last));
    HAK_COUNT_N(Counter::kFreeToSpan, n);
  }
  if (broken) {
    bin.head = nullptr;
    bin.set_count(0);
  } else {
    bin.head = b;
    bin.room += n;
  }
  if (n != 0) ReturnedToSpan(cache, m);
  return broken ? 0 : n;
}

}  // namespace

void FlushBin(ThreadCache& cache, unsigned cls) {
  CacheBin bin(cache, cls);
  while (ReturnRunToSpan(cache, bin, cls, UINT32_MAX) != 0) {
  }
}

void SpillCache(unsigned cls) noexcept {
  ThreadCache& cache = tls_cache;
  CacheBin bin(cache, cls);
  HAK_COUNT(Counter::kSpill);
  uint32_t keep = bin.capacity / 2;
  uint32_t excess = bin.count() - keep;
  while (excess != 0) {
    uint32_t n = ReturnRunToSpan(cache, bin, cls, excess);
    if (n == 0) break;  // corrupted: the bin is gone
    excess -= n;
  }
  CountSlowPath(cache);
}

}  // namespace hakmem::internal
