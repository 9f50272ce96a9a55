// The per-thread cache: for every slab size class, a LIFO cache of free
// blocks (the fast path) and the spans this thread owns (the refill source).
//
// Fast paths (always inline, no atomics, locks, stats or getenv):
//   CacheAlloc: pop the class's cache.
//   CacheFree:  validate the pointer, and if this thread owns its span, check
//              and set the free key and push onto the cache.
// Everything else is out of line: refill on an empty cache, spill on a full
// one, remote free to another thread's span, thread set-up and exit.
//
// Invariants:
//   - a cache holds only blocks of spans its thread owns, each with its free
//     key set and its link encoded (free_block.h);
//   - SpanMeta::used counts the blocks out of a span: live, cached in the
//     owner's cache, or pending on its remote-free stack;
//   - a span with used == 0 that is not its owner's current span is given
//     back to the span allocator at once.
#ifndef HAKMEM_THREAD_CACHE_THREAD_CACHE_H_
#define HAKMEM_THREAD_CACHE_THREAD_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "hakmem/error/memory_error.h"
#include "hakmem/platform/asan.h"
#include "hakmem/platform/tls.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/free_block.h"
#include "hakmem/superslab/span_list.h"
#include "hakmem/superslab/superslab.h"
#include "hakmem/thread_cache/counters.h"

namespace hakmem::internal {

// The spans one thread owns in one class. `current` is the refill source;
// the others are on `available` (known to have blocks: spans that got
// blocks back at the front, a current span left with only room to carve at
// the back) or `full`
// (only remote frees can have given them blocks since; visited in rotation:
// taken at the head, put back at the tail).
// `spare` is one span that emptied, kept back instead of being released so
// that a class whose footprint wobbles by a span does not take and give
// back spans (and page faults) over and over; a second one that empties is
// released.
struct OwnedSpans {
  SpanMeta* current;
  SpanMeta* spare;
  SpanList<SlabList::kAvailable> available;
  SpanList<SlabList::kFull> full;
};

// The most blocks a thread cache holds, whatever HAKMEM_TCACHE_BYTES says.
// With the default 64 KiB, only a busy cache of 16 or 32 B blocks, grown to
// four times the budget (cache_sizing.cc), reaches it. At 256, bulk frees
// of small blocks in allocation order (sh6bench, glibc's
// bench-malloc-simple at batches of 400 and 1600) sent most blocks on a
// round trip through a spill and a refill; at 8192 most of them stay in
// the cache: sh6bench 0.65 and glibc_simple 0.80 of the time (RESULTS.md,
// issue 14).
inline constexpr uint32_t kMaxCacheBlocks = 8192;

// The most remote frees a thread holds back (remote_free.h).
inline constexpr uint32_t kRemoteBatch = 64;

// A chain of blocks freed into `span` by a thread that does not own it,
// linked and keyed as on a remote-free stack (remote_free_stack.h) except
// for `last`'s link, which the push writes: `count` blocks, 0 when none.
struct PendingRemoteFrees {
  SpanMeta* span;
  FreeBlock* first;
  FreeBlock* last;
  uint32_t count;
  // The span of the last remote free pushed alone: a batch begins only with
  // a second free in a row into one span, so that scattered remote frees
  // pay no pin (span.h) for batches of one.
  SpanMeta* previous_span;
};

// Plain data in static TLS (initial-exec: one %fs-relative access, no
// wrapper call, nothing to construct; dynamic TLS only in the build for
// dlopen, platform/tls.h). All zero until the thread's first refill sets it
// up.
//
// The thread caches: per class a LIFO of free blocks. Instead of its
// length each keeps `room`, the pushes left before it overflows
// (capacity + 1 - length), so that the free fast path is one
// decrement-and-test. Heads, rooms and capacities are parallel arrays, not
// one array of 16-byte records, so that the fast paths index them by class
// with a scaled index and no multiply (two instructions fewer per pair).
struct ThreadCache {
  FreeBlock* head[kNumClasses];
  uint32_t room[kNumClasses];
  uint32_t capacity[kNumClasses];  // HAKMEM_TCACHE_BYTES, <= kMaxCacheBlocks
  uint64_t token;  // owner token of this thread's spans; 0 = not set up
  // g_free_key_secret and g_link_multiplier (superslab/free_block.h),
  // copied when the cache is set up: the fast paths read each with one
  // %fs-relative operand, where a global costs two loads in a shared
  // library (through the GOT).
  uint64_t free_key_secret;
  uint64_t link_multiplier;
  uint32_t teardowns;  // times torn down by the thread-exit hook
  // Scavenging (scavenge.h): slow paths overall, and refills per class
  // since the last scavenge.
  uint32_t slow_paths;
  // Guarded sampling (HAKMEM_GUARD_RATE; 0 = off): blocks that refills may
  // still hand out before the next sampled one, and the draw's state.
  uint32_t guard_countdown;
  uint64_t guard_random;
  uint16_t recent_refills[kNumClasses];
  // Remote frees into one other thread's span, not yet pushed onto its
  // remote-free stack (remote_free.h).
  PendingRemoteFrees pending_remote;
  OwnedSpans spans[kNumClasses];
};

// One class's cache, as a view of the cache's parallel arrays (slow paths).
struct CacheBin {
  CacheBin(ThreadCache& cache, unsigned cls)
      : head(cache.head[cls]),
        room(cache.room[cls]),
        capacity(cache.capacity[cls]) {}
  FreeBlock*& head;
  uint32_t& room;
  uint32_t& capacity;  // spill above it

