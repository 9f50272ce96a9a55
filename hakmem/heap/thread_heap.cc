#include "hakmem/heap/thread_heap.h"

#include <limits.h>
#include <pthread.h>

#include <cerrno>

#include "hakmem/config/config.h"
#include "hakmem/guard/guarded_pool.h"
#include "hakmem/platform/check.h"
#include "hakmem/platform/fatal_report.h"
#include "hakmem/platform/process_secret.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/superslab/remote_free_stack.h"
#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem::internal {

__thread ThreadHeap tls_heap HAKMEM_TLS_MODEL;

namespace {

// Every this many slow paths (refills and spills), a thread scavenges: it
// returns the cached blocks of classes that needed no refill since the
// last time, and takes in the remote frees of its spans, releasing those
// that emptied. Idle caches shrink and spans whose blocks were all freed by
// other threads go back without a background thread, on the thread's own
// slow path.
constexpr uint32_t kScavengePeriod = 1024;
// Spans of each list of each class a scavenge examines (in rotation): keeps
// one scavenge's work, and its cache misses, bounded however many spans a
// thread owns.
constexpr uint32_t kSpansReclaimedPerScavenge = 32;

// Bounds of a thread cache, in blocks, whatever HAKMEM_TCACHE_BYTES says.
constexpr size_t kMinCacheBlocks = 2;
constexpr size_t kMaxCacheBlocks = 256;

// A cache starts at HAKMEM_TCACHE_BYTES worth of blocks. A class that
// refills this many times between two scavenges is busy: its capacity
// doubles, up to kCacheGrowth times HAKMEM_TCACHE_BYTES. A scavenge that
// finds a class idle (no refill since the last one) flushes its cache and
// shrinks it back. What this buys is for large blocks, where the byte
// budget leaves a cache of two or three: random_mixed over 1-64 KiB made a
// refill for every third malloc, one block each (RESULTS.md).
constexpr uint16_t kRefillsToGrow = 16;
constexpr size_t kCacheGrowth = 4;

struct Process {
  SpinLock lock;
  std::atomic<bool> ready{false};
  pthread_key_t exit_key = 0;
  std::atomic<uint64_t> next_token{1};
  std::atomic<uint64_t> threads_live{0};
  std::atomic<uint64_t> blocks_served{0};
};
ABSL_CONST_INIT Process g_process;

void TearDownThreadHeap(void*);

void SetUpProcess() {
  SpinLockHolder hold(g_process.lock);
  if (g_process.ready.load(std::memory_order_relaxed)) return;
  ProcessSecrets secrets = ComputeProcessSecrets();
  g_free_key_secret = secrets.free_key;
  g_link_multiplier = secrets.link_multiplier;
  if (GetConfig().guard_rate != 0) ReserveGuardedPool();
  if (pthread_key_create(&g_process.exit_key, TearDownThreadHeap) != 0) {
    FatalError("pthread_key_create failed: cannot track thread exit");
  }
  g_process.ready.store(true, std::memory_order_release);
}

// Whether the thread is past pthread's last round of key destructors: a
// heap set up now would never be torn down, so each refill hands its span
// straight back (see RefillAndAlloc).
bool PastLastExitRound(const ThreadHeap& heap) {
  return heap.teardowns >= PTHREAD_DESTRUCTOR_ITERATIONS;
}

// A cache of `bytes` worth of class `cls` blocks, within the bounds.
uint32_t CacheCapacity(unsigned cls, size_t bytes) {
  size_t blocks = bytes / ClassBlockSize(cls);
  return static_cast<uint32_t>(blocks < kMinCacheBlocks   ? kMinCacheBlocks
                               : blocks > kMaxCacheBlocks ? kMaxCacheBlocks
                                                          : blocks);
}

// Gives an empty cache its starting capacity (HAKMEM_TCACHE_BYTES worth).
void ResetEmptyCache(ThreadHeap& heap, unsigned cls) {
  CacheBin bin(heap, cls);
  bin.capacity = CacheCapacity(cls, GetConfig().thread_cache_bytes);
  bin.set_count(0);
}

// Doubles the capacity of a busy class's cache, within its growth bound.
void GrowCache(ThreadHeap& heap, unsigned cls) {
  CacheBin bin(heap, cls);
  uint32_t most =
      CacheCapacity(cls, GetConfig().thread_cache_bytes * kCacheGrowth);
  if (bin.capacity >= most) return;
  uint32_t count = bin.count();
  bin.capacity = bin.capacity * 2 < most ? bin.capacity * 2 : most;
  bin.set_count(count);
}

// --- Guarded sampling ---
// About one in HAKMEM_GUARD_RATE blocks that refills hand out comes from
// the guarded pool instead. The countdown runs over blocks refills hand
// out, never over cache hits, so the fast paths carry nothing for it: a
// refill takes no more blocks than the countdown has left, so that the
// refill that reaches it comes on time. Blocks a thread frees and
// allocates again from its cache are not sampled; the sample is of the
// blocks that come out of spans.

// The next countdown: uniform in [1, 2 * rate - 1], mean `rate` (xorshift;
// 1 when rate is 1, so that every refill samples).
uint32_t DrawGuardCountdown(ThreadHeap& heap, uint32_t rate) {
  uint64_t x = heap.guard_random;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  heap.guard_random = x;
  return 1 + static_cast<uint32_t>(x % (uint64_t{2} * rate - 1));
}

// A guarded block for this refill when the countdown is due and the
// request fits a guarded page, else nullptr after lowering `want` so that
// the refill stops short of the next sample.
void* SampleGuarded(ThreadHeap& heap, unsigned cls, size_t size,
                    uint32_t* want) {
  if (heap.guard_countdown > 1) {
    if (*want >= heap.guard_countdown) *want = heap.guard_countdown - 1;
    return nullptr;
  }
  if (size > kGuardMaxSize) return nullptr;  // the next small one is due
  heap.guard_countdown = DrawGuardCountdown(heap, GetConfig().guard_rate);
  // nullptr when the pool is full: then served normally.
  return GuardedAlloc(size == 0 ? 1 : size, 16, static_cast<int>(cls));
}

void SetUpThreadHeap(ThreadHeap& heap) {
  heap.token = NewOwnerToken();
  heap.free_key_secret = g_free_key_secret;
  heap.link_multiplier = g_link_multiplier;
  if (uint32_t rate = GetConfig().guard_rate) {
    heap.guard_random =
        ((heap.token * 0x9E3779B97F4A7C15ull) ^ g_free_key_secret) | 1;
    heap.guard_countdown = DrawGuardCountdown(heap, rate);
  }
  for (unsigned cls = 0; cls < kNumClasses; ++cls) ResetEmptyCache(heap, cls);
  g_process.threads_live.fetch_add(1, std::memory_order_relaxed);
  // A non-null value makes pthread call TearDownThreadHeap at thread exit.
  pthread_setspecific(g_process.exit_key, &heap);
}

// --- Span lists (owner only) ---
// Each list records itself in the span's `list` tag (span_list.h), so
// that a block coming back to a span (ReturnedToSpan) finds the list to move
// it off without a search.

void Unlink(OwnedSpans& o, SlabMeta* m) {
  if (m->list == SlabList::kAvailable) {
    o.available.Remove(m);
  } else if (m->list == SlabList::kFull) {
    o.full.Remove(m);
  }
}

// Reports a block whose link or key failed its check on an owner list: a
// write into it after it was freed, or a free that raced another thread's
// free of it (BrokenLinkError).
void ReportCorrupted(const FreeBlock* b, unsigned cls) {
  ReportMemoryError(BrokenLinkError(b), b, ClassTierName(cls),
                    static_cast<int>(cls));
}

// Moves up to `want` blocks from span `m` into the (empty) cache bin: from
// its free list, else from its remote frees, else by carving fresh space.
uint32_t TakeBlocks(SlabMeta* m, uint32_t want, CacheBin bin) {
  HAK_DCHECK(bin.head == nullptr && bin.count() == 0);
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
    ReportCorrupted(b, cls);
    bin.head = nullptr;
    bin.set_count(0);
    return nullptr;
  }
  bin.head = next;
  ++bin.room;
  return b;
}

