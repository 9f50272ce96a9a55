#include "hakmem/large/large_alloc.h"

#include <cerrno>
#include <cstring>

#include "hakmem/config/config.h"
#include "hakmem/platform/check.h"
#include "hakmem/platform/os_memory.h"
#include "hakmem/platform/spin_lock.h"

namespace hakmem::internal {
namespace {

struct Region {
  uintptr_t addr;  // 0: empty slot
  size_t size;     // mapped bytes, a multiple of kPageSize
  uint64_t owner;  // arena token, or 0
  // Live blocks: the size asked for (by the allocation or the last
  // realloc), rounded up to pages. A block cut from a cached run may map
  // more; a sized free must name a size between the two (LargeSizesOf).
  size_t requested = 0;
};

// Open addressing with linear probing and backward-shift deletion (no
// tombstones), in memory mapped directly from the OS.
class RegionTable {
 public:
  Region* Find(uintptr_t addr) {
    if (slots_ == nullptr) return nullptr;
    for (size_t i = Home(addr);; i = (i + 1) & mask()) {
      if (slots_[i].addr == addr) return &slots_[i];
      if (slots_[i].addr == 0) return nullptr;
    }
  }

  // False when the table cannot grow (no memory).
  bool Insert(Region r) {
    if ((count_ + 1) * 2 > capacity_ && !Grow()) return false;
    size_t i = Home(r.addr);
    while (slots_[i].addr != 0) i = (i + 1) & mask();
    slots_[i] = r;
    ++count_;
    return true;
  }

  void Erase(Region* slot) {
    size_t i = static_cast<size_t>(slot - slots_);
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask();
      if (slots_[j].addr == 0) break;
      size_t home = Home(slots_[j].addr);
      // Move j back into the hole at i unless its home lies in (i, j].
      bool home_in_range =
          i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!home_in_range) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Region{0, 0, 0};
    --count_;
  }

  size_t count() const { return count_; }
  size_t capacity() const { return capacity_; }
  Region* slot(size_t i) { return &slots_[i]; }

 private:
  size_t mask() const { return capacity_ - 1; }
  size_t Home(uintptr_t addr) const {
    return static_cast<size_t>(((addr >> 12) * 0x9E3779B97F4A7C15ull) >>
                               (64 - log2_capacity_));
  }

  bool Grow() {
    unsigned new_log2 = slots_ == nullptr ? 10 : log2_capacity_ + 1;
    size_t new_capacity = size_t{1} << new_log2;
    auto* fresh = static_cast<Region*>(
        OsMapAligned(new_capacity * sizeof(Region), kPageSize));
    if (fresh == nullptr) return false;
    Region* old = slots_;
    size_t old_capacity = capacity_;
    slots_ = fresh;
    capacity_ = new_capacity;
    log2_capacity_ = new_log2;
    count_ = 0;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old[i].addr != 0) Insert(old[i]);
    }
    if (old != nullptr) OsUnmap(old, old_capacity * sizeof(Region));
    return true;
  }

  Region* slots_ = nullptr;
  size_t capacity_ = 0;
  unsigned log2_capacity_ = 0;
  size_t count_ = 0;
};

// A run of freed pages in the cache. `age` orders runs by when they came
// in (merging renews it): the oldest is evicted first.
struct CachedRun {
  uintptr_t addr;
  size_t size;
  uint64_t age;
};

struct LargeState {
  SpinLock lock;
  RegionTable live;
  uint64_t live_bytes = 0;
  // Packed: runs[0, cached) are the cached runs, in no particular order.
  CachedRun runs[kLargeCacheEntries] = {};
  uint64_t cached = 0;
  uint64_t cached_bytes = 0;
  uint64_t next_age = 0;
  // What the budget has grown by beyond HAKMEM_LARGE_CACHE_BYTES, and
  // whether the cache has given pages back to the OS for want of room
  // since it was last empty of large blocks (see BudgetLocked).
  uint64_t earned = 0;
  bool overflowed = false;
};
ABSL_CONST_INIT LargeState g_large;