  uint32_t count() const { return capacity + 1 - room; }
  void set_count(uint32_t n) { room = capacity + 1 - n; }
};

extern __thread ThreadCache tls_cache HAKMEM_TLS_MODEL;

// The calling thread's cache, for the fast paths. With dynamic TLS
// (platform/tls.h) its address is a call to __tls_get_addr, which clang
// repeats at every access (three calls per malloc): the empty asm makes the
// address a value computed once. Initial-exec accesses stay %fs-relative.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline ThreadCache& CurrentCache() {
  ThreadCache* cache = &tls_cache;
  if (HAKMEM_DYNAMIC_TLS) asm("" : "+r"(cache));
  return *cache;
}

// Slow paths (refill.cc, spill.cc, remote_free.cc, cache_errors.cc). `size` is
// the request, for a sampled guarded allocation (CacheAlloc). (The size comes
// first: it arrives in the register it is in already.)
ABSL_ATTRIBUTE_NOINLINE void* RefillAndAlloc(size_t size,
                                             unsigned cls) noexcept;
ABSL_ATTRIBUTE_NOINLINE void SpillCache(unsigned cls) noexcept;
// Frees `p`, a carved block start of the span that `slab` (any of its
// slabs) belongs to, for a thread that does not own the span.
ABSL_ATTRIBUTE_NOINLINE void RemoteFree(SpanMeta* slab, void* p) noexcept;
// A cached block was written to after it was freed: reported; the cache is
// dropped (leaked) and refilled.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void* AllocAfterCorruptedCache(
    size_t size, unsigned cls, FreeBlock* block) noexcept;
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportSlabFreeError(
    MemoryError error, const SpanMeta* span, const void* p) noexcept;

// A block of class `cls` for a request of `size` bytes, or nullptr with
// errno = ENOMEM. A refill may serve it from the guarded pool instead
// (guard/guarded_pool.h), placed by `size`: a caller that needs more than
// 16-byte alignment passes the size rounded up to its alignment.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* CacheAlloc(unsigned cls,
                                                     size_t size) noexcept {
  ThreadCache& cache = CurrentCache();
  FreeBlock* block = cache.head[cls];
  if (ABSL_PREDICT_FALSE(block == nullptr)) return RefillAndAlloc(size, cls);
  // The block's key word must seal its link (free_block.h): then the link
  // is the one this thread stored, and nothing else about it needs
  // checking. The seal is computed beside the pop, not on its chain: the
  // next pop waits only for the load of the link.
  uint64_t key = FreeKey(cache.free_key_secret, block);
  FreeBlock* next = reinterpret_cast<FreeBlock*>(block->link);
  if (kDetection && ABSL_PREDICT_FALSE(!HoldsOwnerListState(
                        block, key, cache.link_multiplier))) {
    return AllocAfterCorruptedCache(size, cls, block);
  }
  cache.head[cls] = next;
  ++cache.room[cls];
  MarkLive(block);
  AsanUnpoison(block, ClassBlockSize(cls));
  HAK_COUNT(Counter::kAllocCacheHit);
  return block;
}

