// The arena (hak_heap_*) part of HeapModel: creating, allocating from,
// freeing into and destroying first-class heaps, with the same checks as
// every other block (heap_model.cc).
#include <cerrno>

#include "capi/hakmem.h"
#include "fuzz/block_pattern.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/heap_model.h"
#include "fuzz/size_model.h"

namespace fuzz {

void HeapModel::CreateArena(int slot, int owner) {
  hak_heap* heap = hak_heap_create();
  // Creating maps memory: a freed pointer may lie in it from now on, which
  // is what allocs() tells error injection.
  ++allocs_;
  if (heap == nullptr) Fail("hak_heap_create returned NULL, errno %d", errno);
  ArenaSlot& a = arenas_[slot];
  a.heap = heap;
  a.owner = owner;
  a.gen = next_arena_gen_++;
  a.leaked.clear();
}

hak_heap* HeapModel::ArenaFor(int slot, int owner) {
  if (arenas_[slot].heap == nullptr) CreateArena(slot, owner);
  return arenas_[slot].owner == owner ? arenas_[slot].heap : nullptr;
}

long HeapModel::HeapMalloc(int slot, size_t size, int holder, bool unlimited) {
  if (!unlimited && !HasRoomFor(size)) return kSkipped;
  void* p = hak_heap_malloc(arenas_[slot].heap, size);
  ++allocs_;
  long i = Add(p, size, 0, ClassOfRequest(size), holder, next_id_++, NewSeed(),
               "hak_heap_malloc", slot);
  FillPattern(p, size, live_[i].seed);
  return i;
}

long HeapModel::HeapAlignedAlloc(int slot, size_t alignment, size_t size,
                                 int holder) {
  if (!HasRoomFor(size)) return kSkipped;
  void* p = hak_heap_aligned_alloc(arenas_[slot].heap, alignment, size);
  ++allocs_;
  long i = Add(p, size, alignment, AlignedClass(alignment, size), holder,
               next_id_++, NewSeed(), "hak_heap_aligned_alloc", slot);
  FillPattern(p, size, live_[i].seed);
  return i;
}

void HeapModel::HeapFree(size_t i, int by) {
  Verify(i);
  const Block& b = live_[i];
  if (b.arena < 0) Fail("harness: hak_heap_free of non-arena block %p", b.p);
  hak_heap_free(arenas_[b.arena].heap, b.p);
  Remove(i, by, /*heap_free=*/true);
}

void HeapModel::DestroyArena(int slot, int by) {
  ArenaSlot& a = arenas_[slot];
  if (a.heap == nullptr) return;
  // Its blocks must have stayed intact up to the end.
  for (size_t i = 0; i < live_.size(); ++i) {
    if (live_[i].arena == slot) Verify(i);
  }
  hak_heap_destroy(a.heap);
  // Its blocks are gone: hakmem may hand their memory out again. A few are
  // kept as freed blocks, for error injection to free them after the
  // destroy (not corruptible: they are on no free list).
  int kept = 0;
  for (size_t i = live_.size(); i-- > 0;) {
    if (live_[i].arena != slot) continue;
    const Block b = Unlink(i);
    if (kept++ >= kDestroyedKept) continue;
    FreedBlock f{b.p, b.size,  b.alignment, b.usable, b.cls,
                 by,  allocs_, 0,           nullptr,  false};
    f.arena = slot;
    f.arena_gen = a.gen;
    freed_.push_front(f);
    if (freed_.size() > kFreedHistory) freed_.pop_back();
  }
  a.heap = nullptr;
  a.leaked.clear();  // released with the arena: hakmem may reuse them
  // Destroying must not have touched any other block (a block it freed
  // would also fail hak_usable_size, reported as a false positive).
  for (size_t i = 0; i < live_.size(); ++i) Verify(i);
}

void HeapModel::DestroyArenas(int owner) {
  for (int slot = 0; slot < kMaxArenas; ++slot) {
    if (arenas_[slot].heap != nullptr &&
        (owner < 0 || arenas_[slot].owner == owner)) {
      DestroyArena(slot, owner);
    }
  }
}

bool HeapModel::ArenaAlive(const FreedBlock& f) const {
  return f.arena >= 0 && arenas_[f.arena].heap != nullptr &&
         arenas_[f.arena].gen == f.arena_gen;
}

}  // namespace fuzz