// The cache holds runs of whole pages that are still mapped (and resident
// where they were touched), at most HAKMEM_LARGE_CACHE_BYTES together.
// Neighbouring runs are merged when one comes in, a request is cut from
// the front of the smallest run that holds it, and a growing realloc takes
// the pages of the run that starts where its block ends. So blocks of
// varying sizes, and a buffer grown by doubling, reuse the same pages
// without a system call: a mapping given back costs a TLB shootdown, and
// fresh pages fault in again. What comes back is kept unless the budget is
// full; then the oldest runs go, so that which runs stay depends on the
// order of frees only, never on where the kernel put the mappings.
//
// The budget adapts to the program's large working set, as glibc's
// dynamic mmap threshold does. Once the cache has had to give pages back
// for want of room, every request that then maps fresh pages shows that
// the program reuses more than the budget holds, and the budget grows by
// that request's size. What it has grown by is never more than half the
// bytes of the live large blocks, nor kMaxEarnedFactor times the
// configured budget, and it shrinks with the live bytes at every free:
// when the large footprint shrinks, the cache gives back what it kept
// beyond the configured budget, and with no large block live it holds at
// most that (and must overflow again before it grows). A loop that
// replaces 20 blocks of 5-25 MiB (bench/malloc_large) so reuses cached
// pages instead of mapping, faulting in and unmapping a block at most
// replacements: with a fixed 64 MiB, every block over 16 MiB (half of
// them) was unmapped at its free and the cache held a few of the others,
// so 400 replacements made 229 mappings and 1.07 million page faults
// (0.69 per page written, 3.9 times tcmalloc's time); now 32 mappings
// and 145 thousand faults (tcmalloc 131 thousand), the budget near 64 MiB
// plus half the 300 MiB live. The price is in programs that touch little
// of their large blocks: cached pages stay resident, so more of them do.
// LargeFlushCache (hak_collect, malloc_trim) empties the cache and starts
// the budget over from the configured one.

void UncacheLocked(CachedRun* r) {
  --g_large.cached;
  g_large.cached_bytes -= r->size;
  *r = g_large.runs[g_large.cached];
}

// Takes the first `size` bytes of cached run `r` (all of them: the run
// leaves the cache). Lock held.
Region CutFrontLocked(CachedRun* r, size_t size) {
  Region front{r->addr, size, 0};
  if (size == r->size) {
    UncacheLocked(r);
  } else {
    r->addr += size;
    r->size -= size;
    g_large.cached_bytes -= size;
  }
  return front;
}

// A region of at least `size` bytes from the cache, or {0, 0, 0}: cut from
// the smallest run that holds it, or that whole run when it is at most
// 1.25x the size (a sliver left over would only crowd the cache). Lock
// held.
Region TakeCachedLocked(size_t size) {
  CachedRun* best = nullptr;
  for (uint64_t i = 0; i < g_large.cached; ++i) {
    CachedRun& r = g_large.runs[i];
    if (r.size >= size && (best == nullptr || r.size < best->size)) {
      best = &r;
    }
  }
  if (best == nullptr) return Region{0, 0, 0};
  return CutFrontLocked(best,
                        best->size <= size + size / 4 ? best->size : size);
}

// Takes `size` bytes from the front of the cached run that starts at
// `addr`, if there is one that long; returns whether it did. Lock held.
bool TakeCachedAtLocked(uintptr_t addr, size_t size) {
  for (uint64_t i = 0; i < g_large.cached; ++i) {
    CachedRun& r = g_large.runs[i];
    if (r.addr == addr && r.size >= size) {
      CutFrontLocked(&r, size);
      return true;
    }
  }
  return false;
}

CachedRun* OldestRunLocked() {
  CachedRun* oldest = &g_large.runs[0];
  for (uint64_t i = 1; i < g_large.cached; ++i) {
    if (g_large.runs[i].age < oldest->age) oldest = &g_large.runs[i];
  }
  return oldest;
}

// The cache's budget: HAKMEM_LARGE_CACHE_BYTES plus what it has earned;
// 0 (no cache at all) when that is 0. Lock held.
size_t BudgetLocked() {
  const size_t configured = GetConfig().large_cache_bytes;
  return configured == 0 ? 0 : configured + g_large.earned;
}

// Keeps what the budget has earned within half the live large bytes and
// kMaxEarnedFactor times the configured budget; call when they change.
// Lock held.
void ClampEarnedLocked() {
  const uint64_t configured = GetConfig().large_cache_bytes;
  uint64_t cap = g_large.live_bytes / 2;
  if (cap > kMaxEarnedFactor * configured) cap = kMaxEarnedFactor * configured;
  if (g_large.earned > cap) g_large.earned = cap;
  if (g_large.live_bytes == 0) g_large.overflowed = false;
}

// A request of `size` bytes has mapped fresh pages (the new block already
// counted live): the budget grows by `size` if the cache has overflowed.
// Lock held.
void MissedLocked(size_t size) {
  if (!g_large.overflowed) return;
  g_large.earned += size;
  ClampEarnedLocked();
}

// Takes the oldest cached run out of the cache into `*unmap`, to be
// unmapped. Lock held.
void EvictOldestLocked(Region* unmap) {
  CachedRun* victim = OldestRunLocked();
  *unmap = Region{victim->addr, victim->size, 0};
  UncacheLocked(victim);
}

