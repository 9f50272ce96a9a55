#include "fuzz/heap_model.h"

#include <cerrno>
#include <cinttypes>

#include "capi/hakmem.h"
#include "fuzz/asan_shadow.h"
#include "fuzz/block_pattern.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/guarded_blocks.h"
#include "fuzz/size_model.h"

namespace fuzz {
namespace {

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// Same slab class, same owner (thread or arena) and same 64 KiB slab: then
// the same span.
bool SameSpan(const Block& a, const Block& b) {
  return a.cls != kLarge && a.cls == b.cls && a.arena == b.arena &&
         Addr(a.p) >> 16 == Addr(b.p) >> 16;
}

// A size that hak_free_sized accepts for block `b`, picked by `variant`:
// 0 gives the requested size where that is valid.
size_t ValidFreeSize(const Block& b, uint32_t variant) {
  size_t size;
  if (b.cls != kLarge) {
    if (variant == 0 && AlignedClass(0, b.size) == b.cls) return b.size;
    size_t lo = b.cls == 0 ? 0 : ClassSize(b.cls - 1) + 1;
    size = lo + variant % (ClassSize(b.cls) - lo + 1);
  } else {
    if (variant == 0) return b.size;
    size_t max_pages = b.usable / kPage;
    size_t min_pages = LargeMapSize(b.size) / kPage;
    size_t pages = min_pages + variant % (max_pages - min_pages + 1);
    size = pages * kPage - (variant >> 8) % kPage;
  }
  if (!SizedFreeMatches(b.cls, b.size, b.usable, 0, size)) {
    Fail("harness: ValidFreeSize picked %zu for class %d usable %zu", size,
         b.cls, b.usable);
  }
  return size;
}

}  // namespace

std::unordered_set<void*> HeapModel::leaked_;

bool HeapModel::HasRoomFor(size_t bytes) const {
  return live_.size() < kMaxBlocks && live_bytes_ + bytes <= kMaxLiveBytes;
}

void HeapModel::CheckUsable(const Block& b, const char* what) const {
  if (const void* bad = AsanFindPoisoned(b.p, b.usable)) {
    Fail("%s: block %p (usable %zu) is poisoned at offset %td", what, b.p,
         b.usable, static_cast<const char*>(bad) - static_cast<char*>(b.p));
  }
  if (IsGuarded(b.p)) {
    // Sampled into the guarded pool (HAKMEM_GUARD_RATE, ops_guarded_fuzz):
    // a slab class's block of at most a page, placed by its request.
    size_t want = GuardedUsable(b.size, b.alignment);
    if (b.cls == kLarge || want > kGuardPage || b.usable != want ||
        !GuardedPlacementOk(b.p, b.usable, GuardAlignStart())) {
      Fail(
          "%s: guarded block %p of %zu bytes (alignment %zu, class %d) has "
          "usable size %zu (expected %zu, %s-aligned in its page)",
          what, b.p, b.size, b.alignment, b.cls, b.usable, want,
          GuardAlignStart() ? "start" : "end");
    }
    return;
  }
  if (b.cls != kLarge) {
    if (b.usable != ClassSize(b.cls)) {
      Fail(
          "%s: block %p of %zu bytes (class %d of %zu bytes) has usable "
          "size %zu",
          what, b.p, b.size, b.cls, ClassSize(b.cls), b.usable);
    }
    return;
  }
  size_t map = LargeMapSize(b.size);
  if (b.usable % kPage != 0 || b.usable < map || b.usable > 2 * map) {
    Fail("%s: large block %p of %zu bytes has usable size %zu", what, b.p,
         b.size, b.usable);
  }
}

long HeapModel::Add(void* p, size_t size, size_t alignment, int cls, int holder,
                    uint64_t id, uint64_t seed, const char* what, int arena) {
  if (p == nullptr) {
    Fail("%s(%zu bytes, alignment %zu) returned NULL, errno %d", what, size,
         alignment, errno);
  }
  size_t need_alignment = cls == kLarge ? kPage : 16;
  if (alignment > need_alignment) need_alignment = alignment;
  if (Addr(p) % need_alignment != 0) {
    Fail("%s(%zu bytes) returned %p, not aligned to %zu", what, size, p,
         need_alignment);
  }
  if (IsLeaked(p)) {
    Fail(
        "%s returned %p, a freed block hakmem reported as corrupted (and "
        "so leaked)",
        what, p);
  }
  Block b{p, size, alignment, hak_usable_size(p), cls, id, seed, holder};
  b.arena = arena;
  CheckUsable(b, what);
  // [p, p + usable) must not overlap any live block.
  auto next = by_address_.lower_bound(Addr(p));
  if (next != by_address_.end() && next->first < Addr(p) + b.usable) {
    const Block& o = live_[next->second];
    Fail("%s returned %p (usable %zu), overlapping live block %p (%zu bytes)",
         what, p, b.usable, o.p, o.size);
  }
  if (next != by_address_.begin()) {
    const Block& o = live_[std::prev(next)->second];
    if (Addr(o.p) + o.usable > Addr(p)) {
      Fail("%s returned %p, inside live block %p (usable %zu)", what, p, o.p,
           o.usable);
    }
  }
  by_address_[Addr(p)] = live_.size();
  live_.push_back(b);
  live_bytes_ += size;
  return static_cast<long>(live_.size() - 1);
}

Block HeapModel::Unlink(size_t i) {
  const Block b = live_[i];
  size_t last = live_.size() - 1;
  by_address_.erase(Addr(b.p));
  if (i != last) {
    live_[i] = live_[last];
    by_address_[Addr(live_[i].p)] = i;
  }
  live_.pop_back();
  live_bytes_ -= b.size;
  return b;
}

void HeapModel::Remove(size_t i, int by, bool heap_free) {
  const Block b = Unlink(i);
  // A guarded block has no span: its freed slot is on no free list and
  // inaccessible (a write into it is a use after free, guard_fuzz's to
  // inject), and no live neighbour keeps the slot from being handed out
  // again, so it gets no witness.
  bool guarded = IsGuarded(b.p);
  // An arena block freed remotely (hak_free and friends) sits on its
  // span's remote-free stack, not on a free list an allocation pops.
  bool on_free_list = b.cls != kLarge && !guarded && (b.arena < 0 || heap_free);
  FreedBlock f{b.p, b.size,  b.alignment, b.usable, b.cls,
               by,  allocs_, 0,           nullptr,  on_free_list};
  if (b.arena >= 0) {
    f.arena = b.arena;
    f.arena_gen = arenas_[b.arena].gen;
  }
  if (!guarded) {
    for (const Block& w : live_) {
      if (SameSpan(w, b)) {
        f.witness_id = w.id;
        f.witness_p = w.p;
        break;
      }
    }
  }
  freed_.push_front(f);
  if (freed_.size() > kFreedHistory) freed_.pop_back();
}

long HeapModel::Malloc(size_t size, int holder, bool unlimited) {
  if (!unlimited && !HasRoomFor(size)) return kSkipped;
  void* p = hak_malloc(size);
  ++allocs_;
  long i = Add(p, size, 0, ClassOfRequest(size), holder, next_id_++, NewSeed(),
               "hak_malloc");
  FillPattern(p, size, live_[i].seed);
  return i;
}

long HeapModel::Calloc(size_t count, size_t elem, int holder) {
  size_t total = count * elem;  // the caller keeps it from overflowing
  if (!HasRoomFor(total)) return kSkipped;
  void* p = hak_calloc(count, elem);
  ++allocs_;
  long i = Add(p, total, 0, ClassOfRequest(total), holder, next_id_++,
               NewSeed(), "hak_calloc");
  if (size_t at = FindNonZero(p, total); at != kNoMismatch) {
    Fail("hak_calloc(%zu, %zu) = %p: byte %zu is not zero", count, elem, p, at);
  }
  FillPattern(p, total, live_[i].seed);
  return i;
}

long HeapModel::AlignedAlloc(size_t alignment, size_t size, int holder) {
  if (!HasRoomFor(size)) return kSkipped;
  void* p = hak_aligned_alloc(alignment, size);
  ++allocs_;
  long i = Add(p, size, alignment, AlignedClass(alignment, size), holder,
               next_id_++, NewSeed(), "hak_aligned_alloc");
  FillPattern(p, size, live_[i].seed);
  return i;
}

long HeapModel::ReallocNull(size_t size, int holder) {
  if (!HasRoomFor(size)) return kSkipped;
  void* p = hak_realloc(nullptr, size);
  ++allocs_;
  long i = Add(p, size, 0, ClassOfRequest(size), holder, next_id_++, NewSeed(),
               "hak_realloc(NULL)");
  FillPattern(p, size, live_[i].seed);
  return i;
}

void HeapModel::Realloc(size_t i, size_t size) {
  Verify(i);
  const Block b = live_[i];
  if (b.arena >= 0) {
    // The header does not say whether a reallocated arena block stays in
    // its arena (which decides whether hak_heap_free and destroy apply).
    Fail("harness: hak_realloc of arena block %p", b.p);
  }
  if (size == 0) {
    void* q = hak_realloc(b.p, 0);
    if (q != nullptr) Fail("hak_realloc(%p, 0) returned %p", b.p, q);
    Remove(i, b.holder);
    return;
  }
  if (size > b.size && !HasRoomFor(size - b.size)) return;
  void* q = hak_realloc(b.p, size);
  ++allocs_;
  if (q == nullptr) {
    Fail("hak_realloc(%p, %zu) returned NULL, errno %d", b.p, size, errno);
  }
  size_t kept = b.size < size ? b.size : size;
  if (q == b.p) {
    // Kept in place (a large block may also have grown in place).
    Block& n = live_[i];
    live_bytes_ = live_bytes_ - b.size + size;
    n.size = size;
    n.alignment = 0;
    n.usable = hak_usable_size(q);
    if (n.cls != kLarge && n.usable != b.usable) {
      Fail("hak_realloc kept %p but its usable size went from %zu to %zu", q,
           b.usable, n.usable);
    }
    CheckUsable(n, "hak_realloc in place");
    // The sized free of the new size must then be valid.
    if (!SizedFreeMatches(n.cls, n.size, n.usable, 0, size)) {
      Fail(
          "hak_realloc(%p of %zu bytes, class %d, %zu) kept the block "
          "(usable %zu): a sized free of %zu would not match it",
          b.p, b.size, b.cls, size, n.usable, size);
    }
  } else {
    Remove(i, b.holder);
    i = static_cast<size_t>(Add(q, size, 0, ClassOfRequest(size), b.holder,
                                next_id_++, b.seed, "hak_realloc"));
  }
  if (size_t at = FindPatternMismatch(q, b.size, kept, b.seed);
      at != kNoMismatch) {
    Fail(
        "hak_realloc(%p of %zu bytes, %zu) = %p lost its contents at byte "
        "%zu",
        b.p, b.size, size, q, at);
  }
  FillPattern(q, size, live_[i].seed);
}

void HeapModel::Free(size_t i, FreeApi api, uint32_t variant, int by) {
  Verify(i);
  const Block b = live_[i];
  switch (api) {
    case FreeApi::kFree:
      hak_free(b.p);
      break;
    case FreeApi::kSized:
      hak_free_sized(b.p, ValidFreeSize(b, variant));
      break;
    case FreeApi::kAlignedSized:
      if (b.alignment != 0) {
        hak_free_aligned_sized(b.p, b.alignment, b.size);
      } else {
        // Alignments up to 16 ask for nothing more than malloc's.
        hak_free_aligned_sized(b.p, size_t{1} << variant % 5,
                               ValidFreeSize(b, variant >> 3));
      }
      break;
    case FreeApi::kRealloc0:
      if (void* q = hak_realloc(b.p, 0); q != nullptr) {
        Fail("hak_realloc(%p, 0) returned %p", b.p, q);
      }
      break;
  }
  Remove(i, by);
}

void HeapModel::FreeWithSize(size_t i, size_t alignment, size_t size, int by) {
  Verify(i);
  hak_free_aligned_sized(live_[i].p, alignment, size);
  Remove(i, by);
}

void HeapModel::Verify(size_t i) const {
  const Block& b = live_[i];
  if (size_t at = FindPatternMismatch(b.p, b.size, b.size, b.seed);
      at != kNoMismatch) {
    Fail("block %p (%zu bytes, class %d, id %" PRIu64
         ") was overwritten at byte %zu",
         b.p, b.size, b.cls, b.id, at);
  }
  size_t usable = hak_usable_size(b.p);
  if (usable != b.usable) {
    Fail("hak_usable_size(%p) = %zu, was %zu", b.p, usable, b.usable);
  }
}

void HeapModel::Rewrite(size_t i) {
  Verify(i);
  Block& b = live_[i];
  b.seed = NewSeed();
  FillPattern(b.p, b.size, b.seed);
}

void HeapModel::FreeAll(int holder) {
  for (size_t i = live_.size(); i-- > 0;) {
    if (holder < 0 || live_[i].holder == holder) {
      Free(i, FreeApi::kFree, 0, live_[i].holder);
    }
  }
}

long HeapModel::Find(const void* p) const {
  auto it = by_address_.find(Addr(p));
  return it == by_address_.end() ? -1 : static_cast<long>(it->second);
}

long HeapModel::Pick(uint32_t sel, int holder) const {
  if (holder < 0) {
    return live_.empty() ? -1 : static_cast<long>(sel % live_.size());
  }
  size_t count = 0;
  for (const Block& b : live_) count += b.holder == holder;
  if (count == 0) return -1;
  size_t want = sel % count;
  for (size_t i = 0; i < live_.size(); ++i) {
    if (live_[i].holder == holder && want-- == 0) return static_cast<long>(i);
  }
  return -1;
}

FreedBlock* HeapModel::PickFreed(uint32_t sel) {
  return freed_.empty() ? nullptr : &freed_[sel % freed_.size()];
}

bool HeapModel::WitnessLive(const FreedBlock& f) const {
  if (f.witness_id == 0) return false;
  long i = Find(f.witness_p);
  return i >= 0 && live_[i].id == f.witness_id;
}

bool HeapModel::IsLeaked(const void* p) const {
  if (leaked_.count(const_cast<void*>(p)) != 0) return true;
  for (const ArenaSlot& a : arenas_) {
    for (const void* q : a.leaked) {
      if (q == p) return true;
    }
  }
  return false;
}

void HeapModel::ForgetFreed(const void* p) {
  for (auto it = freed_.begin(); it != freed_.end();) {
    it = it->p == p ? freed_.erase(it) : it + 1;
  }
}

}  // namespace fuzz
