// Refills: an empty thread cache takes a batch of blocks from one of its
// thread's spans (RefillAndAlloc, thread_cache.h).
#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "hakmem/error/memory_error.h"
#include "hakmem/platform/asan.h"
#include "hakmem/platform/check.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/span.h"
#include "hakmem/thread_cache/cache_errors.h"
#include "hakmem/thread_cache/cache_sizing.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/guard_sampling.h"
#include "hakmem/thread_cache/owned_spans.h"
#include "hakmem/thread_cache/process.h"
#include "hakmem/thread_cache/scavenge.h"
#include "hakmem/thread_cache/thread_cache.h"
#include "hakmem/thread_cache/thread_lifecycle.h"

namespace hakmem::internal {
namespace {

// Moves up to `want` blocks from span `m` into the (empty) cache bin: from
// its free list, else from its remote frees, else by carving fresh space.
// A free list that a span just adopted brings is taken whole when it fits
// the bin (span.h).
uint32_t TakeBlocks(SpanMeta* m, uint32_t want, CacheBin bin) {
  HAK_DCHECK(bin.head == nullptr && bin.count() == 0);
  want = std::max(want, InheritedListToTake(m, bin.capacity));
  SpanBatch batch = SpanTakeBatch(m, want, ClassTierName(m->size_class));
  if (batch.count == 0) return 0;
  switch (batch.source) {
    case BatchSource::kFreeList:
      HAK_COUNT(Counter::kRefillFreeList);
      break;
    case BatchSource::kRemoteFrees:
      HAK_COUNT(Counter::kRefillRemoteDrain);
      break;
    default:
      HAK_COUNT(Counter::kRefillCarve);
      break;
  }
  bin.head = batch.head;
  bin.set_count(batch.count);
  HAK_COUNT_N(Counter::kRefillBlocks, batch.count);
  return batch.count;
}

// Pops the head of a cache bin on a slow path; nullptr when the bin is
// empty or corrupted (then reported, and the rest of the bin leaked).
FreeBlock* PopChecked(CacheBin bin, unsigned cls) {
  FreeBlock* b = bin.head;
  if (b == nullptr) return nullptr;
  FreeBlock* next;
  if (!DecodeIntactLink(b, &next)) {
    ReportCorruptedBlock(b, cls);
    bin.head = nullptr;
    bin.set_count(0);
    return nullptr;
  }
  bin.head = next;
  ++bin.room;
  return b;
}

}  // namespace

void* RefillAndAlloc(size_t size, unsigned cls) noexcept {
  ThreadCache& cache = tls_cache;
  if (ABSL_PREDICT_FALSE(cache.token == 0)) SetUpThreadCache(cache);
  HAK_COUNT(Counter::kAllocRefill);
  CountSlowPath(cache);
  if (kDetection && ABSL_PREDICT_FALSE(CacheBin(cache, cls).count() != 0)) {
    // The cache ran out before its count: a corrupted link that named a
    // free block further down the list made the pops skip the blocks in
    // between (leaked). The link itself is gone with the block popped.
    ReportMemoryError(MemoryError::kCorruptedFreeList, nullptr,
                      ClassTierName(cls), static_cast<int>(cls));
    CacheBin(cache, cls).set_count(0);
  }
  NoteRefill(cache, cls);
  OwnedSpans& o = cache.spans[cls];
  CacheBin bin(cache, cls);
  uint32_t want = std::min(bin.capacity / 2, kMaxRefillBlocks);
  if (ABSL_PREDICT_FALSE(cache.guard_countdown != 0)) {
    if (void* p = SampleGuarded(cache, cls, size, &want)) {
      if (ABSL_PREDICT_FALSE(PastLastExitRound(cache))) {
        TearDownThreadCache(nullptr);  // as below
      }
      return p;
    }
  }
  for (;;) {
    if (o.current != nullptr) {
      SpanMeta* m = PreferFreedBlocks(o);
      if (uint32_t n = TakeBlocks(m, want, bin)) {
        CountBlocksServed(n);
        CountTowardsSample(cache, n);
        if (FreeBlock* block = PopChecked(bin, cls)) {
          MarkLive(block);
          AsanUnpoison(block, ClassBlockSize(cls));
          // Past the last destructor round nothing would give this
          // thread's spans back: do it now, keeping only the block.
          if (ABSL_PREDICT_FALSE(PastLastExitRound(cache))) {
            TearDownThreadCache(nullptr);
          }
          return block;
        }
        continue;  // corrupted and dropped: take more
      }
      o.current = nullptr;
      o.full.PushBack(m);
    }
    o.current = NextSpan(cache, cls);
    if (o.current == nullptr) {
      HAK_COUNT(Counter::kRefillFailed);
      errno = ENOMEM;
      return nullptr;
    }
  }
}

void* AllocAfterCorruptedCache(size_t size, unsigned cls,
                               FreeBlock* block) noexcept {
  ReportCorruptedBlock(block, cls);
  HAK_COUNT(Counter::kCacheDropped);
  CacheBin bin(tls_cache, cls);
  bin.head = nullptr;
  bin.set_count(0);
  return RefillAndAlloc(size, cls);
}

}  // namespace hakmem::internal
