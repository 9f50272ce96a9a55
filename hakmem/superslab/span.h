// The span: the one module that changes a span's state. A span is a run of
// 1..16 slabs carved for one size class (superslab.h has its metadata,
// SpanMeta, headed by its first slab's); here are the operations on it:
//   - forming it from free slabs and dissolving it again (FormSpan,
//     DissolveSpan: the span allocator calls them, which decides where);
//   - ownership: setting it, and claiming an abandoned span for a moment
//     (SetSpanOwner, TryClaimSpan, AdoptClaimedSpan, UnclaimSpan);
//   - blocks: pushing a freed one or a run of them (SpanPushFree,
//     SpanPushRun), taking a batch for a
//     cache or an arena (SpanTakeBatch, SpanTakeOne), taking in the remote
//     frees (SpanDrainRemoteFrees), forgetting them all (SpanDiscardBlocks).
// Which list a span is on is span_list.h's; its remote-free stack is
// remote_free_stack.h's. Everything else only reads span state.
//
// Accounting: `used` counts the blocks out of the span (live, in a cache,
// or on the remote-free stack); `free_count` those on its free list;
// `carved` those cut from fresh space so far. A block found corrupted on
// the free list or the remote-free stack is reported, and it and the rest
// of that list stay counted in `used`: never handed out again, and the
// span never released under a writer that may still be at work.
//
// Block operations are for the span's owner, or whoever claimed the
// abandoned span (TryClaimSpan): they are plain loads and stores.
#ifndef HAKMEM_SUPERSLAB_SPAN_H_
#define HAKMEM_SUPERSLAB_SPAN_H_

#include <atomic>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "hakmem/platform/check.h"
#include "hakmem/superslab/free_block.h"
#include "hakmem/superslab/superslab.h"

namespace hakmem::internal {

// Spans a refill examines, in rotation, for blocks freed since it last
// looked (a thread cache's full spans, an arena's queue), before it takes a
// new span. Remote frees land in full spans without telling the owner;
// visiting a few per refill finds them while keeping every refill O(1): in
// a steady state at most about 1/kSpansScannedPerRefill of a class's memory
// waits in spans nobody looks at.
inline constexpr int kSpansScannedPerRefill = 8;

// --- Shape and ownership ---

// A slab of a freshly mapped SuperSlab: free, nobody's, its own head.
// (Fresh pages are zero: only the non-zero fields are written.)
void InitFreeSlab(SpanMeta* m);

// Makes the `slabs` free slabs from `head` on one span of class `cls`,
// whose blocks lie in [start, end), owned by `owner` (published last, with
// release): nothing carved or used, on no list, poisoned for ASan.
void FormSpan(SpanMeta* head, unsigned slabs, unsigned cls, uintptr_t start,
              uintptr_t end, uint64_t owner);
// Dissolves a span with used == 0, on no list, back into free slabs:
// nobody's, nothing carved (every pointer into it fails validation).
void DissolveSpan(SpanMeta* head);

// Sets the owner of the span headed by `head`: the tails first, then the
// head with `order` (the head's owner is the one that publishes the span).
inline void SetSpanOwner(SpanMeta* head, uint64_t owner,
                         std::memory_order order) {
  for (unsigned i = 1, n = SlabsOfSpan(head); i < n; ++i) {
    head[i].owner.store(owner, std::memory_order_relaxed);
  }
  head->owner.store(owner, order);
}

// Claims abandoned span `m` (owner kNoOwner) for `token` (kClaimedOwner, or
// an adopting thread cache's), in the head only: its owner-only state is then
// the claimer's alone. False when another thread holds it.
inline bool TryClaimSpan(SpanMeta* m, uint64_t token) {
  uint64_t expected = kNoOwner;
  return m->owner.compare_exchange_strong(
      expected, token, std::memory_order_acquire, std::memory_order_relaxed);
}

// Makes abandoned span `m`, claimed with TryClaimSpan(m, owner), `owner`'s
// for good (the tails too). Its free list is marked inherited until the
// first take (InheritedListToTake).
inline void AdoptClaimedSpan(SpanMeta* m, uint64_t owner) {
  HAK_DCHECK(m->owner.load(std::memory_order_relaxed) == owner);
  SetSpanOwner(m, owner, std::memory_order_relaxed);
  m->inherited_list = true;
}

// Gives up a claim (TryClaimSpan with kClaimedOwner): nobody's again.
inline void UnclaimSpan(SpanMeta* m) {
  m->owner.store(kNoOwner, std::memory_order_release);
}

// A thread that holds frees into span `m` back, to push them later as one
// chain (thread_cache/remote_free.h), pins it first and unpins it once they
// are pushed: a pinned span is never released (ReleaseSpan abandons it
// instead), so that the late push never lands in a span that was given
// back and carved again. Only a double free can empty a span under its
// pinned blocks, which count as used. The pin follows the block's claim
// (RemoteFree), so a double free racing its owner's can still empty the
// span in between, as it can before any free's push.
inline void PinSpan(SpanMeta* m) {
  m->pins.fetch_add(1, std::memory_order_seq_cst);
}
inline void UnpinSpan(SpanMeta* m) {
  m->pins.fetch_sub(1, std::memory_order_release);
}
inline bool IsPinned(const SpanMeta* m) {
  return m->pins.load(std::memory_order_seq_cst) != 0;
}

// Sets the count of carved blocks of the span headed by `head`, in the
// head and its tails.
inline void SetCarved(SpanMeta* head, uint64_t blocks) {
  for (unsigned i = 0, n = SlabsOfSpan(head); i < n; ++i) {
    head[i].carved.store(blocks, std::memory_order_relaxed);
  }
}

// --- Blocks ---

// Puts the run `first`..`last` of `count` blocks of span `m`, linked and
// sealed as on an owner list, at the head of the span's free list, and
// counts them back in: only `last`, whose free key is `last_key`, is
// relinked (and sealed again); the others keep their words.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SpanPushRun(SpanMeta* m,
                                                     FreeBlock* first,
                                                     FreeBlock* last,
                                                     uint32_t count,
                                                     uint64_t last_key) {
  HAK_DCHECK(m->used >= count);
  SetOwnerListLink(last, m->free_list, last_key);
  m->free_list = first;
  m->free_count += count;
  m->used -= count;
}