// The next span to refill class `cls` from: one known to have blocks, a
// full one that received remote frees, an abandoned one, or a fresh one.
SlabMeta* NextSpan(ThreadHeap& heap, unsigned cls) {
  OwnedSpans& o = heap.spans[cls];
  if (SlabMeta* m = o.available.head) {
    Unlink(o, m);
    HAK_COUNT(Counter::kSpanFromAvailable);
    return m;
  }
  if (SlabMeta* m = o.spare) {
    o.spare = nullptr;
    HAK_COUNT(Counter::kSpanFromAvailable);
    return m;
  }
  for (int i = 0; i < kSpansScannedPerRefill && o.full.head != nullptr; ++i) {
    SlabMeta* m = o.full.head;
    Unlink(o, m);
    if (m->remote_head.load(std::memory_order_relaxed) != nullptr) {
      HAK_COUNT(Counter::kSpanFromFull);
      return m;
    }
    o.full.PushBack(m);
  }
  if (SlabMeta* m = AdoptSpan(cls, heap.token)) {
    HAK_COUNT(Counter::kSpanAdopted);
    return m;
  }
  HAK_COUNT(Counter::kSpanNew);
  bool mapped;
  SlabMeta* m = AcquireSpan(cls, heap.token, &mapped);
  if (mapped) HAK_COUNT(Counter::kSpanNewSuperSlab);
  return m;
}

