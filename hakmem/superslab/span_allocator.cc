#include "hakmem/superslab/span_allocator.h"

#include <atomic>
#include <initializer_list>
#include <new>

#include "hakmem/config/config.h"
#include "hakmem/platform/check.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/platform/spin_lock.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_list.h"

namespace hakmem::internal {
namespace {

static_assert(kSlabSizeForClasses == kSlabSize,
              "size classes and SuperSlabs disagree on the slab size");
static_assert(kSlabsPerSuperSlab == 32, "free_slabs is a 32-bit mask");

constexpr uint32_t kAllSlabsFree = ~uint32_t{0};

struct SpanAllocator {
  SpinLock lock;
  SuperSlab* with_free_slabs = nullptr;  // SuperSlabs with a free slab
  uint64_t superslabs_mapped = 0;
  uint64_t superslabs_empty = 0;
  uint64_t spans_live = 0;
  uint64_t spans_abandoned = 0;
  uint64_t span_bytes_live = 0;  // bytes of the slabs of live spans
  uint64_t slabs_per_class[kNumClasses] = {};  // slabs of live spans
  // Bytes of free slabs that may hold committed pages (SuperSlab::
  // dirty_slabs); above the decommit budget, released spans are
  // decommitted at once.
  uint64_t dirty_bytes = 0;
  // The decommit budget: HAKMEM_DECOMMIT_BYTES at first (read on first
  // use: 0 until then), doubled, up to kMaxBudgetGrowth times that,
  // whenever a footprint oscillates by more than it (see
  // OverDecommitBudgetLocked).
  uint64_t decommit_budget = 0;
  // Whether decommitted slabs were carved again since the budget was last
  // exceeded.
  bool recarved = false;
  SpanList<SlabList::kAbandoned> abandoned[kNumClasses] = {};
  // Set by frees into abandoned spans (RequestAbandonedSweep): the next
  // span acquisition drains them, so memory that threads freed after their
  // owner exited comes back without waiting for a shortage.
  std::atomic<bool> sweep_requested{false};
};

ABSL_CONST_INIT SpanAllocator g_spans;

void LinkSuperSlab(SuperSlab* ss) {
  ss->prev = nullptr;
  ss->next = g_spans.with_free_slabs;
  if (ss->next != nullptr) ss->next->prev = ss;
  g_spans.with_free_slabs = ss;
}

void UnlinkSuperSlab(SuperSlab* ss) {
  if (ss->prev != nullptr) {
    ss->prev->next = ss->next;
  } else {
    g_spans.with_free_slabs = ss->next;
  }
  if (ss->next != nullptr) ss->next->prev = ss->prev;
  ss->prev = ss->next = nullptr;
}

uint32_t SlabMask(unsigned first, unsigned n) {
  return (n == 32 ? kAllSlabsFree : (uint32_t{1} << n) - 1) << first;
}

// The bytes of slab `i` that spans use (slab 0 starts after the header).
uintptr_t SlabStart(const SuperSlab* ss, unsigned i) {
  return reinterpret_cast<uintptr_t>(ss) +
         (i == 0 ? kSuperSlabHeaderSize : i * kSlabSize);
}

uint64_t DirtyBytes(const SuperSlab* ss, uint32_t mask) {
  uint64_t bytes = uint64_t{kSlabSize} * __builtin_popcount(mask);
  return (mask & 1) ? bytes - kSuperSlabHeaderSize : bytes;
}

// Each doubling keeps that much more memory resident where a footprint
// swings: twice the configured budget quiets the steady loops measured
// (bench/RESULTS.md), four times cost 3 MiB more peak RSS on random_mixed
// over 1-64 KiB blocks for nothing more.
constexpr uint64_t kMaxBudgetGrowth = 2;

uint64_t DecommitBudgetLocked() {
  // A configured budget of 0 is read again each time: it stays 0 anyway.
  if (g_spans.decommit_budget == 0) {
    g_spans.decommit_budget = GetConfig().decommit_bytes;
  }
  return g_spans.decommit_budget;
}

// Whether the free slabs are over the decommit budget, after adapting it.
// If pages decommitted earlier have been carved again since (they fault in
// again), the footprint swings by more than the budget, and every swing
// would cost madvise calls and page faults over and over: a steady state
// that is never quiet. Then the budget doubles, within kMaxBudgetGrowth
// times HAKMEM_DECOMMIT_BYTES, until the swing fits. A footprint that only
// shrinks, or grows into fresh SuperSlabs, leaves it alone.
bool OverDecommitBudgetLocked() {
  uint64_t budget = DecommitBudgetLocked();
  if (g_spans.dirty_bytes <= budget) return false;
  if (g_spans.recarved) {
    g_spans.recarved = false;
    uint64_t cap = GetConfig().decommit_bytes * kMaxBudgetGrowth;
    g_spans.decommit_budget = budget * 2 < cap ? budget * 2 : cap;
  }
  return g_spans.dirty_bytes > g_spans.decommit_budget;
}

// Decommits the dirty free slabs of `ss` in `mask`, one madvise per run.
void DecommitLocked(SuperSlab* ss, uint32_t mask) {
  mask &= ss->dirty_slabs;
  g_spans.dirty_bytes -= DirtyBytes(ss, mask);
  ss->dirty_slabs &= ~mask;
  ss->decommitted_slabs |= mask;
  while (mask != 0) {
    unsigned first = __builtin_ctz(mask);
    unsigned end = first;
    while (end < kSlabsPerSuperSlab && (mask >> end) & 1) ++end;
    uintptr_t start = SlabStart(ss, first);
    OsDecommit(reinterpret_cast<void*>(start),
               reinterpret_cast<uintptr_t>(ss) + end * kSlabSize - start);
    mask &= ~SlabMask(first, end - first);
  }
}

SuperSlab* MapSuperSlab() {
  void* mem = OsMapAligned(kSuperSlabSize, kSuperSlabSize);
  if (mem == nullptr) return nullptr;
  // Fresh pages are zero: only the header's non-zero fields are written.
  SuperSlab* ss = new (mem) SuperSlab;
  ss->free_slabs = kAllSlabsFree;
  for (SpanMeta& m : ss->slabs) InitFreeSlab(&m);
  ChunkMapSet(ss, true);
  ++g_spans.superslabs_mapped;
  ++g_spans.superslabs_empty;
  LinkSuperSlab(ss);
  return ss;
}

void UnmapSuperSlab(SuperSlab* ss) {
  g_spans.dirty_bytes -= DirtyBytes(ss, ss->dirty_slabs);
  UnlinkSuperSlab(ss);
  ChunkMapSet(ss, false);
  --g_spans.superslabs_mapped;
  --g_spans.superslabs_empty;
  OsUnmap(ss, kSuperSlabSize);
}

// Where a span of `n` slabs goes among the `slabs` set (free, and perhaps
// committed), or -1: a single slab at the highest free index, a longer
// span at the lowest run that starts at a multiple of `align`. Single
// slabs fill SuperSlabs from the top and longer spans from the bottom, at
// aligned places first (as a buddy allocator would), so that single slabs
// do not break up the runs longer spans need. Measured on a steady loop
// that mixes 16 B-1 KiB with 2-62 KiB blocks: 40 MiB mapped where first fit
// at any index crept up to 48 MiB, mapping a SuperSlab every few million
// operations.
int FindRun(uint32_t slabs, unsigned n, unsigned align) {
  if (n == 1) return slabs == 0 ? -1 : 31 - __builtin_clz(slabs);
  uint32_t run = n == 32 ? kAllSlabsFree : (uint32_t{1} << n) - 1;
  for (unsigned i = 0; i + n <= kSlabsPerSuperSlab; i += align) {
    if (((slabs >> i) & run) == run) return static_cast<int>(i);
  }
  return -1;
}

SpanMeta* CarveSpan(SuperSlab* ss, unsigned first, unsigned cls,
                    uint64_t owner) {
  const SizeClassInfo& info = ClassInfo(cls);
  unsigned n = info.span_slabs;
  if (ss->free_slabs == kAllSlabsFree) --g_spans.superslabs_empty;
  uint32_t mask = SlabMask(first, n);
  ss->free_slabs &= ~mask;
  g_spans.dirty_bytes -= DirtyBytes(ss, ss->dirty_slabs & mask);
  ss->dirty_slabs &= ~mask;
  g_spans.span_bytes_live += DirtyBytes(ss, mask);
  g_spans.slabs_per_class[cls] += n;
  if (ss->decommitted_slabs & mask) {
    g_spans.recarved = true;
    ss->decommitted_slabs &= ~mask;
  }
  if (ss->free_slabs == 0) UnlinkSuperSlab(ss);

  uintptr_t base = reinterpret_cast<uintptr_t>(ss);
  uintptr_t start =
      base + (first == 0 ? kSuperSlabHeaderSize : first * kSlabSize);
  // Block 0 starts at a multiple of the largest power of two dividing the
  // block size (up to a slab: slabs are that aligned), so that every block
  // of a class is aligned to it and aligned_alloc can use the classes up
  // to 64 KiB alignment. Only slab 0, behind the header, loses space: at
  // most 56 KiB, for classes of 16 KiB blocks and up.
  uintptr_t align = info.block_size & -info.block_size;
  if (align > kSlabSize) align = kSlabSize;
  start = (start + align - 1) & ~(align - 1);
  uintptr_t end = base + (first + n) * kSlabSize;
  SpanMeta* head = &ss->slabs[first];
  FormSpan(head, n, cls, start, end, owner);
  ++g_spans.spans_live;
  return head;
}

// Puts span `m` (on no list) on the abandoned list of its class, nobody's.
void AbandonLocked(SpanMeta* m) {
  g_spans.abandoned[m->size_class].PushFront(m);
  ++g_spans.spans_abandoned;
  // Last, with release: whoever claims the span (TryClaimSpan) sees it
  // listed, and an ownerless span that is carved is always on the abandoned
  // list.
  SetSpanOwner(m, kNoOwner, std::memory_order_release);
}

void ReleaseSpanLocked(SpanMeta* m) {
  if (IsPinned(m) ||
      m->remote_head.load(std::memory_order_acquire) != nullptr) {
    // Held-back frees may still be pushed into it (span.h, PinSpan), or
    // its remote-free stack holds blocks although none is out: only a
    // double free does either. It waits abandoned, where the sweep drains
    // (and reports) what arrives and releases it once unpinned and empty.
    AbandonLocked(m);
    return;
  }
  SuperSlab* ss = SuperSlabOf(m);
  unsigned first = SlabIndexOf(m);
  unsigned n = m->span_slabs;
  DissolveSpan(m);
  if (ss->free_slabs == 0) LinkSuperSlab(ss);
  uint32_t mask = SlabMask(first, n);
  ss->free_slabs |= mask;
  g_spans.span_bytes_live -= DirtyBytes(ss, mask);
  g_spans.slabs_per_class[m->size_class] -= n;
  g_spans.dirty_bytes += DirtyBytes(ss, mask & ~ss->dirty_slabs);
  ss->dirty_slabs |= mask;
  if (OverDecommitBudgetLocked()) {
    // Over budget: decommit this span and, for hysteresis, older free
    // slabs until half the budget is left, so that a workload hovering at
    // the budget does not pay a madvise per release.
    DecommitLocked(ss, mask);
    uint64_t target = g_spans.decommit_budget / 2;
    for (SuperSlab* other = g_spans.with_free_slabs;
         other != nullptr && g_spans.dirty_bytes > target;
         other = other->next) {
      DecommitLocked(other, other->free_slabs);
    }
  }
  --g_spans.spans_live;
  if (ss->free_slabs == kAllSlabsFree) {
    ++g_spans.superslabs_empty;
    // Hysteresis: beyond twice the cache, unmap empty SuperSlabs down to
    // the cache, so that a footprint that wobbles around the cache size
    // does not map and unmap over and over.
    uint32_t cache = GetConfig().cached_empty_superslabs;
    if (g_spans.superslabs_empty > 2 * cache) {
      for (SuperSlab* e = g_spans.with_free_slabs;
           e != nullptr && g_spans.superslabs_empty > cache;) {
        SuperSlab* next = e->next;
        if (e->free_slabs == kAllSlabsFree) UnmapSuperSlab(e);
        e = next;
      }
    }
  }
}

// Takes claimed span `m` off the abandoned list of its class. Lock held.
void UnlistAbandonedLocked(SpanMeta* m) {
  g_spans.abandoned[m->size_class].Remove(m);
  --g_spans.spans_abandoned;
}

// Abandoned spans collect remote frees that nobody drains until a thread
// adopts them or frees into them. Before mapping more memory, drain them all
// and release the ones that became empty, so exited threads' memory is
// reused first. (A span a free is working on is skipped: that free takes
// its remote frees in.)
void SweepAbandonedLocked() {
  g_spans.sweep_requested.store(false, std::memory_order_relaxed);
  for (SpanList<SlabList::kAbandoned>& list : g_spans.abandoned) {
    SpanMeta* m = list.head;
    while (m != nullptr) {
      SpanMeta* next = m->next;
      if (TryClaimSpan(m, kClaimedOwner)) {
        SpanDrainRemoteFrees(m);
        if (m->used == 0) {
          UnlistAbandonedLocked(m);
          ReleaseSpanLocked(m);
        } else {
          UnclaimSpan(m);
        }
      }
      m = next;
    }
  }
}

// Carves from existing SuperSlabs: first from slabs whose pages are still
// committed (reusing them costs no page faults and leaves decommitted ones
// alone: in a steady state, no madvise at all), then from any free slabs;
// aligned to the span's size rounded up to a power of two before anywhere
// (see FindRun); in SuperSlabs already in use before empty ones, so that
// empty ones stay empty and can be returned.
SpanMeta* CarveFromFreeSlabsLocked(unsigned cls, uint64_t owner) {
  unsigned n = ClassInfo(cls).span_slabs;
  unsigned natural = n == 1 ? 1 : 1u << (32 - __builtin_clz(n - 1));
  for (bool empty_ok : {false, true}) {
    for (unsigned align : {natural, 1u}) {
      for (bool committed_only : {true, false}) {
        for (SuperSlab* ss = g_spans.with_free_slabs; ss != nullptr;
             ss = ss->next) {
          if (!empty_ok && ss->free_slabs == kAllSlabsFree) continue;
          uint32_t slabs = committed_only ? ss->free_slabs & ss->dirty_slabs
                                          : ss->free_slabs;
          int first = FindRun(slabs, n, align);
          if (first >= 0) return CarveSpan(ss, first, cls, owner);
        }
      }
      if (natural == 1) break;
    }
  }
  return nullptr;
}

void SweepIfRequestedLocked() {
  if (g_spans.sweep_requested.load(std::memory_order_relaxed)) {
    SweepAbandonedLocked();
  }
}

}  // namespace

SpanMeta* AcquireSpan(unsigned cls, uint64_t owner, bool* mapped) {
  if (mapped != nullptr) *mapped = false;
  SpinLockHolder hold(g_spans.lock);
  SweepIfRequestedLocked();
  if (SpanMeta* m = CarveFromFreeSlabsLocked(cls, owner)) return m;
  SweepAbandonedLocked();
  if (SpanMeta* m = CarveFromFreeSlabsLocked(cls, owner)) return m;
  SuperSlab* ss = MapSuperSlab();
  if (ss == nullptr) return nullptr;
  if (mapped != nullptr) *mapped = true;
  return CarveSpan(ss, 0, cls, owner);
}

void ReleaseSpan(SpanMeta* span) {
  SpinLockHolder hold(g_spans.lock);
  ReleaseSpanLocked(span);
}

void AbandonSpan(SpanMeta* span) {
  HAK_DCHECK(span->list == SlabList::kNone && span->used > 0);
  SpinLockHolder hold(g_spans.lock);
  AbandonLocked(span);
}

SpanMeta* AdoptSpan(unsigned cls, uint64_t owner) {
  SpinLockHolder hold(g_spans.lock);
  SweepIfRequestedLocked();
  for (SpanMeta* m = g_spans.abandoned[cls].head; m != nullptr; m = m->next) {
    if (TryClaimSpan(m, owner)) {
      UnlistAbandonedLocked(m);
      AdoptClaimedSpan(m, owner);
      return m;
    }
  }
  return nullptr;
}

bool FreeIntoAbandonedSpan(SpanMeta* span, FreeBlock* block) {
  if (!TryClaimSpan(span, kClaimedOwner)) return false;
  if (span->list != SlabList::kAbandoned) {
    // Carved and ownerless but not abandoned: a free span being carved or
    // released, which only a double or invalid free can meet.
    UnclaimSpan(span);
    return false;
  }
  SpanPushFree(span, block, FreeKey(block));
  SpanDrainRemoteFrees(span);
  if (span->used != 0) {
    UnclaimSpan(span);
    return true;
  }
  // Its last block is back; nobody else can reach it.
  SpinLockHolder hold(g_spans.lock);
  UnlistAbandonedLocked(span);
  ReleaseSpanLocked(span);
  return true;
}

void RequestAbandonedSweep() {
  if (!g_spans.sweep_requested.load(std::memory_order_relaxed)) {
    g_spans.sweep_requested.store(true, std::memory_order_relaxed);
  }
}

void CollectSpans(bool force) {
  SpinLockHolder hold(g_spans.lock);
  SweepAbandonedLocked();
  for (SuperSlab* ss = g_spans.with_free_slabs; ss != nullptr;) {
    SuperSlab* next = ss->next;
    if (force && ss->free_slabs == kAllSlabsFree) {
      UnmapSuperSlab(ss);
    } else {
      DecommitLocked(ss, ss->free_slabs);
      // Asked for: carving these again later is no sign of oscillation.
      ss->decommitted_slabs = 0;
    }
    ss = next;
  }
  g_spans.recarved = false;
}

void SpanAllocatorForkPrepare() { g_spans.lock.Lock(); }
void SpanAllocatorForkParent() { g_spans.lock.Unlock(); }
void SpanAllocatorForkChild() { g_spans.lock.Unlock(); }

void GetSlabsPerClass(uint64_t (&out)[kNumClasses]) {
  SpinLockHolder hold(g_spans.lock);
  for (unsigned c = 0; c < kNumClasses; ++c)
    out[c] = g_spans.slabs_per_class[c];
}

SpanAllocatorStats GetSpanAllocatorStats() {
  SpinLockHolder hold(g_spans.lock);
  return SpanAllocatorStats{
      g_spans.superslabs_mapped - g_spans.superslabs_empty,
      g_spans.superslabs_empty,
      g_spans.spans_live,
      g_spans.spans_abandoned,
      g_spans.dirty_bytes,
      g_spans.span_bytes_live,
      DecommitBudgetLocked(),
  };
}

}  // namespace hakmem::internal