// Puts free block `b` of span `m`, whose free key is `key`, at the head of
// the span's free list (both words written as on every owner list) and
// counts it back in.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SpanPushFree(SpanMeta* m, FreeBlock* b,
                                                      uint64_t key) {
  SpanPushRun(m, b, b, 1, key);
}

// Where a batch came from (the refill counters tell them apart).
enum class BatchSource : uint8_t {
  kNone,         // the span had nothing left
  kFreeList,     // blocks freed by the owner
  kRemoteFrees,  // blocks other threads freed, just taken in
  kFreshSpace,   // blocks carved from space never handed out
};

struct SpanBatch {
  FreeBlock* head;  // an owner list ending in nullptr
  uint32_t count;
  BatchSource source;
};

// Takes up to `want` (> 0) blocks out of span `m` and counts them as used:
// from its free list, else from its remote frees, else from fresh space.
// The batch is an owner list (free_block.h) of `count` blocks, each with
// its free key set. The blocks of a partly taken free list have their links
// checked here (a list cut short cannot hand on a bad link); a whole one's
// are checked by whoever pops them (DecodeIntactLink), which must report a
// broken one and leave it and the rest where they are. A broken free-list
// link is reported as of `tier` (the caller's: the class's tier for a
// thread cache, "arena" for an arena).
SpanBatch SpanTakeBatch(SpanMeta* m, uint32_t want, const char* tier);

// For the first take from a span just adopted: the length of its free
// list, which its earlier owner left, when that is at most `most` (else 0),
// so that the caller can take it whole. The list is long out of this
// thread's caches, and cutting a batch from it walks it link by link, a
// chain of cache misses (threads that come and go: RESULTS.md, issue 14);
// taken whole, each block is met once, when it is popped. Clears the mark.
inline uint32_t InheritedListToTake(SpanMeta* m, uint32_t most) {
  if (ABSL_PREDICT_TRUE(!m->inherited_list)) return 0;
  m->inherited_list = false;
  return m->free_count <= most ? m->free_count : 0;
}

// One block of span `m`, its link checked, or nullptr when the span has
// none (or the one it had was corrupted: reported as of `tier`, and
// leaked).
FreeBlock* SpanTakeOne(SpanMeta* m, const char* tier);

// Moves the span's remote frees onto its free list, validating each link
// before it is followed (intact, aligned, a carved block of this span); a
// broken one is reported as of the class's tier.
void SpanDrainRemoteFrees(SpanMeta* m);

// Forgets every block of span `m` (an arena being destroyed frees them all
// at once): afterwards used == 0 and the free list and remote-free stack are
// empty, so the span can be released.
void SpanDiscardBlocks(SpanMeta* m);

}  // namespace hakmem::internal

#endif  // HAKMEM_SUPERSLAB_SPAN_H_