// The body of CacheFree and CacheFreeOfClass. With kClassGiven, `given_cls`
// is the class the caller's size says, checked first: when the block's span
// is of another class, nothing is done and false is returned (the caller's
// slow path sorts out what that means). Otherwise returns true.
template <bool kClassGiven>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool CacheFreeImpl(
    void* p, [[maybe_unused]] unsigned given_cls) noexcept {
  ThreadCache& cache = CurrentCache();
  // The metadata of p's own slab, found by arithmetic alone: the span
  // head's would cost a dependent load (SpanMeta::head) on the free path's
  // critical chain, and every slab of a span mirrors what a free reads.
  SpanMeta* slab = MirroredSpanMetaOf(p);
  if (kClassGiven && ABSL_PREDICT_FALSE(slab->size_class != given_cls)) {
    return false;
  }
  if (kDetection && ABSL_PREDICT_FALSE(!IsCarvedBlockStart(slab, p))) {
    // An interior pointer, a block never handed out, or a free slab.
    ReportSlabFreeError(MemoryError::kInteriorFree, slab->head, p);
    return true;
  }
  if (ABSL_PREDICT_FALSE(slab->owner.load(std::memory_order_relaxed) !=
                         cache.token)) {
    RemoteFree(slab, p);
    return true;
  }
  // The owner check passed, so the cache is set up and has the secret.
  // The double-free test looks at the key word's tag first (free_block.h):
  // a block whose word does not end in it cannot be free.
  FreeBlock* block = static_cast<FreeBlock*>(p);
  uint64_t key = FreeKey(cache.free_key_secret, block);
  if (kDetection && ABSL_PREDICT_FALSE(MayHoldFreeKeyWord(block, key)) &&
      HoldsFreeKeyWord(block, key, cache.link_multiplier)) {
    ReportSlabFreeError(MemoryError::kDoubleFree, slab->head, p);
    return true;
  }
  unsigned cls = kClassGiven ? given_cls : slab->size_class;
  SetOwnerListLink(block, cache.head[cls], key, cache.link_multiplier);
  AsanPoison(block + 1, slab->block_size - sizeof(FreeBlock));
  cache.head[cls] = block;
  HAK_COUNT(Counter::kFreeToCache);
  if (ABSL_PREDICT_FALSE(--cache.room[cls] == 0)) SpillCache(cls);
  return true;
}

// Frees `p`, which lies inside a SuperSlab (InSuperSlab(p)). Errors are
// reported and, if the program goes on, the block is left alone.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void CacheFree(void* p) noexcept {
  CacheFreeImpl</*kClassGiven=*/false>(p, 0);
}

// CacheFree of `p` (InSuperSlab(p)) for a sized free whose size is of class
// `cls`; false, with nothing done, when p's span is of another class.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool CacheFreeOfClass(
    void* p, unsigned cls) noexcept {
  return CacheFreeImpl</*kClassGiven=*/true>(p, cls);
}

// Whether the slab block at `p` (InSuperSlab(p)) is live: carved, at a block
// start, and without a free block's key word. Used by realloc and
// usable_size.
inline bool IsLiveSlabBlock(const SpanMeta* span, const void* p) {
  return IsCarvedBlockStart(span, p) &&
         !HoldsFreeKeyWord(static_cast<const FreeBlock*>(p), FreeKey(p),
                           g_link_multiplier);
}

// fork() support. In the child only the forking thread exists: its cache
// carries on; the spans of the other threads stay owned by caches that are
// gone (their blocks can still be freed, into remote-free stacks).
void ThreadCacheForkPrepare();
void ThreadCacheForkParent();
void ThreadCacheForkChild();

// Returns the calling thread's cached blocks to their spans and gives back
// its spans that are empty (with `force`, also the current ones).
void CollectThreadCache(bool force);

// Whose a token is: a thread cache's tokens are even, an arena's odd, so
// that a remote free tells from a span's owner word alone whether it frees
// into a thread's span (its frees may wait in the freeing thread's pending
// batch, remote_free.h) or an arena's (which can be destroyed with
// everything in it at once: its frees are pushed at once).
enum class OwnerKind : uint64_t { kThreadCache = 0, kArena = 1 };

// A fresh owner token of `kind`, never given to anyone else.
uint64_t NewOwnerToken(OwnerKind kind);

inline bool IsThreadCacheToken(uint64_t token) {
  return token != kNoOwner && token != kClaimedOwner &&
         (token & 1) == static_cast<uint64_t>(OwnerKind::kThreadCache);
}

struct ThreadCacheStats {
  uint64_t blocks_served;  // blocks moved from spans into thread caches
  uint64_t threads_live;   // threads with a set-up cache
};
ThreadCacheStats GetThreadCacheStats();

}  // namespace hakmem::internal

#endif  // HAKMEM_THREAD_CACHE_THREAD_CACHE_H_