// Freed blocks before fresh ones: when the current span could only carve
// and another span has blocks back, that one becomes current (the old one,
// with room left, waits at the back of `available`); returns the current
// span. A freed block is resident memory already; a fresh one is a fresh
// page when blocks are large. Carving first made pool-sized workloads touch
// 1.5x the pages, at 0.7x the speed (RESULTS.md).
SlabMeta* PreferFreedBlocks(OwnedSpans& o) {
  SlabMeta* m = o.current;
  SlabMeta* reuse = o.available.head;
  if (m->free_list != nullptr ||
      m->remote_head.load(std::memory_order_relaxed) != nullptr ||
      reuse == nullptr || reuse->free_list == nullptr) {
    return m;
  }
  Unlink(o, reuse);
  o.available.PushBack(m);
  o.current = reuse;
  return reuse;
}

// Where span `m` goes after blocks came back to it: released (or kept as
// the spare) when it emptied, to `available` when it was full.
void ReturnedToSpan(ThreadHeap& heap, SlabMeta* m) {
  OwnedSpans& o = heap.spans[m->size_class];
  if (m == o.current) return;
  if (m->used == 0) {
    Unlink(o, m);
    if (o.spare == nullptr) {
      o.spare = m;
      return;
    }
    ReleaseSpan(m);
    HAK_COUNT(Counter::kSpanReleased);
  } else if (m->list == SlabList::kFull) {
    Unlink(o, m);
    o.available.PushFront(m);
  }
}

// Moves the run of blocks at the head of the cache bin that belong to the
// head's span, up to `limit` of them, back onto that span's free list in
// one splice, and returns how many. Blocks leave a cache mostly in runs of
// one span (bulk frees in allocation order: sh6bench), and a run keeps the
// links, and so the seals, it has: each link is checked before it is
// followed, and only the last block is relinked. The span then goes where
// its blocks say (ReturnedToSpan). Returns 0 when the bin is empty, or its
// next block is corrupted: reported, and the rest of the bin leaked.
uint32_t ReturnRunToSpan(ThreadHeap& heap, CacheBin bin, unsigned cls,
                         uint32_t limit) {
  FreeBlock* b = bin.head;
  if (b == nullptr) return 0;
  SlabMeta* m = SpanMetaOf(b);
  FreeBlock* first = b;
  FreeBlock* last = nullptr;
  uint32_t n = 0;
  bool broken = false;
  // A run is cut at the first block of another slab: one compare of
  // address bits, no load, and the blocks of a slab belong to one span. A
  // multi-slab span may take more than one run.
  uintptr_t slab = reinterpret_cast<uintptr_t>(b) >> kSlabShift;
  const uint64_t secret = heap.free_key_secret;
  const uint64_t multiplier = heap.link_multiplier;
  while (n < limit && b != nullptr &&
         reinterpret_cast<uintptr_t>(b) >> kSlabShift == slab) {
    FreeBlock* next = reinterpret_cast<FreeBlock*>(b->link);
    if (kDetection && !HoldsOwnerListState(b, FreeKey(secret, b), multiplier)) {
      ReportCorrupted(b, cls);
      broken = true;
      break;
    }
    last = b;
    b = next;
    ++n;
  }
  if (n != 0) {
    SpanPushRun(m, first, last, n);
    HAK_COUNT_N(Counter::kFreeSsLocal, n);
  }
  if (broken) {
    bin.head = nullptr;
    bin.set_count(0);
  } else {
    bin.head = b;
    bin.room += n;
  }
  if (n != 0) ReturnedToSpan(heap, m);
  return broken ? 0 : n;
}

