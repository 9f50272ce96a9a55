// Remote frees: a block freed by a thread that does not own its span
// (RemoteFree, thread_cache.h).
#include <cstdint>

#include "hakmem/platform/asan.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/scavenge.h"
#include "hakmem/thread_cache/thread_cache.h"

namespace hakmem::internal {

void RemoteFree(SpanMeta* slab, void* p) noexcept {
  SpanMeta* span = slab->head;
  FreeBlock* block = static_cast<FreeBlock*>(p);
  uint64_t key = FreeKey(block);
  // Atomic, so that of two threads freeing the same block at once exactly
  // one takes it (its key word becomes the free key) and the other is
  // reported before pushing it again. A block found free (on any list) is
  // reported and left as it is.
  if (kDetection) {
    uint64_t seen = __atomic_load_n(&block->key, __ATOMIC_RELAXED);
    for (;;) {
      uintptr_t link = __atomic_load_n(&block->link, __ATOMIC_RELAXED);
      if (IsFreeKeyWord(seen, link, key, g_link_multiplier)) {
        ReportSlabFreeError(MemoryError::kDoubleFree, span, p);
        return;
      }
      if (__atomic_compare_exchange_n(&block->key, &seen, key, /*weak=*/false,
                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        break;
      }
    }
  }
  AsanPoison(block + 1, span->block_size - sizeof(FreeBlock));
  uint64_t owner = span->owner.load(std::memory_order_relaxed);
  if (owner == kNoOwner && FreeIntoAbandonedSpan(span, block)) {
    // The span's thread exited. The block went straight back into the
    // span, with whatever other threads freed into it meanwhile, and the
    // span stays up for adoption (it is released once its last block is
    // back, even if nothing allocates again): see AbandonSpan.
    HAK_COUNT(Counter::kFreeIntoAbandoned);
  } else {
    RemoteFreePush(span, block);
    HAK_COUNT(Counter::kFreeRemote);
    // An abandoned span that another thread works on this moment: the
    // block waits for the next free into it, an adopter, or the sweep.
    if (owner == kNoOwner || owner == kClaimedOwner) RequestAbandonedSweep();
  }
  // Last, with the block where it belongs.
  ThreadCache& cache = tls_cache;
  if (cache.token != 0) CountSlowPath(cache);
}

}  // namespace hakmem::internal
