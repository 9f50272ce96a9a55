// Spans: runs of 1..16 contiguous slabs inside a SuperSlab, carved for one
// size class and owned by one thread cache. This is the only place that maps
// and unmaps SuperSlabs, and it keeps the spans that exited threads
// abandoned until another thread adopts them.
//
// Everything here runs on slow paths under one global lock.
#ifndef HAKMEM_SUPERSLAB_SPAN_ALLOCATOR_H_
#define HAKMEM_SUPERSLAB_SPAN_ALLOCATOR_H_

#include <cstdint>

#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

// Carves a span for size class `cls`, owned by `owner`: first from free
// slabs of existing SuperSlabs, then from a new SuperSlab. The span is on no
// list, has used == 0 and nothing carved. nullptr when the OS has no memory.
// `*mapped`, if given, says whether a new SuperSlab was mapped for it.
SpanMeta* AcquireSpan(unsigned cls, uint64_t owner, bool* mapped = nullptr);

// Gives back a span with used == 0 that is on no list (or abandons it, when
// a thread still holds frees into it back or its remote-free stack is not
// empty: see PinSpan in span.h). While the free
// slabs that may hold committed pages stay within HAKMEM_DECOMMIT_BYTES,
// its pages are kept for quick reuse; beyond that it is decommitted at
// once. Empty SuperSlabs beyond HAKMEM_SS_CACHE are unmapped.
void ReleaseSpan(SpanMeta* span);

// Hands a span whose owner is exiting (used > 0, on no list) to whoever
// adopts it; remote frees keep arriving on its remote-free stack meanwhile.
//
// An abandoned span is owned by nobody (kNoOwner) and waits on the
// abandoned list of its class. Frees into it do not make the freeing thread
// its owner: a thread that only frees (a main thread taking back what
// exited workers left) would keep it, with every block it has left, out of
// reach of the threads that allocate, and would never take in the remote
// frees that others make into it. That was the leak of programs whose
// threads come and go: 0.5 MB more per generation of threads. Instead the
// free puts the block back into the span itself (FreeIntoAbandonedSpan),
// which stays up for adoption by the next thread that needs a span of its
// class, and is released once its last block is back.
void AbandonSpan(SpanMeta* span);

// Takes ownership of an abandoned span of class `cls` for `owner`, or
// returns nullptr. The span is on no list; its remote-free stack may hold
// blocks.
SpanMeta* AdoptSpan(unsigned cls, uint64_t owner);

// Frees `block` (a block of abandoned `span`, its free key set) into the
// span, takes in the span's remote frees and releases the span if that
// emptied it; returns true. Returns false, changing nothing, when the span
// is not abandoned (any more) or another thread works on it at this moment:
// then the caller pushes the block onto the remote-free stack and calls
// RequestAbandonedSweep. Lock-free but for the release.
bool FreeIntoAbandonedSpan(SpanMeta* span, FreeBlock* block);

// Called by a free into an abandoned span that went to its remote-free
// stack: asks the next span acquisition to drain abandoned spans and
// release the empty ones.
void RequestAbandonedSweep();

// Gives back what it can now: drains abandoned spans and releases the
// empty ones, decommits every free slab; with `force`, also unmaps every
// empty SuperSlab instead of keeping HAKMEM_SS_CACHE of them.
void CollectSpans(bool force);

// fork() support: the lock is held across fork so the child never inherits
// it taken by a thread that does not exist there.
void SpanAllocatorForkPrepare();
void SpanAllocatorForkParent();
void SpanAllocatorForkChild();

struct SpanAllocatorStats {
  uint64_t superslabs_live;    // mapped and holding at least one span
  uint64_t superslabs_cached;  // mapped and empty
  uint64_t spans_live;
  uint64_t spans_abandoned;
  uint64_t dirty_bytes;      // free slab bytes that may still be committed
  uint64_t span_bytes_live;  // bytes of the slabs of live spans
  uint64_t decommit_budget;  // dirty bytes kept before decommitting
};
SpanAllocatorStats GetSpanAllocatorStats();

// The slabs of live spans of each size class (thread caches' and arenas').
void GetSlabsPerClass(uint64_t (&out)[kNumClasses]);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_SPAN_ALLOCATOR_H_
