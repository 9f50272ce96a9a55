// Injected errors on arenas (hak_heap_*): the reports hakmem must make for
// them, see error_injection.h.
#include <cstdlib>
#include <vector>

#include "capi/hakmem.h"
#include "fuzz/error_injection.h"
#include "fuzz/error_log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/size_model.h"

namespace fuzz {
namespace {

// hakmem names arena reports' tier "arena" (WRONG_HEAP: class -1).
constexpr char kArenaTier[] = "arena";

ExpectedError WrongHeap(const void* p) {
  return {p, KindBit(HAK_ERROR_WRONG_HEAP), kArenaTier, -1};
}

// The newest record of a free of `p` (the others are older frees of a
// block that was handed out again since).
bool NewestFree(HeapModel& heap, const FreedBlock& f) {
  for (const FreedBlock& g : heap.freed()) {
    if (g.p == f.p) return &g == &f;
  }
  return false;
}

}  // namespace

void ErrorInjector::HeapDoubleFree(ByteReader& in, int slot) {
  FreedBlock* picked = heap_.PickFreed(in.Byte());
  uint8_t target = in.Byte() % 4;
  if (picked == nullptr || heap_.Find(picked->p) >= 0 ||
      heap_.IsLeaked(picked->p)) {
    return;
  }
  const FreedBlock f = *picked;
  bool own_alive = heap_.ArenaAlive(f);
  int k = target == 3 ? (own_alive ? f.arena : 0) : target;
  hak_heap* h = heap_.ArenaFor(k, slot);  // may create it: an allocation
  if (h == nullptr) return;
  ExpectedError want{f.p, KindBit(HAK_ERROR_WRONG_HEAP) |
                              KindBit(HAK_ERROR_DOUBLE_FREE) |
                              KindBit(HAK_ERROR_INTERIOR_FREE)};
  if (own_alive && f.arena == k && f.cls != kLarge) {
    // Still on one of the arena's spans, freed.
    want = {f.p, KindBit(HAK_ERROR_DOUBLE_FREE), kArenaTier, f.cls};
  } else if (f.allocs_at_free == heap_.allocs() ||
             (f.cls != kLarge && (heap_.WitnessLive(f) || own_alive))) {
    // Its memory cannot have become arena k's since: nothing was mapped or
    // handed out, or its span is held by another owner (a witness's
    // thread, or its own live arena, other than k).
    want = WrongHeap(f.p);
  }
  ErrorWindow window;
  hak_heap_free(h, f.p);
  window.ExpectOne(want, "hak_heap_free of a freed block");
}

void ErrorInjector::HeapFreeLive(ByteReader& in, int slot) {
  long i = heap_.Pick(in.Byte(), -1);
  int k = in.Byte() % HeapModel::kMaxArenas;
  uint32_t offset = in.U32();
  if (i < 0) return;
  hak_heap* h = heap_.ArenaFor(k, slot);
  if (h == nullptr) return;
  const Block b = heap_.at(static_cast<size_t>(i));
  if (offset == 0 && b.arena == k) {
    heap_.HeapFree(static_cast<size_t>(i), slot);  // a valid free after all
    return;
  }
  char* p = static_cast<char*>(b.p);
  if (offset != 0) p += 1 + offset % (b.usable - 1);
  // A pointer into a large block is a block of no heap.
  ExpectedError want = offset != 0 && b.arena == k && b.cls != kLarge
                           ? ExpectedError{p, KindBit(HAK_ERROR_INTERIOR_FREE),
                                           kArenaTier, b.cls}
                           : WrongHeap(p);
  const char* what = offset == 0    ? "hak_heap_free into another heap"
                     : b.arena == k ? "hak_heap_free of an interior pointer"
                                    : "hak_heap_free into another heap's block";
  {
    ErrorWindow window;
    hak_heap_free(h, p);
    window.ExpectOne(want, what);
  }
  heap_.Verify(static_cast<size_t>(i));  // left alone
}

void ErrorInjector::HeapFreeForeign(ByteReader& in, int slot) {
  uint8_t source = in.Byte();
  uint32_t offset = in.U32();
  int k = in.Byte() % HeapModel::kMaxArenas;
  hak_heap* h = heap_.ArenaFor(k, slot);
  if (h == nullptr) return;
  char on_stack[64];
  void* from_system = nullptr;
  char* p = ForeignPointer(source, offset, on_stack, &from_system);
  {
    ErrorWindow window;
    hak_heap_free(h, p);
    window.ExpectOne(WrongHeap(p), "hak_heap_free of a foreign pointer");
  }
  std::free(from_system);
}

void ErrorInjector::ArenaCorrupt(ByteReader& in, int slot) {
  FreedBlock* picked = heap_.PickFreed(in.Byte());
  uint8_t mode = in.Byte();
  uint64_t value = in.U64();
  // Only a slab block on its live arena's span free list (freed by
  // hak_heap_free, not freed remotely or handed out since) can be written
  // and must be popped by the arena's allocations.
  if (!corruption_ || picked == nullptr || picked->cls == kLarge ||
      picked->arena < 0 || !picked->corruptible || !heap_.ArenaAlive(*picked) ||
      heap_.arena(picked->arena).owner != slot || heap_.Find(picked->p) >= 0 ||
      !NewestFree(heap_, *picked)) {
    return;
  }
  uint64_t mapped = MappedBytes();
  if (mapped > kCorruptionMappedLimit) return;
  const FreedBlock f = *picked;

  // Allocate from its arena and class until the arena pops it. It takes
  // the blocks of the arena's spans of the class in rotation (and a fresh
  // span per 8 visited), so this ends within about the memory mapped.
  std::vector<void*> taken = CorruptUntilReported(
      f, mode, value, kArenaTier, 2 * mapped + (size_t{8} << 20),
      [&] {
        return heap_.HeapMalloc(f.arena, ClassSize(f.cls), slot,
                                /*unlimited=*/true);
      },
      "write into a freed arena block, then allocation");
  heap_.MarkArenaLeaked(f.arena, f.p);
  // Detection drops the rest of that span's free list: those blocks stay
  // freed but will not be popped.
  for (FreedBlock& other : heap_.freed()) {
    if (other.arena == f.arena && other.cls == f.cls) other.corruptible = false;
  }
  for (void* p : taken) {
    heap_.HeapFree(static_cast<size_t>(heap_.Find(p)), slot);
  }
}

}  // namespace fuzz