// Gives every span of `o` back (empty) or to adoption (still in use).
void DisownSpans(OwnedSpans& o) {
  if (o.spare != nullptr) {
    ReleaseSpan(o.spare);
    o.spare = nullptr;
  }
  if (o.current != nullptr) {
    SlabMeta* m = o.current;
    o.current = nullptr;
    o.available.PushFront(m);
  }
  auto disown = [](auto& list) {
    while (SlabMeta* m = list.PopFront()) {
      SpanDrainRemoteFrees(m);
      if (m->used == 0) {
        ReleaseSpan(m);
      } else {
        AbandonSpan(m);
      }
    }
  };
  disown(o.available);
  disown(o.full);
}

// Returns every cached block of class `cls` to its span.
void FlushBin(ThreadHeap& heap, unsigned cls) {
  CacheBin bin(heap, cls);
  while (ReturnRunToSpan(heap, bin, cls, UINT32_MAX) != 0) {
  }
}

// Drains the remote frees of up to `limit` spans of each of the class's
// lists, releases the ones that are empty, and moves full ones that got
// blocks to `available`; the next call resumes where this one stopped. A
// span whose owner no longer allocates from its class is drained nowhere
// else, so without this it could never empty.
void ReclaimRemoteFrees(OwnedSpans& o, uint32_t limit) {
  auto reclaim = [&o, limit](auto& list) {
    SlabMeta* m = list.head;
    for (uint32_t seen = 0; m != nullptr && seen < limit; ++seen) {
      SlabMeta* next = m->next;
      SpanDrainRemoteFrees(m);
      if (m->used == 0) {
        Unlink(o, m);
        ReleaseSpan(m);
        HAK_COUNT(Counter::kSpanReleased);
      } else if (m->list == SlabList::kFull && m->free_list != nullptr) {
        Unlink(o, m);
        o.available.PushFront(m);
      }
      m = next;
    }
    if (m != nullptr) list.RotateTo(m);
  };
  reclaim(o.available);
  reclaim(o.full);
}

void Scavenge(ThreadHeap& heap) {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    if (heap.recent_refills[cls] == 0) {
      FlushBin(heap, cls);
      ResetEmptyCache(heap, cls);
    }
    heap.recent_refills[cls] = 0;
    ReclaimRemoteFrees(heap.spans[cls], kSpansReclaimedPerScavenge);
  }
}

// Counts one slow path of a set-up heap (refill, spill, remote free), and
// scavenges every kScavengePeriod of them. Remote frees count: a thread
// that only frees (a main thread freeing what exited workers left) still
// takes in the remote frees of its own spans and gives the empty ones back.
void CountSlowPath(ThreadHeap& heap) {
  if (++heap.slow_paths % kScavengePeriod == 0) Scavenge(heap);
}

// pthread key destructor: runs at thread exit, after the thread's own code.
// Other destructors may still allocate after it; that sets the heap up
// again with a new token, and pthread calls this again (up to
// PTHREAD_DESTRUCTOR_ITERATIONS rounds).
void TearDownThreadHeap(void*) {
  ThreadHeap& heap = tls_heap;
  ++heap.teardowns;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(heap, cls);
    CacheBin bin(heap, cls);
    bin.capacity = 0;
    bin.set_count(0);
    DisownSpans(heap.spans[cls]);
  }
  heap.token = 0;
  g_process.threads_live.fetch_sub(1, std::memory_order_relaxed);
  FoldThreadCounters();
}

}  // namespace