// At most this many regions to unmap come out of one CacheLocked.
constexpr int kMaxUnmapped = kLargeCacheEntries + 1;

// Puts `r` in the cache, merged with the cached runs next to it, unless it
// is more than a quarter of the budget, or more than all of it once
// merged; then the oldest runs are evicted until the budget (which
// shrinks with the live bytes) holds the cache. What to unmap (`r` when
// it was not kept, and the runs evicted) is written to `unmap`; returns
// how many. Lock held, `r` no longer counted live.
int CacheLocked(Region r, Region unmap[kMaxUnmapped]) {
  ClampEarnedLocked();
  const size_t budget = BudgetLocked();
  int n = 0;
  bool keep = r.size <= budget / 4;
  if (keep) {
    for (uint64_t i = 0; i < g_large.cached;) {
      CachedRun& c = g_large.runs[i];
      if (c.addr + c.size == r.addr || r.addr + r.size == c.addr) {
        r.addr = c.addr < r.addr ? c.addr : r.addr;
        r.size += c.size;
        UncacheLocked(&c);  // moves the last run here: look at slot i again
      } else {
        ++i;
      }
    }
    keep = r.size <= budget;
  }
  if (keep) {
    if (g_large.cached == kLargeCacheEntries) EvictOldestLocked(&unmap[n++]);
    g_large.runs[g_large.cached++] =
        CachedRun{r.addr, r.size, g_large.next_age++};
    g_large.cached_bytes += r.size;
  } else {
    unmap[n++] = r;
  }
  // A kept `r` is the newest run: it would go last, and fits on its own.
  while (g_large.cached_bytes > budget) EvictOldestLocked(&unmap[n++]);
  // Pages given back while large blocks are still live: the program may
  // come back for them. (Once none is live, what the budget earned is
  // gone, and so is the evidence.)
  if (n > 0 && g_large.live_bytes > 0) g_large.overflowed = true;
  return n;
}

void UnmapAll(const Region* regions, int n) {
  for (int i = 0; i < n; ++i) {
    OsUnmap(reinterpret_cast<void*>(regions[i].addr), regions[i].size);
  }
}

}  // namespace

