#include "hakmem/thread_cache/remote_free.h"

#include <cstdint>

#include "hakmem/platform/asan.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/counters.h"
#include "hakmem/thread_cache/scavenge.h"
#include "hakmem/thread_cache/thread_cache.h"
#include "hakmem/thread_cache/thread_lifecycle.h"

namespace hakmem::internal {
namespace {

// Whether an abandoned span, which nobody drains but a sweep or an adopter,
// may hold the blocks just pushed onto its stack: then a sweep is asked for.
void SweepIfAbandoned(uint64_t owner) {
  if (owner == kNoOwner || owner == kClaimedOwner) RequestAbandonedSweep();
}

// Frees `block` (of `span`, its key word set) into a thread's span: into
// the pending batch when it is for this span, or when the last remote free
// went to this span too; else pushes the batch, if any, and the block.
void FreeIntoThreadSpan(ThreadCache& cache, SpanMeta* span, FreeBlock* block) {
  PendingRemoteFrees& pending = cache.pending_remote;
  if (pending.count != 0 && pending.span != span) {
    PushPendingRemoteFrees(cache);
  }
  if (pending.count == 0) {
    if (pending.previous_span != span) {
      RemoteFreePush(span, block);
      pending.previous_span = span;
      return;
    }
    PinSpan(span);
    pending.span = span;
    pending.last = block;
  } else {
    uint64_t key = kDetection ? FreeKey(block) : 0;  // as RemoteFreePush
    block->link = reinterpret_cast<uintptr_t>(pending.first) ^ key;
  }
  pending.first = block;
  if (++pending.count == kRemoteBatch) PushPendingRemoteFrees(cache);
}

}  // namespace

void PushPendingRemoteFrees(ThreadCache& cache) {
  PendingRemoteFrees& pending = cache.pending_remote;
  if (pending.count == 0) return;
  SpanMeta* span = pending.span;
  FreeBlock* first = pending.first;
  FreeBlock* last = pending.last;
  pending = PendingRemoteFrees{};
  pending.previous_span = span;
  // The push writes `last`'s link now, long after its free. Its key word
  // still being the free key that free set proves that its owner has not
  // freed it too since (a double free racing this one, after which an
  // owner list may hand the block out again): the owner's free writes its
  // own key word. Then nothing is written: the double free is reported and
  // the batch is leaked, still counted as used, as a broken list is.
  if (kDetection &&
      __atomic_load_n(&last->key, __ATOMIC_RELAXED) != FreeKey(last)) {
    ReportSlabFreeError(MemoryError::kDoubleFree, span, last);
  } else {
    RemoteFreePushChain(span, first, last);
  }
  UnpinSpan(span);
  // The span's thread may have exited since the batch began.
  SweepIfAbandoned(span->owner.load(std::memory_order_relaxed));
}

void RemoteFree(SpanMeta* slab, void* p) noexcept {
  SpanMeta* span = slab->head;
  FreeBlock* block = static_cast<FreeBlock*>(p);
  uint64_t key = FreeKey(block);
  // Atomic, so that of two threads freeing the same block at once exactly
  // one takes it (its key word becomes the free key) and the other is
  // reported before pushing it again. A block found free (on any list,
  // or in a thread's pending batch) is reported and left as it is.
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
  ThreadCache& cache = tls_cache;
  // A thread that only frees gets its cache too, so that its exit pushes
  // its batch (not once its cache is gone: nothing would).
  if (cache.token == 0 && cache.teardowns == 0) SetUpThreadCache(cache);
  uint64_t owner = span->owner.load(std::memory_order_relaxed);
  if (cache.token != 0 && IsThreadCacheToken(owner)) {
    FreeIntoThreadSpan(cache, span, block);
    HAK_COUNT(Counter::kFreeRemote);
  } else if (owner == kNoOwner && FreeIntoAbandonedSpan(span, block)) {
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
    SweepIfAbandoned(owner);
  }
  // Last, with the block where it belongs.
  if (cache.token != 0) CountSlowPath(cache);
}

}  // namespace hakmem::internal