void* RefillAndAlloc(size_t size, unsigned cls) noexcept {
  ThreadHeap& heap = tls_heap;
  if (ABSL_PREDICT_FALSE(heap.token == 0)) SetUpThreadHeap(heap);
  HAK_COUNT(Counter::kAllocRefill);
  CountSlowPath(heap);
  if (kDetection && ABSL_PREDICT_FALSE(CacheBin(heap, cls).count() != 0)) {
    // The cache ran out before its count: a corrupted link that named a
    // free block further down the list made the pops skip the blocks in
    // between (leaked). The link itself is gone with the block popped.
    ReportMemoryError(MemoryError::kCorruptedFreeList, nullptr,
                      ClassTierName(cls), static_cast<int>(cls));
    CacheBin(heap, cls).set_count(0);
  }
  if (heap.recent_refills[cls] != UINT16_MAX &&
      ++heap.recent_refills[cls] % kRefillsToGrow == 0) {
    GrowCache(heap, cls);
  }
  OwnedSpans& o = heap.spans[cls];
  CacheBin bin(heap, cls);
  uint32_t want = bin.capacity / 2;
  if (ABSL_PREDICT_FALSE(heap.guard_countdown != 0)) {
    if (void* p = SampleGuarded(heap, cls, size, &want)) {
      if (ABSL_PREDICT_FALSE(PastLastExitRound(heap))) {
        TearDownThreadHeap(nullptr);  // as below
      }
      return p;
    }
  }
  for (;;) {
    if (o.current != nullptr) {
      SlabMeta* m = PreferFreedBlocks(o);
      if (uint32_t n = TakeBlocks(m, want, bin)) {
        g_process.blocks_served.fetch_add(n, std::memory_order_relaxed);
        if (heap.guard_countdown != 0) {
          heap.guard_countdown =
              heap.guard_countdown > n ? heap.guard_countdown - n : 1;
        }
        if (FreeBlock* block = PopChecked(bin, cls)) {
          MarkLive(block);
          AsanUnpoison(block, ClassBlockSize(cls));
          // Past the last destructor round nothing would give this
          // thread's spans back: do it now, keeping only the block.
          if (ABSL_PREDICT_FALSE(PastLastExitRound(heap))) {
            TearDownThreadHeap(nullptr);
          }
          return block;
        }
        continue;  // corrupted and dropped: take more
      }
      o.current = nullptr;
      o.full.PushBack(m);
    }
    o.current = NextSpan(heap, cls);
    if (o.current == nullptr) {
      HAK_COUNT(Counter::kRefillFailed);
      errno = ENOMEM;
      return nullptr;
    }
  }
}

void CollectThreadHeap(bool force) {
  ThreadHeap& heap = tls_heap;
  if (heap.token == 0) return;
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    FlushBin(heap, cls);
    OwnedSpans& o = heap.spans[cls];
    if (o.spare != nullptr) {
      ReleaseSpan(o.spare);
      o.spare = nullptr;
    }
    if (force && o.current != nullptr) {
      o.available.PushFront(o.current);
      o.current = nullptr;
    }
    ReclaimRemoteFrees(o, UINT32_MAX);
  }
}

void SpillCache(unsigned cls) noexcept {
  ThreadHeap& heap = tls_heap;
  CacheBin bin(heap, cls);
  HAK_COUNT(Counter::kSpill);
  uint32_t keep = bin.capacity / 2;
  uint32_t excess = bin.count() - keep;
  while (excess != 0) {
    uint32_t n = ReturnRunToSpan(heap, bin, cls, excess);
    if (n == 0) break;  // corrupted: the bin is gone
    excess -= n;
  }
  CountSlowPath(heap);
}

void RemoteFree(SlabMeta* slab, void* p) noexcept {
  SlabMeta* span = slab->head;
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
    HAK_COUNT(Counter::kFreeSsRemote);
    // An abandoned span that another thread works on this moment: the
    // block waits for the next free into it, an adopter, or the sweep.
    if (owner == kNoOwner || owner == kClaimedOwner) RequestAbandonedSweep();
  }
  // Last, with the block where it belongs.
  ThreadHeap& heap = tls_heap;
  if (heap.token != 0) CountSlowPath(heap);
}

void* AllocAfterCorruptedCache(size_t size, unsigned cls,
                               FreeBlock* block) noexcept {
  ReportCorrupted(block, cls);
  HAK_COUNT(Counter::kCacheDropped);
  CacheBin bin(tls_heap, cls);
  bin.head = nullptr;
  bin.set_count(0);
  return RefillAndAlloc(size, cls);
}

void ReportSlabFreeError(MemoryError error, const SlabMeta* span,
                         const void* p) noexcept {
  // A free slab (nothing carved) has no class; report the pointer alone.
  HAK_COUNT(Counter::kFreeRejected);
  bool carved = span->carved.load(std::memory_order_relaxed) != 0;
  ReportMemoryError(error, p,
                    carved ? ClassTierName(span->size_class) : "superslab",
                    carved ? span->size_class : -1);
}

uint64_t NewOwnerToken() {
  if (!g_process.ready.load(std::memory_order_acquire)) SetUpProcess();
  return g_process.next_token.fetch_add(1, std::memory_order_relaxed);
}

void HeapForkPrepare() { g_process.lock.Lock(); }
void HeapForkParent() { g_process.lock.Unlock(); }
void HeapForkChild() {
  g_process.lock.Unlock();
  g_process.threads_live.store(tls_heap.token != 0 ? 1 : 0,
                               std::memory_order_relaxed);
}

HeapStats GetHeapStats() {
  return HeapStats{
      g_process.blocks_served.load(std::memory_order_relaxed),
      g_process.threads_live.load(std::memory_order_relaxed),
  };
}

}  // namespace hakmem::internal