void* LargeAlloc(size_t size, size_t alignment, bool zeroed, uint64_t owner) {
  size_t map_size = PageRound(size == 0 ? 1 : size);
  if (map_size < size) {
    errno = ENOMEM;
    return nullptr;
  }
  Region r{0, 0};
  bool from_cache = false;
  if (alignment <= kPageSize) {
    SpinLockHolder hold(g_large.lock);
    r = TakeCachedLocked(map_size);
    from_cache = r.addr != 0;
  }
  if (!from_cache) {
    void* mem =
        OsMapAligned(map_size, alignment < kPageSize ? kPageSize : alignment);
    if (mem == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    r = Region{reinterpret_cast<uintptr_t>(mem), map_size, 0};
  }
  r.owner = owner;
  r.requested = map_size;
  bool recorded;
  {
    SpinLockHolder hold(g_large.lock);
    recorded = g_large.live.Insert(r);
    if (recorded) {
      g_large.live_bytes += r.size;
      // Aligned requests never come from the cache: no evidence.
      if (!from_cache && alignment <= kPageSize) MissedLocked(r.size);
    }
  }
  if (!recorded) {
    OsUnmap(reinterpret_cast<void*>(r.addr), r.size);
    errno = ENOMEM;
    return nullptr;
  }
  void* p = reinterpret_cast<void*>(r.addr);
  // Fresh mappings are zero already; only reused memory needs clearing.
  if (zeroed && from_cache) std::memset(p, 0, size);
  return p;
}

bool LargeFree(void* p) {
  Region unmap[kMaxUnmapped];
  int to_unmap;
  {
    SpinLockHolder hold(g_large.lock);
    Region* slot = g_large.live.Find(reinterpret_cast<uintptr_t>(p));
    if (slot == nullptr) return false;
    Region r = *slot;
    g_large.live.Erase(slot);
    g_large.live_bytes -= r.size;
    to_unmap = CacheLocked(r, unmap);
  }
  UnmapAll(unmap, to_unmap);
  return true;
}

size_t LargeUsableSize(const void* p) {
  SpinLockHolder hold(g_large.lock);
  Region* slot = g_large.live.Find(reinterpret_cast<uintptr_t>(p));
  return slot == nullptr ? 0 : slot->size;
}

LargeSizes LargeSizesOf(const void* p) {
  SpinLockHolder hold(g_large.lock);
  Region* slot = g_large.live.Find(reinterpret_cast<uintptr_t>(p));
  return slot == nullptr ? LargeSizes{0, 0}
                         : LargeSizes{slot->requested, slot->size};
}

LargeReallocResult LargeRealloc(void* p, size_t new_size, void** out) {
  size_t new_map = PageRound(new_size);
  if (new_map < new_size) {
    errno = ENOMEM;
    return LargeReallocResult::kNoMemory;
  }
  Region old{0, 0, 0};  // stays empty when the block keeps its place
  Region unmap[kMaxUnmapped];
  int to_unmap = 0;
  {
    SpinLockHolder hold(g_large.lock);
    Region* slot = g_large.live.Find(reinterpret_cast<uintptr_t>(p));
    if (slot == nullptr) return LargeReallocResult::kNotLarge;
    if (new_map > slot->size) {
      if (TakeCachedAtLocked(slot->addr + slot->size, new_map - slot->size)) {
        // Grown into the cached run that started where the block ended.
        g_large.live_bytes += new_map - slot->size;
        slot->size = new_map;
        slot->requested = new_map;
      } else {
        old = *slot;
        g_large.live.Erase(slot);
        g_large.live_bytes -= old.size;
      }
    } else {
      slot->requested = new_map;
      // The pages past the new end go to the cache. (Shrinking by up to
      // half keeps the block as it is.)
      if (new_map < slot->size / 2) {
        Region tail{slot->addr + new_map, slot->size - new_map, 0};
        slot->size = new_map;
        g_large.live_bytes -= tail.size;
        to_unmap = CacheLocked(tail, unmap);
      }
    }
  }
  UnmapAll(unmap, to_unmap);
  if (old.addr == 0) {
    *out = p;
    return LargeReallocResult::kDone;
  }
  void* moved = OsRemap(p, old.size, new_map);
  bool recorded;
  {
    SpinLockHolder hold(g_large.lock);
    Region now = moved != nullptr ? Region{reinterpret_cast<uintptr_t>(moved),
                                           new_map, old.owner, new_map}
                                  : old;
    recorded = g_large.live.Insert(now);
    if (recorded) g_large.live_bytes += now.size;
  }
  // The table only grows on Insert; after an Erase it has room.
  HAK_DCHECK(recorded);
  if (moved == nullptr) {
    // mremap moves only what one mapping holds, and a block cut from
    // merged cached runs can span two: copy instead.
    void* fresh = LargeAlloc(new_size, kPageSize, /*zeroed=*/false, old.owner);
    if (fresh == nullptr) return LargeReallocResult::kNoMemory;
    std::memcpy(fresh, p, old.size);
    LargeFree(p);
    moved = fresh;
  }
  *out = moved;
  return LargeReallocResult::kDone;
}

void LargeForkPrepare() { g_large.lock.Lock(); }
void LargeForkParent() { g_large.lock.Unlock(); }
void LargeForkChild() { g_large.lock.Unlock(); }

void LargeFlushCache() {
  Region flushed[kLargeCacheEntries];
  int n = 0;
  {
    SpinLockHolder hold(g_large.lock);
    for (uint64_t i = 0; i < g_large.cached; ++i) {
      flushed[n++] = Region{g_large.runs[i].addr, g_large.runs[i].size, 0};
    }
    g_large.cached = 0;
    g_large.cached_bytes = 0;
    g_large.earned = 0;
    g_large.overflowed = false;
  }
  UnmapAll(flushed, n);
}

uint64_t LargeOwner(const void* p) {
  SpinLockHolder hold(g_large.lock);
  Region* slot = g_large.live.Find(reinterpret_cast<uintptr_t>(p));
  return slot == nullptr ? kNotLargeOwner : slot->owner;
}

void LargeFreeAllOwnedBy(uint64_t owner) {
  // Collect a batch under the lock, free it outside, until none is left.
  for (;;) {
    void* batch[64];
    int n = 0;
    {
      SpinLockHolder hold(g_large.lock);
      for (size_t i = 0; i < g_large.live.capacity() && n < 64; ++i) {
        const Region* r = g_large.live.slot(i);
        if (r->addr != 0 && r->owner == owner) {
          batch[n++] = reinterpret_cast<void*>(r->addr);
        }
      }
    }
    if (n == 0) return;
    for (int i = 0; i < n; ++i) LargeFree(batch[i]);
  }
}

LargeStats GetLargeStats() {
  SpinLockHolder hold(g_large.lock);
  return LargeStats{g_large.live.count(), g_large.live_bytes, g_large.cached,
                    g_large.cached_bytes, BudgetLocked()};
}

}  // namespace hakmem::internal
